/**
 * The one way CreditService changes state: read a few keys, decide (pure core), then write everything
 * the decision implies in ONE store transaction guarded by the mod revisions it read (optimistic
 * concurrency; retried on conflict).
 *
 * Idempotency lives in the same transaction: a request carrying an `Idempotency-Key` writes its outcome
 * (status + data, or the refusal) under the key's record, with a compare that the record does not exist
 * yet. So an operation is applied at most once per key whatever crashes in between: a retry after the
 * process died — before or after the transaction reached the store — finds the record and gets the
 * original outcome back; two racing requests with the same key cannot both commit.
 */
import { ApiError, IdempotencyKeyReusedError, ServiceUnavailableError } from '@photoncloud/errors';
import type { ErrorBody, ErrorCode } from '@photoncloud/errors';
import { bytes, text } from '@photoncloud/store';
import type { Compare, KeyValue, RequestOp, Store } from '@photoncloud/store';
import { isStoreError } from '@photoncloud/http-kit';

/** What an operation answered: a status with data, or a status with an error body. */
export type Outcome = { status: number; data: unknown } | { status: number; error: ErrorBody };

/** The stored outcome of one idempotent request. */
interface OpRecord {
  fingerprint: string;
  created_at: string;
  outcome: Outcome;
}

/** The idempotency identity of one request. */
export interface OpRef {
  /** Store key of its record. */
  key: Uint8Array;
  /** Hash of what the request asked for; the same key with another fingerprint is 422. */
  fingerprint: string;
  /** The client's key, for error details. */
  clientKey: string;
}

/** What a decision writes. */
export interface Plan {
  puts: Array<{ key: Uint8Array; value: unknown }>;
  deletes: Uint8Array[];
  outcome: Outcome;
}

/** Keys read for a decision, with what was found (undefined: absent). */
export class Snapshot {
  constructor(private readonly kvs: Map<string, KeyValue | undefined>) {}

  /** The parsed JSON value of `key`, or undefined. */
  json<T>(key: Uint8Array): T | undefined {
    const kv = this.kvs.get(text(key));
    return kv === undefined ? undefined : (JSON.parse(text(kv.value)) as T);
  }

  /** Mod revision of `key` (0 when absent). */
  modRevision(key: Uint8Array): number {
    return this.kvs.get(text(key))?.modRevision ?? 0;
  }
}

/** What `OpRunner.run` returns. */
export interface RunResult {
  outcome: Outcome;
  /** True when the outcome is the recorded one of an earlier request with the same key. */
  replayed: boolean;
  /** Store revision of the write, when this call wrote. */
  revision?: number;
}

/** Options of `OpRunner`. */
export interface OpRunnerOptions {
  store: Store;
  /** How long idempotency records live, in seconds (default 24 h). */
  ttlSeconds?: number;
  /** Attempts before giving up under contention (default 200). */
  maxAttempts?: number;
  /** Milliseconds since the epoch; replaced in tests. */
  clock?: () => number;
}

/** Thrown (as a 503) when an operation kept losing the race for its keys. */
export class ContentionError extends ServiceUnavailableError {
  constructor() {
    super('Too much contention on this wallet; retry', 1);
  }
}

/** Turns a stored error outcome back into the error to answer. */
export function outcomeError(o: { status: number; error: ErrorBody }): ApiError {
  return new ApiError(o.error.code as ErrorCode, o.error.message, {
    details: o.error.details,
    ...(o.error.hint === undefined ? {} : { hint: o.error.hint }),
  });
}

/** A tiny in-process FIFO lock per key: requests on one wallet queue here instead of racing in the store. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** Runs read-decide-write operations (see the file comment). */
export class OpRunner {
  private readonly store: Store;
  private readonly ttl: number;
  private readonly maxAttempts: number;
  private readonly clock: () => number;
  private readonly lock = new KeyedLock();
  private lease: { window: number; id: Promise<string> } | undefined;

  constructor(opts: OpRunnerOptions) {
    this.store = opts.store;
    this.ttl = opts.ttlSeconds ?? 86_400;
    this.maxAttempts = opts.maxAttempts ?? 200;
    this.clock = opts.clock ?? Date.now;
  }

  /** One lease per 10-minute window carries every idempotency record written in it. */
  private leaseId(): Promise<string> {
    const window = Math.floor(this.clock() / 600_000);
    if (this.lease === undefined || this.lease.window !== window) {
      const id = this.store.leaseGrant(this.ttl + 600).then((r) => r.id);
      id.catch(() => {
        if (this.lease?.id === id) this.lease = undefined;
      });
      this.lease = { window, id };
    }
    return this.lease.id;
  }

  private async read(keys: Uint8Array[], op: OpRef | undefined): Promise<Map<string, KeyValue | undefined>> {
    const all = op === undefined ? keys : [...keys, op.key];
    const res = await this.store.txn({
      compare: [],
      success: all.map((key): RequestOp => ({ range: { key } })),
      failure: [],
    });
    const out = new Map<string, KeyValue | undefined>();
    all.forEach((key, i) => {
      const r = res.responses[i];
      out.set(text(key), r !== undefined && 'range' in r ? r.range.kvs[0] : undefined);
    });
    return out;
  }

  private replay(op: OpRef, kv: KeyValue): Outcome {
    let rec: OpRecord | undefined;
    try {
      rec = JSON.parse(text(kv.value)) as OpRecord;
    } catch {
      rec = undefined;
    }
    if (rec === undefined || rec.fingerprint !== op.fingerprint) {
      throw new IdempotencyKeyReusedError(undefined, { details: { idempotency_key: op.clientKey } });
    }
    return rec.outcome;
  }

  /**
   * Run one operation. `lockKey` serializes operations on the same wallet inside this process; `keys`
   * are read (consistently, in one store request) and handed to `decide`, which returns the plan or
   * throws an `ApiError` that is answered without being recorded (e.g. 404). Returns the outcome and
   * whether it was replayed from an earlier request with the same key.
   */
  async run(
    lockKey: string,
    keys: Uint8Array[],
    op: OpRef | undefined,
    decide: (snap: Snapshot) => Plan,
  ): Promise<RunResult> {
    return this.lock.run(lockKey, async () => {
      for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
        const kvs = await this.read(keys, op);
        if (op !== undefined) {
          const prior = kvs.get(text(op.key));
          if (prior !== undefined) return { outcome: this.replay(op, prior), replayed: true };
        }
        const snap = new Snapshot(kvs);
        const plan = decide(snap);
        const compare: Compare[] = keys.map((key) => ({
          key,
          target: 'mod',
          result: 'equal',
          modRevision: snap.modRevision(key),
        }));
        const success: RequestOp[] = [
          ...plan.puts.map((p): RequestOp => ({
            put: { key: p.key, value: bytes(JSON.stringify(p.value)) },
          })),
          ...plan.deletes.map((key): RequestOp => ({ deleteRange: { key } })),
        ];
        if (op !== undefined) {
          compare.push({ key: op.key, target: 'create', result: 'equal', createRevision: 0 });
          const rec: OpRecord = {
            fingerprint: op.fingerprint,
            created_at: new Date(this.clock()).toISOString(),
            outcome: plan.outcome,
          };
          success.push({
            put: { key: op.key, value: bytes(JSON.stringify(rec)), lease: await this.leaseId() },
          });
        }
        if (success.length === 0) return { outcome: plan.outcome, replayed: false };
        let res;
        try {
          res = await this.store.txn({ compare, success, failure: [] });
        } catch (err) {
          if (isStoreError(err) && err.kind === 'leaseNotFound') {
            this.lease = undefined;
            continue;
          }
          throw err;
        }
        if (res.succeeded) return { outcome: plan.outcome, replayed: false, revision: res.header.revision };
        // Lost a race: someone changed a key we read (or recorded our key). Back off a little, re-read.
        if (attempt > 2) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
      }
      throw new ContentionError();
    });
  }
}
