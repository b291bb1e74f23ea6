/**
 * The etcd Watch service: one bidirectional stream per client carries any number of watchers, each
 * backed by a `store.watch`. Requests on a stream are handled one at a time, in order, so a cancel never
 * overtakes the creation it refers to; a watcher's events are held back until its `created` response
 * has been sent.
 */
import type * as grpc from '@grpc/grpc-js';
import type * as pb from '@photoncloud/etcd-proto';
import { compareBytes, type ResponseHeader, type Watcher, type WatchResponse } from '@photoncloud/store';
import { eventToWire, headerToWire, num, watchFromWire } from './convert.js';
import { toServiceError } from './grpc-errors.js';
import { currentHeader, type ServerContext } from './server-context.js';

type Out<T> = pb.Outgoing<T>;
type WatchCall = grpc.ServerDuplexStream<pb.WatchRequest, Out<pb.WatchResponse>>;

/** etcd's watch id for responses that belong to no watcher (failed creations, progress). */
const NO_WATCH = '-1';

interface WatchEntry {
  watcher?: Watcher;
  prevKv: boolean;
  progressNotify: boolean;
  /** The `created` response has been written; until then output waits in `pending`. */
  ready: boolean;
  pending: Out<pb.WatchResponse>[];
  /** Cancelled by the client or finished by the server: deliver nothing more. */
  done: boolean;
  /** Events gathered in this turn for one header revision, sent as one response (see `deliver`). */
  batch?: { out: Out<pb.WatchResponse>; events: Out<pb.Event>[]; revision: number };
}

/** Handlers for etcdserverpb.Watch. */
export function watchService(ctx: ServerContext): grpc.UntypedServiceImplementation {
  return {
    Watch: (call: WatchCall) => {
      new WatchSession(ctx, call);
    },
  };
}

class WatchSession {
  private readonly watches = new Map<string, WatchEntry>();
  private nextId = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly call: WatchCall,
  ) {
    const handle = { end: () => this.finish() };
    ctx.streams.add(handle);
    call.on('data', (req: pb.WatchRequest) => {
      this.chain = this.chain.then(() => this.handle(req)).catch((err: unknown) => this.fail(err));
    });
    // The client closed its side: stop every watcher, then close ours.
    call.on('end', () => {
      this.chain = this.chain.then(() => this.finish());
    });
    call.on('cancelled', () => void this.close());
    call.on('error', () => void this.close());
    call.on('close', () => {
      ctx.streams.delete(handle);
      void this.close();
    });
  }

  private async handle(req: pb.WatchRequest): Promise<void> {
    if (this.closed) return;
    if (req.create_request) await this.create(req.create_request);
    else if (req.cancel_request) await this.cancel(num(req.cancel_request.watch_id).toString());
    else if (req.progress_request) {
      this.write({ header: headerToWire(await currentHeader(this.ctx.store)), watch_id: NO_WATCH });
    }
  }

  private async create(c: pb.WatchCreateRequest): Promise<void> {
    // As etcd: an empty key means "\0" (the smallest key); a range end of "\0" means "every key >= key".
    const key = c.key.length === 0 ? Buffer.of(0) : c.key;
    const rangeEnd = c.range_end;
    const header = await currentHeader(this.ctx.store);
    const refuse = (reason: string) =>
      this.write({
        header: headerToWire(header),
        watch_id: NO_WATCH,
        created: true,
        canceled: true,
        cancel_reason: reason,
      });
    const toEnd = rangeEnd.length === 1 && rangeEnd[0] === 0;
    if (rangeEnd.length > 0 && !toEnd && compareBytes(key, rangeEnd) >= 0)
      return refuse('mvcc: watcher range is empty');

    let id: string;
    const requested = num(c.watch_id);
    if (requested !== 0) {
      id = String(requested);
      if (this.watches.has(id)) return refuse('mvcc: duplicate watch ID provided on the WatchStream');
    } else {
      while (this.watches.has(String(this.nextId))) this.nextId++;
      id = String(this.nextId++);
    }

    const entry: WatchEntry = {
      prevKv: c.prev_kv,
      progressNotify: c.progress_notify,
      ready: false,
      pending: [],
      done: false,
    };
    this.watches.set(id, entry);
    // A watch "from now" starts right after the revision reported in its created response.
    const start = num(c.start_revision) > 0 ? num(c.start_revision) : header.revision + 1;
    try {
      entry.watcher = await this.ctx.store.watch(watchFromWire({ ...c, key }, start), (res) =>
        this.deliver(id, entry, res),
      );
    } catch (err) {
      this.watches.delete(id);
      return refuse(err instanceof Error ? err.message : String(err));
    }
    if (this.closed) {
      await entry.watcher.cancel().catch(() => undefined);
      return;
    }
    this.write({ header: headerToWire(header), watch_id: id, created: true });
    entry.ready = true;
    for (const out of entry.pending.splice(0)) this.write(out);
    if (entry.done) this.watches.delete(id);
  }

  private deliver(id: string, entry: WatchEntry, res: WatchResponse): void {
    if (entry.done || this.closed) return;
    const compacted = (res.compactRevision ?? 0) > 0;
    const ending = compacted || res.canceled === true;
    // Empty responses are progress notifications: only for watchers that asked for them.
    if (!ending && res.events.length === 0 && !entry.progressNotify) return;
    const out: Out<pb.WatchResponse> = {
      header: headerToWire(res.header),
      watch_id: id,
      events: res.events.map((e) => eventToWire(e, entry.prevKv)),
    };
    if (compacted) out.compact_revision = res.compactRevision;
    if (ending) {
      out.canceled = true;
      // etcd's clients explain a compaction by the compact revision alone.
      if (!compacted && res.cancelReason) out.cancel_reason = res.cancelReason;
      entry.done = true;
    }
    // A store may hand over a replay of history as one response per revision, all in one turn and
    // under one header revision; etcd sends such a catch-up as a single response, and so do we.
    // Live changes carry distinct header revisions and are never merged.
    const events = out.events as Out<pb.Event>[];
    const rev = res.header.revision;
    if (!ending && events.length > 0 && entry.batch?.revision === rev) {
      entry.batch.events.push(...events);
      return;
    }
    this.flushBatch(id, entry);
    if (!ending && events.length > 0) {
      entry.batch = { out, events, revision: rev };
      queueMicrotask(() => this.flushBatch(id, entry));
      return;
    }
    this.emit(id, entry, out);
  }

  private flushBatch(id: string, entry: WatchEntry): void {
    const batch = entry.batch;
    if (!batch) return;
    entry.batch = undefined;
    this.emit(id, entry, batch.out);
  }

  /** Send a watcher's response, or hold it until the watcher's `created` response is out. */
  private emit(id: string, entry: WatchEntry, out: Out<pb.WatchResponse>): void {
    if (!entry.ready) {
      entry.pending.push(out);
      return;
    }
    this.write(out);
    if (entry.done) this.watches.delete(id);
  }

  private async cancel(id: string): Promise<void> {
    const entry = this.watches.get(id);
    // etcd answers nothing for an id it does not know.
    if (!entry) return;
    entry.done = true;
    this.watches.delete(id);
    await entry.watcher?.cancel().catch(() => undefined);
    let header: ResponseHeader;
    try {
      header = await currentHeader(this.ctx.store);
    } catch (err) {
      return this.fail(err);
    }
    this.write({ header: headerToWire(header), watch_id: id, canceled: true });
  }

  private write(res: Out<pb.WatchResponse>): void {
    if (this.closed) return;
    try {
      this.call.write(res);
    } catch {
      void this.close();
    }
  }

  /** Stop all watchers; idempotent. */
  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const entries = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(
      entries.map((e) => {
        e.done = true;
        return e.watcher?.cancel().catch(() => undefined);
      }),
    );
  }

  /** Close and end the call normally. */
  private async finish(): Promise<void> {
    await this.close();
    try {
      this.call.end();
    } catch {
      // Already closed by the transport.
    }
  }

  /** The store failed under a request: end the stream with that error, as etcd ends a broken stream. */
  private fail(err: unknown): void {
    void this.close();
    try {
      this.call.emit('error', toServiceError(err));
    } catch {
      // Already closed.
    }
  }
}
