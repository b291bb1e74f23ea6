import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  parseMachineBusySeconds,
  parseStatCpuSeconds,
  processTree,
  treeCpuSeconds,
  treeRssBytes,
} from './proc-stats.js';

test('parses utime+stime+cutime+cstime even when the command name has spaces and parentheses', () => {
  // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
  const stat = '4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 12345';
  assert.equal(parseStatCpuSeconds(stat), (250 + 50 + 7 + 3) / 100);
});

test('the process tree includes a live child, and its CPU and memory are counted', async () => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
  await once(child, 'spawn');
  try {
    assert.ok(processTree(process.pid).includes(child.pid!));
    assert.ok(treeRssBytes(process.pid) > treeRssBytes(child.pid!));
    assert.ok(treeCpuSeconds(process.pid) >= treeCpuSeconds(child.pid!));
    assert.ok(treeRssBytes(child.pid!) > 0);
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  // A PID that is gone counts as nothing rather than failing.
  assert.equal(treeRssBytes(child.pid!), 0);
  assert.equal(treeCpuSeconds(child.pid!), 0);
});

test('machine busy time sums user, nice, system, irq, softirq and steal, not idle or iowait', () => {
  const stat = 'cpu  100 5 50 9000 40 3 2 10 7 0\ncpu0 50 2 25 4500 20 1 1 5 3 0\nintr 1 2 3\n';
  assert.equal(parseMachineBusySeconds(stat), (100 + 5 + 50 + 3 + 2 + 10) / 100);
  assert.equal(parseMachineBusySeconds('garbage'), 0);
});
