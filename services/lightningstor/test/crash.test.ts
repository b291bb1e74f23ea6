/**
 * Crash safety: many concurrent PUTs and multipart completes against a server process, kill -9 in
 * the middle, restart. Every acknowledged write reads back byte-identical; nothing is half-visible
 * (a visible object is exactly one of the bodies written to its key); no temp or orphan files remain.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { freePort, startProcess, tempDir } from '@photoncloud/test-utils';
import type { StartedProcess, TempDir } from '@photoncloud/test-utils';

const FIXTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'fixtures',
  'lightningstor-process.ts',
);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface KeyHistory {
  /** sha256 of every body a write was started with, in order. */
  attempted: string[];
  /** Index into `attempted` of the last acknowledged write, -1 if none. */
  acked: number;
}

async function startServer(dir: string, port: number): Promise<{ proc: StartedProcess; url: string }> {
  const proc = await startProcess(process.execPath, ['--import', 'tsx', FIXTURE, dir, String(port)]);
  const out = await proc.waitForOutput(/READY (\S+)/, 60_000);
  const url = /READY (\S+)/.exec(out)?.[1] as string;
  return { proc, url };
}

function client(url: string, id: string, secret: string): S3Client {
  return new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: id, secretAccessKey: secret },
  });
}

describe('crash safety (kill -9 during writes)', () => {
  let dir: TempDir;
  let proc: StartedProcess | undefined;
  before(async () => {
    dir = await tempDir('lightningstor-crash-');
  });
  after(async () => {
    await proc?.stop('SIGKILL');
    await dir.cleanup();
  });

  it('keeps every acknowledged object and never exposes a partial one', async () => {
    const port = await freePort();
    let s = await startServer(dir.path, port);
    proc = s.proc;
    const { readFile } = await import('node:fs/promises');
    const root = JSON.parse(await readFile(`${dir.path}/lightningstor/root-credentials.json`, 'utf8')) as {
      access_key_id: string;
      secret_access_key: string;
    };
    let c = client(s.url, root.access_key_id, root.secret_access_key);
    await c.send(new CreateBucketCommand({ Bucket: 'crash' }));

    const history = new Map<string, KeyHistory>();
    const record = (key: string, body: Buffer): number => {
      const h = history.get(key) ?? { attempted: [], acked: -1 };
      history.set(key, h);
      h.attempted.push(sha(body));
      return h.attempted.length - 1;
    };
    let acks = 0;
    let stopped = false;
    const putWorker = async (w: number): Promise<void> => {
      for (let i = 0; i < 400 && !stopped; i++) {
        const key = `w${w}/k${i % 7}`; // overwrites too
        const body = randomBytes(1024 + ((i * 7919 + w * 104729) % (1536 * 1024)));
        const idx = record(key, body);
        try {
          await c.send(new PutObjectCommand({ Bucket: 'crash', Key: key, Body: body }));
          (history.get(key) as KeyHistory).acked = idx;
          acks++;
        } catch {
          return;
        }
      }
    };
    const mpWorker = async (w: number): Promise<void> => {
      for (let i = 0; i < 100 && !stopped; i++) {
        const key = `mp${w}/k${i % 3}`;
        const parts = [randomBytes(300 * 1024), randomBytes(200 * 1024), randomBytes(1000 + i)];
        const idx = record(key, Buffer.concat(parts));
        try {
          const up = await c.send(new CreateMultipartUploadCommand({ Bucket: 'crash', Key: key }));
          const etags: string[] = [];
          for (let p = 0; p < parts.length; p++) {
            const r = await c.send(
              new UploadPartCommand({
                Bucket: 'crash',
                Key: key,
                UploadId: up.UploadId,
                PartNumber: p + 1,
                Body: parts[p],
              }),
            );
            etags.push(r.ETag as string);
          }
          await c.send(
            new CompleteMultipartUploadCommand({
              Bucket: 'crash',
              Key: key,
              UploadId: up.UploadId,
              MultipartUpload: { Parts: etags.map((ETag, p) => ({ ETag, PartNumber: p + 1 })) },
            }),
          );
          (history.get(key) as KeyHistory).acked = idx;
          acks++;
        } catch {
          return;
        }
      }
    };
    const workers = [0, 1, 2, 3, 4, 5].map((w) => putWorker(w)).concat([0, 1, 2].map((w) => mpWorker(w)));
    const deadline = Date.now() + 60_000;
    while (acks < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(acks >= 60, 'the workers made progress before the kill');
    await s.proc.stop('SIGKILL');
    stopped = true;
    await Promise.all(workers);
    c.destroy();

    s = await startServer(dir.path, port);
    proc = s.proc;
    c = client(s.url, root.access_key_id, root.secret_access_key);
    assert.deepEqual(await readdir(`${dir.path}/lightningstor/tmp`), [], 'no temp files after start');

    let expectedFiles = 0;
    let checkedAcked = 0;
    for (const [key, h] of history) {
      let visible: string | undefined;
      let parts = 1;
      try {
        const got = await c.send(new GetObjectCommand({ Bucket: 'crash', Key: key }));
        visible = sha(
          Buffer.from(
            await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
          ),
        );
        const head = await c.send(new HeadObjectCommand({ Bucket: 'crash', Key: key }));
        parts =
          head.PartsCount ??
          (/-(\d+)"$/.exec(head.ETag ?? '') ? Number(/-(\d+)"$/.exec(head.ETag ?? '')?.[1]) : 1);
      } catch (err) {
        if ((err as { name?: string }).name !== 'NoSuchKey') throw err;
      }
      if (h.acked >= 0) {
        assert.ok(visible !== undefined, `acknowledged ${key} is visible`);
        // The last acknowledged body, or a later write that committed just before the kill.
        assert.ok(
          h.attempted.slice(h.acked).includes(visible),
          `${key} holds an acknowledged-or-later complete body`,
        );
        checkedAcked++;
      } else if (visible !== undefined) {
        assert.ok(h.attempted.includes(visible), `${key} holds a complete body that was written to it`);
      }
      if (visible !== undefined) expectedFiles += parts;
    }
    assert.ok(checkedAcked > 0);
    // Parts of uploads still in progress are kept (S3 semantics); nothing else is on disk.
    const uploads = await c.send(new ListMultipartUploadsCommand({ Bucket: 'crash' }));
    for (const u of uploads.Uploads ?? []) {
      const p = await c.send(new ListPartsCommand({ Bucket: 'crash', Key: u.Key, UploadId: u.UploadId }));
      expectedFiles += p.Parts?.length ?? 0;
    }
    let files = 0;
    for (const sub of await readdir(`${dir.path}/lightningstor/data`)) {
      files += (await readdir(`${dir.path}/lightningstor/data/${sub}`)).length;
    }
    assert.equal(files, expectedFiles, 'no orphan data files after start');
    c.destroy();
  });
});
