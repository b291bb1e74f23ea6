/**
 * JSON documents in the Store: get, list by prefix, create-only, compare-and-swap update, delete. Every
 * piece of IAM state goes through these (never an in-memory map), so several IAM processes can share
 * one ChainFire and see each other's writes.
 */
import { ConflictError, ServiceUnavailableError } from '@photoncloud/errors';
import { bytes, prefixEnd, text } from '@photoncloud/store';
import type { RequestOp, Store } from '@photoncloud/store';

/** A document with the revision it was read at (for compare-and-swap). */
export interface Doc<T> {
  value: T;
  modRevision: number;
}

/** Thin typed JSON access to the Store. */
export class JsonStore {
  constructor(readonly store: Store) {}

  /** The document at `key`, or `undefined`. */
  async get<T>(key: string): Promise<Doc<T> | undefined> {
    const kv = (await this.store.range({ key: bytes(key) })).kvs[0];
    if (kv === undefined) return undefined;
    return { value: JSON.parse(text(kv.value)) as T, modRevision: kv.modRevision };
  }

  /** Every document under `prefix`, in key order. */
  async list<T>(prefix: string): Promise<Array<{ key: string; value: T }>> {
    const p = bytes(prefix);
    const res = await this.store.range({ key: p, rangeEnd: prefixEnd(p) });
    return res.kvs.map((kv) => ({ key: text(kv.key), value: JSON.parse(text(kv.value)) as T }));
  }

  /** Write unconditionally (with an optional lease). */
  async put(key: string, value: unknown, lease?: string): Promise<number> {
    const res = await this.store.put({
      key: bytes(key),
      value: bytes(JSON.stringify(value)),
      ...(lease === undefined ? {} : { lease }),
    });
    return res.header.revision;
  }

  /** Create `key`; 409 CONFLICT when it exists. `also` are written in the same transaction. */
  async create(key: string, value: unknown, what: string, also: RequestOp[] = []): Promise<void> {
    const k = bytes(key);
    const res = await this.store.txn({
      compare: [{ key: k, target: 'create', createRevision: 0, result: 'equal' }],
      success: [{ put: { key: k, value: bytes(JSON.stringify(value)) } }, ...also],
      failure: [],
    });
    if (!res.succeeded)
      throw new ConflictError(`${what} already exists`, { details: { key: key.split('/').pop() } });
  }

  /** Write `value` only if `key` is still at `modRevision`; false when it changed. */
  async swap(key: string, modRevision: number, value: unknown, lease?: string): Promise<boolean> {
    const k = bytes(key);
    const res = await this.store.txn({
      compare: [{ key: k, target: 'mod', modRevision, result: 'equal' }],
      success: [
        { put: { key: k, value: bytes(JSON.stringify(value)), ...(lease === undefined ? {} : { lease }) } },
      ],
      failure: [],
    });
    return res.succeeded;
  }

  /**
   * Read-modify-write with compare-and-swap, retried a bounded number of times under contention.
   * `fn` returns the new value (or `undefined` to leave the document alone).
   */
  async update<T>(
    key: string,
    fn: (current: Doc<T> | undefined) => T | undefined,
    attempts = 20,
  ): Promise<T | undefined> {
    for (let i = 0; i < attempts; i++) {
      const cur = await this.get<T>(key);
      const next = fn(cur);
      if (next === undefined) return cur?.value;
      const k = bytes(key);
      const res = await this.store.txn({
        compare:
          cur === undefined
            ? [{ key: k, target: 'create', createRevision: 0, result: 'equal' }]
            : [{ key: k, target: 'mod', modRevision: cur.modRevision, result: 'equal' }],
        success: [{ put: { key: k, value: bytes(JSON.stringify(next)) } }],
        failure: [],
      });
      if (res.succeeded) return next;
    }
    throw new ServiceUnavailableError('Too much contention updating IAM state; retry', 1);
  }

  /** Delete `key` (and, in the same transaction, everything under `alsoPrefixes`); true when it existed. */
  async delete(key: string, alsoPrefixes: string[] = []): Promise<boolean> {
    const ops: RequestOp[] = [
      { deleteRange: { key: bytes(key) } },
      ...alsoPrefixes.map((p) => ({ deleteRange: { key: bytes(p), rangeEnd: prefixEnd(bytes(p)) } })),
    ];
    const res = await this.store.txn({ compare: [], success: ops, failure: [] });
    const first = res.responses[0];
    return first !== undefined && 'deleteRange' in first && first.deleteRange.deleted > 0;
  }

  /** A lease that expires `seconds` from now (at least 1 s). */
  async lease(seconds: number): Promise<string> {
    return (await this.store.leaseGrant(Math.max(1, Math.ceil(seconds)))).id;
  }
}
