/**
 * Decoder (and encoder, for tests and clients) of Prometheus remote write 1.0 `WriteRequest`
 * protobuf messages (prompb/remote.proto, types.proto). Hand-written so that sample values keep
 * their exact bits: a staleness marker is a NaN with a payload, which generic decoders may lose.
 */
import type { Labels } from './promql/labels.js';
import { labelsFromPairs } from './promql/labels.js';
import { STALE_HI, STALE_LO } from './xor-chunk.js';

/** A decoded sample. */
export interface WriteSample {
  readonly t: number;
  readonly v: number;
  readonly stale: boolean;
}

/** A decoded time series. */
export interface WriteSeries {
  readonly labels: Labels;
  /** Label pairs as sent (to detect duplicates or bad names). */
  readonly rawLabels: readonly (readonly [string, string])[];
  readonly samples: WriteSample[];
}

/** Metric metadata as sent by the client. */
export interface WriteMetadata {
  readonly metric: string;
  readonly type: string;
  readonly help: string;
  readonly unit: string;
}

/** A decoded WriteRequest. */
export interface WriteRequest {
  readonly series: WriteSeries[];
  readonly metadata: WriteMetadata[];
}

/** Malformed protobuf input. */
export class ProtobufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufError';
  }
}

const METRIC_TYPES = [
  'unknown',
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
];

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

class Reader {
  pos: number;
  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new ProtobufError('varint too long');
  }

  /** A varint read as a signed 64-bit int (two's complement), exact within ±2^53. */
  int64(): number {
    const start = this.pos;
    const v = this.varint();
    if (this.pos - start <= 7) return v; // < 2^49: exact as a double
    // Large or negative: redo the arithmetic exactly.
    let big = 0n;
    for (let i = this.pos - 1; i >= start; i--) big = (big << 7n) | BigInt((this.buf[i] as number) & 0x7f);
    return Number(BigInt.asIntN(64, big));
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) throw new ProtobufError('truncated fixed32');
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (
      ((b[p] as number) |
        ((b[p + 1] as number) << 8) |
        ((b[p + 2] as number) << 16) |
        ((b[p + 3] as number) << 24)) >>>
      0
    );
  }

  bytes(): [number, number] {
    const len = this.varint();
    if (this.pos + len > this.end) throw new ProtobufError('truncated length-delimited field');
    const start = this.pos;
    this.pos += len;
    return [start, start + len];
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new ProtobufError(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new ProtobufError('truncated field');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function str(buf: Uint8Array, [s, e]: [number, number]): string {
  try {
    return utf8.decode(buf.subarray(s, e));
  } catch {
    throw new ProtobufError('invalid UTF-8 in string field');
  }
}

function decodeSample(buf: Uint8Array, range: [number, number]): WriteSample {
  const r = new Reader(buf, range[0], range[1]);
  let t = 0;
  let v = 0;
  let stale = false;
  while (!r.done()) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 1) {
      const lo = r.fixed32();
      const hi = r.fixed32();
      stale = hi === STALE_HI && lo === STALE_LO;
      u32[LITTLE ? 0 : 1] = lo;
      u32[LITTLE ? 1 : 0] = hi;
      v = f64[0] as number;
    } else if (field === 2 && wire === 0) t = r.int64();
    else r.skip(wire);
  }
  return { t, v, stale };
}

function decodeSeries(buf: Uint8Array, range: [number, number]): WriteSeries {
  const r = new Reader(buf, range[0], range[1]);
  const raw: [string, string][] = [];
  const samples: WriteSample[] = [];
  while (!r.done()) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 2) {
      const lr = new Reader(buf, ...r.bytes());
      let name = '';
      let value = '';
      while (!lr.done()) {
        const k = lr.varint();
        if (k === 10) name = str(buf, lr.bytes());
        else if (k === 18) value = str(buf, lr.bytes());
        else lr.skip(k & 7);
      }
      raw.push([name, value]);
    } else if (field === 2 && wire === 2) samples.push(decodeSample(buf, r.bytes()));
    else r.skip(wire);
  }
  return { labels: labelsFromPairs(raw), rawLabels: raw, samples };
}

function decodeMetadata(buf: Uint8Array, range: [number, number]): WriteMetadata {
  const r = new Reader(buf, range[0], range[1]);
  let type = 'unknown';
  let metric = '';
  let help = '';
  let unit = '';
  while (!r.done()) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 0) type = METRIC_TYPES[r.varint()] ?? 'unknown';
    else if (field === 2 && wire === 2) metric = str(buf, r.bytes());
    else if (field === 4 && wire === 2) help = str(buf, r.bytes());
    else if (field === 5 && wire === 2) unit = str(buf, r.bytes());
    else r.skip(wire);
  }
  return { metric, type, help, unit };
}

/** Decodes an (uncompressed) WriteRequest. */
export function decodeWriteRequest(buf: Uint8Array): WriteRequest {
  const r = new Reader(buf);
  const series: WriteSeries[] = [];
  const metadata: WriteMetadata[] = [];
  while (!r.done()) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 2) series.push(decodeSeries(buf, r.bytes()));
    else if (field === 3 && wire === 2) metadata.push(decodeMetadata(buf, r.bytes()));
    else r.skip(wire);
  }
  return { series, metadata };
}

class Writer {
  private parts: number[] = [];

  varint(v: number): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 128n) {
      this.parts.push(Number(x & 127n) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
    return this;
  }

  key(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2).varint(data.length);
    for (const b of data) this.parts.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  double(field: number, v: number, stale: boolean): this {
    this.key(field, 1);
    let lo: number;
    let hi: number;
    if (stale) {
      lo = STALE_LO;
      hi = STALE_HI;
    } else {
      f64[0] = v;
      lo = u32[LITTLE ? 0 : 1] as number;
      hi = u32[LITTLE ? 1 : 0] as number;
    }
    for (const w of [lo, hi]) for (let i = 0; i < 4; i++) this.parts.push((w >>> (8 * i)) & 0xff);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Encodes a WriteRequest (used by tests and the scrape-to-remote-write path). */
export function encodeWriteRequest(req: {
  series: { labels: readonly (readonly [string, string])[]; samples: readonly WriteSample[] }[];
  metadata?: readonly WriteMetadata[];
}): Uint8Array {
  const w = new Writer();
  for (const s of req.series) {
    const ts = new Writer();
    for (const [n, v] of s.labels) ts.bytes(1, new Writer().string(1, n).string(2, v).finish());
    for (const smp of s.samples)
      ts.bytes(2, new Writer().double(1, smp.v, smp.stale).key(2, 0).varint(smp.t).finish());
    w.bytes(1, ts.finish());
  }
  for (const m of req.metadata ?? []) {
    const mw = new Writer()
      .key(1, 0)
      .varint(Math.max(0, METRIC_TYPES.indexOf(m.type)))
      .string(2, m.metric)
      .string(4, m.help)
      .string(5, m.unit);
    w.bytes(3, mw.finish());
  }
  return w.finish();
}
