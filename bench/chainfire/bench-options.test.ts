import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BenchUsageError, parseBenchArgs } from './bench-options.js';

test('defaults: full run with check perf, 10 s scenarios, both targets', () => {
  assert.deepEqual(parseBenchArgs([], '/out'), {
    quick: false,
    checkPerf: true,
    checkPerfLoad: 's',
    durationSec: 10,
    warmupSec: 1,
    rounds: 2,
    clients: [1, 16, 64],
    valueSize: 256,
    profile: false,
    outDir: '/out',
    targets: ['chainfire', 'etcd'],
  });
});

test('--quick shortens the run and skips check perf unless asked for', () => {
  const q = parseBenchArgs(['--quick'], '/out')!;
  assert.equal(q.checkPerf, false);
  assert.equal(q.durationSec, 2);
  assert.equal(q.rounds, 1);
  assert.equal(parseBenchArgs(['--quick', '--rounds', '3'], '/out')!.rounds, 3);
  assert.equal(parseBenchArgs(['--quick', '--check-perf', '--load=m'], '/out')!.checkPerf, true);
  assert.equal(parseBenchArgs(['--quick', '--check-perf', '--load=m'], '/out')!.checkPerfLoad, 'm');
});

test('values in both --flag value and --flag=value forms', () => {
  const o = parseBenchArgs(
    [
      '--duration',
      '3.5',
      '--warmup=0',
      '--clients',
      '2, 8',
      '--value-size=1024',
      '--out',
      'x',
      '--targets',
      'etcd',
      '--profile',
    ],
    '/out',
  )!;
  assert.equal(o.durationSec, 3.5);
  assert.equal(o.warmupSec, 0);
  assert.deepEqual(o.clients, [2, 8]);
  assert.equal(o.valueSize, 1024);
  assert.equal(o.outDir, 'x');
  assert.deepEqual(o.targets, ['etcd']);
  assert.equal(o.profile, true);
  assert.equal(parseBenchArgs(['--help'], '/out'), null);
});

test('bad input is a usage error naming the option', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--clients', '0'], /--clients must be a positive integer/],
    [['--clients', '1.5'], /--clients/],
    [['--duration', 'x'], /--duration must be a positive number/],
    [['--duration'], /--duration needs a value/],
    [['--load', 'huge'], /--load must be one of s, m, l, xl/],
    [['--targets', 'etcd,mysql'], /--targets takes a list/],
    [['--frobnicate'], /unknown option "--frobnicate"/],
    [['--value-size', '-1'], /--value-size/],
    [['--rounds', '0'], /--rounds must be a positive integer/],
  ];
  for (const [argv, re] of bad) {
    assert.throws(
      () => parseBenchArgs(argv, '/out'),
      (e: unknown) => e instanceof BenchUsageError && re.test(e.message),
      argv.join(' '),
    );
  }
});
