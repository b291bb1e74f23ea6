/**
 * Object storage on local disk. Data: `<dataDir>/data/<xx>/<id>` files (an object is one or more
 * segments; a completed multipart upload keeps its part files as segments, so completing is a metadata
 * commit only). Metadata: an LMDB environment at `<dataDir>/meta` (buckets, objects, uploads, parts),
 * committed with fsync.
 *
 * Durability protocol of every write: stream into `<dataDir>/tmp/<id>` while hashing, fsync the file,
 * rename it into `data/`, fsync that directory, and only then commit the metadata that references it.
 * A crash at any point leaves either the old state or the new one visible, never a partial object;
 * files nobody references (an interrupted write, an overwritten object whose old data was not yet
 * removed) are removed at the next start, with everything in `tmp/`.
 */
import { randomUUID } from 'node:crypto';
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { open as openLmdb } from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import { S3Error } from '../core/s3-error.js';
import { successor } from '../core/listing.js';
import { newChecksummer } from '../s3/checksums.js';
import type { ChecksumAlgorithm } from '../s3/checksums.js';

/** One data file of an object. */
export interface Segment {
  file: string;
  size: number;
}

/** A CORS rule of a bucket. */
export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

/** A bucket. */
export interface BucketRecord {
  name: string;
  /** ms since the epoch. */
  created: number;
  /** Owner principal (of the access key that created it). */
  owner: string;
  projectId?: string;
  versioning?: 'Enabled' | 'Suspended';
  cors?: CorsRule[];
}

/** Object metadata. `etag` is quoted, as sent on the wire. */
export interface ObjectRecord {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
  contentType: string;
  /** content-disposition, content-encoding, cache-control, content-language, expires. */
  headers: Record<string, string>;
  /** x-amz-meta-* without the prefix, lower case. */
  userMeta: Record<string, string>;
  /** base64 values by algorithm. */
  checksums: Record<string, string>;
  segments: Segment[];
  tags: Record<string, string>;
  /** Part count for objects made by multipart upload. */
  partCount?: number;
  /** Part sizes (for GetObject ?partNumber). */
  partSizes?: number[];
  owner: string;
}

/** An in-progress multipart upload. */
export interface UploadRecord {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: number;
  contentType: string;
  headers: Record<string, string>;
  userMeta: Record<string, string>;
  tags: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
  owner: string;
}

/** An uploaded part. */
export interface PartRecord {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: number;
  file: string;
  checksums: Record<string, string>;
}

/** A data file written to tmp/, hashed, fsynced, not yet referenced. */
export interface StagedData {
  tmpPath: string;
  size: number;
  md5Hex: string;
  sha256Hex?: string;
  checksums: Map<ChecksumAlgorithm, string>;
}

/** What `stage` hashes while writing. */
export interface StageOptions {
  checksums?: ChecksumAlgorithm[];
  /** Also compute sha256 hex (for a signed payload hash). */
  sha256?: boolean;
  /** Upper bound on the body size (EntityTooLarge beyond). */
  maxSize?: number;
}

const MAX_OBJECT = 5 * 1024 ** 4;
const WRITE_SIZE = 1024 * 1024;

function objKey(bucket: string, key: string): string {
  return `${bucket}/${key}`;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The store of buckets and objects of one LightningSTOR node. */
export class ObjectStore {
  private constructor(
    private readonly dir: string,
    private readonly root: RootDatabase,
    private readonly buckets: Database<BucketRecord, string>,
    private readonly objects: Database<ObjectRecord, string>,
    private readonly uploads: Database<UploadRecord, string>,
    private readonly parts: Database<PartRecord, string>,
  ) {}

  /** Open (creating) the store under `dataDir`, removing temp files and unreferenced data files. */
  static async open(dataDir: string): Promise<ObjectStore> {
    await mkdir(path.join(dataDir, 'meta'), { recursive: true });
    await rm(path.join(dataDir, 'tmp'), { recursive: true, force: true });
    await mkdir(path.join(dataDir, 'tmp'), { recursive: true });
    for (let i = 0; i < 256; i++) {
      await mkdir(path.join(dataDir, 'data', i.toString(16).padStart(2, '0')), { recursive: true });
    }
    const root = openLmdb({ path: path.join(dataDir, 'meta'), compression: false });
    const s = new ObjectStore(
      dataDir,
      root,
      root.openDB<BucketRecord, string>({ name: 'buckets' }),
      root.openDB<ObjectRecord, string>({ name: 'objects' }),
      root.openDB<UploadRecord, string>({ name: 'uploads' }),
      root.openDB<PartRecord, string>({ name: 'parts' }),
    );
    await s.collectGarbage();
    return s;
  }

  /** Close the metadata environment. */
  async close(): Promise<void> {
    await this.root.close();
  }

  private filePath(file: string): string {
    return path.join(this.dir, 'data', file.slice(0, 2), file);
  }

  /** Absolute path of a segment's data file. */
  segmentPath(seg: Segment): string {
    return this.filePath(seg.file);
  }

  private async collectGarbage(): Promise<void> {
    const live = new Set<string>();
    for (const { value } of this.objects.getRange({})) for (const s of value.segments) live.add(s.file);
    for (const { value } of this.parts.getRange({})) live.add(value.file);
    for (let i = 0; i < 256; i++) {
      const sub = path.join(this.dir, 'data', i.toString(16).padStart(2, '0'));
      for (const name of await readdir(sub)) {
        if (!live.has(name)) await unlink(path.join(sub, name)).catch(() => undefined);
      }
    }
  }

  /** Remove data files no longer referenced (after the metadata commit that dropped them). */
  async removeFiles(files: Iterable<string>): Promise<void> {
    for (const f of files) await unlink(this.filePath(f)).catch(() => undefined);
  }

  /**
   * Stream `source` into a temp file while computing MD5 (and the requested checksums), then fsync.
   * On any error the temp file is removed.
   */
  async stage(source: AsyncIterable<Uint8Array>, opts: StageOptions = {}): Promise<StagedData> {
    const tmpPath = path.join(this.dir, 'tmp', randomUUID());
    const md5 = createHash('md5');
    const sha: Hash | undefined = opts.sha256 === true ? createHash('sha256') : undefined;
    const sums = (opts.checksums ?? []).map((a) => [a, newChecksummer(a)] as const);
    const max = opts.maxSize ?? MAX_OBJECT;
    let fh: FileHandle | undefined;
    let size = 0;
    try {
      fh = await open(tmpPath, 'wx', 0o600);
      const file = fh;
      // Network chunks (~64 KiB) are gathered into 1 MiB writes, and one write is in flight while
      // the next MiB arrives and is hashed: disk and CPU work overlap.
      let pending: Promise<void> = Promise.resolve();
      let writeError: unknown;
      let parts: Uint8Array[] = [];
      let partLen = 0;
      const writeAll = async (data: Buffer): Promise<void> => {
        let off = 0;
        while (off < data.length) off += (await file.write(data, off, data.length - off)).bytesWritten;
      };
      const flush = async (): Promise<void> => {
        const data = Buffer.concat(parts, partLen);
        parts = [];
        partLen = 0;
        await pending;
        if (writeError !== undefined) throw writeError;
        pending = writeAll(data).catch((err: unknown) => {
          writeError = err;
        });
      };
      for await (const chunk of source) {
        size += chunk.length;
        if (size > max)
          throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
        md5.update(chunk);
        sha?.update(chunk);
        for (const [, c] of sums) c.update(chunk);
        parts.push(chunk);
        partLen += chunk.length;
        if (partLen >= WRITE_SIZE) await flush();
      }
      if (partLen > 0) await flush();
      await pending;
      if (writeError !== undefined) throw writeError;
      // fdatasync: the data and the size, which is all a reader needs.
      await fh.datasync();
      await fh.close();
      fh = undefined;
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await unlink(tmpPath).catch(() => undefined);
      throw err;
    }
    const out: StagedData = {
      tmpPath,
      size,
      md5Hex: md5.digest('hex'),
      checksums: new Map(sums.map(([a, c]) => [a, c.digest()])),
    };
    if (sha !== undefined) out.sha256Hex = sha.digest('hex');
    return out;
  }

  /** Drop a staged file that will not be committed. */
  async discard(staged: StagedData): Promise<void> {
    await unlink(staged.tmpPath).catch(() => undefined);
  }

  /** Move a staged file into data/ durably; returns its file name. */
  async install(staged: StagedData): Promise<string> {
    // Files written in the same second share a subdirectory, so concurrent PUTs share one directory
    // fsync (group commit in `syncDir`). The first two characters of a name are its subdirectory.
    const sub = (Math.floor(Date.now() / 1000) % 256).toString(16).padStart(2, '0');
    const file = sub + randomUUID().replace(/-/g, '');
    const dir = path.join(this.dir, 'data', sub);
    await rename(staged.tmpPath, path.join(dir, file));
    await this.syncDir(dir);
    return file;
  }

  private readonly dirSyncs = new Map<string, { running: Promise<void>; next?: Promise<void> }>();

  /**
   * fsync a directory, coalescing concurrent callers: a caller arriving while an fsync runs waits for
   * the next one (which covers its rename), and every caller arriving meanwhile shares that one.
   */
  private syncDir(dir: string): Promise<void> {
    const state = this.dirSyncs.get(dir);
    if (state === undefined) {
      const running = fsyncDir(dir).finally(() => {
        const s = this.dirSyncs.get(dir);
        if (s !== undefined && s.running === running && s.next === undefined) this.dirSyncs.delete(dir);
      });
      this.dirSyncs.set(dir, { running });
      return running;
    }
    if (state.next !== undefined) return state.next;
    const next = state.running
      .catch(() => undefined)
      .then(() => {
        const running = fsyncDir(dir);
        this.dirSyncs.set(dir, { running });
        return running.finally(() => {
          const s = this.dirSyncs.get(dir);
          if (s !== undefined && s.running === running && s.next === undefined) this.dirSyncs.delete(dir);
        });
      });
    state.next = next;
    return next;
  }

  // ---- buckets ------------------------------------------------------------------------------------

  /** A bucket, if it exists. */
  getBucket(name: string): BucketRecord | undefined {
    return this.buckets.get(name);
  }

  /** Every bucket, by name. */
  listBuckets(): BucketRecord[] {
    return [...this.buckets.getRange({})].map((e) => e.value);
  }

  /** Create a bucket; returns the existing record instead when the name is taken. */
  async createBucket(rec: BucketRecord): Promise<{ created: boolean; bucket: BucketRecord }> {
    return this.root.transaction(() => {
      const existing = this.buckets.get(rec.name);
      if (existing !== undefined) return { created: false, bucket: existing };
      void this.buckets.put(rec.name, rec);
      return { created: true, bucket: rec };
    });
  }

  /** Replace a bucket's configuration (versioning, CORS). */
  async updateBucket(name: string, fn: (b: BucketRecord) => BucketRecord): Promise<BucketRecord> {
    return this.root.transaction(() => {
      const b = this.buckets.get(name);
      if (b === undefined)
        throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', {
          extra: { BucketName: name },
        });
      const next = fn(b);
      void this.buckets.put(name, next);
      return next;
    });
  }

  /** Delete an empty bucket (BucketNotEmpty when objects or uploads remain). */
  async deleteBucket(name: string): Promise<void> {
    await this.root.transaction(() => {
      if (this.buckets.get(name) === undefined) {
        throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', {
          extra: { BucketName: name },
        });
      }
      const prefix = `${name}/`;
      for (const _ of this.objects.getKeys({ start: prefix, end: successor(prefix), limit: 1 })) {
        throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', {
          extra: { BucketName: name },
        });
      }
      for (const _ of this.uploads.getKeys({ start: prefix, end: successor(prefix), limit: 1 })) {
        throw new S3Error(
          'BucketNotEmpty',
          'The bucket you tried to delete has multipart uploads in progress',
          {
            extra: { BucketName: name },
          },
        );
      }
      void this.buckets.remove(name);
    });
  }

  // ---- objects ------------------------------------------------------------------------------------

  /** An object's metadata, if it exists. */
  getObject(bucket: string, key: string): ObjectRecord | undefined {
    return this.objects.get(objKey(bucket, key));
  }

  /** Sorted scan of a bucket's keys ≥ `from`. */
  scanObjects(bucket: string, from: string): Iterable<readonly [string, ObjectRecord]> {
    const prefix = `${bucket}/`;
    const it = this.objects.getRange({ start: prefix + from, end: successor(prefix) });
    return {
      *[Symbol.iterator]() {
        for (const { key, value } of it) yield [key.slice(prefix.length), value] as const;
      },
    };
  }

  /**
   * Commit object metadata in one transaction. `check` sees the current record (or undefined) and
   * may throw (conditional writes); the bucket must exist. Data files of the replaced object are
   * removed after the commit. Returns the replaced record.
   */
  async putObject(
    bucket: string,
    rec: ObjectRecord,
    check?: (current: ObjectRecord | undefined) => void,
  ): Promise<ObjectRecord | undefined> {
    const old = await this.root.transaction(() => {
      if (this.buckets.get(bucket) === undefined) {
        throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', {
          extra: { BucketName: bucket },
        });
      }
      const current = this.objects.get(objKey(bucket, rec.key));
      check?.(current);
      void this.objects.put(objKey(bucket, rec.key), rec);
      return current;
    });
    if (old !== undefined) await this.removeFiles(old.segments.map((s) => s.file));
    return old;
  }

  /** Update an object's metadata in place (tags); NoSuchKey when absent. */
  async updateObject(
    bucket: string,
    key: string,
    fn: (o: ObjectRecord) => ObjectRecord,
  ): Promise<ObjectRecord> {
    return this.root.transaction(() => {
      const cur = this.objects.get(objKey(bucket, key));
      if (cur === undefined)
        throw new S3Error('NoSuchKey', 'The specified key does not exist.', { extra: { Key: key } });
      const next = fn(cur);
      void this.objects.put(objKey(bucket, key), next);
      return next;
    });
  }

  /** Delete an object (no error when absent); its data files are removed after the commit. */
  async deleteObject(
    bucket: string,
    key: string,
    check?: (current: ObjectRecord | undefined) => void,
  ): Promise<ObjectRecord | undefined> {
    const old = await this.root.transaction(() => {
      const cur = this.objects.get(objKey(bucket, key));
      check?.(cur);
      if (cur !== undefined) void this.objects.remove(objKey(bucket, key));
      return cur;
    });
    if (old !== undefined) await this.removeFiles(old.segments.map((s) => s.file));
    return old;
  }

  // ---- multipart ----------------------------------------------------------------------------------

  /** Record a new multipart upload. */
  async createUpload(rec: UploadRecord): Promise<void> {
    await this.root.transaction(() => {
      if (this.buckets.get(rec.bucket) === undefined) {
        throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', {
          extra: { BucketName: rec.bucket },
        });
      }
      void this.uploads.put(`${rec.bucket}/${rec.uploadId}`, rec);
    });
  }

  /** An upload of `bucket`, if in progress. */
  getUpload(bucket: string, uploadId: string): UploadRecord | undefined {
    return this.uploads.get(`${bucket}/${uploadId}`);
  }

  /** Uploads in progress in a bucket. */
  listUploads(bucket: string): UploadRecord[] {
    const prefix = `${bucket}/`;
    return [...this.uploads.getRange({ start: prefix, end: successor(prefix) })].map((e) => e.value);
  }

  /** Parts of an upload, by part number. */
  listParts(uploadId: string): PartRecord[] {
    const prefix = `${uploadId}/`;
    return [...this.parts.getRange({ start: prefix, end: successor(prefix) })].map((e) => e.value);
  }

  /** Commit a part (replacing an earlier one with the same number). NoSuchUpload if aborted meanwhile. */
  async putPart(bucket: string, uploadId: string, part: PartRecord): Promise<void> {
    const key = `${uploadId}/${String(part.partNumber).padStart(5, '0')}`;
    const old = await this.root.transaction(() => {
      if (this.uploads.get(`${bucket}/${uploadId}`) === undefined) {
        throw new S3Error('NoSuchUpload', 'The specified multipart upload does not exist', {
          extra: { UploadId: uploadId },
        });
      }
      const cur = this.parts.get(key);
      void this.parts.put(key, part);
      return cur;
    });
    if (old !== undefined) await this.removeFiles([old.file]);
  }

  /** Abort an upload: drop its records, then its part files. */
  async abortUpload(bucket: string, uploadId: string): Promise<void> {
    const files = await this.root.transaction(() => {
      if (this.uploads.get(`${bucket}/${uploadId}`) === undefined) {
        throw new S3Error('NoSuchUpload', 'The specified multipart upload does not exist', {
          extra: { UploadId: uploadId },
        });
      }
      void this.uploads.remove(`${bucket}/${uploadId}`);
      const out: string[] = [];
      const prefix = `${uploadId}/`;
      for (const { key, value } of this.parts.getRange({ start: prefix, end: successor(prefix) })) {
        out.push(value.file);
        void this.parts.remove(key);
      }
      return out;
    });
    await this.removeFiles(files);
  }

  /**
   * Complete an upload atomically: one transaction writes the object (whose segments are the chosen
   * parts' files) and drops the upload and its part records. `build` validates the parts (in the
   * transaction) and returns the object record; unused part files and the replaced object's files
   * are removed after the commit.
   */
  async completeUpload(
    bucket: string,
    uploadId: string,
    build: (
      upload: UploadRecord,
      parts: Map<number, PartRecord>,
      current: ObjectRecord | undefined,
    ) => ObjectRecord,
  ): Promise<ObjectRecord> {
    const { rec, garbage } = await this.root.transaction(() => {
      const upload = this.uploads.get(`${bucket}/${uploadId}`);
      if (upload === undefined) {
        throw new S3Error('NoSuchUpload', 'The specified multipart upload does not exist', {
          extra: { UploadId: uploadId },
        });
      }
      const prefix = `${uploadId}/`;
      const parts = new Map<number, PartRecord>();
      const partKeys: string[] = [];
      for (const { key, value } of this.parts.getRange({ start: prefix, end: successor(prefix) })) {
        parts.set(value.partNumber, value);
        partKeys.push(key);
      }
      const current = this.objects.get(objKey(bucket, upload.key));
      const obj = build(upload, parts, current);
      const used = new Set(obj.segments.map((s) => s.file));
      const garbage: string[] = [...parts.values()].map((p) => p.file).filter((f) => !used.has(f));
      if (current !== undefined) garbage.push(...current.segments.map((s) => s.file));
      void this.objects.put(objKey(bucket, upload.key), obj);
      void this.uploads.remove(`${bucket}/${uploadId}`);
      for (const k of partKeys) void this.parts.remove(k);
      return { rec: obj, garbage };
    });
    await this.removeFiles(garbage);
    return rec;
  }
}
