/**
 * Write-ahead log: the durable record of Raft entries and hard state.
 *
 * Files: `<seq:16 hex>-<firstIndex:16 hex>.wal` in one directory. Each segment starts with a SEGMENT
 * record naming the index/term just before its first entry (so the oldest surviving segment tells
 * where the log starts after compaction) and a HARD_STATE record (so dropping older segments never
 * loses the vote). Records:
 *
 *   u32 payloadLength | u32 crc32c(payload) | payload = u8 type | u64 term | u64 index | data
 *
 * big-endian. Types: 1 normal entry, 2 conf-change entry, 3 hard state (term, index = commit,
 * data = vote), 4 segment header (term/index = the entry before the segment, data = magic).
 * A later entry with an index at or below the last one replaces the tail (Raft log truncation).
 *
 * Crash safety: a batch is one `write` then one `fdatasync`, so a crash leaves at most a torn tail in
 * the last segment; `open` verifies every record and truncates the last segment at the first bad
 * one. A bad record in an older segment is real corruption and fails the open. New segments are
 * written under a temporary name, synced and renamed, so a segment either exists whole or not at all.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32c } from './crc32c.js';
import type { Entry, HardState, InitialState, SnapshotMeta } from './core/types.js';

const REC_ENTRY_NORMAL = 1;
const REC_ENTRY_CONF = 2;
const REC_HARD_STATE = 3;
const REC_SEGMENT = 4;
const FRAME = 8; // length + crc
const PAYLOAD_FIXED = 17; // type + term + index
/** Larger than any legal record (entries are capped well below); anything bigger is garbage. */
const MAX_PAYLOAD = 256 * 1024 * 1024;
const MAGIC = new TextEncoder().encode('photoncloud-wal-v1');
const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

/** Default segment size: rolled over at 64 MiB so compaction can drop whole files. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

export interface WalOptions {
  /** Roll over to a new segment once the current one exceeds this many bytes. */
  segmentBytes?: number;
}

/** What `open` found and repaired. */
export interface WalOpenReport {
  /** Bytes cut from the end of the last segment (a torn or corrupt tail); 0 when clean. */
  truncatedBytes: number;
  /** Segment files found. */
  segments: number;
}

/** Thrown when the WAL is damaged somewhere a crash cannot explain. */
export class WalCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WalCorruptError';
  }
}

interface SegmentInfo {
  seq: number;
  firstIndex: number;
  file: string;
}

function segmentName(seq: number, firstIndex: number): string {
  return `${seq.toString(16).padStart(16, '0')}-${firstIndex.toString(16).padStart(16, '0')}.wal`;
}

function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32BE(Math.floor(value / 0x100000000), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * 0x100000000 + buf.readUInt32BE(offset + 4);
}

/** Append one framed record to `parts`; returns its length. */
function frame(parts: Buffer[], type: number, term: number, index: number, data: Uint8Array): number {
  const payloadLen = PAYLOAD_FIXED + data.length;
  const buf = Buffer.allocUnsafe(FRAME + payloadLen);
  buf.writeUInt32BE(payloadLen, 0);
  buf.writeUInt8(type, FRAME);
  writeU64(buf, term, FRAME + 1);
  writeU64(buf, index, FRAME + 9);
  buf.set(data, FRAME + PAYLOAD_FIXED);
  buf.writeUInt32BE(crc32c(buf, 0, FRAME, buf.length), 4);
  parts.push(buf);
  return buf.length;
}

function encodeHardState(parts: Buffer[], hs: HardState): number {
  return frame(parts, REC_HARD_STATE, hs.term, hs.commit, Buffer.from(hs.vote, 'utf8'));
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Write the whole buffer at `position`. Synchronous on purpose: it only copies into the page cache
 * (microseconds), and doing it inline saves a thread-pool round trip per batch; the fdatasync that
 * follows is the slow part and runs on the thread pool.
 */
function writeAll(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off, position + off);
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/** Scan state while reading segments in order. */
interface ScanState {
  snapshot: SnapshotMeta;
  entries: Entry[];
  hardState: HardState;
  sawHeader: boolean;
}

/**
 * Parse one segment's records into `st`. Returns the offset of the first bad record, or the buffer
 * length when every record is good.
 */
function scanSegment(buf: Buffer, st: ScanState, name: string): number {
  let off = 0;
  let first = true;
  while (off < buf.length) {
    if (off + FRAME + PAYLOAD_FIXED > buf.length) return off;
    const len = buf.readUInt32BE(off);
    if (len < PAYLOAD_FIXED || len > MAX_PAYLOAD || off + FRAME + len > buf.length) return off;
    if (crc32c(buf, 0, off + FRAME, off + FRAME + len) !== buf.readUInt32BE(off + 4)) return off;
    const p = off + FRAME;
    const type = buf.readUInt8(p);
    const term = readU64(buf, p + 1);
    const index = readU64(buf, p + 9);
    const data = buf.subarray(p + PAYLOAD_FIXED, p + len);
    if (first && type !== REC_SEGMENT)
      throw new WalCorruptError(`wal: ${name} does not start with a segment header`);
    first = false;
    switch (type) {
      case REC_SEGMENT: {
        if (!Buffer.from(MAGIC).equals(data))
          throw new WalCorruptError(`wal: ${name} has a bad segment header`);
        applySegmentHeader(st, index, term);
        break;
      }
      case REC_HARD_STATE:
        st.hardState = { term, commit: index, vote: data.toString('utf8') };
        break;
      case REC_ENTRY_NORMAL:
      case REC_ENTRY_CONF: {
        const last = st.snapshot.index + st.entries.length;
        if (index <= st.snapshot.index || index > last + 1) {
          throw new WalCorruptError(`wal: ${name}: entry ${index} does not follow ${last}`);
        }
        if (index <= last) st.entries.length = index - st.snapshot.index - 1;
        // Copy: the segment buffer is dropped after the scan.
        st.entries.push({
          term,
          index,
          type: type === REC_ENTRY_CONF ? 'confChange' : 'normal',
          data: Uint8Array.prototype.slice.call(data),
        });
        break;
      }
      default:
        return off;
    }
    off += FRAME + len;
  }
  return off;
}

function applySegmentHeader(st: ScanState, prevIndex: number, prevTerm: number): void {
  const last = st.snapshot.index + st.entries.length;
  if (!st.sawHeader || prevIndex > last) {
    // The first segment, or a reset past everything before (the state machine was ahead).
    st.snapshot = { index: prevIndex, term: prevTerm };
    st.entries = [];
  } else if (prevIndex < last) {
    st.entries.length = Math.max(0, prevIndex - st.snapshot.index);
  }
  st.sawHeader = true;
}

/** The write-ahead log of one Raft node. Not safe for concurrent `save` calls (the driver serialises). */
export class Wal {
  private readonly dir: string;
  private readonly segmentBytes: number;
  private segs: SegmentInfo[];
  private fd: number;
  private size: number;
  private lastIndex: number;
  private lastTerm: number;
  private hardState: HardState;
  private busy = false;
  private closed = false;
  /** fdatasync calls made by `save` (group commit shows as far fewer syncs than entries). */
  syncs = 0;

  private constructor(
    dir: string,
    segmentBytes: number,
    segs: SegmentInfo[],
    fd: number,
    size: number,
    st: ScanState,
  ) {
    this.dir = dir;
    this.segmentBytes = segmentBytes;
    this.segs = segs;
    this.fd = fd;
    this.size = size;
    const last = st.entries[st.entries.length - 1];
    this.lastIndex = last ? last.index : st.snapshot.index;
    this.lastTerm = last ? last.term : st.snapshot.term;
    this.hardState = st.hardState;
  }

  /**
   * Open (creating when empty) the WAL in `dir`: verify every record, cut a torn tail, and return
   * the state to start Raft from.
   */
  static async open(
    dir: string,
    opts: WalOptions = {},
  ): Promise<{ wal: Wal; state: InitialState; report: WalOpenReport }> {
    const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(dir))
      if (f.endsWith('.tmp')) fs.rmSync(path.join(dir, f), { force: true });
    const segs: SegmentInfo[] = [];
    for (const f of fs.readdirSync(dir)) {
      const m = SEGMENT_RE.exec(f);
      if (m) segs.push({ seq: parseInt(m[1]!, 16), firstIndex: parseInt(m[2]!, 16), file: f });
    }
    segs.sort((a, b) => a.seq - b.seq);
    const st: ScanState = {
      snapshot: { index: 0, term: 0 },
      entries: [],
      hardState: { term: 0, vote: '', commit: 0 },
      sawHeader: false,
    };
    let truncatedBytes = 0;
    let lastSize = 0;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const file = path.join(dir, seg.file);
      const buf = fs.readFileSync(file);
      const good = scanSegment(buf, st, seg.file);
      if (good < buf.length) {
        if (i !== segs.length - 1) {
          throw new WalCorruptError(
            `wal: ${seg.file} is corrupt at offset ${good} and is not the last segment`,
          );
        }
        // A torn write from a crash: drop the tail, make the cut durable, carry on.
        truncatedBytes = buf.length - good;
        fs.truncateSync(file, good);
        const fd = fs.openSync(file, 'r+');
        fs.fsyncSync(fd);
        fs.closeSync(fd);
      }
      lastSize = good;
    }
    if (segs.length === 0) {
      const seg = { seq: 0, firstIndex: 1, file: segmentName(0, 1) };
      lastSize = Wal.createSegment(dir, seg.file, { index: 0, term: 0 }, st.hardState);
      segs.push(seg);
    }
    const lastSeg = segs[segs.length - 1]!;
    const fd = fs.openSync(path.join(dir, lastSeg.file), 'r+');
    const wal = new Wal(dir, segmentBytes, segs, fd, lastSize, st);
    const state: InitialState = { hardState: st.hardState, snapshot: st.snapshot, entries: st.entries };
    return { wal, state, report: { truncatedBytes, segments: segs.length } };
  }

  /** Write a complete new segment atomically (tmp file, fsync, rename, fsync dir); returns its size. */
  private static createSegment(dir: string, file: string, prev: SnapshotMeta, hs: HardState): number {
    const parts: Buffer[] = [];
    frame(parts, REC_SEGMENT, prev.term, prev.index, MAGIC);
    encodeHardState(parts, hs);
    const buf = Buffer.concat(parts);
    const tmp = path.join(dir, `${file}.tmp`);
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, buf, 0, buf.length, 0);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path.join(dir, file));
    fsyncDir(dir);
    return buf.length;
  }

  /**
   * Persist a Ready: its hard state (if any) and entries, as ONE write followed (when `sync`) by ONE
   * fdatasync. Resolves once durable.
   */
  async save(hardState: HardState | undefined, entries: Entry[], sync: boolean): Promise<void> {
    if (this.closed) throw new Error('wal: closed');
    if (this.busy) throw new Error('wal: concurrent save');
    if (!hardState && entries.length === 0) return;
    this.busy = true;
    try {
      const first = entries[0];
      // Roll over before a batch that continues the log, so the new header is exactly the entry
      // before it (a batch replacing our tail waits for the next plain append).
      if (first && this.size >= this.segmentBytes && first.index === this.lastIndex + 1) {
        await this.cut({ index: this.lastIndex, term: this.lastTerm });
      }
      const parts: Buffer[] = [];
      let len = 0;
      for (const e of entries)
        len += frame(
          parts,
          e.type === 'confChange' ? REC_ENTRY_CONF : REC_ENTRY_NORMAL,
          e.term,
          e.index,
          e.data,
        );
      if (hardState) len += encodeHardState(parts, hardState);
      const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, len);
      writeAll(this.fd, buf, this.size);
      this.size += buf.length;
      if (sync) {
        this.syncs++;
        await fdatasync(this.fd);
      }
      const last = entries[entries.length - 1];
      if (last) {
        this.lastIndex = last.index;
        this.lastTerm = last.term;
      }
      if (hardState) this.hardState = hardState;
    } finally {
      this.busy = false;
    }
  }

  /** Start a new segment whose header says the log continues after `prev`. */
  private async cut(prev: SnapshotMeta): Promise<void> {
    await fdatasync(this.fd);
    const last = this.segs[this.segs.length - 1]!;
    const seg: SegmentInfo = {
      seq: last.seq + 1,
      firstIndex: prev.index + 1,
      file: segmentName(last.seq + 1, prev.index + 1),
    };
    const size = Wal.createSegment(this.dir, seg.file, prev, this.hardState);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(path.join(this.dir, seg.file), 'r+');
    this.size = size;
    this.segs.push(seg);
  }

  /**
   * Drop whole segments whose entries are all at or below `index` (a durable state-machine
   * checkpoint). The current segment is never dropped. Returns how many files were removed.
   */
  compact(index: number): number {
    let n = 0;
    while (this.segs.length > 1 && this.segs[1]!.firstIndex - 1 <= index) {
      const seg = this.segs.shift()!;
      fs.rmSync(path.join(this.dir, seg.file), { force: true });
      n++;
    }
    if (n > 0) fsyncDir(this.dir);
    return n;
  }

  /**
   * The state machine holds entries beyond our end (our tail was lost): restart the log after
   * `snap` in a fresh segment and drop every older one.
   */
  async resetTo(snap: SnapshotMeta, hardState: HardState): Promise<void> {
    this.hardState = hardState;
    await this.cut(snap);
    this.lastIndex = snap.index;
    this.lastTerm = snap.term;
    this.compact(snap.index);
  }

  /** Segment files, oldest first (for tests and status). */
  segmentFiles(): string[] {
    return this.segs.map((s) => s.file);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await fdatasync(this.fd);
    fs.closeSync(this.fd);
  }
}
