import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consume, emptyQuota, releaseUsage, setLimits } from './quota.js';

const NOW = '2026-01-01T00:00:00Z';

test('consume is all or nothing against the limits; unlimited without a limit', () => {
  const q = setLimits(emptyQuota('p', NOW), { vcpus: 8, vms: 2 }, NOW);
  const a = consume(q, { vcpus: 4, vms: 1, memory_mib: 8192 }, NOW);
  assert.ok(a.ok);
  assert.deepEqual(a.quota.usage, { vcpus: 4, vms: 1, memory_mib: 8192 });
  const b = consume(a.quota, { vms: 1, vcpus: 5 }, NOW);
  assert.equal(b.ok, false);
  assert.equal(!b.ok && b.rejection.code, 'quota_exceeded');
  assert.deepEqual(!b.ok && b.rejection.details, {
    reason: 'QUOTA_EXCEEDED',
    project_id: 'p',
    resource: 'vcpus',
    limit: 8,
    usage: 4,
    requested: 5,
  });
  const c = consume(a.quota, { vcpus: 4, vms: 1 }, NOW);
  assert.ok(c.ok);
  assert.deepEqual(c.quota.usage, { vcpus: 8, vms: 2, memory_mib: 8192 });
});

test('release never takes usage below zero; lowering a limit keeps usage', () => {
  const q = consume(emptyQuota('p', NOW), { vcpus: 3 }, NOW);
  assert.ok(q.ok);
  const over = releaseUsage(q.quota, { vcpus: 4 }, NOW);
  assert.equal(!over.ok && over.rejection.code, 'release_exceeds_usage');
  const back = releaseUsage(q.quota, { vcpus: 3 }, NOW);
  assert.ok(back.ok);
  assert.deepEqual(back.quota.usage, {});
  const lowered = setLimits(q.quota, { vcpus: 1 }, NOW, 'org-1');
  assert.deepEqual(lowered.usage, { vcpus: 3 });
  assert.equal(lowered.org_id, 'org-1');
  assert.equal(consume(lowered, { vcpus: 1 }, NOW).ok, false);
});
