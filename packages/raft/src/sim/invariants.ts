/**
 * Raft's safety properties, checked by the simulation after every step. Checks are incremental
 * (each event touches O(nodes) state) so that they can run at every step of thousands of seeds.
 *
 * - election safety: at most one leader per term, ever;
 * - log matching: an (index, term) pair names one entry, with one predecessor term; by induction
 *   two logs holding the same (index, term) are identical up to there;
 * - leader completeness: a leader of term T holds every entry committed in a term < T;
 * - state-machine safety: no two nodes apply different entries at the same index;
 * - committed entries are never lost: the newest committed entry is durable (fsynced or in a
 *   durable snapshot) on enough voters of the current configuration that every quorum has one;
 * - terms are monotonic per node, across crashes too (the durable term never goes back).
 */
import type { RaftCore } from '../core/raft-core.js';
import type { ConfState, Entry, HardState, NodeId, Ready, Snapshot } from '../core/types.js';

/** What the checker needs to know of a node's disk. */
export interface DurableView {
  hardState: HardState;
  snapshot: Snapshot;
  entries: Entry[];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Term of `index` on a disk, or undefined when absent (covered by the snapshot counts as held). */
function durableHolds(d: DurableView, index: number, term: number): boolean {
  if (d.snapshot.meta.index >= index) return true;
  const first = d.entries[0];
  if (!first) return false;
  const e = d.entries[index - first.index];
  return e !== undefined && e.index === index && e.term === term;
}

/** Collects violations; the simulation fails the seed on the first one. */
export class InvariantChecker {
  readonly violations: string[] = [];
  private readonly leaders = new Map<number, NodeId>();
  private readonly entries = new Map<string, { prevTerm: number; data: Uint8Array }>();
  private readonly applied = new Map<number, Entry>();
  /** Committed entries by index: their term and the term of the node that first saw them committed. */
  private readonly committed = new Map<number, { term: number; commitTerm: number }>();
  private maxCommitted = 0;
  private readonly lastTerm = new Map<NodeId, number>();
  private readonly durableTerm = new Map<NodeId, number>();
  private readonly leaderChecked = new Set<string>();
  /** Commit index last seen per leader, to check each advance against its quorum. */
  private readonly leaderCommit = new Map<string, number>();
  /** Number of individual checks performed (for the report). */
  checks = 0;

  private fail(msg: string, now: number): void {
    this.violations.push(`t=${now}: ${msg}`);
  }

  /** A Ready was taken: its new entries must agree with every other copy of the same (index, term). */
  onReady(id: NodeId, core: RaftCore, rd: Ready, now: number): void {
    for (const e of rd.entries) {
      this.checks++;
      const prevTerm = e.index - 1 === 0 ? 0 : (core.log.term(e.index - 1) ?? -1);
      const key = `${e.index}/${e.term}`;
      const seen = this.entries.get(key);
      if (!seen) {
        this.entries.set(key, { prevTerm, data: e.data });
        continue;
      }
      if (!sameBytes(seen.data, e.data)) {
        this.fail(`log matching: node ${id} has a different entry at index ${e.index} term ${e.term}`, now);
      }
      if (prevTerm !== -1 && seen.prevTerm !== -1 && seen.prevTerm !== prevTerm) {
        this.fail(
          `log matching: node ${id} entry ${e.index}/${e.term} follows term ${prevTerm}, another copy follows ${seen.prevTerm}`,
          now,
        );
      }
    }
  }

  /** A node applied `e` to its state machine. */
  onApply(id: NodeId, e: Entry, now: number): void {
    this.checks++;
    const seen = this.applied.get(e.index);
    if (!seen) {
      this.applied.set(e.index, e);
      return;
    }
    if (seen.term !== e.term || seen.type !== e.type || !sameBytes(seen.data, e.data)) {
      this.fail(
        `state-machine safety: node ${id} applied ${e.index}/${e.term}, another node applied ${e.index}/${seen.term}`,
        now,
      );
    }
  }

  /** A node persisted `hs` (fsync done). */
  onDurable(id: NodeId, hs: HardState, now: number): void {
    this.checks++;
    const prev = this.durableTerm.get(id) ?? 0;
    if (hs.term < prev)
      this.fail(`term monotonicity: node ${id} durable term went ${prev} -> ${hs.term}`, now);
    this.durableTerm.set(id, Math.max(prev, hs.term));
  }

  /** A node crashed: its in-memory term is gone, its durable term remains the floor. */
  onCrash(id: NodeId): void {
    this.lastTerm.set(id, this.durableTerm.get(id) ?? 0);
  }

  /**
   * After every step: per-node checks on live nodes, then durability of the newest committed
   * entry against the current configuration.
   */
  afterStep(
    live: ReadonlyArray<{ id: NodeId; core: RaftCore }>,
    disks: ReadonlyMap<NodeId, DurableView>,
    conf: ConfState,
    now: number,
  ): void {
    for (const { id, core } of live) {
      const st = core.status();
      this.checks += 3;
      const last = this.lastTerm.get(id) ?? 0;
      if (st.term < last) this.fail(`term monotonicity: node ${id} term went ${last} -> ${st.term}`, now);
      this.lastTerm.set(id, st.term);
      if (st.role === 'leader') {
        const holder = this.leaders.get(st.term);
        if (holder === undefined) this.leaders.set(st.term, id);
        else if (holder !== id)
          this.fail(`election safety: ${holder} and ${id} both lead term ${st.term}`, now);
        const lk = `${id}/${st.term}`;
        if (!this.leaderChecked.has(lk)) {
          this.leaderChecked.add(lk);
          this.checkLeaderCompleteness(id, core, st.term, st.snapshotIndex, now);
          // What it knew committed as a follower is not its own commit decision.
          this.leaderCommit.set(lk, st.commit);
        }
        if (st.commit > this.leaderCommit.get(lk)!) {
          this.leaderCommit.set(lk, st.commit);
          this.checkCommitQuorum(id, core, st.commit, disks, now);
        }
      }
      if (st.commit > this.maxCommitted) {
        for (let i = this.maxCommitted + 1; i <= st.commit; i++) {
          const t = core.log.term(i);
          this.committed.set(i, { term: t ?? -1, commitTerm: st.term });
        }
        this.maxCommitted = st.commit;
      } else if (st.commit > 0) {
        // A node's committed prefix agrees with what is known committed.
        const c = this.committed.get(st.commit);
        const t = core.log.term(st.commit);
        if (c && c.term !== -1 && t !== undefined && t !== c.term) {
          this.fail(
            `committed entry changed: node ${id} has ${st.commit}/${t}, committed was term ${c.term}`,
            now,
          );
        }
      }
    }
    this.checkDurableQuorum(disks, conf, now);
  }

  private checkLeaderCompleteness(
    id: NodeId,
    core: RaftCore,
    term: number,
    snapIndex: number,
    now: number,
  ): void {
    for (const [i, c] of this.committed) {
      this.checks++;
      if (c.commitTerm >= term || c.term === -1 || i <= snapIndex) continue;
      const t = core.log.term(i);
      if (t !== c.term) {
        this.fail(
          `leader completeness: leader ${id} of term ${term} has ${t === undefined ? 'no entry' : `term ${t}`} at committed index ${i} (term ${c.term})`,
          now,
        );
        return;
      }
    }
  }

  /** A leader's commit index just advanced: the entry there must be durable on a quorum of its voters. */
  private checkCommitQuorum(
    id: NodeId,
    core: RaftCore,
    commit: number,
    disks: ReadonlyMap<NodeId, DurableView>,
    now: number,
  ): void {
    const term = core.log.term(commit);
    if (term === undefined) return;
    this.checks++;
    const voters = core.confState().voters;
    let holders = 0;
    for (const v of voters) {
      const d = disks.get(v);
      if (d && durableHolds(d, commit, term)) holders++;
    }
    if (holders < Math.floor(voters.length / 2) + 1) {
      this.fail(
        `commit without a durable quorum: leader ${id} committed ${commit}/${term}, durable on ${holders} of [${voters.join(',')}]`,
        now,
      );
    }
  }

  private checkDurableQuorum(disks: ReadonlyMap<NodeId, DurableView>, conf: ConfState, now: number): void {
    if (this.maxCommitted === 0 || conf.voters.length === 0) return;
    // Find the newest committed entry whose term is known.
    let idx = this.maxCommitted;
    let c = this.committed.get(idx);
    while (c && c.term === -1 && idx > 1) c = this.committed.get(--idx);
    if (!c || c.term === -1) return;
    this.checks++;
    let holders = 0;
    for (const v of conf.voters) {
      const d = disks.get(v);
      if (d && durableHolds(d, idx, c.term)) holders++;
    }
    const n = conf.voters.length;
    const need = n - (Math.floor(n / 2) + 1) + 1;
    if (holders < need) {
      this.fail(
        `committed entry lost: ${idx}/${c.term} is durable on ${holders} of voters [${conf.voters.join(',')}], every quorum needs one of at least ${need}`,
        now,
      );
    }
  }

  /** Final, exhaustive cross-check: live logs agree wherever they hold the same (index, term). */
  finalLogCheck(live: ReadonlyArray<{ id: NodeId; core: RaftCore }>, now: number): void {
    for (let a = 0; a < live.length; a++) {
      for (let b = a + 1; b < live.length; b++) {
        const la = live[a]!.core.log;
        const lb = live[b]!.core.log;
        const hi = Math.min(la.lastIndex(), lb.lastIndex());
        const lo = Math.max(la.firstIndex(), lb.firstIndex());
        let matchedAbove = false;
        for (let i = hi; i >= lo; i--) {
          this.checks++;
          const ta = la.term(i);
          const tb = lb.term(i);
          if (ta === tb) matchedAbove = true;
          else if (matchedAbove) {
            this.fail(
              `log matching: nodes ${live[a]!.id} and ${live[b]!.id} match above ${i} but differ at ${i}`,
              now,
            );
            break;
          }
        }
      }
    }
  }

  /** Number of distinct terms that had a leader. */
  leaderTerms(): number {
    return this.leaders.size;
  }

  /** Highest index seen committed. */
  committedIndex(): number {
    return this.maxCommitted;
  }
}
