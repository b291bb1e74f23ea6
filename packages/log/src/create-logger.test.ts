import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from './index.js';

/** A destination that keeps the JSON lines written to it. */
function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function withEnv(value: string | undefined, fn: () => void): void {
  const before = process.env['PHOTONCLOUD_LOG_LEVEL'];
  if (value === undefined) delete process.env['PHOTONCLOUD_LOG_LEVEL'];
  else process.env['PHOTONCLOUD_LOG_LEVEL'] = value;
  try {
    fn();
  } finally {
    if (before === undefined) delete process.env['PHOTONCLOUD_LOG_LEVEL'];
    else process.env['PHOTONCLOUD_LOG_LEVEL'] = before;
  }
}

test('JSON lines with service, level name and RFC 3339 UTC time', () => {
  withEnv(undefined, () => {
    const out = capture();
    const log = createLogger({ service: 'chainfire', destination: out.stream });
    log.info({ key: 'user:1' }, 'hello');
    log.debug('hidden at info');
    const lines = out.lines();
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(line['service'], 'chainfire');
    assert.equal(line['level'], 'info');
    assert.equal(line['msg'], 'hello');
    assert.equal(line['key'], 'user:1');
    assert.match(String(line['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });
});

test('level from PHOTONCLOUD_LOG_LEVEL; explicit level wins', () => {
  withEnv('debug', () => {
    const out = capture();
    createLogger({ service: 's', destination: out.stream }).debug('shown');
    assert.equal(out.lines().length, 1);
    const out2 = capture();
    createLogger({ service: 's', level: 'warn', destination: out2.stream }).info('not shown');
    assert.equal(out2.lines().length, 0);
  });
});

test('an unknown env level falls back to info with a warning', () => {
  withEnv('loud', () => {
    const out = capture();
    const log = createLogger({ service: 's', destination: out.stream });
    assert.equal(log.level, 'info');
    const lines = out.lines();
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!['level'], 'warn');
    assert.equal(lines[0]!['value'], 'loud');
  });
});

test('an unknown explicit level is a programming error', () => {
  assert.throws(() => createLogger({ service: 's', level: 'loud' as never }), /unknown level/);
});
