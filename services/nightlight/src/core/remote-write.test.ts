import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseExposition } from './exposition.js';
import { decodeWriteRequest, encodeWriteRequest, ProtobufError } from './remote-write.js';

test('WriteRequest round-trips, keeping staleness markers and negative timestamps', () => {
  const buf = encodeWriteRequest({
    series: [
      {
        labels: [
          ['__name__', 'm'],
          ['job', 'x'],
        ],
        samples: [
          { t: -5, v: 1.5, stale: false },
          { t: 1_700_000_000_123, v: 0, stale: true },
          { t: 1_700_000_000_124, v: NaN, stale: false },
        ],
      },
    ],
    metadata: [{ metric: 'm', type: 'counter', help: 'h', unit: 's' }],
  });
  const req = decodeWriteRequest(buf);
  assert.equal(req.series.length, 1);
  const s = req.series[0]!;
  assert.deepEqual(s.labels, [
    { name: '__name__', value: 'm' },
    { name: 'job', value: 'x' },
  ]);
  assert.deepEqual(
    s.samples.map((x) => [x.t, x.stale]),
    [
      [-5, false],
      [1_700_000_000_123, true],
      [1_700_000_000_124, false],
    ],
  );
  assert.equal(s.samples[0]!.v, 1.5);
  assert.ok(Number.isNaN(s.samples[2]!.v));
  assert.deepEqual(req.metadata, [{ metric: 'm', type: 'counter', help: 'h', unit: 's' }]);
});

test('truncated protobuf is an error, not a crash', () => {
  const buf = encodeWriteRequest({
    series: [{ labels: [['a', 'b']], samples: [{ t: 1, v: 1, stale: false }] }],
  });
  assert.throws(() => decodeWriteRequest(buf.subarray(0, buf.length - 3)), ProtobufError);
});

test('text exposition: labels, escapes, timestamps, special values, metadata', () => {
  const exp = parseExposition(
    [
      '# HELP m A metric\\nwith newline.',
      '# TYPE m counter',
      'm{a="x\\"y",b="1\\\\2"} 3 1000',
      'm 4',
      'g -Inf',
      'h NaN',
      '',
    ].join('\n'),
  );
  assert.equal(exp.samples.length, 4);
  assert.deepEqual(exp.samples[0], {
    labels: [
      { name: '__name__', value: 'm' },
      { name: 'a', value: 'x"y' },
      { name: 'b', value: '1\\2' },
    ],
    value: 3,
    t: 1000,
  });
  assert.equal(exp.samples[2]!.value, -Infinity);
  assert.deepEqual(exp.metadata.get('m'), {
    metric: 'm',
    type: 'counter',
    help: 'A metric\nwith newline.',
    unit: '',
  });
  assert.throws(() => parseExposition('m{a="b" 1\n'));
  assert.throws(() => parseExposition('m 1 2 3\n'));
});
