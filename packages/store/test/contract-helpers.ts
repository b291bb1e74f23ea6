/**
 * Shared helpers of the Store contract suite: per-test key spaces, error assertions, watch collectors
 * and bounded waits. Nothing here knows which adapter is under test.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { waitFor } from '@photoncloud/test-utils';
import { STORE_ERRORS, StoreError, type StoreErrorKind } from '../src/errors.js';
import { bytes, prefixEnd, text } from '../src/keys.js';
import type { Bytes, Event, KeyValue, Store, WatchRequest, WatchResponse, Watcher } from '../src/types.js';

/** What every contract section receives: the store under test (opened in `before`) and key helpers. */
export interface ContractContext {
  /** The store under test; only valid inside a test. */
  store(): Store;
  /** A fresh key space for one test: `space.key('a')` → `<root>/<test>/a`. */
  space(test: string): KeySpace;
}

/** Keys of one test, all under one prefix so tests never see each other's keys. */
export interface KeySpace {
  /** The prefix itself, ending in '/'. */
  prefix: Bytes;
  /** `rangeEnd` covering the whole prefix. */
  end: Bytes;
  /** The key `<prefix><suffix>`. */
  key(suffix: string): Bytes;
  /** The suffix of a key in this space (for readable assertions). */
  name(key: Bytes): string;
}

/** Make the key-space factory for one run of the suite (a random root keeps reruns apart). */
export function keySpaces(): (test: string) => KeySpace {
  const root = `contract-${randomBytes(4).toString('hex')}`;
  const used = new Set<string>();
  return (test) => {
    // A duplicate name would silently merge two tests' keys; fail loudly instead.
    assert.ok(!used.has(test), `key space ${test} used twice`);
    used.add(test);
    const p = `${root}/${test}/`;
    const prefix = bytes(p);
    return {
      prefix,
      end: prefixEnd(prefix),
      key: (suffix) => bytes(p + suffix),
      name: (key) => {
        const s = text(key);
        assert.ok(s.startsWith(p), `key ${s} is outside ${p}`);
        return s.slice(p.length);
      },
    };
  };
}

/** Assert that `p` rejects with a `StoreError` of `kind`, carrying etcd's exact message. */
export async function rejectsWith(p: Promise<unknown>, kind: StoreErrorKind): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected a StoreError(${kind}), got ${String(err)}`);
    assert.equal(err.kind, kind, `expected kind ${kind}, got ${err.kind} (${err.message})`);
    assert.equal(err.message, STORE_ERRORS[kind].message);
    return true;
  });
}

/** Current revision of the store, read through a range (which must not change it). */
export async function currentRevision(store: Store, probe: Bytes): Promise<number> {
  return (await store.range({ key: probe, countOnly: true })).header.revision;
}

/** Project a KeyValue onto its comparable fields, with key and value as strings. */
export function kvFields(
  space: KeySpace,
  kv: KeyValue,
): {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
} {
  return {
    key: space.name(kv.key),
    value: text(kv.value),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

/** Names (suffixes) of the keys of a list of KeyValues, in order. */
export function names(space: KeySpace, kvs: KeyValue[]): string[] {
  return kvs.map((kv) => space.name(kv.key));
}

/** A random positive int64 lease ID, as the decimal string the Store uses. */
export function randomLeaseId(): string {
  // 6 random bytes: well inside int64, never 0, and unlikely to collide with a store-chosen ID.
  return (BigInt('0x' + randomBytes(6).toString('hex')) + 1_000_000n).toString();
}

/** Waits of the suite are bounded; this is generous because CI machines are slow, not a timing check. */
export const WAIT_MS = 15_000;

/** Everything one watcher received, with helpers to wait for it. */
export interface WatchCollector {
  responses: WatchResponse[];
  /** Every event received so far, in arrival order. */
  events(): Event[];
  /** Wait until at least `n` events have arrived; returns them all. */
  waitEvents(n: number): Promise<Event[]>;
  /** Wait until a response matching `pred` has arrived; returns it. */
  waitResponse(pred: (r: WatchResponse) => boolean): Promise<WatchResponse>;
  watcher: Watcher;
}

/** Start a watch that records every response. */
export async function collect(store: Store, req: WatchRequest): Promise<WatchCollector> {
  const responses: WatchResponse[] = [];
  const events = (): Event[] => responses.flatMap((r) => r.events);
  const watcher = await store.watch(req, (r) => {
    responses.push(r);
  });
  return {
    responses,
    events,
    watcher,
    waitEvents: async (n) => {
      await waitFor(() => events().length >= n, {
        timeoutMs: WAIT_MS,
        intervalMs: 10,
        what: `${n} watch events (have ${events().length})`,
      });
      return events();
    },
    waitResponse: (pred) =>
      waitFor(() => responses.find(pred), {
        timeoutMs: WAIT_MS,
        intervalMs: 10,
        what: 'a matching watch response',
      }),
  };
}

/** A compact view of an event for deepEqual: type, key suffix, value, mod revision. */
export function ev(space: KeySpace, e: Event): [string, string, string, number] {
  return [e.type, space.name(e.kv.key), text(e.kv.value), e.kv.modRevision];
}
