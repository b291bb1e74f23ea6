/**
 * `npm run bench:s3 [-- --quick]`: LightningSTOR PUT/GET throughput against the raw disk.
 *
 * Starts LightningSTOR (with an in-process ChainFire) as a separate process on a free loopback port and
 * a temp data dir, drives it with @aws-sdk/client-s3 (default settings: CRC32 checksums), and measures
 * in the same run the disk's own sequential write-with-fsync bandwidth for files of the same sizes in
 * the same directory — the anchor (ARCHITECTURE.md §5). Prints MB/s, ops/s and PUT/disk ratios
 * (goal: ≥ 80 % for large objects).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVER = path.join(ROOT, 'services/lightningstor/test/fixtures/lightningstor-process.ts');
const MIB = 1024 * 1024;

interface Scenario {
  name: string;
  size: number;
  count: number;
  concurrency: number;
}

function mbps(bytes: number, ms: number): number {
  return bytes / MIB / (ms / 1000);
}

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i);
    }),
  );
  return performance.now() - t0;
}

/** Write `count` files of `size` bytes with fsync each (same concurrency), like a PUT does. */
async function diskBaseline(dir: string, s: Scenario, data: Buffer): Promise<number> {
  const ms = await pool(s.count, s.concurrency, async (i) => {
    const f = path.join(dir, `baseline-${i}`);
    const fh = await open(f, 'w');
    for (let off = 0; off < s.size; off += MIB) await fh.write(data, 0, Math.min(MIB, s.size - off));
    await fh.sync();
    await fh.close();
  });
  for (let i = 0; i < s.count; i++) await unlink(path.join(dir, `baseline-${i}`));
  return ms;
}

/** PUT `body` to a presigned URL with node:http (no client-side hashing: the server's cost is measured). */
function rawPut(url: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'Content-Length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** GET a presigned URL with node:http, counting bytes. */
function rawGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`GET ${res.statusCode}`))));
    })
      .on('error', reject)
      .end();
  });
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const work = await mkdtemp(path.join(tmpdir(), 'bench-s3-'));
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, work, '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /READY (\S+)/.exec(out);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
    });
    const root = JSON.parse(
      await readFile(path.join(work, 'lightningstor', 'root-credentials.json'), 'utf8'),
    ) as {
      access_key_id: string;
      secret_access_key: string;
    };
    const client = new S3Client({
      endpoint: url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: root.access_key_id, secretAccessKey: root.secret_access_key },
    });
    await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const dataDir = path.join(work, 'lightningstor', 'data', '00');
    const chunk = randomBytes(MIB);

    const large: Scenario[] = [
      { name: '1 MiB objects', size: MIB, count: quick ? 32 : 256, concurrency: 4 },
      { name: '64 MiB objects', size: 64 * MIB, count: quick ? 2 : 8, concurrency: 1 },
    ];
    // Warm up (JIT, connection pool, LMDB) so the first scenario is not measured cold.
    for (let i = 0; i < 16; i++) {
      const key = `warmup/${i}`;
      await rawPut(
        await getSignedUrl(client, new PutObjectCommand({ Bucket: 'bench', Key: key }), { expiresIn: 600 }),
        chunk,
      );
      await rawGet(
        await getSignedUrl(client, new GetObjectCommand({ Bucket: 'bench', Key: key }), { expiresIn: 600 }),
      );
    }
    const rows: string[][] = [['scenario', 'PUT MB/s', 'GET MB/s', 'disk write+fsync MB/s', 'PUT / disk']];
    const sdkRows: string[][] = [];
    for (const s of large) {
      const body = s.size === MIB ? chunk : Buffer.concat(Array.from({ length: s.size / MIB }, () => chunk));
      const diskMs = await diskBaseline(dataDir, s, chunk);
      const putUrls = await Promise.all(
        Array.from({ length: s.count }, (_, i) =>
          getSignedUrl(client, new PutObjectCommand({ Bucket: 'bench', Key: `${s.name}/${i}` }), {
            expiresIn: 3600,
          }),
        ),
      );
      const getUrls = await Promise.all(
        Array.from({ length: s.count }, (_, i) =>
          getSignedUrl(client, new GetObjectCommand({ Bucket: 'bench', Key: `${s.name}/${i}` }), {
            expiresIn: 3600,
          }),
        ),
      );
      const putMs = await pool(s.count, s.concurrency, async (i) => {
        await rawPut(putUrls[i] as string, body);
      });
      const getMs = await pool(s.count, s.concurrency, async (i) => {
        const n = await rawGet(getUrls[i] as string);
        if (n !== s.size) throw new Error(`short read: ${n}`);
      });
      // The same through the SDK with its defaults (client-side CRC32 + SHA-256 on this machine too).
      const sdkN = Math.max(1, Math.floor(s.count / 4));
      const sdkPutMs = await pool(sdkN, s.concurrency, async (i) => {
        await client.send(new PutObjectCommand({ Bucket: 'bench', Key: `${s.name}/sdk-${i}`, Body: body }));
      });
      sdkRows.push([s.name, mbps(s.size * sdkN, sdkPutMs).toFixed(1)]);
      const put = mbps(s.size * s.count, putMs);
      const disk = mbps(s.size * s.count, diskMs);
      rows.push([
        s.name,
        put.toFixed(1),
        mbps(s.size * s.count, getMs).toFixed(1),
        disk.toFixed(1),
        `${((put / disk) * 100).toFixed(0)} %`,
      ]);
    }

    const small = Buffer.alloc(4096, 1);
    const n = quick ? 300 : 3000;
    const putSmallMs = await pool(n, 16, async (i) => {
      await client.send(new PutObjectCommand({ Bucket: 'bench', Key: `small/${i}`, Body: small }));
    });
    const getSmallMs = await pool(n, 16, async (i) => {
      const r = await client.send(new GetObjectCommand({ Bucket: 'bench', Key: `small/${i}` }));
      await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    });
    const diskSmallMs = await diskBaseline(
      dataDir,
      { name: 'small', size: 4096, count: n, concurrency: 16 },
      small,
    );

    const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
    console.log('\nLightningSTOR vs raw disk (same directory, same run)\n');
    for (const r of rows) console.log(r.map((v, c) => v.padEnd(widths[c] ?? 0)).join('  '));
    console.log(
      `\n4 KiB objects, 16 concurrent: PUT ${(n / (putSmallMs / 1000)).toFixed(0)} ops/s, GET ${(n / (getSmallMs / 1000)).toFixed(0)} ops/s; ` +
        `disk 4 KiB write+fsync ${(n / (diskSmallMs / 1000)).toFixed(0)} files/s`,
    );
    console.log('Goal: PUT / disk >= 80 % for large objects. PUT/GET above: presigned URLs over node:http.');
    for (const [name, v] of sdkRows)
      console.log(
        `SDK PutObject (default checksums, client hashing on the same machine), ${name}: ${v} MB/s`,
      );
    client.destroy();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(work, { recursive: true, force: true });
  }
}

await main();
