/**
 * Crash safety: concurrent remote-write streams against a server process, kill -9 in the middle,
 * restart. Every sample acknowledged with a 2xx is queryable afterwards, with its exact value.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startProcess, tempDir } from '@photoncloud/test-utils';
import type { StartedProcess, TempDir } from '@photoncloud/test-utils';
import { remoteWrite } from './helpers.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'nightlight-process.ts');

async function startServer(dir: string, port: number): Promise<{ proc: StartedProcess; url: string }> {
  const proc = await startProcess(process.execPath, ['--import', 'tsx', FIXTURE, dir, String(port)]);
  const out = await proc.waitForOutput(/READY (\S+)/, 60_000);
  return { proc, url: /READY (\S+)/.exec(out)?.[1] as string };
}

describe('crash safety (kill -9 during remote write)', () => {
  let dir: TempDir | undefined;
  let proc: StartedProcess | undefined;
  after(async () => {
    await proc?.stop('SIGKILL');
    await dir?.cleanup();
  });

  it('keeps every acknowledged sample', async () => {
    dir = await tempDir('nightlight-crash-');
    const port = await freePort();
    let s = await startServer(dir.path, port);
    proc = s.proc;
    const WRITERS = 4;
    const BATCH = 50;
    const acked: number[] = new Array<number>(WRITERS).fill(0); // samples acknowledged per writer
    let stop = false;
    const value = (w: number, i: number): number => w * 1e6 + i * 0.5;
    const writer = async (w: number): Promise<void> => {
      for (let batch = 0; !stop && batch < 10_000; batch++) {
        const start = acked[w] as number;
        const samples = Array.from({ length: BATCH }, (_, k) => ({
          t: (start + k) * 1000,
          v: value(w, start + k),
          stale: false,
        }));
        try {
          const r = await remoteWrite(s.url, [
            { labels: { __name__: 'crash_series', w: String(w) }, samples },
          ]);
          if (r.status !== 204) throw new Error(`status ${r.status}: ${r.text}`);
          acked[w] = start + BATCH;
        } catch {
          return; // the server died mid-request: this batch was not acknowledged
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await new Promise((r) => setTimeout(r, 1500));
    await s.proc.stop('SIGKILL', 0);
    stop = true;
    await Promise.all(writers);
    console.log(`acknowledged samples per writer before kill -9: ${acked.join(', ')}`);
    assert.ok(
      acked.every((n) => n > 0),
      `every writer got acknowledgements: ${acked.join(',')}`,
    );

    s = await startServer(dir.path, port);
    proc = s.proc;
    for (let w = 0; w < WRITERS; w++) {
      const n = acked[w] as number;
      const q = encodeURIComponent(`crash_series{w="${w}"}[1d]`);
      const res = await fetch(`${s.url}/api/v1/query?query=${q}&time=${n + 1}`);
      const body = (await res.json()) as { data: { result: { values: [number, string][] }[] } };
      const values = body.data.result[0]?.values ?? [];
      assert.ok(values.length >= n, `writer ${w}: ${values.length} samples after restart, ${n} acknowledged`);
      for (let i = 0; i < n; i++) {
        assert.deepEqual(values[i], [i, String(value(w, i))], `writer ${w} sample ${i}`);
      }
    }
  });
});
