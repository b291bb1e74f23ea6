import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '@photoncloud/log';
import { LogAuditSink, outcomeOf, sortableId } from './audit.js';
import type { AuditEvent } from './audit.js';

test('sortableId: fixed width, unique, sorted by time even within one millisecond', () => {
  const ids = [sortableId(1000), sortableId(1000), sortableId(1000), sortableId(1001), sortableId(2 ** 45)];
  for (const id of ids) assert.match(id, /^[0-9a-f]{24}$/);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
});

test('outcomeOf', () => {
  assert.equal(outcomeOf(201), 'success');
  assert.equal(outcomeOf(304), 'success');
  assert.equal(outcomeOf(401), 'denied');
  assert.equal(outcomeOf(403), 'denied');
  assert.equal(outcomeOf(409), 'failure');
  assert.equal(outcomeOf(500), 'failure');
});

test('LogAuditSink writes one line with the event', () => {
  const lines: string[] = [];
  const logger = createLogger({
    service: 'a',
    destination: new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    }),
  });
  const event: AuditEvent = {
    id: sortableId(),
    time: new Date().toISOString(),
    service: 'a',
    principal: { id: 'u', kind: 'token', org_id: 'o' },
    method: 'DELETE',
    route: '/api/v1/vms/:id',
    path: '/api/v1/vms/vm-1',
    resource_id: 'vm-1',
    status_code: 200,
    outcome: 'success',
    request_id: 'r',
  };
  new LogAuditSink(logger).emit(event);
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(line['msg'], 'audit');
  assert.deepEqual(line['audit'], event);
});
