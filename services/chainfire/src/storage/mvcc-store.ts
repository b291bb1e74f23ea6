/**
 * The MVCC state machine in LMDB (etcd's revision model). Layout (docs/adr/0002-chainfire-storage.md):
 *
 * - `hist`  revisionKey(main, sub) → KV record: every version and tombstone, in revision order
 *           (watch replay and compaction walk it);
 * - `keys`  user key → KV record of its newest version or tombstone (reads at the current revision
 *           are one B-tree walk);
 * - `revs`  user key → [main, sub] duplicates (dupSort): the key's revisions, to find the newest
 *           version at or before an old revision;
 * - `leases` leaseKey(id) → { ttl }; `leasekeys` leaseKey(id) ‖ user key → empty (the lease's keys);
 * - `meta`  applied index/term, current and compact revisions, compaction progress, identity, and the
 *           cluster members (updated by the membership-change entries, in the same transaction).
 *
 * Each batch of committed Raft entries is applied in ONE LMDB write transaction that also records the
 * applied index, so a restart replays exactly the WAL entries after it. LMDB runs without fsync per
 * commit (noSync); `sync()` makes everything committed durable and is the checkpoint after which the
 * WAL may drop older segments.
 */
import fs from 'node:fs';
import path from 'node:path';
import { open } from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import { StoreError, prefixEnd } from '@photoncloud/store';
import type { Event, KeyValue, StoreErrorKind } from '@photoncloud/store';
import {
  decodeKvRecord,
  encodeKvRecord,
  leaseIdFromKey,
  leaseKey,
  parseRevisionKey,
  revisionKey,
  toKeyValue,
  tombstoneKeyValue,
} from '../core/kv-record.js';
import type { StoredKv } from '../core/kv-record.js';
import { clampBound, isEmptyInterval, toInterval } from '../core/key-range.js';
import { MAX_KEY_BYTES } from '../core/limits.js';
import { compareHolds } from '../core/compare.js';
import { finishRange, materializeLimit } from '../core/range-result.js';
import { decodeCommand } from '../core/commands.js';
import type { Codable } from '../core/value-codec.js';
import type { Command } from '../core/commands.js';
import type { NormDelete, NormOp, NormPut, NormRange, NormTxn } from '../core/requests.js';
import { FrameWriter, SNAPSHOT_FORMAT, readFrames } from './snapshot-file.js';

const EMPTY = new Uint8Array(0);
const MAX_SUB = 0xffffffff;

/** Result of a range (header revision is the store revision it was served at). */
export interface RangeOutcome {
  revision: number;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutOutcome {
  revision: number;
  prevKv?: KeyValue;
}

export interface DeleteOutcome {
  revision: number;
  deleted: number;
  prevKvs: KeyValue[];
}

export type OpOutcome =
  { range: RangeOutcome } | { put: PutOutcome } | { deleteRange: DeleteOutcome } | { txn: TxnOutcome };

export interface TxnOutcome {
  revision: number;
  succeeded: boolean;
  responses: OpOutcome[];
}

/** What applying one log entry produced. */
export type Outcome =
  | { error: StoreErrorKind }
  | { put: PutOutcome }
  | { deleteRange: DeleteOutcome }
  | { txn: TxnOutcome }
  | { compact: { revision: number } }
  | { leaseGrant: { revision: number; id: string; ttl: number } }
  | { leaseRevoke: { revision: number } }
  | { noop: { revision: number } };

/** Lease bookkeeping the engine mirrors in memory after a batch commits. */
export type LeaseEffect = { granted: string; ttl: number } | { revoked: string };

/** The result of applying a batch of entries. */
export interface BatchResult {
  outcomes: Outcome[];
  /** One element per revision created, in order, with that revision's events. */
  revisions: Array<{ revision: number; events: Event[] }>;
  leaseEffects: LeaseEffect[];
  /** Whether a compaction was applied (the engine then runs the physical compaction). */
  compacted: boolean;
}

/** Member identity, persisted on first start. */
export interface Identity {
  clusterId: string;
  memberId: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
}

/** A cluster member as recorded by the applied membership changes. */
export interface MemberRecord {
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
  /** Small numeric ID (1 for the member that started the cluster). */
  nodeNum: number;
}

/** Membership change entry data: Raft's `{type, nodeId}` plus the member's metadata. */
interface ConfChangeData {
  type?: unknown;
  nodeId?: unknown;
  name?: unknown;
  peerUrls?: unknown;
  clientUrls?: unknown;
  nodeNum?: unknown;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Database<any, any>;

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

/** A committed log entry handed to `applyBatch`. */
export interface CommittedEntry {
  index: number;
  term: number;
  /** 'confChange' entries carry Raft membership, not commands; default 'normal'. */
  type?: 'normal' | 'confChange';
  data: Uint8Array;
}

/** Changes of one write transaction (one main revision). */
class WriteCtx {
  sub = 0;
  events: Event[] = [];
  constructor(readonly beginRev: number) {}
  get rev(): number {
    return this.beginRev + 1;
  }
  /** The revision reads inside the txn see. */
  get viewRev(): number {
    return this.sub > 0 ? this.beginRev + 1 : this.beginRev;
  }
}

/** A failed precondition inside apply: becomes an error outcome, nothing written. */
class ApplyError extends Error {
  constructor(readonly kind: StoreErrorKind) {
    super(kind);
  }
}

interface TxnPath {
  succeeded: boolean;
  /** Paths of the nested txns in the chosen branch, in order. */
  nested: TxnPath[];
}

/** LMDB-backed MVCC store. All methods are synchronous; the engine serialises writes. */
/** Meta entries a snapshot carries. */
const SNAPSHOT_META_KEYS = ['revision', 'compactRevision', 'compactDone', 'compactJob', 'members'];

export class MvccStore {
  private readonly env: RootDatabase;
  private readonly meta: Database<unknown, string>;
  private readonly keys: Database<Uint8Array, Uint8Array>;
  private readonly revs: Database<[number, number], Uint8Array>;
  private readonly hist: Database<Uint8Array, Uint8Array>;
  private readonly leases: Database<{ ttl: number }, Uint8Array>;
  private readonly leaseKeys: Database<Uint8Array, Uint8Array>;
  private readonly dir: string;

  private rev = 1;
  private compactRev = 0;
  private applied = { index: 0, term: 0 };
  private closed = false;

  private constructor(dir: string, syncEveryCommit: boolean) {
    this.dir = dir;
    // noSync: commits reach the page cache only; `sync()` (the checkpoint) makes them durable, and the
    // WAL covers everything after the last checkpoint. syncEveryCommit trades speed for an LMDB that
    // is consistent on disk after every batch even across power loss (ADR 0002).
    this.env = open({ path: dir, maxDbs: 8, noSync: !syncEveryCommit, mapSize: 64 * 1024 * 1024 * 1024 });
    this.meta = this.env.openDB<unknown, string>({ name: 'meta', encoding: 'json' });
    this.keys = this.env.openDB<Uint8Array, Uint8Array>({
      name: 'keys',
      keyEncoding: 'binary',
      encoding: 'binary',
    });
    this.revs = this.env.openDB<[number, number], Uint8Array>({
      name: 'revs',
      keyEncoding: 'binary',
      encoding: 'ordered-binary',
      dupSort: true,
    });
    this.hist = this.env.openDB<Uint8Array, Uint8Array>({
      name: 'hist',
      keyEncoding: 'binary',
      encoding: 'binary',
    });
    this.leases = this.env.openDB<{ ttl: number }, Uint8Array>({
      name: 'leases',
      keyEncoding: 'binary',
      encoding: 'json',
    });
    this.leaseKeys = this.env.openDB<Uint8Array, Uint8Array>({
      name: 'leasekeys',
      keyEncoding: 'binary',
      encoding: 'binary',
    });
    const applied = this.meta.get('applied') as { index: number; term: number } | undefined;
    if (applied) this.applied = applied;
    // etcd's store starts at revision 1: the first write creates revision 2.
    this.rev = (this.meta.get('revision') as number | undefined) ?? 1;
    this.compactRev = (this.meta.get('compactRevision') as number | undefined) ?? 0;
  }

  /** Open (creating) the store in directory `dir`. */
  static open(dir: string, opts: { syncEveryCommit?: boolean } = {}): MvccStore {
    fs.mkdirSync(dir, { recursive: true });
    return new MvccStore(dir, opts.syncEveryCommit === true);
  }

  get currentRevision(): number {
    return this.rev;
  }

  get compactRevision(): number {
    return this.compactRev;
  }

  get appliedIndex(): { index: number; term: number } {
    return { ...this.applied };
  }

  // ---------------------------------------------------------------- identity

  getIdentity(): Identity | undefined {
    return this.meta.get('identity') as Identity | undefined;
  }

  /** Persist the identity durably (first start only). */
  async setIdentity(id: Identity): Promise<void> {
    this.env.transactionSync(() => {
      void this.meta.put('identity', id);
    });
    await this.sync();
  }

  // ---------------------------------------------------------------- reads

  private latest(key: Uint8Array): StoredKv | undefined {
    if (key.length === 0 || key.length > MAX_KEY_BYTES) return undefined;
    const b = this.keys.get(key);
    if (!b) return undefined;
    const r = decodeKvRecord(b);
    return r.tombstone ? undefined : r;
  }

  /** The newest version of `key` at or before revision (main, sub), tombstones included. */
  private versionAt(key: Uint8Array, main: number, sub = MAX_SUB): StoredKv | undefined {
    if (key.length === 0 || key.length > MAX_KEY_BYTES) return undefined;
    for (const [m, s] of this.revs.getValues(key, { reverse: true, start: [main, sub], limit: 1 })) {
      const b = this.hist.get(revisionKey(m, s));
      return b ? decodeKvRecord(b) : undefined;
    }
    return undefined;
  }

  /**
   * Visit the live keys of [key, rangeEnd) at revision `rev` in key order. `viewRev` is the newest
   * revision of the current view: reads at it use the `keys` table directly.
   */
  private scan(
    key: Uint8Array,
    rangeEnd: Uint8Array,
    rev: number,
    viewRev: number,
    visit: (r: StoredKv) => boolean,
  ): void {
    const iv = toInterval(key, rangeEnd);
    if (iv.single) {
      const r = rev >= viewRev ? this.latest(key) : this.versionAt(key, rev);
      if (r && !r.tombstone) visit(r);
      return;
    }
    if (isEmptyInterval(iv)) return;
    const start = clampBound(iv.start);
    const end = iv.end === null ? undefined : clampBound(iv.end);
    if (rev >= viewRev) {
      for (const { value } of this.keys.getRange({ start, end })) {
        // Byte 0 is the flags byte: skip tombstones without decoding.
        if ((value[0]! & 1) === 1) continue;
        if (!visit(decodeKvRecord(value))) return;
      }
      return;
    }
    for (const k of this.revs.getKeys({ start, end })) {
      const r = this.versionAt(k, rev);
      if (r && !r.tombstone && !visit(r)) return;
    }
  }

  private checkReadRevision(rev: number, current: number): void {
    if (rev > current) throw new ApplyError('futureRev');
    if (rev > 0 && rev < this.compactRev) throw new ApplyError('compacted');
  }

  private rangeAt(r: NormRange, viewRev: number): RangeOutcome {
    const rev = r.revision > 0 ? r.revision : viewRev;
    const want = materializeLimit(r);
    const scanned: KeyValue[] = [];
    let count = 0;
    this.scan(r.key, r.rangeEnd, rev, viewRev, (rec) => {
      count++;
      if (scanned.length < want) scanned.push(toKeyValue(rec));
      return true;
    });
    const { kvs, more } = finishRange(scanned, r);
    return { revision: viewRev, kvs, more, count };
  }

  /** A range at the current revision (or `r.revision`); throws StoreError compacted/futureRev. */
  range(r: NormRange): RangeOutcome {
    try {
      this.checkReadRevision(r.revision, this.rev);
      return this.rangeAt(r, this.rev);
    } catch (e) {
      if (e instanceof ApplyError) throw new StoreError(e.kind);
      throw e;
    }
  }

  /** Run a txn that has no writes anywhere, without the log. */
  readOnlyTxn(t: NormTxn): TxnOutcome {
    try {
      const p = this.txnPath(t, this.rev);
      this.checkTxnRanges(t, p, this.rev);
      return this.execTxn(null, t, p, this.rev);
    } catch (e) {
      if (e instanceof ApplyError) throw new StoreError(e.kind);
      throw e;
    }
  }

  // ---------------------------------------------------------------- leases

  leaseTtl(id: string): number | undefined {
    return this.leases.get(leaseKey(id))?.ttl;
  }

  /** All leases with their granted TTL. */
  allLeases(): Array<{ id: string; ttl: number }> {
    const out: Array<{ id: string; ttl: number }> = [];
    for (const { key, value } of this.leases.getRange({}))
      out.push({ id: leaseIdFromKey(key), ttl: value.ttl });
    return out;
  }

  /** Keys attached to a lease, in key order. */
  keysOfLease(id: string): Uint8Array[] {
    const prefix = leaseKey(id);
    const end = prefixEnd(prefix);
    const out: Uint8Array[] = [];
    const range = end.length === 1 && end[0] === 0 ? { start: prefix } : { start: prefix, end };
    for (const k of this.leaseKeys.getKeys(range)) out.push(k.subarray(8));
    return out;
  }

  // ---------------------------------------------------------------- watch history

  /**
   * Changes with revision >= `from` and <= `to`, grouped by revision, about `maxEvents` at most (a
   * revision is never split). `prevKv` adds each change's previous version when still stored.
   */
  history(
    from: number,
    to: number,
    maxEvents: number,
    prevKv: boolean,
  ): Array<{ revision: number; events: Event[] }> {
    if (from > to) return [];
    const recs: StoredKv[] = [];
    for (const { value } of this.hist.getRange({
      start: revisionKey(from, 0),
      end: revisionKey(to + 1, 0),
      limit: maxEvents,
    })) {
      recs.push(decodeKvRecord(value));
    }
    const last = recs[recs.length - 1];
    if (last && recs.length >= maxEvents) {
      // Complete the last revision so a batch never splits one.
      for (const { value } of this.hist.getRange({
        start: revisionKey(last.modRevision, last.modSub),
        end: revisionKey(last.modRevision + 1, 0),
        exclusiveStart: true,
      })) {
        recs.push(decodeKvRecord(value));
      }
    }
    const out: Array<{ revision: number; events: Event[] }> = [];
    for (const r of recs) {
      let group = out[out.length - 1];
      if (!group || group.revision !== r.modRevision) {
        group = { revision: r.modRevision, events: [] };
        out.push(group);
      }
      const ev: Event = r.tombstone
        ? { type: 'DELETE', kv: tombstoneKeyValue(r.key, r.modRevision) }
        : { type: 'PUT', kv: toKeyValue(r) };
      if (prevKv) {
        const prev =
          r.modSub > 0
            ? this.versionAt(r.key, r.modRevision, r.modSub - 1)
            : this.versionAt(r.key, r.modRevision - 1);
        if (prev && !prev.tombstone) ev.prevKv = toKeyValue(prev);
      }
      group.events.push(ev);
    }
    return out;
  }

  // ---------------------------------------------------------------- apply

  /**
   * Apply committed entries in ONE LMDB write transaction that also records the applied index.
   * Entries at or below the applied index are skipped (exactly-once across restarts).
   */
  applyBatch(entries: CommittedEntry[]): BatchResult {
    const res: BatchResult = { outcomes: [], revisions: [], leaseEffects: [], compacted: false };
    this.env.transactionSync(() => {
      for (const e of entries) {
        if (e.index <= this.applied.index) {
          res.outcomes.push({ noop: { revision: this.rev } });
          continue;
        }
        // Empty entries are a new leader's no-op; membership changes update the member table.
        if (e.type === 'confChange') {
          this.applyMemberChange(e.data);
          res.outcomes.push({ noop: { revision: this.rev } });
        } else if (e.data.length === 0) {
          res.outcomes.push({ noop: { revision: this.rev } });
        } else {
          res.outcomes.push(this.applyCommand(decodeCommand(e.data), res));
        }
        this.applied = { index: e.index, term: e.term };
      }
      void this.meta.put('applied', this.applied);
      void this.meta.put('revision', this.rev);
    });
    return res;
  }

  /** The members as of the applied index (empty before the first membership entry is applied). */
  members(): MemberRecord[] {
    return ((this.meta.get('members') as MemberRecord[] | undefined) ?? []).map((m) => ({ ...m }));
  }

  private applyMemberChange(data: Uint8Array): void {
    let cc: ConfChangeData;
    try {
      cc = JSON.parse(Buffer.from(data).toString('utf8')) as ConfChangeData;
    } catch {
      return;
    }
    if (typeof cc.nodeId !== 'string') return;
    const id = cc.nodeId;
    const members = this.members();
    const at = members.findIndex((m) => m.id === id);
    if (cc.type === 'removeNode') {
      if (at >= 0) members.splice(at, 1);
    } else if (cc.type === 'addNode' || cc.type === 'addLearner') {
      const prev = at >= 0 ? members[at] : undefined;
      const m: MemberRecord = {
        id,
        name: typeof cc.name === 'string' ? cc.name : (prev?.name ?? ''),
        peerUrls: strings(cc.peerUrls) ?? prev?.peerUrls ?? [],
        clientUrls: strings(cc.clientUrls) ?? prev?.clientUrls ?? [],
        // addLearner never demotes a voter (as in Raft's configuration).
        isLearner: cc.type === 'addLearner' && (prev === undefined || prev.isLearner),
        nodeNum: typeof cc.nodeNum === 'number' ? cc.nodeNum : (prev?.nodeNum ?? 1),
      };
      if (at >= 0) members[at] = m;
      else members.push(m);
    } else {
      return;
    }
    void this.meta.put('members', members);
  }

  // ---------------------------------------------------------------- snapshots

  /** The tables a snapshot holds, in file order (their index is the row's table number). */
  private snapshotTables(): AnyDb[] {
    return [
      this.keys as AnyDb,
      this.revs as AnyDb,
      this.hist as AnyDb,
      this.leases as AnyDb,
      this.leaseKeys as AnyDb,
    ];
  }

  /**
   * Write the whole state machine (every table but this member's identity and applied index) to
   * `file` (snapshot-file.ts), row by row: a Raft snapshot at the applied index of the moment of the
   * call. The rows come from one LMDB read transaction begun in the call, so applies that go on while
   * the file is written (the export yields to the event loop after every MiB, so that a large
   * keyspace never stalls Raft's heartbeats) are not in it. Resolves to the file's size.
   */
  exportSnapshotFile(file: string): Promise<number> {
    const txn = this.env.useReadTransaction();
    const meta: Record<string, Codable> = {};
    for (const k of SNAPSHOT_META_KEYS) {
      const v = this.meta.get(k, { transaction: txn });
      if (v !== undefined) meta[k] = v as Codable;
    }
    const tables = this.snapshotTables();
    return (async () => {
      let w: FrameWriter | undefined;
      try {
        w = new FrameWriter(file);
        w.add({ format: SNAPSHOT_FORMAT, meta });
        let rows = 0;
        let mark = 0;
        for (let t = 0; t < tables.length; t++) {
          for (const { key, value } of tables[t]!.getRange({ transaction: txn })) {
            w.add([t, key as Codable, value as Codable]);
            rows++;
            if (w.bytes - mark >= 1024 * 1024) {
              mark = w.bytes;
              await new Promise((r) => setImmediate(r));
            }
          }
        }
        w.add({ end: rows });
        w.close();
        return w.bytes;
      } catch (e) {
        w?.abort(file);
        throw e;
      } finally {
        txn.done();
      }
    })();
  }

  /**
   * Replace the whole state machine with a snapshot file written by `exportSnapshotFile` on another
   * member, at Raft position `at`, in one transaction (a torn or foreign file changes nothing), then
   * sync it to disk.
   */
  async importSnapshotFile(file: string, at: { index: number; term: number }): Promise<void> {
    const tables = this.snapshotTables();
    this.env.transactionSync(() => {
      const frames = readFrames(file);
      const head = frames.next().value as Record<string, Codable> | undefined;
      if (!head || typeof head !== 'object' || head.format !== SNAPSHOT_FORMAT)
        throw new Error('mvcc: not a ChainFire Raft snapshot');
      for (const db of tables) for (const key of [...db.getKeys({})]) void db.remove(key);
      let rows = 0;
      let ended = false;
      for (const f of frames) {
        if (ended) throw new Error('mvcc: snapshot has data after its end');
        if (Array.isArray(f)) {
          const db = tables[f[0] as number];
          if (db === undefined || f.length !== 3) throw new Error('mvcc: snapshot row of no table');
          void db.put(f[1], f[2]);
          rows++;
        } else if (f && typeof f === 'object' && 'end' in f) {
          if ((f as { end: Codable }).end !== rows) throw new Error('mvcc: snapshot row count mismatch');
          ended = true;
        } else throw new Error('mvcc: unexpected snapshot frame');
      }
      if (!ended) throw new Error('mvcc: snapshot file is truncated');
      const meta = (head.meta ?? {}) as Record<string, Codable>;
      for (const k of SNAPSHOT_META_KEYS) {
        if (meta[k] === undefined) void this.meta.remove(k);
        else void this.meta.put(k, meta[k]);
      }
      this.applied = { index: at.index, term: at.term };
      void this.meta.put('applied', this.applied);
    });
    this.rev = (this.meta.get('revision') as number | undefined) ?? 1;
    this.compactRev = (this.meta.get('compactRevision') as number | undefined) ?? 0;
    await this.sync();
  }

  private applyCommand(cmd: Command, res: BatchResult): Outcome {
    try {
      switch (cmd.op) {
        case 'put':
          return { put: this.applyPut(cmd.req, res) };
        case 'deleteRange':
          return { deleteRange: this.applyDelete(cmd.req, res) };
        case 'txn':
          return { txn: this.applyTxn(cmd.req, res) };
        case 'compact':
          return { compact: this.applyCompact(cmd.revision, res) };
        case 'leaseGrant':
          return { leaseGrant: this.applyLeaseGrant(cmd.id, cmd.ttl, res) };
        case 'leaseRevoke':
          return { leaseRevoke: this.applyLeaseRevoke(cmd.id, res) };
      }
    } catch (e) {
      if (e instanceof ApplyError) return { error: e.kind };
      throw e;
    }
  }

  private commitCtx(ctx: WriteCtx, res: BatchResult): void {
    if (ctx.sub === 0) return;
    this.rev = ctx.rev;
    res.revisions.push({ revision: ctx.rev, events: ctx.events });
  }

  private checkPut(p: NormPut): void {
    if (p.ignoreValue || p.ignoreLease) {
      if (!this.latest(p.key)) throw new ApplyError('keyNotFound');
    }
    if (p.lease !== '0' && !this.leases.get(leaseKey(p.lease))) throw new ApplyError('leaseNotFound');
  }

  private applyPut(p: NormPut, res: BatchResult): PutOutcome {
    this.checkPut(p);
    const ctx = new WriteCtx(this.rev);
    const prev = this.writePut(ctx, p);
    this.commitCtx(ctx, res);
    return p.prevKv && prev ? { revision: ctx.rev, prevKv: toKeyValue(prev) } : { revision: ctx.rev };
  }

  private writePut(ctx: WriteCtx, p: NormPut): StoredKv | undefined {
    const prev = this.latest(p.key);
    const rev = ctx.rev;
    const rec: StoredKv = {
      key: p.key,
      value: p.ignoreValue && prev ? prev.value : p.value,
      createRevision: prev ? prev.createRevision : rev,
      modRevision: rev,
      modSub: ctx.sub,
      version: prev ? prev.version + 1 : 1,
      lease: p.ignoreLease && prev ? prev.lease : p.lease,
      tombstone: false,
    };
    const enc = encodeKvRecord(rec);
    void this.hist.put(revisionKey(rev, ctx.sub), enc);
    void this.keys.put(p.key, enc);
    void this.revs.put(p.key, [rev, ctx.sub]);
    if (prev && prev.lease !== '0' && prev.lease !== rec.lease)
      void this.leaseKeys.remove(this.leaseKeyOf(prev.lease, p.key));
    if (rec.lease !== '0' && (!prev || prev.lease !== rec.lease))
      void this.leaseKeys.put(this.leaseKeyOf(rec.lease, p.key), EMPTY);
    const ev: Event = { type: 'PUT', kv: toKeyValue(rec) };
    if (prev) ev.prevKv = toKeyValue(prev);
    ctx.events.push(ev);
    ctx.sub++;
    return prev;
  }

  private leaseKeyOf(lease: string, key: Uint8Array): Uint8Array {
    const out = new Uint8Array(8 + key.length);
    out.set(leaseKey(lease), 0);
    out.set(key, 8);
    return out;
  }

  private writeDelete(ctx: WriteCtx, prev: StoredKv): void {
    const rev = ctx.rev;
    const rec: StoredKv = {
      key: prev.key,
      value: EMPTY,
      createRevision: 0,
      modRevision: rev,
      modSub: ctx.sub,
      version: 0,
      lease: '0',
      tombstone: true,
    };
    const enc = encodeKvRecord(rec);
    void this.hist.put(revisionKey(rev, ctx.sub), enc);
    void this.keys.put(prev.key, enc);
    void this.revs.put(prev.key, [rev, ctx.sub]);
    if (prev.lease !== '0') void this.leaseKeys.remove(this.leaseKeyOf(prev.lease, prev.key));
    ctx.events.push({ type: 'DELETE', kv: tombstoneKeyValue(prev.key, rev), prevKv: toKeyValue(prev) });
    ctx.sub++;
  }

  private deleteIn(ctx: WriteCtx, d: NormDelete): DeleteOutcome {
    const victims: StoredKv[] = [];
    this.scan(d.key, d.rangeEnd, ctx.viewRev, ctx.viewRev, (r) => {
      victims.push(r);
      return true;
    });
    for (const v of victims) this.writeDelete(ctx, v);
    return {
      revision: ctx.viewRev,
      deleted: victims.length,
      prevKvs: d.prevKv ? victims.map((v) => toKeyValue(v)) : [],
    };
  }

  private applyDelete(d: NormDelete, res: BatchResult): DeleteOutcome {
    const ctx = new WriteCtx(this.rev);
    const out = this.deleteIn(ctx, d);
    this.commitCtx(ctx, res);
    return out;
  }

  /** Evaluate every compare on the chosen path against the view at the txn's start (etcd). */
  private txnPath(t: NormTxn, rev: number): TxnPath {
    const succeeded = t.compare.every((c) => {
      const kvs: KeyValue[] = [];
      this.scan(c.key, c.rangeEnd, rev, rev, (r) => {
        kvs.push(toKeyValue(r));
        return true;
      });
      return compareHolds(c, kvs);
    });
    const nested: TxnPath[] = [];
    for (const op of succeeded ? t.success : t.failure)
      if ('txn' in op) nested.push(this.txnPath(op.txn, rev));
    return { succeeded, nested };
  }

  private forPath(t: NormTxn, p: TxnPath, visit: (op: NormOp) => void): void {
    let n = 0;
    for (const op of p.succeeded ? t.success : t.failure) {
      if ('txn' in op) this.forPath(op.txn, p.nested[n++]!, visit);
      else visit(op);
    }
  }

  private checkTxnRanges(t: NormTxn, p: TxnPath, rev: number): void {
    this.forPath(t, p, (op) => {
      if ('range' in op && op.range.revision > 0) this.checkReadRevision(op.range.revision, rev);
    });
  }

  private applyTxn(t: NormTxn, res: BatchResult): TxnOutcome {
    const p = this.txnPath(t, this.rev);
    // etcd's order: every put's preconditions on the path first, then every range's revision.
    this.forPath(t, p, (op) => {
      if ('put' in op) this.checkPut(op.put);
    });
    this.checkTxnRanges(t, p, this.rev);
    const ctx = new WriteCtx(this.rev);
    const out = this.execTxn(ctx, t, p, this.rev);
    this.commitCtx(ctx, res);
    out.revision = ctx.viewRev;
    return out;
  }

  /** Execute the chosen branch. `ctx` null = read-only (no writes on the path). */
  private execTxn(ctx: WriteCtx | null, t: NormTxn, p: TxnPath, rev: number): TxnOutcome {
    const responses: OpOutcome[] = [];
    let n = 0;
    const view = (): number => (ctx ? ctx.viewRev : rev);
    for (const op of p.succeeded ? t.success : t.failure) {
      if ('range' in op) {
        responses.push({ range: this.rangeAt(op.range, view()) });
      } else if ('put' in op) {
        if (!ctx) throw new Error('read-only txn with a put');
        const prev = this.writePut(ctx, op.put);
        responses.push({
          put:
            op.put.prevKv && prev ? { revision: ctx.rev, prevKv: toKeyValue(prev) } : { revision: ctx.rev },
        });
      } else if ('deleteRange' in op) {
        if (!ctx) throw new Error('read-only txn with a delete');
        responses.push({ deleteRange: this.deleteIn(ctx, op.deleteRange) });
      } else {
        const sub = this.execTxn(ctx, op.txn, p.nested[n++]!, rev);
        responses.push({ txn: sub });
      }
    }
    return { revision: view(), succeeded: p.succeeded, responses };
  }

  private applyCompact(revision: number, res: BatchResult): { revision: number } {
    if (revision <= this.compactRev) throw new ApplyError('compacted');
    if (revision > this.rev) throw new ApplyError('futureRev');
    this.compactRev = revision;
    void this.meta.put('compactRevision', revision);
    res.compacted = true;
    return { revision: this.rev };
  }

  private applyLeaseGrant(
    id: string,
    ttl: number,
    res: BatchResult,
  ): { revision: number; id: string; ttl: number } {
    const k = leaseKey(id);
    if (this.leases.get(k)) throw new ApplyError('leaseExists');
    void this.leases.put(k, { ttl });
    res.leaseEffects.push({ granted: id, ttl });
    return { revision: this.rev, id, ttl };
  }

  private applyLeaseRevoke(id: string, res: BatchResult): { revision: number } {
    const k = leaseKey(id);
    if (!this.leases.get(k)) throw new ApplyError('leaseNotFound');
    const ctx = new WriteCtx(this.rev);
    for (const key of this.keysOfLease(id)) {
      const cur = this.latest(key);
      if (cur) this.writeDelete(ctx, cur);
      else void this.leaseKeys.remove(this.leaseKeyOf(id, key));
    }
    void this.leases.remove(k);
    this.commitCtx(ctx, res);
    res.leaseEffects.push({ revoked: id });
    return { revision: this.rev };
  }

  // ---------------------------------------------------------------- physical compaction

  /** Whether history below the compact revision still has to be removed. */
  compactionPending(): boolean {
    return (
      this.meta.get('compactJob') !== undefined ||
      ((this.meta.get('compactDone') as number | undefined) ?? 0) < this.compactRev
    );
  }

  /**
   * Remove up to about `maxEntries` history entries made obsolete by the compact revision, in one
   * LMDB transaction. Keeps, for every key, its newest version at or before the compact revision
   * (a tombstone only when it is exactly at the compact revision, so a watch from there still sees
   * the delete). Returns true while more work remains. Idempotent, resumable after a restart.
   */
  compactStep(maxEntries = 10000): boolean {
    let job = this.meta.get('compactJob') as { target: number; cursor: [number, number] } | undefined;
    if (!job) {
      const done = (this.meta.get('compactDone') as number | undefined) ?? 0;
      if (done >= this.compactRev) return false;
      // Start at `done` itself: a tombstone kept there by the previous compaction goes now.
      job = { target: this.compactRev, cursor: [done, 0] };
    }
    const { target, cursor } = job;
    let more = false;
    this.env.transactionSync(() => {
      const touched = new Map<string, Uint8Array>();
      let last: { main: number; sub: number } | undefined;
      let n = 0;
      for (const { key, value } of this.hist.getRange({
        start: revisionKey(cursor[0], cursor[1]),
        end: revisionKey(target + 1, 0),
        limit: maxEntries,
      })) {
        last = parseRevisionKey(key);
        const r = decodeKvRecord(value);
        touched.set(Buffer.from(r.key).toString('latin1'), Uint8Array.prototype.slice.call(r.key));
        n++;
      }
      for (const k of touched.values()) this.compactKey(k, target);
      if (n >= maxEntries && last) {
        void this.meta.put('compactJob', { target, cursor: [last.main, last.sub + 1] });
        more = true;
      } else {
        void this.meta.put('compactDone', target);
        void this.meta.remove('compactJob');
        more = target < this.compactRev;
      }
    });
    return more;
  }

  private compactKey(key: Uint8Array, target: number): void {
    const vals = [...this.revs.getValues(key, { reverse: true, start: [target, MAX_SUB] })];
    const newest = vals[0];
    if (!newest) return;
    for (const [m, s] of vals.slice(1)) {
      void this.hist.remove(revisionKey(m, s));
      void this.revs.remove(key, [m, s]);
    }
    const [m, s] = newest;
    if (m >= target) return;
    const b = this.hist.get(revisionKey(m, s));
    if (!b || !decodeKvRecord(b).tombstone) return;
    void this.hist.remove(revisionKey(m, s));
    void this.revs.remove(key, [m, s]);
    const cur = this.keys.get(key);
    if (cur) {
      const r = decodeKvRecord(cur);
      if (r.tombstone && r.modRevision === m && r.modSub === s) void this.keys.remove(key);
    }
  }

  // ---------------------------------------------------------------- durability

  /** Flush every committed transaction to disk (the checkpoint). */
  sync(): Promise<void> {
    const env = this.env as unknown as { sync(cb: (err?: Error) => void): void };
    return new Promise((resolve, reject) => env.sync((err) => (err ? reject(err) : resolve())));
  }

  /** Size of the LMDB data file in bytes. */
  dbSize(): number {
    try {
      return fs.statSync(path.join(this.dir, 'data.mdb')).size;
    } catch {
      return 0;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sync();
    await this.env.close();
  }
}
