/**
 * Command line of the Raft simulation (`npm run sim:raft -- …`):
 *
 *   --seed N        run one seed (replay a failure); add --verbose for an event trace
 *   --seeds N       run seeds 1..N (or --start S .. S+N-1), alternating 3 and 5 nodes
 *   --nodes K       force the cluster size
 *   --duration MS   simulated milliseconds of chaos per seed (default 3000)
 *
 * Prints one line per failing seed with the command that replays it, then totals. Exit code 1
 * when any seed violated an invariant or produced a non-linearizable history.
 */
import { nodesForSeed, runSimulation } from './simulation.js';
import type { SimResult } from './simulation.js';

interface Args {
  seed?: number;
  seeds: number;
  start: number;
  nodes?: number;
  duration?: number;
  verbose: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seeds: 1, start: 1, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${k} needs a non-negative integer`);
      return v;
    };
    if (k === '--seed') a.seed = num();
    else if (k === '--seeds') a.seeds = num();
    else if (k === '--start') a.start = num();
    else if (k === '--nodes') a.nodes = num();
    else if (k === '--duration') a.duration = num();
    else if (k === '--verbose' || k === '-v') a.verbose = true;
    else throw new Error(`unknown argument ${k} (see packages/raft/README.md)`);
  }
  return a;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const seeds =
    args.seed !== undefined ? [args.seed] : Array.from({ length: args.seeds }, (_, i) => args.start + i);
  const t0 = performance.now();
  const totals = { seeds: 0, failed: 0, steps: 0, ops: 0, completed: 0, checks: 0, warnings: 0, unknown: 0 };
  const sums = {
    crashes: 0,
    partitions: 0,
    confChanges: 0,
    transfers: 0,
    snapshotsSent: 0,
    leaderTerms: 0,
    messages: 0,
  };
  const failures: SimResult[] = [];
  for (const seed of seeds) {
    const nodes = nodesForSeed(seed, args.nodes);
    const r = runSimulation({
      seed,
      nodes,
      durationMs: args.duration,
      trace: args.verbose ? (line) => console.log(line) : undefined,
    });
    totals.seeds++;
    totals.steps += r.stats.steps;
    totals.ops += r.opsChecked;
    totals.completed += r.opsCompleted;
    totals.checks += r.stats.invariantChecks;
    totals.warnings += r.warnings.length;
    if (r.linearizable === 'unknown') totals.unknown++;
    for (const k of Object.keys(sums) as Array<keyof typeof sums>) sums[k] += r.stats[k];
    if (r.violations.length > 0) {
      totals.failed++;
      failures.push(r);
      console.log(`FAIL seed=${seed} nodes=${nodes}: ${r.violations[0]}`);
      console.log(
        `  replay: npm run sim:raft -- --seed ${seed}${args.nodes ? ` --nodes ${args.nodes}` : ''} --verbose`,
      );
    } else if (args.seed !== undefined || args.verbose) {
      console.log(
        `ok seed=${seed} nodes=${nodes} steps=${r.stats.steps} ops=${r.opsChecked} (completed ${r.opsCompleted}) ` +
          `leaderTerms=${r.stats.leaderTerms} commit=${r.stats.committedIndex} crashes=${r.stats.crashes} ` +
          `partitions=${r.stats.partitions} confChanges=${r.stats.confChanges} snapshots=${r.stats.snapshotsSent}` +
          (r.warnings.length ? ` warnings=${r.warnings.join('; ')}` : ''),
      );
    }
    if (r.warnings.length > 0 && args.seed === undefined && !args.verbose) {
      console.log(`warn seed=${seed} nodes=${nodes}: ${r.warnings.join('; ')}`);
    }
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(
    `seeds=${totals.seeds} failed=${totals.failed} steps=${totals.steps} invariantChecks=${totals.checks} ` +
      `opsChecked=${totals.ops} opsCompleted=${totals.completed} linearizabilityUnknown=${totals.unknown} ` +
      `warnings=${totals.warnings} time=${secs}s`,
  );
  console.log(
    `faults: crashes=${sums.crashes} partitions=${sums.partitions} confChanges=${sums.confChanges} ` +
      `transfers=${sums.transfers} snapshotsSent=${sums.snapshotsSent} leaderTerms=${sums.leaderTerms} messages=${sums.messages}`,
  );
  if (failures.length > 0) process.exitCode = 1;
}

main();
