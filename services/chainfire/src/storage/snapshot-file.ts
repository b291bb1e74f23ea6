/**
 * Raft snapshots of the state machine as files, so that neither the member that sends one nor the one
 * that receives it holds the whole keyspace in memory (as etcd streams its db file).
 *
 * A file is a sequence of frames — a 4-byte big-endian length, then that many bytes of one value in
 * ChainFire's value codec: first the header `{format, meta}`, then one `[table, key, value]` per row,
 * then `{end: rows}`, which tells a complete file from a truncated one.
 *
 * The Raft snapshot message itself carries only a small reference to such a file (`snapshotRef`): the
 * peer transport streams the file's bytes, and the receiver writes them to a file of its own and hands
 * Raft a reference to that one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { decodeValue, encodeValue } from '../core/value-codec.js';
import type { Codable } from '../core/value-codec.js';

/** The format name in a snapshot file's header. */
export const SNAPSHOT_FORMAT = 'chainfire-raft-snapshot-v2';
const BUFFER_BYTES = 1024 * 1024;
/** Largest frame accepted when reading (one key-value row is far smaller). */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** Writes frames to a file through a 1 MiB buffer. */
export class FrameWriter {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private len = 0;
  /** Bytes written so far (frames included). */
  bytes = 0;

  constructor(file: string) {
    this.fd = fs.openSync(file, 'w', 0o600);
  }

  add(v: Codable): void {
    const payload = encodeValue(v);
    const need = 4 + payload.length;
    if (this.len + need > this.buf.length) this.flush();
    if (need > this.buf.length) this.buf = Buffer.allocUnsafe(need);
    this.buf.writeUInt32BE(payload.length, this.len);
    this.buf.set(payload, this.len + 4);
    this.len += need;
    this.bytes += need;
  }

  private flush(): void {
    let off = 0;
    while (off < this.len) off += fs.writeSync(this.fd, this.buf, off, this.len - off);
    this.len = 0;
  }

  /** Flush and close (optionally fsync first). */
  close(sync = false): void {
    try {
      this.flush();
      if (sync) fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
    }
  }

  /** Close and remove the file (after a failure). */
  abort(file: string): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    fs.rmSync(file, { force: true });
  }
}

/** The frames of `file`, in order, read 1 MiB at a time. Throws on a torn or oversized frame. */
export function* readFrames(file: string): Generator<Codable> {
  const fd = fs.openSync(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(BUFFER_BYTES);
    let start = 0;
    let end = 0;
    let eof = false;
    const fill = (): void => {
      if (start > 0) {
        buf.copy(buf, 0, start, end);
        end -= start;
        start = 0;
      }
      const n = fs.readSync(fd, buf, end, buf.length - end, null);
      if (n === 0) eof = true;
      end += n;
    };
    for (;;) {
      while (end - start < 4 && !eof) fill();
      if (end - start === 0) return;
      if (end - start < 4) throw new Error('snapshot file: torn frame header');
      const n = buf.readUInt32BE(start);
      if (n > MAX_FRAME_BYTES) throw new Error(`snapshot file: frame of ${n} bytes`);
      if (4 + n > buf.length) {
        const bigger = Buffer.allocUnsafe(4 + n);
        buf.copy(bigger, 0, start, end);
        end -= start;
        start = 0;
        buf = bigger;
      }
      while (end - start < 4 + n && !eof) fill();
      if (end - start < 4 + n) throw new Error('snapshot file: torn frame');
      yield decodeValue(buf.subarray(start + 4, start + 4 + n));
      start += 4 + n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Raft snapshot data that stands for a snapshot file on this member. */
export function snapshotRef(file: string, bytes: number): Uint8Array {
  return encodeValue({ snapshotFile: file, bytes });
}

/** The file a `snapshotRef` names, or undefined when `data` is not one. */
export function readSnapshotRef(data: Uint8Array): { file: string; bytes: number } | undefined {
  try {
    const v = decodeValue(data) as Record<string, Codable> | undefined;
    if (v && typeof v === 'object' && typeof v.snapshotFile === 'string' && typeof v.bytes === 'number')
      return { file: v.snapshotFile, bytes: v.bytes };
  } catch {
    // not a reference
  }
  return undefined;
}

/** A fresh file name in `dir` for a snapshot being sent (`send-…`) or received (`recv-…`). */
export function snapshotFileName(dir: string, kind: 'send' | 'recv'): string {
  return path.join(dir, `${kind}-${Date.now()}-${randomBytes(4).toString('hex')}.snap`);
}

/**
 * Remove snapshot files of `dir` that nothing uses any more: every one when `olderThanMs` is 0 (at
 * start), else those not modified for that long (received ones Raft dropped as stale).
 */
export function sweepSnapshotFiles(
  dir: string,
  olderThanMs: number,
  keep: ReadonlySet<string> = new Set(),
): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const n of names) {
    if (!n.endsWith('.snap') && !n.endsWith('.snap.tmp')) continue;
    const f = path.join(dir, n);
    if (keep.has(f)) continue;
    try {
      if (olderThanMs === 0 || now - fs.statSync(f).mtimeMs > olderThanMs) fs.rmSync(f, { force: true });
    } catch {
      // gone meanwhile
    }
  }
}
