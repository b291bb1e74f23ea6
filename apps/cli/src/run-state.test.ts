import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@photoncloud/test-utils';
import { isPhotonCloudProcess, readRunState, removeRunState, writeRunState } from './run-state.js';
import type { RunState } from './run-state.js';

test('up.json round-trips, and damaged files are reported, not thrown', async () => {
  const dir = await tempDir('pc-runstate-');
  try {
    const file = join(dir.path, 'run', 'up.json');
    assert.deepEqual(readRunState(file), { kind: 'missing' });
    const state: RunState = {
      version: 1,
      pid: process.pid,
      state: 'running',
      started_at: new Date().toISOString(),
      data_dir: dir.path,
      host: '127.0.0.1',
      auth_mode: 'local',
      services: [
        {
          name: 'chainfire',
          title: 'ChainFire',
          pid: 42,
          state: 'running',
          restarts: 0,
          started_at: null,
          log_file: join(dir.path, 'logs', 'chainfire.log'),
          listeners: [
            {
              name: 'http',
              protocol: 'http',
              description: 'REST API',
              port: 8081,
              address: '127.0.0.1:8081',
              url: 'http://127.0.0.1:8081',
            },
          ],
        },
      ],
    };
    await writeRunState(file, state);
    const back = readRunState(file);
    assert.equal(back.kind, 'ok');
    assert.deepEqual(back.kind === 'ok' ? back.state : undefined, state);

    await writeFile(file, '{"version":1,');
    assert.deepEqual(readRunState(file), { kind: 'invalid', reason: 'not valid JSON' });
    await writeFile(file, '{"version":2,"pid":1,"services":[]}');
    assert.equal(readRunState(file).kind, 'invalid');
    await removeRunState(file);
    await removeRunState(file);
    assert.deepEqual(readRunState(file), { kind: 'missing' });
  } finally {
    await dir.cleanup();
  }
});

test('isPhotonCloudProcess: not for dead PIDs, nonsense or unrelated processes', () => {
  assert.equal(isPhotonCloudProcess(0), false);
  assert.equal(isPhotonCloudProcess(-5), false);
  assert.equal(isPhotonCloudProcess(2 ** 22 + 12345), false);
  // PID 1 is alive but is not PhotonCloud.
  assert.equal(isPhotonCloudProcess(1), false);
});
