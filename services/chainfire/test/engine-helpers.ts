/** Shared helpers of the ChainFire engine tests: temp data dirs, byte/string helpers, error checks. */
import assert from 'node:assert/strict';
import { tempDir } from '@photoncloud/test-utils';
import { STORE_ERRORS, StoreError, bytes, text } from '@photoncloud/store';
import type { Event, StoreErrorKind, WatchResponse } from '@photoncloud/store';
import { openChainFire } from '../src/engine.js';
import type { ChainFire, ChainFireOptions } from '../src/engine.js';

export { bytes as b, text as s };

/** What a test gets: an open engine on a fresh dir, and a way to close and reopen it. */
export interface TestEngine {
  cf: ChainFire;
  dir: string;
  /** Close the current engine and open a new one on the same directory. */
  reopen(extra?: Partial<ChainFireOptions>): Promise<ChainFire>;
}

/** Open an engine on a fresh temp dir; everything is closed and removed after the test. */
export async function openTestEngine(
  t: { after: (fn: () => Promise<void>) => void },
  opts: Partial<ChainFireOptions> = {},
): Promise<TestEngine> {
  const dir = await tempDir('photoncloud-chainfire-engine-');
  const te: TestEngine = {
    cf: await openChainFire({ dataDir: dir.path, ...opts }),
    dir: dir.path,
    reopen: async (extra = {}) => {
      await te.cf.close();
      te.cf = await openChainFire({ dataDir: dir.path, ...opts, ...extra });
      return te.cf;
    },
  };
  t.after(async () => {
    await te.cf.close();
    await dir.cleanup();
  });
  return te;
}

/** Assert a StoreError of `kind` with etcd's message. */
export async function rejectsKind(p: Promise<unknown>, kind: StoreErrorKind): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError(${kind}), got ${String(err)}`);
    assert.equal(err.kind, kind);
    assert.equal(err.message, STORE_ERRORS[kind].message);
    return true;
  });
}

/** Compact form of an event for assertions: [type, key, modRevision, value, prevValue?]. */
export function ev(e: Event): Array<string | number> {
  const out: Array<string | number> = [e.type, text(e.kv.key), e.kv.modRevision, text(e.kv.value)];
  if (e.prevKv) out.push(`prev:${text(e.prevKv.value)}`);
  return out;
}

/** Collects watch responses. */
export class Collector {
  readonly responses: WatchResponse[] = [];
  readonly listener = (r: WatchResponse): void => {
    this.responses.push(r);
  };
  events(): Event[] {
    return this.responses.flatMap((r) => r.events);
  }
}
