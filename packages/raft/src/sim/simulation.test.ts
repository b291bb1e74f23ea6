import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodesForSeed, runSimulation } from './simulation.js';

/** The fixed CI subset of the seeded simulation (the full run is `npm run sim:raft -- --seeds 1000`). */
const CI_SEEDS = 40;

test(`simulation: ${CI_SEEDS} seeds (3 and 5 nodes) keep every invariant and a linearizable history`, () => {
  let steps = 0;
  let ops = 0;
  const faults = {
    crashes: 0,
    partitions: 0,
    confChanges: 0,
    snapshotsInstalled: 0,
    transfers: 0,
    pauses: 0,
  };
  for (let seed = 1; seed <= CI_SEEDS; seed++) {
    const r = runSimulation({ seed, nodes: nodesForSeed(seed) });
    assert.deepEqual(r.violations, [], `seed ${seed} (replay: npm run sim:raft -- --seed ${seed} --verbose)`);
    assert.equal(r.linearizable, 'ok', `seed ${seed}: linearizability ${r.linearizable}`);
    assert.ok(r.opsCompleted > 20, `seed ${seed}: only ${r.opsCompleted} operations completed`);
    assert.deepEqual(r.warnings, [], `seed ${seed}`);
    steps += r.stats.steps;
    ops += r.opsChecked;
    for (const k of Object.keys(faults) as Array<keyof typeof faults>) faults[k] += r.stats[k];
  }
  // The runs really exercised the faults they are meant to survive.
  for (const [k, v] of Object.entries(faults)) assert.ok(v > 0, `no ${k} happened in ${CI_SEEDS} seeds`);
  assert.ok(steps > CI_SEEDS * 1000 && ops > CI_SEEDS * 20, `steps ${steps}, ops ${ops}`);
});

test('simulation is deterministic: a seed replays identically', () => {
  const trace = (): string[] => {
    const lines: string[] = [];
    const r = runSimulation({ seed: 7, nodes: 5, trace: (l) => lines.push(l) });
    lines.push(JSON.stringify(r.stats), String(r.opsChecked));
    return lines;
  };
  const a = trace();
  assert.ok(a.length > 20);
  assert.deepEqual(trace(), a);
});

test('without faults every operation completes', () => {
  const r = runSimulation({ seed: 3, nodes: 3, noFaults: true });
  assert.deepEqual(r.violations, []);
  assert.equal(r.opsPending, 0);
  assert.equal(r.stats.crashes + r.stats.partitions + r.stats.confChanges, 0);
  assert.equal(r.stats.leaderTerms, 1, 'one election, never disturbed');
});
