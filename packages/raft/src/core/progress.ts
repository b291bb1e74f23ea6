/**
 * What a leader knows about each follower's log, and how it decides what to send next.
 *
 * - `probe`: the leader does not know where the follower's log matches; it sends one append at a
 *   time (then pauses until a reply or the next heartbeat) and walks `next` back on rejections.
 * - `replicate`: the follower matched; appends stream optimistically (`next` advances as soon as a
 *   message is sent), bounded by a window of in-flight messages.
 * - `snapshot`: the follower needs entries the leader compacted; a snapshot is on its way and
 *   nothing else is sent until the follower acknowledges it (or it times out and is retried).
 */
import type { NodeId } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A ring of the last index of each in-flight append, freed as acknowledgements arrive. */
export class Inflights {
  private readonly buf: number[] = [];
  constructor(readonly capacity: number) {}

  add(lastIndex: number): void {
    if (this.full()) throw new Error('raft: inflights window is full');
    this.buf.push(lastIndex);
  }

  /** Free every in-flight message whose last index is <= `index`. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.buf.length && this.buf[n]! <= index) n++;
    if (n > 0) this.buf.splice(0, n);
  }

  /** Free the oldest slot (a heartbeat reply proves the follower is alive but may have lost one). */
  freeFirst(): void {
    this.buf.shift();
  }

  full(): boolean {
    return this.buf.length >= this.capacity;
  }

  count(): number {
    return this.buf.length;
  }

  reset(): void {
    this.buf.length = 0;
  }
}

/** Replication state of one follower (or learner) as tracked by the leader. */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In `probe`: an append was sent and no reply or heartbeat has come back since. */
  probeSent = false;
  /** In `snapshot`: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Ticks spent in `snapshot` state (a lost snapshot is retried after an election timeout). */
  snapshotElapsed = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(
    readonly id: NodeId,
    next: number,
    maxInflight: number,
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotElapsed = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(index: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = index;
  }

  /** A successful append reply up to `index`. Returns whether it told us anything new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejection of the append whose `prevIndex` was `rejected`; `matchHint` is the highest index
   * that may match. Returns false when the rejection is stale (already superseded).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // probe (and snapshot): only the rejection of the append we just sent counts
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader should hold off sending appends to this follower. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
