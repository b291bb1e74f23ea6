import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencySamples, quantile, summarizeLatencies } from './latency-stats.js';

test('nearest-rank quantiles pick measured samples', () => {
  const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(quantile(sorted, 0.5), 5);
  assert.equal(quantile(sorted, 0.9), 9);
  assert.equal(quantile(sorted, 0.99), 10);
  assert.equal(quantile(sorted, 0), 1);
  assert.equal(quantile(sorted, 1), 10);
  assert.ok(Number.isNaN(quantile([], 0.5)));
  assert.throws(() => quantile(sorted, 1.5), RangeError);
});

test('summary of samples recorded out of order, beyond the initial buffer size', () => {
  const s = new LatencySamples();
  // 10 000 samples (more than the 4096 initial capacity), values 1..10000 in a scrambled order.
  for (let i = 0; i < 10_000; i++) s.add(((i * 7919) % 10_000) + 1);
  assert.equal(s.count, 10_000);
  const sum = summarizeLatencies(s);
  assert.equal(sum.count, 10_000);
  assert.equal(sum.min, 1);
  assert.equal(sum.max, 10_000);
  assert.equal(sum.p50, 5000);
  assert.equal(sum.p90, 9000);
  assert.equal(sum.p99, 9900);
  assert.equal(sum.mean, 5000.5);
  // Population stddev of 1..n is sqrt((n^2 - 1) / 12).
  assert.ok(Math.abs(sum.stddev - Math.sqrt((10_000 ** 2 - 1) / 12)) < 1e-6);
});

test('stddev and mean of a small array; empty input gives NaN', () => {
  const sum = summarizeLatencies([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(sum.mean, 5);
  assert.equal(sum.stddev, 2);
  const empty = summarizeLatencies([]);
  assert.equal(empty.count, 0);
  assert.ok(Number.isNaN(empty.p99));
});
