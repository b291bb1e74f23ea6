import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { write as writeCb, fdatasync as fdatasyncCb } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * Write-ahead log: a sequence of records framed as [u32 length][u32 CRC-32 of payload][payload].
 * Appends are group-committed: every record written during one tick shares a single write + fdatasync,
 * and each append's promise resolves only after its bytes are durable.
 */
export class Wal {
  private fd: number;
  private pending: Buffer[] = [];
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private flushing = false;
  private scheduled = false;
  private closed = false;

  private constructor(
    private readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Opens (creating) the log, returning it with every intact record; a torn tail is cut off. */
  static open(path: string): { wal: Wal; records: Buffer[] } {
    const records: Buffer[] = [];
    if (existsSync(path)) {
      const buf = readFileSync(path);
      let off = 0;
      while (off + 8 <= buf.length) {
        const len = buf.readUInt32LE(off);
        const crc = buf.readUInt32LE(off + 4);
        if (off + 8 + len > buf.length) break;
        const payload = buf.subarray(off + 8, off + 8 + len);
        if (crc32(payload) !== crc) break;
        records.push(Buffer.from(payload));
        off += 8 + len;
      }
      if (off < buf.length) truncateSync(path, off);
    }
    const fd = openSync(path, 'a');
    return { wal: new Wal(path, fd), records };
  }

  /** Frames one record. */
  static frame(payload: Buffer): Buffer {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(payload.length, 0);
    head.writeUInt32LE(crc32(payload), 4);
    return Buffer.concat([head, payload]);
  }

  /** Appends records; resolves once they are on disk. */
  append(payloads: Buffer[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('WAL is closed'));
    for (const p of payloads) this.pending.push(Wal.frame(p));
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.pending.length === 0 || this.flushing) return;
    this.flushing = true;
    const data = Buffer.concat(this.pending);
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    const done = (err: Error | null): void => {
      this.flushing = false;
      for (const w of waiters) {
        if (err) w.reject(err);
        else w.resolve();
      }
      if (this.pending.length > 0) this.schedule();
    };
    const writeAll = (off: number): void => {
      writeCb(this.fd, data, off, data.length - off, null, (err, n) => {
        if (err) return done(err);
        if (off + n < data.length) return writeAll(off + n);
        fdatasyncCb(this.fd, (e) => done(e));
      });
    };
    writeAll(0);
  }

  /** Waits for everything appended so far to be durable. */
  async sync(): Promise<void> {
    if (this.pending.length === 0 && !this.flushing) return;
    await new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Replaces the log with the given records (a checkpoint after head compaction), atomically. */
  async rewrite(payloads: Buffer[]): Promise<void> {
    await this.sync();
    const tmp = this.path + '.tmp';
    const fd = openSync(tmp, 'w');
    try {
      const data = Buffer.concat(payloads.map((p) => Wal.frame(p)));
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    closeSync(this.fd);
    renameSync(tmp, this.path);
    syncDir(dirname(this.path));
    this.fd = openSync(this.path, 'a');
  }

  /** Flushes and closes. */
  async close(): Promise<void> {
    await this.sync();
    this.closed = true;
    fdatasyncSync(this.fd);
    closeSync(this.fd);
  }
}

/** fsyncs a directory so a rename in it is durable. */
export function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}
