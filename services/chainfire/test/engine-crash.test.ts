/**
 * Crash test: a child process writes concurrently and reports each acknowledged write; it is
 * SIGKILLed mid-run (twice, the second time right after recovering from the first), and every
 * acknowledged write must be there afterwards with its value and revision, with no gap or duplicate
 * in the revision sequence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempDir, waitFor } from '@photoncloud/test-utils';
import { openChainFire } from '../src/engine.js';
import { b, s } from './engine-helpers.js';

const WRITER = fileURLToPath(new URL('./engine-crash-writer.ts', import.meta.url));

interface Ack {
  key: string;
  revision: number;
}

/** Run the writer until `acks` writes are acknowledged, then SIGKILL it; returns every ack it printed. */
async function runAndKill(dataDir: string, round: number, acks: number): Promise<Ack[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir, String(round)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, sig) => resolve(sig ?? code)),
  );
  try {
    await waitFor(
      () => out.split('\n').filter((l) => l.startsWith('ACK ')).length >= acks || child.exitCode !== null,
      {
        timeoutMs: 60_000,
        intervalMs: 10,
        what: `${acks} acknowledged writes`,
      },
    );
    assert.equal(child.exitCode, null, `writer exited early: ${err}`);
    process.kill(child.pid!, 'SIGKILL');
    assert.equal(await exited, 'SIGKILL');
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }
  // Only complete lines count: the kill may cut the last one.
  const lines = out.split('\n').slice(0, -1);
  assert.equal(lines[0], 'READY');
  return lines
    .filter((l) => l.startsWith('ACK '))
    .map((l) => {
      const [, key, rev] = l.split(' ');
      return { key: key!, revision: Number(rev) };
    });
}

test(
  'every acknowledged write survives kill -9, twice, with consistent revisions',
  { timeout: 180_000 },
  async (t) => {
    const dir = await tempDir('photoncloud-chainfire-crash-');
    t.after(() => dir.cleanup());
    const acked: Ack[] = [...(await runAndKill(dir.path, 1, 3000)), ...(await runAndKill(dir.path, 2, 2000))];
    assert.ok(acked.length >= 5000);

    const cf = await openChainFire({ dataDir: dir.path });
    try {
      const all = await cf.range({ key: b('crash/'), rangeEnd: b('crash0') });
      const byKey = new Map(all.kvs.map((kv) => [s(kv.key), kv]));
      for (const a of acked) {
        const kv = byKey.get(a.key);
        assert.ok(kv, `acknowledged key ${a.key} is missing`);
        const [, round, i] = a.key.split('/');
        assert.equal(s(kv.value), `value-${round}-${i}`);
        assert.equal(kv.modRevision, a.revision, `${a.key} has the revision it was acknowledged with`);
        assert.equal(kv.createRevision, a.revision);
        assert.equal(kv.version, 1);
      }
      // Each key was written once by one put: the revisions 2..current are exactly the keys' mod
      // revisions, with no gap and no duplicate (unacknowledged writes may have landed too).
      const current = all.header.revision;
      const revs = all.kvs.map((kv) => kv.modRevision).sort((x, y) => x - y);
      assert.deepEqual(
        revs,
        Array.from({ length: current - 1 }, (_, i) => i + 2),
      );
      assert.ok(current >= Math.max(...acked.map((a) => a.revision)));
      const p = await cf.put({ key: b('after-crash'), value: b('ok') });
      assert.equal(p.header.revision, current + 1);
    } finally {
      await cf.close();
    }
  },
);
