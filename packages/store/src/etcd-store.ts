/**
 * `EtcdStore`: the `Store` interface over the etcd v3 gRPC API, against any etcd v3 endpoint — a real
 * etcd cluster, or ChainFire's gRPC server when it runs in another process.
 *
 * One channel carries everything. Watches share one bidirectional Watch stream (as etcd's own client
 * does) and are re-established on a new stream after a transport failure, resuming from the revision
 * after the last one delivered. Lease keep-alives share one LeaseKeepAlive stream. Errors coming back
 * from the server are mapped to `StoreError` by etcd's message strings; transport failures become
 * `unavailable`.
 */
import * as grpc from '@grpc/grpc-js';
import { loadEtcdProto } from '@photoncloud/etcd-proto';
import type * as pb from '@photoncloud/etcd-proto';
import { StoreError, storeErrorKindFromMessage } from './errors.js';
import type {
  Bytes,
  Compare,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseTimeToLiveResponse,
  Member,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  StatusResponse,
  Store,
  TxnRequest,
  TxnResponse,
  WatchListener,
  WatchRequest,
  WatchResponse,
  Watcher,
} from './types.js';

/** Options for `new EtcdStore(…)`. */
export interface EtcdStoreOptions {
  /**
   * `host:port` of each member (an `http://` prefix is accepted and ignored). With several IP
   * endpoints the channel picks the first that answers and fails over to the others.
   */
  endpoints: string[];
  /** How long a call waits for a connection before failing with `unavailable` (default 5 s). */
  dialTimeoutMs?: number;
  /** Deadline of each unary call, and of a watch's creation (default 30 s). */
  requestTimeoutMs?: number;
  /**
   * Credential sent as `authorization: Bearer <token>` on every call: ChainFire's cluster secret or an
   * administrator's token (needed unless the server lets loopback calls act as the local admin).
   */
  token?: string;
  /**
   * Connect over TLS, checking the server's certificate against `ca` (PEM; default: the system's CA
   * store). Also implied by `https://` endpoints.
   */
  tls?: { ca?: Buffer };
}

type Out<T> = pb.Outgoing<T>;

const EMPTY = Buffer.alloc(0);
/** Upper bound of the pause between watch-stream reconnection attempts. */
const MAX_BACKOFF_MS = 2_000;

/** The `Store` interface over etcd v3 gRPC. */
export class EtcdStore implements Store {
  private readonly client: grpc.Client;
  private readonly defs = loadEtcdProto().services;
  private readonly dialTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private closed = false;
  private readonly watches: WatchMux;
  private readonly keepAlives: KeepAliveStream;

  private readonly token: string | undefined;

  /** The metadata of one call (grpc-js may add to it, so each call gets its own). */
  private metadata(): grpc.Metadata {
    const m = new grpc.Metadata();
    if (this.token !== undefined) m.set('authorization', `Bearer ${this.token}`);
    return m;
  }

  constructor(opts: EtcdStoreOptions) {
    this.token = opts.token;
    if (opts.endpoints.length === 0) throw new Error('EtcdStore: at least one endpoint is required');
    this.dialTimeoutMs = opts.dialTimeoutMs ?? 5_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    const secure = opts.tls !== undefined || opts.endpoints.some((e) => e.startsWith('https://'));
    if (secure && opts.endpoints.some((e) => e.startsWith('http://'))) {
      throw new Error('EtcdStore: endpoints mix http:// and TLS; use one or the other');
    }
    const credentials = secure
      ? grpc.credentials.createSsl(opts.tls?.ca ?? null)
      : grpc.credentials.createInsecure();
    this.client = new grpc.Client(grpcTarget(opts.endpoints), credentials, {
      // A range over many keys easily exceeds gRPC's 4 MiB default; etcd itself allows large replies.
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    });
    this.watches = new WatchMux(this);
    this.keepAlives = new KeepAliveStream(this);
  }

  // ---- KV -------------------------------------------------------------------------------------

  async range(req: RangeRequest): Promise<RangeResponse> {
    const res = await this.unary<pb.RangeResponse>('KV', 'Range', rangeToWire(req));
    return rangeFromWire(res);
  }

  async put(req: PutRequest): Promise<PutResponse> {
    const res = await this.unary<pb.PutResponse>('KV', 'Put', putToWire(req));
    return putFromWire(res);
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    const res = await this.unary<pb.DeleteRangeResponse>('KV', 'DeleteRange', deleteToWire(req));
    return deleteFromWire(res);
  }

  async txn(req: TxnRequest): Promise<TxnResponse> {
    const res = await this.unary<pb.TxnResponse>('KV', 'Txn', txnToWire(req));
    return txnFromWire(res);
  }

  async compact(revision: number, physical = false): Promise<CompactionResponse> {
    const res = await this.unary<pb.CompactionResponse>('KV', 'Compact', { revision, physical });
    return { header: headerFromWire(res.header) };
  }

  // ---- Watch ----------------------------------------------------------------------------------

  watch(req: WatchRequest, listener: WatchListener): Promise<Watcher> {
    if (this.closed) return Promise.reject(new StoreError('unavailable', 'store closed'));
    return this.watches.create(req, listener);
  }

  // ---- Lease ----------------------------------------------------------------------------------

  async leaseGrant(ttl: number, id = '0'): Promise<LeaseGrantResponse> {
    const res = await this.unary<pb.LeaseGrantResponse>('Lease', 'LeaseGrant', { TTL: ttl, ID: id });
    // etcd 3.4 reports some grant failures in the `error` field instead of a gRPC status.
    if (res.error) throw toStoreError(res.error);
    return { header: headerFromWire(res.header), id: res.ID, ttl: Number(res.TTL) };
  }

  async leaseRevoke(id: string): Promise<{ header: ResponseHeader }> {
    const res = await this.unary<{ header: pb.ResponseHeader | null }>('Lease', 'LeaseRevoke', { ID: id });
    return { header: headerFromWire(res.header) };
  }

  leaseKeepAlive(id: string): Promise<LeaseKeepAliveResponse> {
    if (this.closed) return Promise.reject(new StoreError('unavailable', 'store closed'));
    return this.keepAlives.keepAlive(id);
  }

  async leaseTimeToLive(id: string, keys = false): Promise<LeaseTimeToLiveResponse> {
    const res = await this.unary<pb.LeaseTimeToLiveResponse>('Lease', 'LeaseTimeToLive', { ID: id, keys });
    return {
      header: headerFromWire(res.header),
      id: res.ID,
      ttl: Number(res.TTL),
      grantedTtl: Number(res.grantedTTL),
      keys: res.keys,
    };
  }

  async leaseLeases(): Promise<{ header: ResponseHeader; leases: string[] }> {
    const res = await this.unary<pb.LeaseLeasesResponse>('Lease', 'LeaseLeases', {});
    return { header: headerFromWire(res.header), leases: res.leases.map((l) => l.ID) };
  }

  // ---- Cluster / maintenance ------------------------------------------------------------------

  async memberList(): Promise<{ header: ResponseHeader; members: Member[] }> {
    const res = await this.unary<pb.MemberListResponse>('Cluster', 'MemberList', {});
    return {
      header: headerFromWire(res.header),
      members: res.members.map((m) => ({
        id: m.ID,
        name: m.name,
        peerUrls: m.peerURLs,
        clientUrls: m.clientURLs,
        isLearner: m.isLearner,
      })),
    };
  }

  async status(): Promise<StatusResponse> {
    const res = await this.unary<pb.StatusResponse>('Maintenance', 'Status', {});
    return {
      header: headerFromWire(res.header),
      version: res.version,
      dbSize: Number(res.dbSize),
      leader: res.leader,
      raftIndex: Number(res.raftIndex),
      raftTerm: Number(res.raftTerm),
      raftAppliedIndex: Number(res.raftAppliedIndex),
      isLearner: res.isLearner,
      errors: res.errors,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watches.close();
    this.keepAlives.close();
    this.client.close();
  }

  // ---- plumbing (used by the stream helpers below) ----------------------------------------------

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal Deadline of stream-borne requests (watch creation, keep-alive). */
  get streamRequestTimeoutMs(): number {
    return this.requestTimeoutMs;
  }

  /**
   * Wait (up to the dial timeout) for a usable connection, so that a restarting server is tolerated;
   * fails with `unavailable`. Every call does this itself; exposed for callers that want to fail fast.
   */
  async ready(): Promise<void> {
    const channel = this.client.getChannel();
    if (channel.getConnectivityState(true) === grpc.connectivityState.READY) return;
    await new Promise<void>((resolve, reject) => {
      this.client.waitForReady(Date.now() + this.dialTimeoutMs, (err) => (err ? reject(err) : resolve()));
    }).catch((err: unknown) => {
      throw new StoreError('unavailable', `store unavailable: ${(err as Error).message}`);
    });
  }

  private async unary<Res>(
    service: 'KV' | 'Lease' | 'Cluster' | 'Maintenance',
    method: string,
    req: object,
  ): Promise<Res> {
    if (this.closed) throw new StoreError('unavailable', 'store closed');
    const def = this.defs[service][method];
    if (!def) throw new Error(`EtcdStore: no method ${service}.${method}`);
    await this.ready();
    return new Promise<Res>((resolve, reject) => {
      this.client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize as (b: Buffer) => Res,
        req,
        this.metadata(),
        { deadline: Date.now() + this.requestTimeoutMs },
        (err, res) =>
          err || res === undefined ? reject(toStoreError(err ?? 'empty response')) : resolve(res),
      );
    });
  }

  /** @internal Open a bidi stream of the given method. */
  openStream<Req, Res>(service: 'Watch' | 'Lease', method: string): grpc.ClientDuplexStream<Req, Res> {
    const def = this.defs[service][method];
    if (!def) throw new Error(`EtcdStore: no method ${service}.${method}`);
    return this.client.makeBidiStreamRequest(
      def.path,
      def.requestSerialize as (v: Req) => Buffer,
      def.responseDeserialize as (b: Buffer) => Res,
      this.metadata(),
      {},
    );
  }
}

// ---- Watch multiplexing -----------------------------------------------------------------------

interface WatchState {
  req: WatchRequest;
  listener: WatchListener;
  /** Server-side watch id on the current stream, once created. */
  id?: string;
  /** The next revision the listener has not seen: where a re-created watch resumes. */
  nextRev: number;
  /** Settles the `watch()` promise on the first `created` response. */
  onCreated?: (err?: Error) => void;
  /** Resolves a pending `cancel()`. */
  onCanceled?: () => void;
  done: boolean;
}

/**
 * All watchers of one EtcdStore over a single Watch stream. Creations are sent one at a time: etcd
 * answers a create with `created` (carrying the assigned id) in order, so the oldest pending creation
 * owns the next `created` response — the same discipline etcd's Go client follows.
 */
class WatchMux {
  private stream: grpc.ClientDuplexStream<Out<pb.WatchRequest>, pb.WatchResponse> | undefined;
  /** Watchers by server id, on the current stream. */
  private readonly byId = new Map<string, WatchState>();
  /** Watchers waiting to be (re)created, oldest first; the head is in flight when `inFlight`. */
  private readonly createQueue: WatchState[] = [];
  private inFlight = false;
  private backoffMs = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly store: EtcdStore) {}

  create(req: WatchRequest, listener: WatchListener): Promise<Watcher> {
    return new Promise<Watcher>((resolve, reject) => {
      const state: WatchState = { req, listener, nextRev: req.startRevision ?? 0, done: false };
      const timer = setTimeout(() => {
        state.onCreated?.(new StoreError('unavailable', 'store unavailable: watch not created in time'));
      }, this.store.streamRequestTimeoutMs);
      state.onCreated = (err) => {
        clearTimeout(timer);
        state.onCreated = undefined;
        if (err) {
          state.done = true;
          this.forget(state);
          reject(err);
        } else {
          resolve({ cancel: () => this.cancel(state) });
        }
      };
      this.createQueue.push(state);
      this.pump();
    });
  }

  close(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const all = new Set([...this.byId.values(), ...this.createQueue]);
    for (const w of all) {
      w.done = true;
      w.onCreated?.(new StoreError('unavailable', 'store closed'));
      w.onCanceled?.();
    }
    this.byId.clear();
    this.createQueue.length = 0;
    this.stream?.cancel();
    this.stream = undefined;
  }

  private async cancel(state: WatchState): Promise<void> {
    if (state.done) return;
    state.done = true;
    const id = state.id;
    this.forget(state);
    if (id === undefined || !this.stream) return;
    // Wait for the server's acknowledgement so that no event for this watch is in flight afterwards;
    // bounded, because a broken stream must not hang the caller.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      state.onCanceled = () => {
        clearTimeout(timer);
        resolve();
      };
      this.byId.set(id, state);
      this.stream?.write({ cancel_request: { watch_id: id } });
    });
    this.byId.delete(id);
  }

  private forget(state: WatchState): void {
    if (state.id !== undefined && this.byId.get(state.id) === state) this.byId.delete(state.id);
    const i = this.createQueue.indexOf(state);
    if (i > 0 || (i === 0 && !this.inFlight)) this.createQueue.splice(i, 1);
  }

  /** Send the next creation if none is in flight, opening the stream when needed. */
  private pump(): void {
    if (this.store.isClosed || this.inFlight || this.reconnectTimer) return;
    // Drop creations abandoned (timed out) while waiting.
    while (this.createQueue.length > 0 && this.createQueue[0]!.done) this.createQueue.shift();
    const next = this.createQueue[0];
    if (!next) return;
    const stream = this.stream ?? this.open();
    this.inFlight = true;
    const r = next.req;
    stream.write({
      create_request: {
        key: r.key,
        range_end: end(r.rangeEnd),
        start_revision: next.nextRev,
        prev_kv: r.prevKv ?? false,
        progress_notify: r.progressNotify ?? false,
        filters: (r.filters ?? []).map((f) => (f === 'noput' ? 'NOPUT' : 'NODELETE')),
      },
    });
  }

  private open(): grpc.ClientDuplexStream<Out<pb.WatchRequest>, pb.WatchResponse> {
    const stream = this.store.openStream<Out<pb.WatchRequest>, pb.WatchResponse>('Watch', 'Watch');
    this.stream = stream;
    stream.on('data', (res: pb.WatchResponse) => this.onResponse(res));
    stream.on('error', (err) => this.onBroken(stream, err));
    stream.on('end', () => this.onBroken(stream, new Error('watch stream ended')));
    return stream;
  }

  private onResponse(res: pb.WatchResponse): void {
    this.backoffMs = 0;
    if (res.created) {
      const state = this.createQueue.shift();
      this.inFlight = false;
      if (state) this.onCreatedResponse(state, res);
      this.pump();
      return;
    }
    const state = this.byId.get(res.watch_id);
    if (!state) return;
    if (res.canceled) {
      this.byId.delete(res.watch_id);
      if (state.onCanceled) {
        state.onCanceled();
        return;
      }
      state.done = true;
      // Cancelled by the server (compaction, permission, …): the listener learns why.
      state.listener(watchResponseFromWire(res));
      return;
    }
    const out = watchResponseFromWire(res);
    const last = out.events.at(-1);
    if (last) state.nextRev = last.kv.modRevision + 1;
    else if (out.header.revision + 1 > state.nextRev) state.nextRev = out.header.revision + 1;
    if (!state.done) state.listener(out);
  }

  private onCreatedResponse(state: WatchState, res: pb.WatchResponse): void {
    if (state.done) {
      // Abandoned while in flight: tell the server too.
      if (!res.canceled) this.stream?.write({ cancel_request: { watch_id: res.watch_id } });
      return;
    }
    if (res.canceled) {
      // etcd refuses some creations outright (created + canceled); with a compacted start revision it
      // answers created and then a separate canceled response, which reaches the listener.
      const compact = Number(res.compact_revision);
      if (state.onCreated) {
        if (compact > 0) {
          state.onCreated();
          state.done = true;
          state.listener(watchResponseFromWire(res));
        } else {
          state.onCreated(toStoreError(res.cancel_reason || 'watch canceled by server'));
        }
      } else {
        state.done = true;
        state.listener(watchResponseFromWire(res));
      }
      return;
    }
    state.id = res.watch_id;
    this.byId.set(res.watch_id, state);
    if (state.nextRev === 0) state.nextRev = Number(res.header?.revision ?? 0) + 1;
    state.onCreated?.();
  }

  /** The stream failed: re-create every live watcher on a new stream after a pause. */
  private onBroken(
    stream: grpc.ClientDuplexStream<Out<pb.WatchRequest>, pb.WatchResponse>,
    _err: Error,
  ): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    stream.removeAllListeners('data');
    stream.cancel();
    this.inFlight = false;
    if (this.store.isClosed) return;
    const live = [...this.byId.values()].filter((w) => !w.done);
    this.byId.clear();
    for (const w of live) {
      w.id = undefined;
      if (w.onCanceled) {
        w.onCanceled();
        continue;
      }
      this.createQueue.push(w);
    }
    if (this.createQueue.every((w) => w.done)) {
      this.createQueue.length = 0;
      return;
    }
    this.scheduleReconnect();
  }

  /**
   * Re-open the stream after a pause. Creations still waiting for their first `created` fail once the
   * server stays unreachable for the dial timeout; established watchers keep trying until close().
   */
  private scheduleReconnect(): void {
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs === 0 ? 50 : this.backoffMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.store.ready().then(
        () => {
          this.reconnectTimer = undefined;
          this.pump();
        },
        (err: unknown) => {
          this.reconnectTimer = undefined;
          for (const w of [...this.createQueue]) {
            if (w.onCreated) w.onCreated(err instanceof Error ? err : new StoreError('unavailable'));
          }
          while (this.createQueue.length > 0 && this.createQueue[0]!.done) this.createQueue.shift();
          if (this.createQueue.length > 0 && !this.store.isClosed) this.scheduleReconnect();
        },
      );
    }, this.backoffMs);
    this.reconnectTimer.unref();
  }
}

// ---- Lease keep-alive stream --------------------------------------------------------------------

interface PendingKeepAlive {
  id: string;
  resolve: (r: LeaseKeepAliveResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Keep-alives over one LeaseKeepAlive stream; the server answers each request once, in order. */
class KeepAliveStream {
  private stream:
    grpc.ClientDuplexStream<Out<pb.LeaseKeepAliveRequest>, pb.LeaseKeepAliveResponse> | undefined;
  private readonly pending: PendingKeepAlive[] = [];

  constructor(private readonly store: EtcdStore) {}

  async keepAlive(id: string): Promise<LeaseKeepAliveResponse> {
    await this.store.ready();
    const stream = this.stream ?? this.open();
    return new Promise<LeaseKeepAliveResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.pending.findIndex((p) => p.timer === timer);
        // Responses match requests by position, so a lost one poisons the stream: start afresh.
        if (i >= 0) this.fail(new StoreError('timeout'));
      }, this.store.streamRequestTimeoutMs);
      this.pending.push({ id, resolve, reject, timer });
      stream.write({ ID: id });
    });
  }

  close(): void {
    this.fail(new StoreError('unavailable', 'store closed'));
  }

  private open(): grpc.ClientDuplexStream<Out<pb.LeaseKeepAliveRequest>, pb.LeaseKeepAliveResponse> {
    const stream = this.store.openStream<Out<pb.LeaseKeepAliveRequest>, pb.LeaseKeepAliveResponse>(
      'Lease',
      'LeaseKeepAlive',
    );
    this.stream = stream;
    stream.on('data', (res: pb.LeaseKeepAliveResponse) => {
      const p = this.pending.shift();
      if (!p) return;
      clearTimeout(p.timer);
      p.resolve({ header: headerFromWire(res.header), id: res.ID, ttl: Number(res.TTL) });
    });
    stream.on('error', (err) => {
      if (this.stream === stream) this.fail(toStoreError(err));
    });
    stream.on('end', () => {
      if (this.stream === stream)
        this.fail(new StoreError('unavailable', 'store unavailable: keep-alive stream ended'));
    });
    return stream;
  }

  private fail(err: Error): void {
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }
}

// ---- errors -------------------------------------------------------------------------------------

/** Map a gRPC error (or an etcd error string) to a StoreError, by etcd's message text. */
export function toStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  let message: string;
  let code: number | undefined;
  if (typeof err === 'string') message = err;
  else if (err && typeof err === 'object' && 'details' in err && typeof err.details === 'string') {
    message = err.details;
    code = (err as grpc.ServiceError).code;
  } else message = err instanceof Error ? err.message : String(err);
  const kind = storeErrorKindFromMessage(message);
  if (kind) return new StoreError(kind);
  // An etcd error without a StoreError kind keeps its text; transport failures say what happened.
  if (code === grpc.status.DEADLINE_EXCEEDED)
    return new StoreError('unavailable', `store unavailable: deadline exceeded`);
  return new StoreError(
    'unavailable',
    message.startsWith('etcdserver:') ? message : `store unavailable: ${message}`,
  );
}

// ---- conversions --------------------------------------------------------------------------------

function grpcTarget(endpoints: string[]): string {
  const hosts = endpoints.map((e) => e.replace(/^https?:\/\//, '').replace(/\/+$/, ''));
  if (hosts.length === 1) return hosts[0]!;
  if (hosts.every((h) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(h))) return `ipv4:${hosts.join(',')}`;
  if (hosts.every((h) => /^\[[0-9a-fA-F:.]+\]:\d+$/.test(h))) return `ipv6:${hosts.join(',')}`;
  // Names (or a mix) cannot share one static target; the first endpoint is used.
  return hosts[0]!;
}

const ZERO_HEADER: ResponseHeader = { clusterId: '0', memberId: '0', revision: 0, raftTerm: 0 };

function headerFromWire(h: pb.ResponseHeader | null | undefined): ResponseHeader {
  if (!h) return { ...ZERO_HEADER };
  return {
    clusterId: h.cluster_id,
    memberId: h.member_id,
    revision: Number(h.revision),
    raftTerm: Number(h.raft_term),
  };
}

function kvFromWire(kv: pb.KeyValue): KeyValue {
  return {
    key: kv.key,
    value: kv.value,
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: kv.lease,
  };
}

/**
 * `range_end` goes on the wire only when non-empty. Go's protobuf decoder turns a present-but-empty
 * bytes field into a non-nil empty slice, and etcd's index reads a non-nil empty end as "no upper
 * bound" — so an explicit empty range_end would turn a single-key read into "every key >= key".
 */
function end(b: Bytes | undefined): Bytes | undefined {
  return b !== undefined && b.length > 0 ? b : undefined;
}

function rangeToWire(r: RangeRequest): Out<pb.RangeRequest> {
  return {
    key: r.key,
    range_end: end(r.rangeEnd),
    limit: r.limit ?? 0,
    revision: r.revision ?? 0,
    sort_order: (r.sortOrder ?? 'none').toUpperCase() as pb.SortOrder,
    sort_target: (r.sortTarget ?? 'key').toUpperCase() as pb.SortTarget,
    serializable: r.serializable ?? false,
    keys_only: r.keysOnly ?? false,
    count_only: r.countOnly ?? false,
    min_mod_revision: r.minModRevision ?? 0,
    max_mod_revision: r.maxModRevision ?? 0,
    min_create_revision: r.minCreateRevision ?? 0,
    max_create_revision: r.maxCreateRevision ?? 0,
  };
}

function rangeFromWire(r: pb.RangeResponse, outer?: ResponseHeader): RangeResponse {
  return {
    header: innerHeader(r.header, outer),
    kvs: r.kvs.map(kvFromWire),
    more: r.more,
    count: Number(r.count),
  };
}

function putToWire(r: PutRequest): Out<pb.PutRequest> {
  return {
    key: r.key,
    value: r.value,
    lease: r.lease ?? '0',
    prev_kv: r.prevKv ?? false,
    ignore_value: r.ignoreValue ?? false,
    ignore_lease: r.ignoreLease ?? false,
  };
}

function putFromWire(r: pb.PutResponse, outer?: ResponseHeader): PutResponse {
  const out: PutResponse = { header: innerHeader(r.header, outer) };
  if (r.prev_kv) out.prevKv = kvFromWire(r.prev_kv);
  return out;
}

function deleteToWire(r: DeleteRangeRequest): Out<pb.DeleteRangeRequest> {
  return { key: r.key, range_end: end(r.rangeEnd), prev_kv: r.prevKv ?? false };
}

function deleteFromWire(r: pb.DeleteRangeResponse, outer?: ResponseHeader): DeleteRangeResponse {
  return {
    header: innerHeader(r.header, outer),
    deleted: Number(r.deleted),
    prevKvs: r.prev_kvs.map(kvFromWire),
  };
}

function compareToWire(c: Compare): Out<pb.Compare> {
  const base = {
    key: c.key,
    range_end: end(c.rangeEnd),
    result: c.result.toUpperCase() as pb.CompareResult,
  };
  switch (c.target) {
    case 'version':
      return { ...base, target: 'VERSION', version: c.version };
    case 'create':
      return { ...base, target: 'CREATE', create_revision: c.createRevision };
    case 'mod':
      return { ...base, target: 'MOD', mod_revision: c.modRevision };
    case 'value':
      return { ...base, target: 'VALUE', value: c.value };
    case 'lease':
      return { ...base, target: 'LEASE', lease: c.lease };
  }
}

function opToWire(op: RequestOp): Out<pb.RequestOp> {
  if ('range' in op) return { request_range: rangeToWire(op.range) };
  if ('put' in op) return { request_put: putToWire(op.put) };
  if ('deleteRange' in op) return { request_delete_range: deleteToWire(op.deleteRange) };
  return { request_txn: txnToWire(op.txn) };
}

function txnToWire(t: TxnRequest): Out<pb.TxnRequest> {
  return {
    compare: t.compare.map(compareToWire),
    success: t.success.map(opToWire),
    failure: t.failure.map(opToWire),
  };
}

/**
 * etcd fills the headers of responses nested in a txn with the revision only (and leaves a nested
 * txn's header empty); the enclosing response's header is the meaningful one, so nested responses
 * carry it.
 */
function innerHeader(h: pb.ResponseHeader | null, outer: ResponseHeader | undefined): ResponseHeader {
  return outer ? { ...outer } : headerFromWire(h);
}

function txnFromWire(t: pb.TxnResponse, outer?: ResponseHeader): TxnResponse {
  const header = innerHeader(t.header, outer);
  return {
    header,
    succeeded: t.succeeded,
    responses: t.responses.map((r): ResponseOp => {
      if (r.response_range) return { range: rangeFromWire(r.response_range, header) };
      if (r.response_put) return { put: putFromWire(r.response_put, header) };
      if (r.response_delete_range) return { deleteRange: deleteFromWire(r.response_delete_range, header) };
      if (r.response_txn) return { txn: txnFromWire(r.response_txn, header) };
      throw new StoreError('unavailable', 'store unavailable: empty response op in txn');
    }),
  };
}

function watchResponseFromWire(r: pb.WatchResponse): WatchResponse {
  const out: WatchResponse = {
    header: headerFromWire(r.header),
    events: r.events.map((e) => {
      const ev: WatchResponse['events'][number] = {
        type: e.type,
        kv: e.kv
          ? kvFromWire(e.kv)
          : { key: EMPTY, value: EMPTY, createRevision: 0, modRevision: 0, version: 0, lease: '0' },
      };
      if (e.prev_kv) ev.prevKv = kvFromWire(e.prev_kv);
      return ev;
    }),
  };
  const compact = Number(r.compact_revision);
  if (compact > 0) out.compactRevision = compact;
  if (r.canceled) out.canceled = true;
  if (r.cancel_reason) out.cancelReason = r.cancel_reason;
  return out;
}
