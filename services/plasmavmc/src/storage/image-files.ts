/**
 * Image bytes on disk: `<dir>/<image-id>/<part>` (part = disk, kernel or initrd). Uploads stream into a
 * temporary file that is renamed into place once complete, so a part is either whole or absent. The node
 * agent reads these files directly (same machine); the image record in ChainFire stores their paths.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { ValidationError } from '@photoncloud/errors';
import type { ImagePart } from '@photoncloud/plasmavmc-api';

const exec = promisify(execFile);

/** What was stored. */
export interface StoredPart {
  path: string;
  sizeBytes: number;
  /** Disk size a VM sees (disks only). */
  virtualSizeBytes: number | null;
}

/** The image directory. */
export class ImageFiles {
  constructor(readonly dir: string) {}

  /** Stream `body` into the image's `part`; a disk in qcow2 format is checked with `qemu-img info`. */
  async write(
    id: string,
    part: ImagePart,
    body: Readable,
    format: 'qcow2' | 'raw' | 'kernel',
  ): Promise<StoredPart> {
    const dir = join(this.dir, id);
    await mkdir(dir, { recursive: true });
    const final = join(dir, part);
    const tmp = `${final}.upload-${process.pid}-${Date.now()}`;
    try {
      await pipeline(body, createWriteStream(tmp, { mode: 0o644 }));
      const size = (await stat(tmp)).size;
      if (size === 0) throw new ValidationError('body', 'minLength', `the ${part} upload is empty`);
      let virtualSize: number | null = null;
      if (part === 'disk') {
        virtualSize = format === 'qcow2' ? await qcow2VirtualSize(tmp) : size;
      }
      await rename(tmp, final);
      return { path: final, sizeBytes: size, virtualSizeBytes: virtualSize };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Remove every file of an image. */
  async remove(id: string): Promise<void> {
    await rm(join(this.dir, id), { recursive: true, force: true });
  }
}

async function qcow2VirtualSize(path: string): Promise<number> {
  let out: string;
  try {
    out = (await exec('qemu-img', ['info', '--output=json', '-f', 'qcow2', path], { timeout: 30_000 }))
      .stdout;
  } catch {
    throw new ValidationError('body', 'format', 'the upload is not a qcow2 image', {
      hint: 'Upload a qcow2 file, or register the image with format "raw"',
    });
  }
  const info = JSON.parse(out) as { 'virtual-size'?: unknown; 'backing-filename'?: unknown };
  if (info['backing-filename'] !== undefined) {
    // A backing file would let an upload read any file of the host.
    throw new ValidationError('body', 'format', 'qcow2 images with a backing file are not accepted', {
      hint: 'Flatten it first: qemu-img convert -O qcow2 in.qcow2 out.qcow2',
    });
  }
  const v = info['virtual-size'];
  if (typeof v !== 'number') throw new ValidationError('body', 'format', 'qemu-img reported no virtual size');
  return v;
}
