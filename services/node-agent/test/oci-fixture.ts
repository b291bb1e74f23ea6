/**
 * Test fixtures for pods: images built from busybox-static (/bin/busybox) — layer tar.gz + config +
 * manifest — pushed over the distribution API with plain HTTP to Debian's docker-registry, which the
 * fixture starts on a free loopback port with a temp storage dir and a config file it writes.
 */
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { freePort, run, startProcess, tempDir, waitFor } from '@photoncloud/test-utils';
import type { StartedProcess, TempDir } from '@photoncloud/test-utils';

/** What the served page says (tests look for it through the cluster IP). */
export const PAGE = 'hello from a PhotonCloud pod\n';

/** A running registry. */
export interface TestRegistry {
  /** `127.0.0.1:<port>`. */
  host: string;
  proc: StartedProcess;
  dir: TempDir;
  close(): Promise<void>;
}

/** Start docker-registry on a free loopback port. */
export async function startRegistry(): Promise<TestRegistry> {
  const dir = await tempDir('registry-');
  const port = await freePort();
  const cfg = join(dir.path, 'config.yml');
  await writeFile(
    cfg,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir.path, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const proc = await startProcess('/usr/bin/docker-registry', ['serve', cfg]);
  const host = `127.0.0.1:${port}`;
  await waitFor(
    async () => {
      const r = await fetch(`http://${host}/v2/`).catch(() => null);
      return r !== null && r.status === 200;
    },
    { timeoutMs: 15_000, intervalMs: 100, what: 'docker-registry up' },
  );
  return {
    host,
    proc,
    dir,
    close: async () => {
      await proc.stop();
      await dir.cleanup();
    },
  };
}

function sha(buf: Uint8Array): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

/** A built layer. */
interface Layer {
  gz: Uint8Array;
  digest: string;
  diffId: string;
}

async function tarGz(dir: string, out: string): Promise<Layer> {
  const r = await run('tar', ['-czf', out, '--numeric-owner', '--owner=0', '--group=0', '-C', dir, '.']);
  if (r.code !== 0) throw new Error(`tar failed: ${r.stderr}`);
  const gz = new Uint8Array(await readFile(out));
  return { gz, digest: sha(gz), diffId: sha(gunzipSync(gz)) };
}

/** An image ready to push. */
export interface BuiltImage {
  layers: Layer[];
  config: Uint8Array;
  manifest: Uint8Array;
  manifestType: string;
}

/**
 * Build the busybox image: layer 1 = busybox + applets + /www/index.html + an `nginx` shim that runs
 * httpd (so the guide's `nginx -g "daemon off;"` works) + files that layer 2 whites out; layer 2 = a
 * whiteout and an opaque directory. Default cmd: `httpd -f -p 80 -h /www`.
 */
export async function buildBusyboxImage(work: string, oci: boolean): Promise<BuiltImage> {
  const l1 = join(work, 'l1');
  const l2 = join(work, 'l2');
  for (const d of ['bin', 'usr/sbin', 'www', 'etc', 'opq', 'tmp', 'proc', 'sys', 'dev']) {
    await mkdir(join(l1, d), { recursive: true });
  }
  await copyFile('/bin/busybox', join(l1, 'bin/busybox'));
  await chmod(join(l1, 'bin/busybox'), 0o755);
  for (const a of [
    'sh',
    'echo',
    'cat',
    'ls',
    'sleep',
    'httpd',
    'wget',
    'true',
    'false',
    'env',
    'hostname',
    'ip',
    'ps',
  ]) {
    await symlink('busybox', join(l1, 'bin', a));
  }
  await writeFile(join(l1, 'usr/sbin/nginx'), '#!/bin/sh\nexec httpd -f -p 80 -h /www\n');
  await chmod(join(l1, 'usr/sbin/nginx'), 0o755);
  await writeFile(join(l1, 'www/index.html'), PAGE);
  await writeFile(join(l1, 'etc/removed.txt'), 'whited out by layer 2\n');
  await writeFile(join(l1, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(l1, 'opq/old'), 'hidden by the opaque marker\n');
  await mkdir(join(l2, 'etc'), { recursive: true });
  await mkdir(join(l2, 'opq'), { recursive: true });
  await writeFile(join(l2, 'etc/.wh.removed.txt'), '');
  await writeFile(join(l2, 'opq/.wh..wh..opq'), '');
  await writeFile(join(l2, 'opq/new'), 'from layer 2\n');
  const layers = [await tarGz(l1, join(work, 'l1.tar.gz')), await tarGz(l2, join(work, 'l2.tar.gz'))];
  const config = new TextEncoder().encode(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'IMAGE_VAR=from-image'],
        Cmd: ['httpd', '-f', '-p', '80', '-h', '/www'],
        WorkingDir: '/',
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    }),
  );
  const layerType = oci
    ? 'application/vnd.oci.image.layer.v1.tar+gzip'
    : 'application/vnd.docker.image.rootfs.diff.tar.gzip';
  const manifestType = oci
    ? 'application/vnd.oci.image.manifest.v1+json'
    : 'application/vnd.docker.distribution.manifest.v2+json';
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestType,
      config: {
        mediaType: oci
          ? 'application/vnd.oci.image.config.v1+json'
          : 'application/vnd.docker.container.image.v1+json',
        digest: sha(config),
        size: config.length,
      },
      layers: layers.map((l) => ({ mediaType: layerType, digest: l.digest, size: l.gz.length })),
    }),
  );
  return { layers, config, manifest, manifestType };
}

async function pushBlob(host: string, repo: string, blob: Uint8Array): Promise<void> {
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
  await start.body?.cancel();
  const loc = start.headers.get('location');
  if (loc === null) throw new Error('upload: no Location');
  const url = new URL(loc, `http://${host}`);
  url.searchParams.set('digest', sha(blob));
  const put = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: blob,
  });
  if (put.status !== 201) throw new Error(`upload put: ${put.status} ${await put.text()}`);
}

async function putManifest(
  host: string,
  repo: string,
  tag: string,
  type: string,
  body: Uint8Array,
): Promise<void> {
  const r = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': type },
    body,
  });
  if (r.status !== 201) throw new Error(`manifest put: ${r.status} ${await r.text()}`);
}

/**
 * Push the image as `repo:tag`. With `index`, the tag names an OCI image index (linux/amd64 → manifest),
 * so pulls go through the index path.
 */
export async function pushImage(
  host: string,
  repo: string,
  tag: string,
  img: BuiltImage,
  index = false,
): Promise<string> {
  for (const l of img.layers) await pushBlob(host, repo, l.gz);
  await pushBlob(host, repo, img.config);
  const mDigest = sha(img.manifest);
  if (!index) {
    await putManifest(host, repo, tag, img.manifestType, img.manifest);
    return mDigest;
  }
  await putManifest(host, repo, mDigest, img.manifestType, img.manifest);
  const idx = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: img.manifestType,
          digest: mDigest,
          size: img.manifest.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    }),
  );
  await putManifest(host, repo, tag, 'application/vnd.oci.image.index.v1+json', idx);
  return mDigest;
}

/**
 * Write an OCI image-layout tarball of the image (for import tests). With `tamper`, the first layer's
 * file holds different bytes than its digest names.
 */
export async function writeOciLayout(
  work: string,
  img: BuiltImage,
  out: string,
  tamper = false,
): Promise<void> {
  const root = join(work, 'layout');
  const blobs = join(root, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  for (const b of [...img.layers.map((l) => l.gz), img.config, img.manifest]) {
    await writeFile(join(blobs, sha(b).slice(7)), b);
  }
  const first = img.layers[0];
  if (tamper && first !== undefined) {
    const bad = Uint8Array.from(first.gz);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
    await writeFile(join(blobs, first.digest.slice(7)), bad);
  }
  await writeFile(join(root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(root, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: img.manifestType,
          digest: sha(img.manifest),
          size: img.manifest.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    }),
  );
  const r = await run('tar', ['-cf', out, '-C', root, '.']);
  if (r.code !== 0) throw new Error(`tar: ${r.stderr}`);
}

/** Start a registry holding `busybox-http:1` (OCI, via an index) and `nginx:1.21` (Docker v2). */
export async function registryWithImages(): Promise<TestRegistry> {
  const reg = await startRegistry();
  const work = await tempDir('image-build-');
  try {
    const oci = await buildBusyboxImage(join(work.path, 'oci'), true);
    await pushImage(reg.host, 'busybox-http', '1', oci, true);
    const docker = await buildBusyboxImage(join(work.path, 'docker'), false);
    await pushImage(reg.host, 'nginx', '1.21', docker);
  } finally {
    await work.cleanup();
  }
  return reg;
}
