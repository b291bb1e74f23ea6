import type { Entry, SnapshotMeta } from './types.js';

/**
 * The Raft log as the core sees it: a compaction point (`snapshot`), then the entries after it in
 * one array. Entries up to `stableIndex` are persisted (the stable view); the rest are unstable and
 * handed to the driver in the next Ready. Keeping one array avoids copying on every stableTo.
 */
export class RaftLog {
  private snap: SnapshotMeta;
  private ents: Entry[];
  /** Last index known to be persisted. */
  stableIndex: number;
  committed: number;
  applied: number;

  constructor(snapshot: SnapshotMeta, stableEntries: Entry[], committed: number, applied: number) {
    this.snap = { ...snapshot };
    this.ents = [];
    for (const e of stableEntries) {
      if (e.index <= this.snap.index) continue;
      if (e.index !== this.snap.index + this.ents.length + 1) {
        throw new Error(`raft log: entries are not contiguous at index ${e.index}`);
      }
      this.ents.push(e);
    }
    this.stableIndex = this.lastIndex();
    // The state machine may be ahead of the WAL's commit record (commit is written lazily).
    this.applied = Math.max(applied, this.snap.index);
    this.committed = Math.min(Math.max(committed, this.applied), this.lastIndex());
    if (this.applied > this.lastIndex()) {
      throw new Error(`raft log: applied index ${this.applied} is beyond the last index ${this.lastIndex()}`);
    }
  }

  snapshot(): SnapshotMeta {
    return { ...this.snap };
  }

  firstIndex(): number {
    return this.snap.index + 1;
  }

  lastIndex(): number {
    return this.snap.index + this.ents.length;
  }

  lastTerm(): number {
    const last = this.ents[this.ents.length - 1];
    return last ? last.term : this.snap.term;
  }

  /** Term of the entry at `index`, or undefined when it is compacted or not there. */
  term(index: number): number | undefined {
    if (index === this.snap.index) return this.snap.term;
    if (index < this.snap.index || index > this.lastIndex()) return undefined;
    return this.ents[index - this.snap.index - 1]!.term;
  }

  /** Entries in [lo, hi] (inclusive), at most `max` of them. */
  slice(lo: number, hi: number, max = Infinity): Entry[] {
    if (lo <= this.snap.index) throw new Error(`raft log: index ${lo} is compacted`);
    const end = Math.min(hi, this.lastIndex(), lo + max - 1);
    if (end < lo) return [];
    return this.ents.slice(lo - this.snap.index - 1, end - this.snap.index);
  }

  /** Leader append: entries continue the log. */
  append(entries: Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1) throw new Error(`raft log: append out of order at ${e.index}`);
      this.ents.push(e);
    }
  }

  /**
   * Follower append (Raft's AppendEntries receiver rules). Returns the last index of the new
   * entries when the log matches at `prevIndex`, else undefined.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: Entry[]): number | undefined {
    if (this.term(prevIndex) !== prevTerm) return undefined;
    for (const e of entries) {
      if (e.index <= this.snap.index) continue;
      const existing = this.term(e.index);
      if (existing === e.term) continue;
      if (existing !== undefined) {
        if (e.index <= this.committed) {
          throw new Error(`raft log: conflicting entry ${e.index} below commit ${this.committed}`);
        }
        this.truncateFrom(e.index);
      }
      this.ents.push(e);
    }
    return prevIndex + entries.length;
  }

  private truncateFrom(index: number): void {
    this.ents.length = index - this.snap.index - 1;
    if (this.stableIndex >= index) this.stableIndex = index - 1;
  }

  /** Entries not yet handed to storage. */
  unstableEntries(): Entry[] {
    if (this.stableIndex >= this.lastIndex()) return [];
    return this.ents.slice(this.stableIndex - this.snap.index);
  }

  /** Storage persisted everything up to `index` (ignored if the entry was replaced meanwhile). */
  stableTo(index: number, term: number): void {
    if (this.term(index) === term && index > this.stableIndex) this.stableIndex = index;
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    if (index > this.lastIndex())
      throw new Error(`raft log: commit ${index} beyond last ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Committed and persisted entries not yet applied. */
  nextCommitted(max = Infinity): Entry[] {
    const hi = Math.min(this.committed, this.stableIndex);
    if (hi <= this.applied) return [];
    return this.slice(this.applied + 1, hi, max);
  }

  hasNextCommitted(): boolean {
    return Math.min(this.committed, this.stableIndex) > this.applied;
  }

  appliedTo(index: number): void {
    if (index > this.committed) throw new Error(`raft log: applied ${index} beyond commit ${this.committed}`);
    if (index > this.applied) this.applied = index;
  }

  /**
   * Drop entries up to `index` (already applied and persisted elsewhere); `conf` is the
   * configuration in effect at `index`. Returns false when already compacted that far.
   */
  compact(index: number, conf?: SnapshotMeta['conf']): boolean {
    if (index <= this.snap.index) return false;
    if (index > this.applied || index > this.stableIndex) {
      throw new Error(
        `raft log: cannot compact to ${index} (applied ${this.applied}, stable ${this.stableIndex})`,
      );
    }
    const term = this.term(index)!;
    this.ents = this.ents.slice(index - this.snap.index);
    this.snap = conf ? { index, term, conf } : { index, term };
    return true;
  }

  /**
   * Replace the whole log with a leader's snapshot: everything up to its index is committed and
   * (once the driver installs it) applied. The snapshot is persisted with the Ready that carries it.
   */
  restore(snap: SnapshotMeta): void {
    this.snap = { ...snap };
    this.ents = [];
    this.committed = snap.index;
    this.applied = snap.index;
    this.stableIndex = snap.index;
  }

  /**
   * The last index at or below `index` whose term is <= `term` (the compaction point when nothing
   * older is known). Used on both sides of a rejected append to skip a whole term at a time.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    for (; i > this.snap.index; i--) {
      if (this.term(i)! <= term) return i;
    }
    return i;
  }

  /** Whether a candidate's log (lastIndex, lastTerm) is at least as up to date as ours (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex());
  }
}
