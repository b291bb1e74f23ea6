import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { freePort, run, startEtcd, startProcess, tempDir, waitFor } from './index.js';

test('freePort returns a port that can be bound on loopback', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve) => srv.close(() => resolve()));
});

test('tempDir creates a directory and cleanup removes it', async () => {
  const dir = await tempDir('tu-test-');
  assert.ok((await stat(dir.path)).isDirectory());
  await dir.cleanup();
  await assert.rejects(stat(dir.path), { code: 'ENOENT' });
  await dir.cleanup();
});

test('waitFor returns the first truthy value and times out otherwise', async () => {
  let n = 0;
  assert.equal(await waitFor(() => (++n >= 3 ? n : false), { intervalMs: 1 }), 3);
  await assert.rejects(
    waitFor(
      () => {
        throw new Error('nope');
      },
      { timeoutMs: 30, intervalMs: 5, what: 'thing' },
    ),
    /thing not met within 30 ms: last error: nope/,
  );
});

test('run collects output, exit code and stdin; kills on timeout', async () => {
  const r = await run('sh', ['-c', 'cat; echo err >&2; exit 3'], { input: 'hello' });
  assert.deepEqual([r.code, r.stdout, r.stderr, r.timedOut], [3, 'hello', 'err\n', false]);
  const slow = await run('sleep', ['30'], { timeoutMs: 100 });
  assert.equal(slow.timedOut, true);
  assert.equal(slow.signal, 'SIGKILL');
});

test('startProcess streams output and stops by pid', async () => {
  const p = await startProcess('sh', ['-c', 'echo ready; read line; echo "got $line"; exec sleep 30']);
  await p.waitForOutput('ready');
  p.write('x\n');
  await p.waitForOutput(/got x/);
  const { signal } = await p.stop();
  assert.equal(signal, 'SIGTERM');
});

test('startEtcd serves a real etcd and stop removes its data dir', async () => {
  const etcd = await startEtcd();
  try {
    assert.match(etcd.endpoint, /^127\.0\.0\.1:\d+$/);
    const env = { ETCDCTL_API: '3' };
    const put = await run('etcdctl', [`--endpoints=${etcd.endpoint}`, 'put', 'k', 'v'], { env });
    assert.equal(put.stdout, 'OK\n', put.stderr);
    const get = await run('etcdctl', [`--endpoints=${etcd.endpoint}`, 'get', 'k'], { env });
    assert.equal(get.stdout, 'k\nv\n');
  } finally {
    await etcd.stop();
  }
  await assert.rejects(stat(etcd.dataDir), { code: 'ENOENT' });
  assert.throws(() => process.kill(etcd.pid, 0), { code: 'ESRCH' });
});
