/**
 * Peer traffic between ChainFire members, over the same gRPC listener as the etcd API (port 50051).
 *
 * Service `photoncloud.chainfire.raft.v1.Raft`, every message an opaque byte string:
 * - `Stream` (client stream, long-lived, one per peer): batches of Raft messages (`encodeMessages`),
 *   one batch per stream message, in order; `Step` (unary) takes one batch too;
 * - `Snapshot` (client stream): one Raft snapshot message, as a header frame (the message with
 *   empty data) followed by the snapshot file's bytes in chunks of at most 1 MiB, read from the
 *   sender's file and written to a file of the receiver's (storage/snapshot-file.ts), so that neither
 *   side holds the whole snapshot in memory; Raft gets a reference to the received file;
 * - `Forward` (unary): a client request a follower hands to the leader: `{method, args}` in
 *   ChainFire's value codec, answered with `{ok}` or `{error, message}`.
 *
 * Sending is fire-and-forget: Raft retries what is lost, so a failed call is only logged.
 */
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { decodeMessages, encodeMessages } from '@photoncloud/raft';
import type { Logger, Message } from '@photoncloud/raft';
import { StoreError } from '@photoncloud/store';
import type { StoreErrorKind } from '@photoncloud/store';
import { decodeValue, encodeValue } from '../core/value-codec.js';
import type { Codable } from '../core/value-codec.js';
import {
  readSnapshotRef,
  snapshotFileName,
  snapshotRef,
  sweepSnapshotFiles,
} from '../storage/snapshot-file.js';

const PREFIX = '/photoncloud.chainfire.raft.v1.Raft/';
/** Snapshot data chunk size. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Largest batch of Raft messages per `Step` call (appends are capped at 1 MiB each by the core). */
const STEP_BATCH_BYTES = 1024 * 1024;

const raw = (b: Buffer): Buffer => b;

function method(
  name: string,
  requestStream: boolean,
): grpc.MethodDefinition<Buffer, Buffer> & { originalName: string } {
  return {
    path: `${PREFIX}${name}`,
    requestStream,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
    originalName: name,
  };
}

/** The gRPC service definition of the peer protocol. */
export const raftServiceDefinition: grpc.ServiceDefinition = {
  Step: method('Step', false),
  Stream: method('Stream', true),
  Snapshot: method('Snapshot', true),
  Forward: method('Forward', false),
};

/** Errors that cross the Forward call with their meaning intact. */
export class MembershipError extends Error {
  constructor(
    readonly reason:
      'notEnoughStartedMembers' | 'learnerNotReady' | 'memberNotLearner' | 'peerUrlExists' | 'memberBadUrls',
    message: string,
  ) {
    super(message);
    this.name = 'MembershipError';
  }
}

/** A peer refused our calls: the cluster secrets differ. Retrying does not help. */
export class PeerAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerAuthError';
  }
}

/** What the receiving side does with peer traffic (the engine). */
export interface PeerHandlers {
  step(messages: Message[]): void;
  /** Run a forwarded request locally (this node believes it leads). */
  forward(method: string, args: Codable[]): Promise<Codable>;
  /** Where received snapshot files go (the engine installs and then removes them). */
  snapshotDir: string;
}

/** Received snapshot files Raft did not install (a stale one) are removed after this long. */
const STALE_SNAPSHOT_MS = 5 * 60_000;

function encodeError(e: unknown): Codable {
  if (e instanceof StoreError) return { error: 'store', kind: e.kind, message: e.message };
  if (e instanceof MembershipError) return { error: 'membership', kind: e.reason, message: e.message };
  if (e instanceof TypeError || e instanceof RangeError) return { error: 'type', message: e.message };
  return { error: 'other', message: e instanceof Error ? e.message : String(e) };
}

function decodeError(v: Record<string, Codable>): Error {
  const message = typeof v.message === 'string' ? v.message : 'forwarded request failed';
  if (v.error === 'store') return new StoreError(v.kind as StoreErrorKind, message);
  if (v.error === 'membership') return new MembershipError(v.kind as MembershipError['reason'], message);
  if (v.error === 'type') return new TypeError(message);
  return new Error(message);
}

/** The server half: handlers for `raftServiceDefinition`. */
export function raftServiceImpl(handlers: () => PeerHandlers | undefined): grpc.UntypedServiceImplementation {
  return {
    Step: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const h = handlers();
      if (!h) return cb({ code: grpc.status.UNAVAILABLE, details: 'raft: not started' });
      try {
        h.step(decodeMessages(call.request));
      } catch (e) {
        return cb({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
      }
      cb(null, Buffer.alloc(0));
    },
    Stream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      let failed = false;
      call.on('data', (batch: Buffer) => {
        const h = handlers();
        if (!h || failed) return;
        try {
          h.step(decodeMessages(batch));
        } catch (e) {
          failed = true;
          cb({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
        }
      });
      call.on('error', () => undefined);
      call.on('end', () => {
        if (!failed) cb(null, Buffer.alloc(0));
      });
    },
    Snapshot: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      let head: Buffer | undefined;
      let file: string | undefined;
      let fd: number | undefined;
      let bytes = 0;
      let done = false;
      const discard = (): void => {
        if (fd !== undefined) fs.closeSync(fd);
        fd = undefined;
        if (file !== undefined) fs.rmSync(file, { force: true });
      };
      const fail = (code: grpc.status, details: string): void => {
        if (done) return;
        done = true;
        discard();
        cb({ code, details });
      };
      call.on('data', (c: Buffer) => {
        if (done) return;
        try {
          if (head === undefined) {
            const h = handlers();
            if (!h) return fail(grpc.status.UNAVAILABLE, 'raft: not started');
            head = c;
            sweepSnapshotFiles(h.snapshotDir, STALE_SNAPSHOT_MS);
            file = snapshotFileName(h.snapshotDir, 'recv');
            fd = fs.openSync(file, 'w', 0o600);
            return;
          }
          for (let off = 0; off < c.length;) off += fs.writeSync(fd!, c, off, c.length - off);
          bytes += c.length;
        } catch (e) {
          fail(grpc.status.INTERNAL, `raft: cannot store the snapshot: ${(e as Error).message}`);
        }
      });
      call.on('error', () => {
        done = true;
        discard();
      });
      call.on('end', () => {
        if (done) return;
        const h = handlers();
        if (!h) return fail(grpc.status.UNAVAILABLE, 'raft: not started');
        try {
          if (!head || fd === undefined || file === undefined) throw new Error('raft: empty snapshot stream');
          fs.closeSync(fd);
          fd = undefined;
          const [m] = decodeMessages(head);
          if (!m || m.type !== 'snapshot') throw new Error('raft: snapshot stream without a snapshot header');
          done = true;
          h.step([{ ...m, snapshot: { meta: m.snapshot.meta, data: snapshotRef(file, bytes) } }]);
        } catch (e) {
          done = false;
          return fail(grpc.status.INVALID_ARGUMENT, (e as Error).message);
        }
        cb(null, Buffer.alloc(0));
      });
    },
    Forward: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const h = handlers();
      if (!h) return cb({ code: grpc.status.UNAVAILABLE, details: 'raft: not started' });
      let req: { method?: Codable; args?: Codable };
      try {
        req = decodeValue(call.request) as { method?: Codable; args?: Codable };
      } catch (e) {
        return cb({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
      }
      if (typeof req.method !== 'string' || !Array.isArray(req.args))
        return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'forward: bad request' });
      h.forward(req.method, req.args as Codable[]).then(
        (ok) => cb(null, Buffer.from(encodeValue({ ok }))),
        (e: unknown) => cb(null, Buffer.from(encodeValue(encodeError(e)))),
      );
    },
  };
}

/** `host:port` from a peer URL such as `http://127.0.0.1:50051`. */
export function peerAddress(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.host === '' ? undefined : u.host;
  } catch {
    return undefined;
  }
}

/**
 * Parse a dial override list `advertised=dial,…` (both `host:port`; `[v6]:port` allowed).
 * Throws a TypeError naming the bad item.
 */
export function parsePeerDial(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of spec.split(',')) {
    const t = item.trim();
    if (t === '') continue;
    const eq = t.indexOf('=');
    const from = eq < 0 ? undefined : peerAddress(`http://${t.slice(0, eq)}`);
    const to = eq < 0 ? undefined : peerAddress(`http://${t.slice(eq + 1)}`);
    if (from === undefined || to === undefined || !/:\d+$/.test(from) || !/:\d+$/.test(to))
      throw new TypeError(`peer dial override "${t}" is not advertised-host:port=dial-host:port`);
    out.set(from, to);
  }
  return out;
}

/** The client half: one gRPC channel per peer address. */
export class PeerTransport {
  private readonly clients = new Map<string, grpc.Client>();
  /** The open message stream per peer address. */
  private readonly streams = new Map<string, grpc.ClientWritableStream<Buffer>>();
  private closed = false;
  /** Failures logged per peer, to keep a dead peer from flooding the log. */
  private readonly lastWarn = new Map<string, number>();

  /**
   * @param resolve the advertised gRPC address of a member
   * @param secret the cluster secret, sent on every call (peers refuse calls without it)
   * @param dial where to connect for an advertised address (default: the address itself); lets a
   *   member reach a peer through a relay or, in fault tests, through a proxy that can cut the link
   * @param tlsCa when set, peers are dialled over TLS and their certificates checked against this CA
   *   (PEM); every member of a cluster then serves TLS
   * @param snapshotWritten resolves to the size of a snapshot file once it is completely written
   */
  constructor(
    private readonly resolve: (id: string) => string | undefined,
    private readonly log: Logger,
    private readonly secret: string,
    private readonly dial: ReadonlyMap<string, string> = new Map(),
    tlsCa?: Buffer,
    private readonly snapshotWritten: (file: string) => Promise<number> = (file) =>
      fs.promises.stat(file).then((st) => st.size),
  ) {
    this.credentials =
      tlsCa === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(tlsCa);
  }

  private readonly credentials: grpc.ChannelCredentials;

  /** The metadata of every call: the cluster secret. */
  private metadata(): grpc.Metadata {
    const m = new grpc.Metadata();
    m.set('authorization', `Bearer ${this.secret}`);
    return m;
  }

  private client(addr: string): grpc.Client {
    let c = this.clients.get(addr);
    if (!c) {
      c = new grpc.Client(this.dial.get(addr) ?? addr, this.credentials, {
        'grpc.max_send_message_length': -1,
        'grpc.max_receive_message_length': -1,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.enable_channelz': 0,
        'grpc.max_reconnect_backoff_ms': 1000,
        // Notice a peer that stopped answering (paused, cut off) instead of buffering for it.
        'grpc.keepalive_time_ms': 2000,
        'grpc.keepalive_timeout_ms': 2000,
        'grpc.keepalive_permit_without_calls': 1,
      });
      this.clients.set(addr, c);
    }
    return c;
  }

  private warn(addr: string, err: grpc.ServiceError | Error): void {
    const t = Date.now();
    if ((this.lastWarn.get(addr) ?? 0) + 5000 > t) return;
    this.lastWarn.set(addr, t);
    this.log.warn({ peer: addr, err: err.message }, 'raft: peer unreachable');
  }

  /** Send Raft messages (grouped per peer, snapshots streamed in chunks). Never throws. */
  send(messages: Message[]): void {
    if (this.closed) return;
    const byPeer = new Map<string, Message[]>();
    const snapshots = messages.filter(
      (m): m is Extract<Message, { type: 'snapshot' }> => m.type === 'snapshot',
    );
    // Count every send of a file before the first starts, so that none removes it under another.
    for (const m of snapshots) {
      const ref = readSnapshotRef(m.snapshot.data);
      if (ref !== undefined) this.sending.set(ref.file, (this.sending.get(ref.file) ?? 0) + 1);
    }
    for (const m of snapshots) this.sendSnapshot(m);
    for (const m of messages) {
      if (m.type === 'snapshot') continue;
      let l = byPeer.get(m.to);
      if (!l) byPeer.set(m.to, (l = []));
      l.push(m);
    }
    for (const [to, list] of byPeer) {
      const addr = this.resolve(to);
      if (!addr) continue;
      let batch: Message[] = [];
      let bytes = 0;
      const flush = (): void => {
        if (batch.length === 0) return;
        this.write(addr, encodeMessages(batch));
        batch = [];
        bytes = 0;
      };
      for (const m of list) {
        const size = m.type === 'append' ? m.entries.reduce((n, e) => n + e.data.length, 64) : 64;
        if (bytes + size > STEP_BATCH_BYTES) flush();
        batch.push(m);
        bytes += size;
      }
      flush();
    }
  }

  /**
   * Write one batch on the peer's stream, opening it when needed. A peer that does not drain (paused
   * or slow) loses batches instead of growing our memory: Raft resends what matters.
   */
  private write(addr: string, batch: Buffer): void {
    let st = this.streams.get(addr);
    if (st && st.writableLength > 8 * 1024 * 1024) return;
    if (!st) {
      const s = this.client(addr).makeClientStreamRequest<Buffer, Buffer>(
        `${PREFIX}Stream`,
        raw,
        raw,
        this.metadata(),
        {},
        (err) => {
          if (this.streams.get(addr) === s) this.streams.delete(addr);
          if (err && !this.closed) this.warn(addr, err);
        },
      );
      s.on('error', () => {
        if (this.streams.get(addr) === s) this.streams.delete(addr);
      });
      this.streams.set(addr, s);
      st = s;
    }
    st.write(batch);
  }

  /** Snapshot files being sent, with how many sends still read each. */
  private readonly sending = new Map<string, number>();

  private releaseSnapshot(file: string): void {
    const n = (this.sending.get(file) ?? 1) - 1;
    if (n > 0) {
      this.sending.set(file, n);
      return;
    }
    this.sending.delete(file);
    fs.rm(file, { force: true }, () => undefined);
  }

  /** Peers a snapshot is being sent to (one at a time each: Raft asks again if it is lost). */
  private readonly snapshotting = new Set<string>();

  private sendSnapshot(m: Extract<Message, { type: 'snapshot' }>): void {
    const ref = readSnapshotRef(m.snapshot.data);
    if (ref === undefined) {
      this.log.warn({ to: m.to }, 'raft: snapshot message without a snapshot file; not sent');
      return;
    }
    const addr = this.resolve(m.to);
    if (!addr || this.snapshotting.has(addr) || this.closed) return this.releaseSnapshot(ref.file);
    this.snapshotting.add(addr);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.snapshotting.delete(addr);
      this.releaseSnapshot(ref.file);
    };
    this.snapshotWritten(ref.file).then(
      (bytes) => {
        if (this.closed) return release();
        this.streamSnapshot(addr, m, ref.file, bytes, release);
      },
      (err: unknown) => {
        release();
        this.log.warn({ peer: addr, err: (err as Error).message }, 'raft: could not write a snapshot');
      },
    );
  }

  private streamSnapshot(
    addr: string,
    m: Extract<Message, { type: 'snapshot' }>,
    file: string,
    bytes: number,
    release: () => void,
  ): void {
    this.log.info({ peer: addr, index: m.snapshot.meta.index, bytes }, 'raft: sending snapshot');
    // A minute, plus a second per 4 MiB: a large snapshot is not cut off on a slow link.
    const deadline = Date.now() + 60_000 + Math.ceil(bytes / (4 * 1024 * 1024)) * 1000;
    const call = this.client(addr).makeClientStreamRequest<Buffer, Buffer>(
      `${PREFIX}Snapshot`,
      raw,
      raw,
      this.metadata(),
      { deadline },
      (err) => {
        release();
        if (err) this.warn(addr, err);
        else this.log.info({ peer: addr, index: m.snapshot.meta.index, bytes }, 'raft: snapshot sent');
      },
    );
    call.on('error', () => undefined);
    call.write(encodeMessages([{ ...m, snapshot: { meta: m.snapshot.meta, data: new Uint8Array(0) } }]));
    // Backpressure: read the next MiB only once the stream took the last ones.
    const rs = fs.createReadStream(file, { highWaterMark: SNAPSHOT_CHUNK_BYTES });
    rs.on('data', (chunk: string | Buffer) => {
      if (!call.write(chunk as Buffer)) {
        rs.pause();
        call.once('drain', () => rs.resume());
      }
    });
    rs.on('end', () => call.end());
    rs.on('error', (err) => {
      call.cancel();
      release();
      this.warn(addr, err);
    });
  }

  private unary(addr: string, name: string, body: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client(addr).makeUnaryRequest<Buffer, Buffer>(
        `${PREFIX}${name}`,
        raw,
        raw,
        body,
        this.metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? reject(err) : resolve(res ?? Buffer.alloc(0))),
      );
    });
  }

  /**
   * Run `method(args)` on the member at `addr` (the leader). Rejects with the remote error; with
   * `StoreError('unavailable')` only when the request certainly never reached the peer (no
   * connection), so that retrying it elsewhere cannot apply it twice; and with
   * `StoreError('timeout')` when its fate is unknown (deadline, connection lost mid-call).
   */
  async forward(addr: string, method: string, args: Codable[], timeoutMs: number): Promise<Codable> {
    let res: Buffer;
    try {
      res = await this.unary(addr, 'Forward', Buffer.from(encodeValue({ method, args })), timeoutMs);
    } catch (e) {
      const err = e as grpc.ServiceError;
      if (err.code === grpc.status.UNAUTHENTICATED) {
        throw new PeerAuthError(`the member at ${addr} refused this member: ${err.details}`);
      }
      const neverSent =
        err.code === grpc.status.UNAVAILABLE &&
        /No connection established|ECONNREFUSED/.test(err.details ?? '');
      throw new StoreError(neverSent ? 'unavailable' : 'timeout');
    }
    const v = decodeValue(res) as Record<string, Codable>;
    if ('error' in v) throw decodeError(v);
    return v.ok;
  }

  close(): void {
    this.closed = true;
    for (const s of this.streams.values()) s.end();
    this.streams.clear();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
