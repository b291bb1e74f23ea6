/**
 * `Idempotency-Key` for mutating POSTs (ARCHITECTURE.md §2).
 *
 * The first request with a key claims a record in the store with a create-if-absent transaction, so
 * of two racing requests exactly one executes; the other sees the claim and answers 409 while the
 * first is in flight. When the first finishes, its status, body and a few headers are saved under the
 * same key; later requests with the same key and the same method/path/body get that response back
 * (`Idempotent-Replayed: true`); with a different request they get 422 IDEMPOTENCY_KEY_REUSED.
 * 5xx answers are not saved (the claim is released) so that the client can retry. A claim still pending
 * after `pendingTimeoutSeconds` was left by a process that died mid-request: the next request with the
 * same key and body takes it over (compare-and-swap on its revision) and executes, instead of the key
 * answering 409 until the record expires.
 *
 * Records live at `/photoncloud/idempotency/<service>/<sha256(principal, key)>` with a lease, so they
 * expire after `ttlSeconds` (24 h). One lease is shared by all records of a time window, so a busy
 * service does not create a lease per request; a record lives between ttl and ttl + window.
 */
import { createHash } from 'node:crypto';
import { ConflictError, IdempotencyKeyReusedError, ValidationError } from '@photoncloud/errors';
import type { Logger } from '@photoncloud/log';
import { bytes, text } from '@photoncloud/store';
import type { Store } from '@photoncloud/store';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isStoreError } from './to-api-error.js';

/** Key prefix of idempotency records. */
export const IDEMPOTENCY_PREFIX = '/photoncloud/idempotency/';

/** Header a replayed response carries. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** Response headers saved with a result and replayed with it. */
const SAVED_HEADERS = ['content-type', 'location', 'etag', 'link', 'x-total-count'];

/** Options of `Idempotency`. */
export interface IdempotencyOptions {
  store: Store;
  service: string;
  /** How long a key is remembered; default 86400 (24 h). */
  ttlSeconds?: number;
  /** Lease sharing window; default 600 s. */
  windowSeconds?: number;
  /**
   * A claim pending longer than this is abandoned (its process died) and may be taken over; default 60 s,
   * longer than any request should run.
   */
  pendingTimeoutSeconds?: number;
  /** Results larger than this are not saved (the key is released); default 512 KiB. */
  maxStoredBodyBytes?: number;
  logger?: Logger;
}

interface PendingRecord {
  state: 'pending';
  fingerprint: string;
  created_at: string;
}

interface DoneRecord {
  state: 'done';
  fingerprint: string;
  created_at: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

type IdemRecord = PendingRecord | DoneRecord;

/** What a request that owns a claim carries until its response is saved. */
interface Claim {
  key: Uint8Array;
  fingerprint: string;
  leaseId: string;
  settled: boolean;
}

const claims = new WeakMap<FastifyRequest, Claim>();

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The `Idempotency-Key` of a request, validated; `undefined` when absent. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const key = Array.isArray(raw) ? raw.join(',') : raw;
  const details = { location: 'header' };
  if (key.length === 0 || key.length > 255) {
    throw new ValidationError(
      'Idempotency-Key',
      key.length === 0 ? 'minLength' : 'maxLength',
      'Idempotency-Key must be 1 to 255 characters',
      {
        details,
      },
    );
  }
  if (!/^[\x20-\x7e]+$/.test(key)) {
    throw new ValidationError('Idempotency-Key', 'pattern', 'Idempotency-Key must be printable ASCII', {
      details,
    });
  }
  return key;
}

/** The idempotency machinery of one service. */
export class Idempotency {
  private readonly store: Store;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly pendingTimeoutMs: number;
  private readonly windowMs: number;
  private readonly maxBody: number;
  private readonly logger: Logger | undefined;
  private lease: { window: number; id: Promise<string> } | undefined;

  constructor(opts: IdempotencyOptions) {
    this.store = opts.store;
    this.prefix = `${IDEMPOTENCY_PREFIX}${opts.service}/`;
    this.ttl = opts.ttlSeconds ?? 86_400;
    this.pendingTimeoutMs = (opts.pendingTimeoutSeconds ?? 60) * 1000;
    this.windowMs = (opts.windowSeconds ?? 600) * 1000;
    this.maxBody = opts.maxStoredBodyBytes ?? 512 * 1024;
    this.logger = opts.logger;
  }

  /** The lease of the current window, granted once per window. */
  private leaseId(): Promise<string> {
    const window = Math.floor(Date.now() / this.windowMs);
    if (this.lease === undefined || this.lease.window !== window) {
      const id = this.store.leaseGrant(this.ttl + Math.ceil(this.windowMs / 1000)).then((r) => r.id);
      // A failed grant must not poison the window: forget it so the next request retries.
      id.catch(() => {
        if (this.lease?.id === id) this.lease = undefined;
      });
      this.lease = { window, id };
    }
    return this.lease.id;
  }

  private fingerprint(request: FastifyRequest): string {
    const body = request.body === undefined || request.body === null ? '' : JSON.stringify(request.body);
    return sha256(`${request.method}\n${request.url}\n${body}`);
  }

  /**
   * Run before the handler of a POST carrying `Idempotency-Key`. Returns `true` when the request may
   * execute (it now owns the key), `false` when a saved response was replayed on `reply`. Throws 409
   * (in flight) or 422 (key reused for another request).
   */
  async begin(request: FastifyRequest, reply: FastifyReply, key: string): Promise<boolean> {
    const principal = request.principal?.id ?? 'anonymous';
    const recordKey = bytes(this.prefix + sha256(`${principal}\0${key}`));
    const fingerprint = this.fingerprint(request);
    // Bounded: a record can vanish between our failed claim and our read (expiry, a released 5xx claim).
    for (let attempt = 0; attempt < 3; attempt++) {
      const leaseId = await this.leaseId();
      const pending: PendingRecord = { state: 'pending', fingerprint, created_at: new Date().toISOString() };
      let res;
      try {
        res = await this.store.txn({
          compare: [{ key: recordKey, target: 'create', createRevision: 0, result: 'equal' }],
          success: [{ put: { key: recordKey, value: bytes(JSON.stringify(pending)), lease: leaseId } }],
          failure: [{ range: { key: recordKey } }],
        });
      } catch (err) {
        if (isStoreError(err) && err.kind === 'leaseNotFound' && attempt < 2) {
          this.lease = undefined;
          continue;
        }
        throw err;
      }
      if (res.succeeded) {
        claims.set(request, { key: recordKey, fingerprint, leaseId, settled: false });
        return true;
      }
      const first = res.responses[0];
      const kv = first !== undefined && 'range' in first ? first.range.kvs[0] : undefined;
      if (kv === undefined) continue;
      const record = parseRecord(kv.value);
      if (record === undefined || record.fingerprint !== fingerprint) {
        throw new IdempotencyKeyReusedError(undefined, { details: { idempotency_key: key } });
      }
      if (record.state === 'pending' && Date.now() - Date.parse(record.created_at) > this.pendingTimeoutMs) {
        // Abandoned by a process that died mid-request: take it over unless someone else just did.
        const takeover = await this.store.txn({
          compare: [{ key: recordKey, target: 'mod', modRevision: kv.modRevision, result: 'equal' }],
          success: [{ put: { key: recordKey, value: bytes(JSON.stringify(pending)), lease: leaseId } }],
          failure: [],
        });
        if (takeover.succeeded) {
          this.logger?.warn({ idempotency_key: key }, 'abandoned Idempotency-Key claim taken over');
          claims.set(request, { key: recordKey, fingerprint, leaseId, settled: false });
          return true;
        }
        continue;
      }
      if (record.state === 'pending') {
        throw new ConflictError('A request with this Idempotency-Key is still being processed', {
          details: { idempotency_key: key },
          hint: 'Retry shortly to get the result of the first request',
          headers: { 'Retry-After': '1' },
        });
      }
      for (const [name, value] of Object.entries(record.headers)) void reply.header(name, value);
      void reply.header(REPLAYED_HEADER, 'true');
      void reply.code(record.status).send(record.body);
      return false;
    }
    throw new ConflictError('Idempotency-Key is being released by a concurrent request; retry', {
      details: { idempotency_key: key },
      headers: { 'Retry-After': '1' },
    });
  }

  /**
   * Save the response of a request that owns its key (call from `onSend` with the serialized payload).
   * 5xx results and results that cannot be saved release the key instead.
   */
  async finish(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void> {
    const claim = claims.get(request);
    if (claim === undefined || claim.settled) return;
    claim.settled = true;
    const status = reply.statusCode;
    const body =
      typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
    if (status >= 500 || body === undefined || Buffer.byteLength(body) > this.maxBody) {
      if (status < 500)
        this.logger?.warn({ status }, 'idempotent response not saved (streamed or too large); key released');
      await this.release(claim);
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of SAVED_HEADERS) {
      const v = reply.getHeader(name);
      if (v !== undefined) headers[name] = Array.isArray(v) ? v.join(', ') : String(v);
    }
    const done: DoneRecord = {
      state: 'done',
      fingerprint: claim.fingerprint,
      created_at: new Date().toISOString(),
      status,
      headers,
      body,
    };
    try {
      await this.store.put({ key: claim.key, value: bytes(JSON.stringify(done)), lease: claim.leaseId });
    } catch (err) {
      this.logger?.error({ err }, 'idempotent response could not be saved; key released');
      await this.release(claim);
    }
  }

  /** Release a claim whose response was never saved (call from `onResponse`). */
  async abandon(request: FastifyRequest): Promise<void> {
    const claim = claims.get(request);
    if (claim === undefined || claim.settled) return;
    claim.settled = true;
    await this.release(claim);
  }

  private async release(claim: Claim): Promise<void> {
    try {
      await this.store.deleteRange({ key: claim.key });
    } catch (err) {
      // The record expires with its lease; until then retries get 409, which is safe.
      this.logger?.error({ err }, 'idempotency claim could not be released');
    }
  }
}

function parseRecord(value: Uint8Array): IdemRecord | undefined {
  try {
    const r = JSON.parse(text(value)) as Partial<IdemRecord>;
    if (r.state === 'pending' && typeof r.fingerprint === 'string') return r as PendingRecord;
    if (
      r.state === 'done' &&
      typeof r.fingerprint === 'string' &&
      typeof r.status === 'number' &&
      typeof r.body === 'string'
    ) {
      return { ...(r as DoneRecord), headers: r.headers ?? {} };
    }
  } catch {
    // A record we cannot read is treated as belonging to another request (422), never replayed.
  }
  return undefined;
}
