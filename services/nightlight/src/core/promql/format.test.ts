import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { formatDuration, formatFloat, parseDuration, parseGoFloat } from './format.js';

test('formatFloat matches Go strconv.FormatFloat(v, f, -1, 64)', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [1, '1'],
    [-2.5, '-2.5'],
    [0.1, '0.1'],
    [1e21, '1000000000000000000000'],
    [1.5e-7, '0.00000015'],
    [123456789012345680000, '123456789012345680000'],
    [5e-324, '0.' + '0'.repeat(323) + '5'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
  ];
  for (const [v, want] of cases) assert.equal(formatFloat(v), want, String(v));
});

test('durations parse and format like Prometheus', () => {
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1ms'), 1);
  assert.equal(parseDuration('2w1d'), 15 * 86_400_000);
  assert.throws(() => parseDuration('5'));
  assert.throws(() => parseDuration('1m1h'), /not a valid duration/);
  assert.equal(formatDuration(5_400_000), '1h30m');
});

test('parseGoFloat accepts Go float syntax', () => {
  assert.equal(parseGoFloat('0x1F'), 31);
  assert.equal(parseGoFloat('-inf'), -Infinity);
  assert.ok(Number.isNaN(parseGoFloat('NaN')));
  assert.equal(parseGoFloat('.5e1'), 5);
  assert.throws(() => parseGoFloat('1.2.3'));
});
