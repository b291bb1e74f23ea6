import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, tempDir } from '@photoncloud/test-utils';
import { REPO_ROOT } from './bench-target.js';

const RUN = join(REPO_ROOT, 'bench', 'chainfire', 'run.ts');

test('a tiny end-to-end run starts ChainFire and etcd, measures both and writes the JSON result', async () => {
  const out = await tempDir('photoncloud-bench-test-');
  try {
    // Request-count bounds are not exposed on the CLI; short durations keep this test to seconds.
    const res = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        RUN,
        '--quick',
        '--duration',
        '0.2',
        '--warmup',
        '0',
        '--clients',
        '1,2',
        '--out',
        out.path,
      ],
      { cwd: REPO_ROOT, timeoutMs: 120_000 },
    );
    assert.equal(res.code, 0, `stdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
    assert.match(res.stdout, /^metric +ChainFire +etcd 3\.4 +ratio CF\/etcd +better +verdict$/m);
    assert.match(res.stdout, /^put c=1: writes\/s +[\d.]+ +[\d.]+ +[\d.]+ +higher /m);
    const files = (await readdir(out.path)).filter((f) => /^chainfire-.*\.json$/.test(f));
    assert.equal(files.length, 1);
    const result = JSON.parse(await readFile(join(out.path, files[0]!), 'utf8')) as {
      versions: Record<string, string | null>;
      scenarios: Array<{
        name: string;
        chainfire: { ops: number; errors: object } | null;
        etcd: { ops: number; errors: object } | null;
      }>;
      rows: Array<{ metric: string; ratio: number | null }>;
    };
    assert.match(result.versions.etcd ?? '', /^etcd 3\.4\./);
    assert.match(result.versions.chainfire ?? '', /^chainfire /);
    assert.deepEqual(
      result.scenarios.map((s) => s.name),
      ['put c=1', 'put c=2', 'get c=1', 'get c=2', 'range100 c=2'],
    );
    for (const s of result.scenarios) {
      for (const side of [s.chainfire, s.etcd]) {
        assert.ok(side !== null && side.ops > 0, `${s.name}: ${JSON.stringify(side)}`);
        assert.deepEqual(side.errors, {}, s.name);
      }
    }
    const throughput = result.rows.find((r) => r.metric === 'put c=1: writes/s');
    assert.ok(throughput && throughput.ratio !== null && throughput.ratio > 0);
  } finally {
    await out.cleanup();
  }
});

test('a bad command line exits 2 with the reason and the usage', async () => {
  const res = await run(process.execPath, ['--import', 'tsx', RUN, '--clients', 'many'], { cwd: REPO_ROOT });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /--clients must be a positive integer <= 4096, got "many"/);
  assert.match(res.stderr, /Usage: npm run bench:chainfire/);
});
