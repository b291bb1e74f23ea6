import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCheckPerfOutput } from './check-perf.js';

// The tail of a real `etcdctl check perf --load=s` run (etcdctl 3.4.23 on this project's CI box): the
// progress bar is redrawn with \r and the report starts on the bar's line.
const PASS_OUTPUT =
  '\r 0 / 60    0.00%\r 1 / 60    1.67% 00m59s\r 59 / 60   98.33%\r 59 / 60   98.33%' +
  'PASS: Throughput is 146 writes/s\nPASS: Slowest request took 0.074880s\nPASS: Stddev is 0.005760s\nPASS\n';

test('parses a passing report whose first line shares the progress bar line', () => {
  const r = parseCheckPerfOutput('s', PASS_OUTPUT, '', 0, 60.3);
  assert.deepEqual(r, {
    load: 's',
    passed: true,
    throughputWritesPerSec: 146,
    throughputPassed: true,
    slowestSec: 0.07488,
    slowestPassed: true,
    stddevSec: 0.00576,
    stddevPassed: true,
    errors: [],
    failure: null,
    exitCode: 0,
    wallSec: 60.3,
  });
});

test('parses a failing report: unprefixed slowest/stddev failures and error counts', () => {
  const out =
    ' 60 / 60 Booooooooooooooooo! 100.00% 1m0s\n' +
    'FAIL: too many errors\n' +
    'FAIL: ERROR(context deadline exceeded) -> 12\n' +
    'FAIL: ERROR(rpc error: code = Unavailable desc = transport is closing) -> 3\n' +
    'FAIL: Throughput too low: 72 writes/s\n' +
    'Slowest request took too long: 1.354317s\n' +
    'Stddev too high: 0.452125s\n' +
    'FAIL\n';
  const r = parseCheckPerfOutput('m', out, '', 1);
  assert.equal(r.passed, false);
  assert.equal(r.load, 'm');
  assert.equal(r.throughputWritesPerSec, 72);
  assert.equal(r.throughputPassed, false);
  assert.equal(r.slowestSec, 1.354317);
  assert.equal(r.slowestPassed, false);
  assert.equal(r.stddevSec, 0.452125);
  assert.equal(r.stddevPassed, false);
  assert.deepEqual(r.errors, [
    { error: 'context deadline exceeded', count: 12 },
    { error: 'rpc error: code = Unavailable desc = transport is closing', count: 3 },
  ]);
  assert.equal(r.failure, null);
});

test('a mixed verdict: throughput passes, slowest fails', () => {
  const out =
    'PASS: Throughput is 150 writes/s\nSlowest request took too long: 0.612762s\nPASS: Stddev is 0.066612s\nFAIL\n';
  const r = parseCheckPerfOutput('s', out, '', 1);
  assert.equal(r.passed, false);
  assert.equal(r.throughputPassed, true);
  assert.equal(r.slowestPassed, false);
  assert.equal(r.stddevPassed, true);
});

test('a PASS line with a non-zero exit status is not a pass', () => {
  assert.equal(parseCheckPerfOutput('s', PASS_OUTPUT, '', 1).passed, false);
});

test("no report: the failure is etcdctl's own error line, or why the process ended", () => {
  const r = parseCheckPerfOutput(
    's',
    '',
    'Error: prefix "/etcdctl-check-perf/" has keys. Delete with etcdctl del --prefix /etcdctl-check-perf/ first.',
    5,
  );
  assert.equal(r.passed, false);
  assert.equal(r.throughputWritesPerSec, null);
  assert.match(r.failure ?? '', /^Error: prefix .* has keys/);
  assert.equal(
    parseCheckPerfOutput('s', ' 3 / 60', '', null).failure,
    'etcdctl was killed before it printed a report',
  );
  assert.equal(parseCheckPerfOutput('s', '', '', 4).failure, 'etcdctl exited 4 without a report');
});
