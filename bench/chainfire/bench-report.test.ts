import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bestRound,
  checkPerfRows,
  interferenceWarnings,
  cpuMicrosPerOp,
  formatNumber,
  formatTable,
  ratio,
  scenarioRows,
  verdict,
  type ScenarioResult,
} from './bench-report.js';
import { parseCheckPerfOutput } from './check-perf.js';

function result(
  op: 'put' | 'get',
  opsPerSec: number,
  p50: number,
  serverCpuSec: number | null,
  errors = {},
): ScenarioResult {
  const ops = opsPerSec * 10;
  return {
    op,
    clients: 16,
    connections: 16,
    ops,
    errors,
    elapsedSec: 10,
    opsPerSec,
    latency: {
      count: ops,
      mean: p50,
      stddev: 1,
      min: p50 / 2,
      p50,
      p90: p50 * 2,
      p99: p50 * 3,
      max: p50 * 10,
    },
    clientCpuSec: 5,
    windowUs: { startUs: 0, endUs: 10_000_000 },
    probeDelta: null,
    serverCpuSec,
    otherCpuSec: null,
    otherCpuShare: null,
  };
}

test('ratio is ChainFire / etcd and null when it cannot be formed', () => {
  assert.equal(ratio(50, 100), 0.5);
  assert.equal(ratio(50, 0), null);
  assert.equal(ratio(null, 100), null);
  assert.equal(ratio(50, Number.NaN), null);
});

test("verdict reads the ratio in the metric's better direction", () => {
  const throughput = { metric: 'x', better: 'higher' as const, chainfire: 200, etcd: 100, ratio: 2 };
  assert.equal(verdict(throughput), 'ChainFire 2x better');
  assert.equal(verdict({ ...throughput, ratio: 0.5 }), 'etcd 2x better');
  // For latency a ratio below 1 favours ChainFire.
  assert.equal(verdict({ ...throughput, better: 'lower', ratio: 0.25 }), 'ChainFire 4x better');
  assert.equal(verdict({ ...throughput, better: 'lower', ratio: 3 }), 'etcd 3x better');
  assert.equal(verdict({ ...throughput, ratio: 1.02 }), 'even');
  assert.equal(verdict({ ...throughput, ratio: null }), '');
});

test('scenario rows: throughput, latencies, server CPU per op; errors only when there are some', () => {
  const rows = scenarioRows({
    name: 'put c=16',
    chainfire: result('put', 500, 4, 2),
    etcd: result('put', 1000, 2, 3),
  });
  assert.deepEqual(
    rows.map((r) => [r.metric, r.chainfire, r.etcd, r.ratio]),
    [
      ['put c=16: writes/s', 500, 1000, 0.5],
      ['put c=16: p50 ms', 4, 2, 2],
      ['put c=16: p99 ms', 12, 6, 2],
      ['put c=16: max ms', 40, 20, 2],
      ['put c=16: server CPU µs/op', 400, 300, 400 / 300],
    ],
  );
  const withErrors = scenarioRows({
    name: 'get c=1',
    chainfire: result('get', 10, 1, null, { UNAVAILABLE: 2 }),
    etcd: null,
  });
  assert.equal(withErrors[0]!.metric, 'get c=1: reads/s');
  assert.equal(withErrors[0]!.etcd, null);
  assert.equal(withErrors[0]!.ratio, null);
  assert.deepEqual(withErrors.at(-1), {
    metric: 'get c=1: errors',
    better: 'lower',
    chainfire: 2,
    etcd: null,
    ratio: null,
  });
  assert.equal(cpuMicrosPerOp(result('get', 10, 1, null)), null);
});

test('check perf rows carry the verdict and convert seconds to ms', () => {
  const pass = parseCheckPerfOutput(
    's',
    'PASS: Throughput is 150 writes/s\nPASS: Slowest request took 0.1s\nPASS: Stddev is 0.01s\nPASS\n',
    '',
    0,
  );
  const fail = parseCheckPerfOutput('s', '', 'Error: context deadline exceeded', 1);
  const rows = checkPerfRows(fail, pass);
  assert.deepEqual(rows[0], {
    metric: 'check perf --load=s: verdict',
    better: null,
    chainfire: 'FAIL (Error: context deadline exceeded)',
    etcd: 'PASS',
    ratio: null,
  });
  assert.equal(rows[1]!.etcd, 150);
  assert.equal(rows[1]!.chainfire, null);
  assert.equal(rows[2]!.etcd, 100);
  assert.equal(rows[3]!.etcd, 10);
});

test('table: aligned columns, dashes for missing values, numbers to 3 significant digits', () => {
  assert.equal(formatNumber(12345.6), '12346');
  assert.equal(formatNumber(0.0123456), '0.0123');
  assert.equal(formatNumber(12.345), '12.3');
  const text = formatTable([
    { metric: 'put c=1: writes/s', better: 'higher', chainfire: 1500.4, etcd: 1000, ratio: 1.5004 },
    { metric: 'put c=1: p99 ms', better: 'lower', chainfire: null, etcd: 2.5, ratio: null },
  ]);
  const lines = text.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^metric +ChainFire +etcd 3\.4 +ratio CF\/etcd +better +verdict$/);
  assert.match(lines[2]!, /^put c=1: writes\/s +1500 +1000 +1\.5 +higher +ChainFire 1\.5x better$/);
  assert.match(lines[3]!, /^put c=1: p99 ms +— +2\.5 +— +lower$/);
  // Every line's columns start at the same offsets.
  assert.equal(lines[0]!.indexOf('ChainFire') + 'ChainFire'.length, lines[2]!.indexOf('1500') + 4);
});

test('the best round is the fastest; interference above the threshold is reported per side', () => {
  const slow = result('put', 100, 5, 1);
  const fast = result('put', 300, 2, 1);
  assert.equal(bestRound([slow, fast, slow]), fast);
  assert.equal(bestRound([]), null);
  const noisy = { ...fast, otherCpuShare: 0.4 };
  assert.deepEqual(
    interferenceWarnings([
      { name: 'put c=1', chainfire: noisy, etcd: { ...fast, otherCpuShare: 0.05 } },
      { name: 'get c=1', chainfire: null, etcd: noisy },
    ]),
    [
      "put c=1 on chainfire: other processes used 40% of the machine's CPU",
      "get c=1 on etcd: other processes used 40% of the machine's CPU",
    ],
  );
});
