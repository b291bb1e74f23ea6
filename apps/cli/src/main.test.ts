import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { freePort, tempDir } from '@photoncloud/test-utils';
import { memoryIo } from './io.js';
import { main } from './main.js';

const ctx = (cwd: string, env: NodeJS.ProcessEnv = {}) => ({
  cwd,
  env: { PATH: process.env['PATH'], ...env },
});

test('help, version and unknown commands', async () => {
  let io = memoryIo();
  assert.equal(await main(['--help'], io, ctx('/')), 0);
  assert.match(io.stdout.join('\n'), /Commands:\n {2}up {6}Start the whole platform/);
  assert.match(io.stdout.join('\n'), /chainfire \(http 8081, grpc 50051\)/);

  io = memoryIo();
  assert.equal(await main([], io, ctx('/')), 2);

  io = memoryIo();
  assert.equal(await main(['--version'], io, ctx('/')), 0);
  assert.match(io.stdout[0] ?? '', /^\d+\.\d+\.\d+/);

  io = memoryIo();
  assert.equal(await main(['launch'], io, ctx('/')), 2);
  assert.deepEqual(io.stderr, [
    'error: unknown command "launch"',
    'hint: Commands: up, status, serve, doctor. Run: photoncloud --help',
  ]);

  for (const cmd of ['up', 'serve', 'status', 'doctor']) {
    io = memoryIo();
    assert.equal(await main([cmd, '--help'], io, ctx('/')), 0, cmd);
    assert.match(io.stdout.join('\n'), new RegExp(`^Usage: photoncloud ${cmd}`), cmd);
    io = memoryIo();
    assert.equal(await main(['help', cmd], io, ctx('/')), 0, cmd);
  }
});

test('serve: an unknown service is exit 2 with the known ones listed', async () => {
  const io = memoryIo();
  assert.equal(await main(['serve', 'nosuchsvc'], io, ctx('/')), 2);
  assert.deepEqual(io.stderr, [
    'error: unknown service "nosuchsvc"',
    'hint: Known services: chainfire, iam, creditservice, prismnet, plasmavmc, k8shost, node-agent, lightningstor, nightlight',
  ]);
  const io2 = memoryIo();
  assert.equal(await main(['serve'], io2, ctx('/')), 2);
  assert.match(io2.stderr[0] ?? '', /which service/);
  const io3 = memoryIo();
  assert.equal(await main(['serve', 'chainfire', '--http-port', 'eighty'], io3, ctx('/')), 2);
  assert.match(io3.stderr[0] ?? '', /--http-port: "eighty" is not a port number/);
  const io4 = memoryIo();
  assert.equal(
    await main(['serve', 'chainfire', '--host', '0.0.0.0', '--auth-mode', 'local'], io4, ctx('/')),
    2,
  );
  assert.match(io4.stderr[0] ?? '', /only allowed when listening on loopback/);
  for (const flag of ['--join', '--initial-cluster']) {
    const io5 = memoryIo();
    assert.equal(await main(['serve', 'iam', flag, 'a=http://127.0.0.1:1'], io5, ctx('/')), 2);
    assert.match(io5.stderr[0] ?? '', new RegExp(`${flag} applies to chainfire only, not iam`));
  }
});

test('status when nothing runs: says so, exit 1 (also for a stale up.json)', async () => {
  const dir = await tempDir('pc-status-');
  try {
    let io = memoryIo();
    assert.equal(await main(['status', '--data-dir', dir.path], io, ctx('/')), 1);
    assert.match(io.stdout[0] ?? '', /^PhotonCloud is not running \(no .*run\/up\.json\)\.$/);

    // PHOTONCLOUD_DATA_DIR is honoured too, and --json works.
    io = memoryIo();
    assert.equal(await main(['status', '--json'], io, ctx('/', { PHOTONCLOUD_DATA_DIR: dir.path })), 1);
    const report = JSON.parse(io.stdout.join('\n')) as { running: boolean; data_dir: string };
    assert.equal(report.running, false);
    assert.equal(report.data_dir, dir.path);

    await mkdir(join(dir.path, 'run'));
    await writeFile(
      join(dir.path, 'run', 'up.json'),
      JSON.stringify({ version: 1, pid: 2 ** 22 + 4321, services: [] }),
    );
    io = memoryIo();
    assert.equal(await main(['status', '--data-dir', dir.path], io, ctx('/')), 1);
    assert.match(io.stdout[0] ?? '', /not running \(stale .* left by pid/);
  } finally {
    await dir.cleanup();
  }
});

test('up refuses clearly when a port is in use, and starts nothing', async () => {
  const dir = await tempDir('pc-up-busy-');
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const busy = (blocker.address() as AddressInfo).port;
  try {
    const io = memoryIo();
    const code = await main(
      ['up', '--data-dir', dir.path, '--ports', `chainfire.http=${busy},chainfire.grpc=${await freePort()}`],
      io,
      ctx('/'),
    );
    assert.equal(code, 1);
    assert.match(io.stderr[0] ?? '', /cannot start: a port is not available/);
    assert.match(
      io.stderr.join('\n'),
      new RegExp(`chainfire\\.http \\(REST API\\): 127\\.0\\.0\\.1:${busy} is already in use`),
    );
    assert.match(io.stderr.join('\n'), /hint: .*--port-offset/);
    assert.equal(existsSync(join(dir.path, 'run', 'up.json')), false);
  } finally {
    await new Promise<void>((r) => blocker.close(() => r()));
    await dir.cleanup();
  }
});

test('up on a non-loopback host refuses auth mode local, and starts nothing', async () => {
  // (Without --auth-mode, a non-loopback host means auth mode required with the JWKS of the IAM that `up`
  // starts; apps/cli/test/up.test.ts runs the platform that way.)
  const dir = await tempDir('pc-up-wide-');
  try {
    const io = memoryIo();
    assert.equal(
      await main(['up', '--data-dir', dir.path, '--host', '0.0.0.0', '--auth-mode', 'local'], io, ctx('/')),
      2,
    );
    assert.match(io.stderr[0] ?? '', /only allowed when listening on loopback/);
    assert.equal(existsSync(join(dir.path, 'run')), false);
  } finally {
    await dir.cleanup();
  }
});

test('up refuses a second platform on the same data directory', async () => {
  const dir = await tempDir('pc-up-twice-');
  // A live process whose command line says photoncloud stands in for the first `up`.
  const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'photoncloud-first-up'], {
    stdio: 'ignore',
  });
  try {
    await new Promise<void>((r) => other.once('spawn', () => r()));
    await mkdir(join(dir.path, 'run'), { recursive: true });
    await writeFile(
      join(dir.path, 'run', 'up.json'),
      JSON.stringify({ version: 1, pid: other.pid, services: [] }),
    );
    const io = memoryIo();
    assert.equal(await main(['up', '--data-dir', dir.path, '--port-offset', '7'], io, ctx('/')), 1);
    assert.match(
      io.stderr[0] ?? '',
      new RegExp(`already running on this data directory \\(pid ${other.pid}`),
    );
  } finally {
    if (other.pid !== undefined) process.kill(other.pid, 'SIGKILL');
    await dir.cleanup();
  }
});

test('doctor is a report: exit 0 with one line per check', async () => {
  const dir = await tempDir('pc-doctor-main-');
  try {
    const io = memoryIo();
    assert.equal(await main(['doctor', '--data-dir', dir.path], io, ctx('/')), 0);
    assert.match(io.stdout.join('\n'), /^OK {7}node /m);
    assert.match(io.stdout.join('\n'), /^(OK|WARN) +kvm /m);
    const io2 = memoryIo();
    assert.equal(await main(['doctor', '--json', '--data-dir', dir.path], io2, ctx('/')), 0);
    const parsed = JSON.parse(io2.stdout.join('\n')) as { checks: Array<{ name: string }> };
    assert.ok(parsed.checks.some((c) => c.name === 'etcdctl'));
  } finally {
    await dir.cleanup();
  }
});
