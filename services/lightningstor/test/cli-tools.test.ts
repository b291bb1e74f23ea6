/** Compatibility with Debian's awscli (/usr/bin/aws) and s3cmd against a real server. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { run } from '@photoncloud/test-utils';
import { startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('awscli and s3cmd', () => {
  let h: Harness;
  let env: Record<string, string>;
  let work: string;
  let s3cfg: string;

  before(async () => {
    h = await startHarness();
    work = `${h.dir.path}/work`;
    await mkdir(work, { recursive: true });
    const cfg = `${h.dir.path}/aws-config`;
    await writeFile(cfg, '[default]\nregion = us-east-1\n');
    env = {
      AWS_ACCESS_KEY_ID: h.server.rootKey.access_key_id,
      AWS_SECRET_ACCESS_KEY: h.server.rootKey.secret_access_key,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: cfg,
      AWS_SHARED_CREDENTIALS_FILE: `${h.dir.path}/no-credentials`,
      AWS_PAGER: '',
    };
    const hostPort = h.server.url.replace(/^http:\/\//, '');
    s3cfg = `${h.dir.path}/s3cfg`;
    await writeFile(
      s3cfg,
      [
        '[default]',
        `access_key = ${h.server.rootKey.access_key_id}`,
        `secret_key = ${h.server.rootKey.secret_access_key}`,
        `host_base = ${hostPort}`,
        `host_bucket = ${hostPort}`,
        'use_https = False',
        'bucket_location = us-east-1',
        'signature_v2 = False',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await h.close();
  });

  const aws = async (...args: string[]): Promise<string> => {
    const r = await run('/usr/bin/aws', ['--endpoint-url', h.server.url, ...args], {
      env,
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, `aws ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const s3cmd = async (...args: string[]): Promise<string> => {
    const r = await run('s3cmd', ['-c', s3cfg, ...args], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `s3cmd ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  it('aws s3: mb, cp small and multipart, ls, sync, s3api, rm --recursive', async () => {
    await aws('s3', 'mb', 's3://cli');
    const small = Buffer.from('small file\n');
    await writeFile(`${work}/small.txt`, small);
    const big = Buffer.alloc(9 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 512) big.writeUInt32BE(i >>> 0, i);
    await writeFile(`${work}/big.bin`, big);
    await aws('s3', 'cp', `${work}/small.txt`, 's3://cli/one/small.txt');
    await aws('s3', 'cp', `${work}/big.bin`, 's3://cli/one/big.bin');
    const head = JSON.parse(await aws('s3api', 'head-object', '--bucket', 'cli', '--key', 'one/big.bin')) as {
      ETag: string;
      ContentLength: number;
    };
    assert.equal(head.ContentLength, big.length);
    assert.match(head.ETag, /-2"$/, 'a >8 MiB cp is a multipart upload');
    await aws('s3', 'cp', 's3://cli/one/big.bin', `${work}/big.back`);
    assert.equal(sha(await readFile(`${work}/big.back`)), sha(big));
    await aws('s3', 'cp', 's3://cli/one/small.txt', `${work}/small.back`);
    assert.deepEqual(await readFile(`${work}/small.back`), small);

    await mkdir(`${work}/tree/sub`, { recursive: true });
    await writeFile(`${work}/tree/a.txt`, 'a');
    await writeFile(`${work}/tree/sub/b.txt`, 'b');
    await aws('s3', 'sync', `${work}/tree`, 's3://cli/tree');
    const ls = await aws('s3', 'ls', 's3://cli/tree/');
    assert.match(ls, /PRE sub\//);
    assert.match(ls, /a\.txt/);
    const buckets = await aws('s3', 'ls');
    assert.match(buckets, /\bcli\b/);
    const listed = JSON.parse(
      await aws('s3api', 'list-objects-v2', '--bucket', 'cli', '--prefix', 'tree/'),
    ) as { Contents: Array<{ Key: string }> };
    assert.deepEqual(
      listed.Contents.map((c) => c.Key),
      ['tree/a.txt', 'tree/sub/b.txt'],
    );
    // A second sync has nothing to do.
    const again = await aws('s3', 'sync', `${work}/tree`, 's3://cli/tree');
    assert.equal(again.trim(), '');

    await aws('s3', 'rm', '--recursive', 's3://cli/');
    const after = JSON.parse((await aws('s3api', 'list-objects-v2', '--bucket', 'cli')) || '{}') as {
      Contents?: unknown[];
    };
    assert.equal(after.Contents, undefined);
    await aws('s3', 'rb', 's3://cli');
  });

  it('s3cmd: mb, put, ls, get, del', async () => {
    await s3cmd('mb', 's3://s3cmd-bucket');
    const data = Buffer.from('from s3cmd\n'.repeat(1000));
    await writeFile(`${work}/s3cmd.txt`, data);
    await s3cmd('put', `${work}/s3cmd.txt`, 's3://s3cmd-bucket/dir/file.txt');
    const ls = await s3cmd('ls', 's3://s3cmd-bucket/dir/');
    assert.match(ls, /s3:\/\/s3cmd-bucket\/dir\/file\.txt/);
    await s3cmd('get', '--force', 's3://s3cmd-bucket/dir/file.txt', `${work}/s3cmd.back`);
    assert.deepEqual(await readFile(`${work}/s3cmd.back`), data);
    await s3cmd('del', 's3://s3cmd-bucket/dir/file.txt');
    const empty = await s3cmd('ls', 's3://s3cmd-bucket/dir/');
    assert.equal(empty.trim(), '');
    await s3cmd('rb', 's3://s3cmd-bucket');
  });
});
