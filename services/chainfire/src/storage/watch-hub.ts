/**
 * Watchers: live fan-out after each apply, historical replay from the MVCC history, and the switch
 * between the two without a gap or a duplicate. Everything runs on the event loop, and applies are
 * synchronous, so "read history up to the current revision, then mark synced" in one synchronous
 * step cannot miss a revision: no apply can run in between.
 */
import { STORE_ERRORS } from '@photoncloud/store';
import type {
  Event,
  ResponseHeader,
  WatchListener,
  WatchRequest,
  WatchResponse,
  Watcher,
} from '@photoncloud/store';
import { toInterval } from '../core/key-range.js';
import { selectEvents } from '../core/watch-filter.js';
import type { WatchSelector } from '../core/watch-filter.js';
import type { MvccStore } from './mvcc-store.js';

/** Logging surface (pino-compatible). */
interface HubLogger {
  warn(obj: object, msg?: string): void;
}

export interface WatchHubOptions {
  /** Events per historical replay step (a revision is never split). */
  replayBatch?: number;
  /** Interval of progress notifications for watchers that asked for them (etcd: 10 minutes). */
  progressNotifyMs?: number;
}

interface WatchState {
  id: number;
  sel: WatchSelector;
  listener: WatchListener;
  /** Next revision this watcher has not seen yet. */
  nextRev: number;
  synced: boolean;
  canceled: boolean;
  progressNotify: boolean;
}

/** Fans MVCC changes out to watchers. */
export class WatchHub {
  private readonly watchers = new Map<number, WatchState>();
  private nextId = 1;
  private readonly replayBatch: number;
  private readonly progressTimer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly store: MvccStore,
    private readonly header: (revision: number) => ResponseHeader,
    private readonly log: HubLogger,
    opts: WatchHubOptions = {},
  ) {
    this.replayBatch = opts.replayBatch ?? 1000;
    this.progressTimer = setInterval(() => this.progress(), opts.progressNotifyMs ?? 600_000);
    this.progressTimer.unref();
  }

  /** Number of registered watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /** Register a watcher (synchronously); replay, if any, starts on a later turn. */
  add(req: WatchRequest, listener: WatchListener): Watcher {
    if (this.closed) throw new Error('watch hub closed');
    const key = req.key instanceof Uint8Array ? req.key : new Uint8Array(0);
    const rangeEnd = req.rangeEnd instanceof Uint8Array ? req.rangeEnd : undefined;
    const filters = req.filters ?? [];
    const st: WatchState = {
      id: this.nextId++,
      sel: {
        range: toInterval(
          Uint8Array.prototype.slice.call(key),
          rangeEnd ? Uint8Array.prototype.slice.call(rangeEnd) : undefined,
        ),
        noPut: filters.includes('noput'),
        noDelete: filters.includes('nodelete'),
        prevKv: req.prevKv === true,
      },
      listener,
      nextRev: 0,
      synced: true,
      canceled: false,
      progressNotify: req.progressNotify === true,
    };
    const current = this.store.currentRevision;
    const start =
      typeof req.startRevision === 'number' && req.startRevision > 0 ? Math.trunc(req.startRevision) : 0;
    const watcher: Watcher = {
      cancel: async () => {
        st.canceled = true;
        this.watchers.delete(st.id);
      },
    };
    if (start > 0 && start < this.store.compactRevision) {
      // etcd: a start below the compact revision cannot be served; tell the caller where history begins.
      st.canceled = true;
      setImmediate(() => this.sendCompacted(st));
      return watcher;
    }
    this.watchers.set(st.id, st);
    if (start === 0 || start > current) {
      st.nextRev = start === 0 ? current + 1 : start;
    } else {
      st.nextRev = start;
      st.synced = false;
      setImmediate(() => this.catchUp(st));
    }
    return watcher;
  }

  private sendCompacted(st: WatchState): void {
    this.watchers.delete(st.id);
    st.canceled = true;
    this.deliver(st, {
      header: this.header(this.store.currentRevision),
      events: [],
      compactRevision: this.store.compactRevision,
      canceled: true,
      cancelReason: STORE_ERRORS.compacted.message,
    });
  }

  /** One replay step; reschedules itself until the watcher is synced. */
  private catchUp(st: WatchState): void {
    if (st.canceled || this.closed) return;
    if (st.nextRev < this.store.compactRevision) {
      this.sendCompacted(st);
      return;
    }
    const current = this.store.currentRevision;
    const groups = this.store.history(st.nextRev, current, this.replayBatch, st.sel.prevKv);
    for (const g of groups) {
      if (st.canceled) return;
      this.emit(st, g.revision, g.events, current);
    }
    const last = groups[groups.length - 1];
    st.nextRev = last ? last.revision + 1 : current + 1;
    if (st.nextRev > current) {
      st.synced = true; // from here on, live fan-out delivers: same turn, so nothing is missed
    } else {
      setImmediate(() => this.catchUp(st));
    }
  }

  private emit(st: WatchState, revision: number, events: readonly Event[], headerRev: number): void {
    if (revision < st.nextRev) return;
    st.nextRev = revision + 1;
    const selected = selectEvents(st.sel, events);
    if (selected.length === 0) return;
    this.deliver(st, { header: this.header(headerRev), events: selected });
  }

  private deliver(st: WatchState, resp: WatchResponse): void {
    try {
      st.listener(resp);
    } catch (err) {
      // A broken listener must not break the engine or other watchers.
      this.log.warn(
        { watchId: st.id, err: err instanceof Error ? err.message : String(err) },
        'watch listener threw',
      );
    }
  }

  /** Fan out the revisions one apply batch created (called after the LMDB commit). */
  publish(revisions: ReadonlyArray<{ revision: number; events: Event[] }>): void {
    if (revisions.length === 0 || this.watchers.size === 0) return;
    for (const st of [...this.watchers.values()]) {
      if (!st.synced || st.canceled) continue;
      for (const r of revisions) {
        if (st.canceled) break;
        this.emit(st, r.revision, r.events, r.revision);
      }
    }
  }

  /**
   * The store's contents were replaced wholesale (a Raft snapshot was installed): the revisions it
   * covers were never published. Every live watcher replays them from the new history, as a new
   * watcher with a start revision would (or learns that history was compacted away).
   */
  resync(): void {
    for (const st of this.watchers.values()) {
      if (st.canceled || !st.synced) continue; // an unsynced watcher's replay reads the new store already
      st.synced = false;
      setImmediate(() => this.catchUp(st));
    }
  }

  private progress(): void {
    const rev = this.store.currentRevision;
    for (const st of [...this.watchers.values()]) {
      if (st.progressNotify && st.synced && !st.canceled)
        this.deliver(st, { header: this.header(rev), events: [] });
    }
  }

  /** Send a progress notification to every synced watcher that asked for them now. */
  notifyProgress(): void {
    this.progress();
  }

  /** Cancel every watcher. */
  close(): void {
    this.closed = true;
    clearInterval(this.progressTimer);
    for (const st of this.watchers.values()) st.canceled = true;
    this.watchers.clear();
  }
}
