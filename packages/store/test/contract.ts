/**
 * The Store contract suite: etcd v3 semantics checked through the `Store` interface. Every adapter
 * runs it (packages/store/test/etcd-store.test.ts against a real etcd 3.4, services/chainfire/test/
 * against ChainFire in-process and over its gRPC server). Real etcd is the ground truth: a test that
 * passes there and fails on ChainFire is a ChainFire bug, never a reason to loosen the test.
 *
 * The tests share one store per run and keep to their own key prefixes; they run in order (node:test
 * runs the tests of one `describe` sequentially), so revision arithmetic within a test is exact.
 */
import { after, before, describe } from 'node:test';
import type { Store } from '../src/types.js';
import { clusterContract } from './cluster-contract.js';
import { compactContract } from './compact-contract.js';
import { keySpaces, type ContractContext } from './contract-helpers.js';
import { kvContract } from './kv-contract.js';
import { leaseContract } from './lease-contract.js';
import { txnContract } from './txn-contract.js';
import { watchContract } from './watch-contract.js';

/** What an adapter's test file hands the suite: a fresh store and how to dispose of it. */
export interface OpenedStore {
  store: Store;
  /** Close the store and stop/remove whatever backs it (processes, temp dirs). */
  cleanup(): Promise<void>;
}

/**
 * Register the contract suite as a `describe(name)` block. `open` is called once, before the tests;
 * its `cleanup` runs after them, pass or fail.
 */
export function runStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Store contract: ${name}`, () => {
    let opened: OpenedStore | undefined;
    before(
      async () => {
        opened = await open();
      },
      { timeout: 60_000 },
    );
    after(
      async () => {
        await opened?.cleanup();
      },
      { timeout: 60_000 },
    );

    const ctx: ContractContext = {
      store: () => {
        if (!opened) throw new Error('store contract: the store did not open');
        return opened.store;
      },
      space: keySpaces(),
    };
    kvContract(ctx);
    txnContract(ctx);
    leaseContract(ctx);
    watchContract(ctx);
    clusterContract(ctx);
    // Last: compaction removes the history every test before it wrote.
    compactContract(ctx);
  });
}
