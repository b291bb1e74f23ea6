import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, waitFor } from '@photoncloud/test-utils';
import { Supervisor, backoffDelay } from './supervisor.js';
import type { SupervisorEvent } from './supervisor.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('backoffDelay doubles from the initial delay up to the cap', () => {
  const o = { initialMs: 100, maxMs: 1000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, o)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(backoffDelay(0), 500);
  assert.equal(backoffDelay(1000), 30_000);
});

test('a crashing child is restarted with backoff; its output goes to the log file', async () => {
  const dir = await tempDir('pc-sup-');
  const logFile = join(dir.path, 'logs', 'crash.log');
  const events: SupervisorEvent[] = [];
  const sup = new Supervisor({
    name: 'crash',
    command: process.execPath,
    args: ['-e', 'console.log("hello from child"); process.exit(3)'],
    logFile,
    backoff: { initialMs: 20, maxMs: 80 },
    onEvent: (e) => events.push(e),
  });
  try {
    sup.start();
    await waitFor(() => sup.restarts >= 3, { timeoutMs: 20_000, what: 'three restarts' });
    await sup.stop(2000);
    const exits = events.filter((e) => e.type === 'exit');
    assert.ok(exits.length >= 3);
    for (const e of exits.slice(0, 3)) {
      assert.equal(e.type === 'exit' ? e.code : undefined, 3);
      assert.notEqual(e.type === 'exit' ? e.restartInMs : null, null);
    }
    assert.ok(sup.failures >= 3);
    const log = await readFile(logFile, 'utf8');
    assert.ok((log.match(/hello from child/g) ?? []).length >= 3);
    assert.match(log, /"service":"supervisor".*"msg":"crash exited"/);
  } finally {
    await sup.stop(2000);
    await dir.cleanup();
  }
});

test('stop() ends a well-behaved child with SIGTERM and does not restart it', async () => {
  const dir = await tempDir('pc-sup-');
  let spawns = 0;
  const sup = new Supervisor({
    name: 'calm',
    command: process.execPath,
    args: [
      '-e',
      'process.on("SIGTERM", () => { console.log("bye"); process.exit(0); }); setInterval(() => {}, 1000); console.log("child-ready")',
    ],
    logFile: join(dir.path, 'calm.log'),
    onEvent: (e) => {
      if (e.type === 'spawn') spawns += 1;
    },
  });
  try {
    sup.start();
    await waitFor(async () => (await readFile(join(dir.path, 'calm.log'), 'utf8')).includes('child-ready'), {
      what: 'child output',
    });
    const pid = sup.pid;
    assert.ok(pid !== undefined && alive(pid));
    assert.equal(await sup.stop(10_000), true);
    assert.equal(alive(pid), false);
    assert.equal(sup.pid, undefined);
    assert.equal(spawns, 1);
    assert.match(await readFile(join(dir.path, 'calm.log'), 'utf8'), /bye/);
  } finally {
    await sup.stop();
    await dir.cleanup();
  }
});

test('stop() kills a child that ignores SIGTERM once the timeout passes', async () => {
  const dir = await tempDir('pc-sup-');
  const log = join(dir.path, 'stubborn.log');
  const sup = new Supervisor({
    name: 'stubborn',
    command: process.execPath,
    args: [
      '-e',
      'process.on("SIGTERM", () => console.log("ignoring SIGTERM")); setInterval(() => {}, 1000); console.log("child-ready")',
    ],
    logFile: log,
  });
  try {
    sup.start();
    await waitFor(async () => (await readFile(log, 'utf8')).includes('child-ready'), {
      what: 'child output',
    });
    const pid = sup.pid;
    assert.ok(pid !== undefined);
    assert.equal(await sup.stop(300), false);
    assert.equal(alive(pid), false);
    const text = await readFile(log, 'utf8');
    assert.match(text, /ignoring SIGTERM/);
    assert.match(text, /did not stop within 300 ms; killing pid/);
  } finally {
    await sup.stop();
    await dir.cleanup();
  }
});

test('a command that cannot be spawned is reported and retried, not thrown', async () => {
  const dir = await tempDir('pc-sup-');
  const events: SupervisorEvent[] = [];
  const sup = new Supervisor({
    name: 'ghost',
    command: join(dir.path, 'does-not-exist'),
    args: [],
    logFile: join(dir.path, 'ghost.log'),
    backoff: { initialMs: 10, maxMs: 20 },
    onEvent: (e) => events.push(e),
  });
  try {
    sup.start();
    await waitFor(() => events.filter((e) => e.type === 'spawn-error').length >= 2, {
      what: 'two spawn errors',
    });
    const first = events.find((e) => e.type === 'spawn-error');
    assert.match(first?.type === 'spawn-error' ? first.error : '', /ENOENT/);
  } finally {
    await sup.stop(1000);
    await dir.cleanup();
  }
});
