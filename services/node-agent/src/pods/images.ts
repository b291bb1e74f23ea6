/**
 * Images for pods: pulled from an OCI registry over the distribution API v2 (index / manifest list →
 * manifest → config and layer blobs; Docker v2 and OCI media types; every digest verified) or imported
 * from an OCI image-layout tarball. Blobs live in a content-addressed cache on disk
 * (`blobs/sha256/<hex>`); a tag resolves through `refs/` (pull policy IfNotPresent for non-`latest`
 * tags, as Kubernetes defaults). Each image is unpacked once into `rootfs/<manifest hex>/` (gzip or plain
 * tar layers in order, whiteouts and opaque directories applied) and shared read-only by pods through
 * overlay mounts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { arch } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { isLoopbackRegistry, parseImageRef } from '../core/image-ref.js';
import type { ImageRef } from '../core/image-ref.js';
import type { ImageProcessConfig } from '../core/oci-spec.js';
import { execTool } from './exec.js';

/** Media types this store understands. */
export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

const ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(', ');

/** A descriptor. */
interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

interface Manifest {
  schemaVersion?: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

/** An image ready to run. */
export interface PreparedImage {
  /** `sha256:…` of the manifest. */
  digest: string;
  /** The unpacked, shared rootfs (never written to by pods). */
  rootfs: string;
  /** The image config's process fields. */
  config: ImageProcessConfig;
}

/** A pull failure the pod reports as ErrImagePull. */
export class ImagePullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImagePullError';
  }
}

const DIGEST = /^sha256:([a-f0-9]{64})$/;

function hexOf(digest: string): string {
  const m = DIGEST.exec(digest);
  if (m === null) throw new ImagePullError(`unsupported digest ${digest}`);
  return m[1] as string;
}

function sha256(buf: Uint8Array): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

function goArch(): string {
  const a = arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** The on-disk image store of one node. */
export class ImageStore {
  private readonly unpacking = new Map<string, Promise<string>>();
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly defaultRegistry: string,
  ) {}

  private blobPath(digest: string): string {
    return join(this.dir, 'blobs', 'sha256', hexOf(digest));
  }

  private refPath(ref: ImageRef): string {
    return join(
      this.dir,
      'refs',
      ref.registry.replace(/[^A-Za-z0-9._-]/g, '_'),
      ref.repository,
      ref.reference,
    );
  }

  /** Resolve, pull if needed, unpack; the image ready for a pod. */
  async prepare(image: string): Promise<PreparedImage> {
    const ref = parseImageRef(image, this.defaultRegistry);
    if (ref === null) throw new ImagePullError(`invalid image reference ${JSON.stringify(image)}`);
    let manifestDigest: string | null = null;
    if (DIGEST.test(ref.reference) && (await exists(this.blobPath(ref.reference)))) {
      manifestDigest = ref.reference;
    } else if (ref.reference !== 'latest') {
      const saved = await readFile(this.refPath(ref), 'utf8').catch(() => null);
      if (saved !== null && DIGEST.test(saved.trim()) && (await exists(this.blobPath(saved.trim())))) {
        manifestDigest = saved.trim();
      }
    }
    if (manifestDigest === null) manifestDigest = await this.pull(ref);
    const manifest = JSON.parse(await readFile(this.blobPath(manifestDigest), 'utf8')) as Manifest;
    if (manifest.config === undefined) throw new ImagePullError(`manifest ${manifestDigest} has no config`);
    const cfg = JSON.parse(await readFile(this.blobPath(manifest.config.digest), 'utf8')) as {
      config?: ImageProcessConfig;
    };
    const rootfs = await this.unpack(manifestDigest, manifest);
    return { digest: manifestDigest, rootfs, config: cfg.config ?? {} };
  }

  private async fetchRegistry(ref: ImageRef, path: string, accept?: string): Promise<Response> {
    const scheme = isLoopbackRegistry(ref.registry) ? 'http' : 'https';
    const url = `${scheme}://${ref.registry}/v2/${ref.repository}/${path}`;
    const headers: Record<string, string> = {};
    if (accept !== undefined) headers['accept'] = accept;
    const tok = this.tokens.get(`${ref.registry}/${ref.repository}`);
    if (tok !== undefined) headers['authorization'] = `Bearer ${tok}`;
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(120_000) });
    } catch (err) {
      throw new ImagePullError(`cannot reach registry ${ref.registry}: ${(err as Error).message}`);
    }
    if (res.status === 401 && tok === undefined) {
      const www = res.headers.get('www-authenticate') ?? '';
      await res.body?.cancel();
      const realm = /realm="([^"]+)"/.exec(www)?.[1];
      if (realm === undefined) throw new ImagePullError(`registry ${ref.registry} requires authentication`);
      const service = /service="([^"]+)"/.exec(www)?.[1];
      const q = new URLSearchParams({ scope: `repository:${ref.repository}:pull` });
      if (service !== undefined) q.set('service', service);
      const t = await fetch(`${realm}?${q.toString()}`, { signal: AbortSignal.timeout(30_000) });
      const body = (await t.json().catch(() => ({}))) as { token?: string; access_token?: string };
      const token = body.token ?? body.access_token;
      if (!t.ok || token === undefined)
        throw new ImagePullError(`registry ${ref.registry} refused a pull token`);
      this.tokens.set(`${ref.registry}/${ref.repository}`, token);
      return this.fetchRegistry(ref, path, accept);
    }
    return res;
  }

  private async fetchManifest(
    ref: ImageRef,
    reference: string,
  ): Promise<{ digest: string; body: Uint8Array }> {
    const res = await this.fetchRegistry(ref, `manifests/${reference}`, ACCEPT);
    if (res.status === 404) {
      await res.body?.cancel();
      throw new ImagePullError(`image ${ref.repository}:${reference} not found in ${ref.registry}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ImagePullError(`registry answered ${res.status} for manifest ${ref.repository}:${reference}`);
    }
    const body = new Uint8Array(await res.arrayBuffer());
    const digest = sha256(body);
    if (DIGEST.test(reference) && digest !== reference) {
      throw new ImagePullError(`manifest digest mismatch: wanted ${reference}, got ${digest}`);
    }
    const header = res.headers.get('docker-content-digest');
    if (header !== null && DIGEST.test(header) && header !== digest) {
      throw new ImagePullError(`manifest digest mismatch: registry says ${header}, content is ${digest}`);
    }
    return { digest, body };
  }

  private async saveBlob(digest: string, body: Uint8Array): Promise<void> {
    const p = this.blobPath(digest);
    if (await exists(p)) return;
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, p);
  }

  /** Stream a blob from the registry into the cache, verifying its digest. */
  private async pullBlob(ref: ImageRef, d: Descriptor): Promise<void> {
    const p = this.blobPath(d.digest);
    if (await exists(p)) return;
    const res = await this.fetchRegistry(ref, `blobs/${d.digest}`);
    if (!res.ok || res.body === null) {
      await res.body?.cancel();
      throw new ImagePullError(`registry answered ${res.status} for blob ${d.digest}`);
    }
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.${randomBytes(4).toString('hex')}.tmp`;
    const hash = createHash('sha256');
    let size = 0;
    const src = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
    src.on('data', (c: Buffer) => {
      hash.update(c);
      size += c.length;
    });
    await pipeline(src, createWriteStream(tmp));
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== d.digest || (d.size !== undefined && d.size !== size)) {
      await rm(tmp, { force: true });
      throw new ImagePullError(`blob digest mismatch: wanted ${d.digest}, got ${got}`);
    }
    await rename(tmp, p);
  }

  private pickPlatform(index: Manifest, from: string): Descriptor {
    const list = index.manifests ?? [];
    const a = goArch();
    const m =
      list.find((x) => x.platform?.os === 'linux' && x.platform.architecture === a) ??
      list.find((x) => x.platform === undefined);
    if (m === undefined) throw new ImagePullError(`${from} has no linux/${a} image`);
    return m;
  }

  /** Pull an image by reference; returns its manifest digest (recorded under refs/). */
  async pull(ref: ImageRef): Promise<string> {
    let { digest, body } = await this.fetchManifest(ref, ref.reference);
    let manifest = JSON.parse(Buffer.from(body).toString('utf8')) as Manifest;
    const type = manifest.mediaType;
    if (type === MEDIA.ociIndex || type === MEDIA.dockerList || manifest.manifests !== undefined) {
      const chosen = this.pickPlatform(manifest, `${ref.repository}:${ref.reference}`);
      ({ digest, body } = await this.fetchManifest(ref, chosen.digest));
      manifest = JSON.parse(Buffer.from(body).toString('utf8')) as Manifest;
    }
    if (manifest.config === undefined || manifest.layers === undefined) {
      throw new ImagePullError(`unsupported manifest for ${ref.repository}:${ref.reference}`);
    }
    await this.pullBlob(ref, manifest.config);
    for (const l of manifest.layers) await this.pullBlob(ref, l);
    await this.saveBlob(digest, body);
    if (!DIGEST.test(ref.reference)) await this.saveRef(ref, digest);
    return digest;
  }

  private async saveRef(ref: ImageRef, digest: string): Promise<void> {
    const p = this.refPath(ref);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, digest);
    await rename(tmp, p);
  }

  /**
   * Import an OCI image-layout tarball (`oci-layout`, `index.json`, `blobs/sha256/…`), verifying every
   * blob, and tag its (first linux) image as `name`. Returns the manifest digest.
   */
  async importOciArchive(tarPath: string, name: string): Promise<string> {
    const ref = parseImageRef(name, this.defaultRegistry);
    if (ref === null) throw new ImagePullError(`invalid image reference ${JSON.stringify(name)}`);
    const tmp = join(this.dir, 'tmp', randomBytes(6).toString('hex'));
    await mkdir(tmp, { recursive: true });
    try {
      await execTool('tar', ['-xf', tarPath, '-C', tmp, '--no-same-owner']);
      const layout = JSON.parse(await readFile(join(tmp, 'oci-layout'), 'utf8')) as {
        imageLayoutVersion?: string;
      };
      if (layout.imageLayoutVersion === undefined) throw new ImagePullError('not an OCI image layout');
      const readBlob = async (d: Descriptor): Promise<Uint8Array> => {
        const b = new Uint8Array(await readFile(join(tmp, 'blobs', 'sha256', hexOf(d.digest))));
        if (sha256(b) !== d.digest) throw new ImagePullError(`blob digest mismatch in archive: ${d.digest}`);
        return b;
      };
      const index = JSON.parse(await readFile(join(tmp, 'index.json'), 'utf8')) as Manifest;
      let desc = this.pickPlatform(index, tarPath);
      let body = await readBlob(desc);
      let manifest = JSON.parse(Buffer.from(body).toString('utf8')) as Manifest;
      if (manifest.manifests !== undefined) {
        desc = this.pickPlatform(manifest, tarPath);
        body = await readBlob(desc);
        manifest = JSON.parse(Buffer.from(body).toString('utf8')) as Manifest;
      }
      if (manifest.config === undefined || manifest.layers === undefined) {
        throw new ImagePullError('unsupported manifest in archive');
      }
      for (const d of [manifest.config, ...manifest.layers]) await this.saveBlob(d.digest, await readBlob(d));
      await this.saveBlob(desc.digest, body);
      await this.saveRef(ref, desc.digest);
      return desc.digest;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private unpack(digest: string, manifest: Manifest): Promise<string> {
    const target = join(this.dir, 'rootfs', hexOf(digest));
    const running = this.unpacking.get(target);
    if (running !== undefined) return running;
    const p = (async () => {
      if (await exists(join(target, '.photoncloud-complete'))) return target;
      const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
      await mkdir(tmp, { recursive: true });
      try {
        for (const layer of manifest.layers ?? []) await this.applyLayer(tmp, layer);
        await writeFile(join(tmp, '.photoncloud-complete'), digest);
        await rm(target, { recursive: true, force: true });
        await rename(tmp, target);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
      return target;
    })().finally(() => this.unpacking.delete(target));
    this.unpacking.set(target, p);
    return p;
  }

  private async applyLayer(root: string, layer: Descriptor): Promise<void> {
    const blob = this.blobPath(layer.digest);
    const mt = layer.mediaType ?? '';
    if (mt.includes('zstd')) throw new ImagePullError(`zstd layers are not supported (${layer.digest})`);
    const gz = await isGzip(blob);
    const z = gz ? ['-z'] : [];
    const list = await execTool('tar', [...z, '-tf', blob]);
    for (const raw of list.split('\n')) {
      const name = posix.normalize(raw.replace(/^\.?\/+/, ''));
      if (name === '' || name === '.' || name.startsWith('..')) continue;
      const base = posix.basename(name);
      const parent = posix.dirname(name);
      if (base === '.wh..wh..opq') {
        const dir = join(root, parent);
        for (const e of await readdir(dir).catch(() => [] as string[])) {
          await rm(join(dir, e), { recursive: true, force: true });
        }
      } else if (base.startsWith('.wh.')) {
        await rm(join(root, parent, base.slice(4)), { recursive: true, force: true });
      }
    }
    await execTool('tar', [...z, '-xf', blob, '-C', root, '--numeric-owner', '--exclude=.wh.*']);
  }
}

async function isGzip(path: string): Promise<boolean> {
  const s = createReadStream(path, { start: 0, end: 1 });
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  const b = Buffer.concat(chunks);
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}
