/**
 * Gorilla-style compressed chunk (Facebook's "Gorilla" paper, as in Prometheus' XOR chunks):
 * timestamps as delta-of-delta with variable-width buckets, values as the XOR with the previous
 * value, storing only the meaningful bits. Staleness markers keep their exact NaN bit pattern.
 */

/** One decoded sample. */
export interface ChunkSample {
  readonly t: number;
  readonly v: number;
  readonly stale: boolean;
}

/** Prometheus' staleness marker bit pattern (a signalling NaN with payload 2). */
export const STALE_HI = 0x7ff00000;
/** Low word of the staleness marker. */
export const STALE_LO = 0x00000002;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = LITTLE ? 1 : 0;

function toBits(v: number): [number, number] {
  f64[0] = v;
  return [u32[HI] as number, u32[LO] as number];
}

function fromBits(hi: number, lo: number): number {
  u32[HI] = hi;
  u32[LO] = lo;
  return f64[0] as number;
}

class BitWriter {
  private bytes = new Uint8Array(64);
  private bitLen = 0;

  bit(b: number): void {
    const byte = this.bitLen >>> 3;
    if (byte >= this.bytes.length) {
      const n = new Uint8Array(this.bytes.length * 2);
      n.set(this.bytes);
      this.bytes = n;
    }
    if (b) this.bytes[byte] = (this.bytes[byte] as number) | (0x80 >>> (this.bitLen & 7));
    this.bitLen++;
  }

  /** Writes the low n (<= 32) bits of x, most significant first. */
  bits(x: number, n: number): void {
    for (let i = n - 1; i >= 0; i--) this.bit(i >= 32 ? 0 : (x >>> i) & 1);
  }

  /** Writes bits [from, to) of a 64-bit (hi, lo) word, most significant first. */
  range64(hi: number, lo: number, from: number, to: number): void {
    for (let p = to - 1; p >= from; p--) this.bit(p >= 32 ? (hi >>> (p - 32)) & 1 : (lo >>> p) & 1);
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, (this.bitLen + 7) >>> 3);
  }
}

class BitReader {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  bit(): number {
    const byte = this.bytes[this.pos >>> 3];
    if (byte === undefined) throw new Error('chunk truncated');
    const b = (byte >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  bits(n: number): number {
    let x = 0;
    for (let i = 0; i < n; i++) x = x * 2 + this.bit();
    return x;
  }
}

function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}

function ctz64(hi: number, lo: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

function writeSigned64(w: BitWriter, x: number): void {
  const hi = Math.floor(x / 4294967296);
  const lo = x - hi * 4294967296;
  w.bits(hi >>> 0, 32);
  w.bits(lo >>> 0, 32);
}

function readSigned64(r: BitReader): number {
  const hi = r.bits(32) | 0;
  const lo = r.bits(32);
  return hi * 4294967296 + lo;
}

/** Appends samples one at a time and produces the compressed bytes. */
export class XorChunkEncoder {
  private readonly w = new BitWriter();
  private n = 0;
  private prevT = 0;
  private prevDelta = 0;
  private prevHi = 0;
  private prevLo = 0;
  private leading = 0xff;
  private trailing = 0;

  /** Number of samples appended. */
  get count(): number {
    return this.n;
  }

  /** Appends a sample; timestamps must be integers (ms) in increasing order. */
  append(t: number, v: number, stale = false): void {
    const [hi, lo] = stale ? [STALE_HI, STALE_LO] : toBits(v);
    const w = this.w;
    if (this.n === 0) {
      writeSigned64(w, t);
      w.bits(hi, 32);
      w.bits(lo, 32);
    } else {
      const delta = t - this.prevT;
      const dod = delta - this.prevDelta;
      if (dod === 0) w.bit(0);
      else if (dod >= -8191 && dod <= 8192) {
        w.bits(0b10, 2);
        w.bits(dod & 0x3fff, 14);
      } else if (dod >= -65535 && dod <= 65536) {
        w.bits(0b110, 3);
        w.bits(dod & 0x1ffff, 17);
      } else if (dod >= -524287 && dod <= 524288) {
        w.bits(0b1110, 4);
        w.bits(dod & 0xfffff, 20);
      } else {
        w.bits(0b1111, 4);
        writeSigned64(w, dod);
      }
      this.prevDelta = delta;
      const xh = (hi ^ this.prevHi) >>> 0;
      const xl = (lo ^ this.prevLo) >>> 0;
      if (xh === 0 && xl === 0) w.bit(0);
      else {
        w.bit(1);
        let leading = clz64(xh, xl);
        const trailing = ctz64(xh, xl);
        if (leading >= 32) leading = 31; // 5 bits hold the leading-zero count
        if (this.leading !== 0xff && leading >= this.leading && trailing >= this.trailing) {
          w.bit(0);
          w.range64(xh, xl, this.trailing, 64 - this.leading);
        } else {
          this.leading = leading;
          this.trailing = trailing;
          const sig = 64 - leading - trailing;
          w.bit(1);
          w.bits(leading, 5);
          w.bits(sig & 63, 6); // 64 significant bits are written as 0
          w.range64(xh, xl, trailing, 64 - leading);
        }
      }
    }
    this.prevT = t;
    this.prevHi = hi;
    this.prevLo = lo;
    this.n++;
  }

  /** The compressed bytes so far. */
  bytes(): Uint8Array {
    return this.w.finish();
  }
}

function signExtend(x: number, bits: number): number {
  const top = 2 ** (bits - 1);
  return x >= top ? x - 2 ** bits : x;
}

/** Decodes `count` samples from a chunk. */
export function decodeXorChunk(bytes: Uint8Array, count: number): ChunkSample[] {
  const out: ChunkSample[] = [];
  if (count === 0) return out;
  const r = new BitReader(bytes);
  let t = readSigned64(r);
  let hi = r.bits(32);
  let lo = r.bits(32);
  out.push({ t, v: fromBits(hi, lo), stale: hi === STALE_HI && lo === STALE_LO });
  let delta = 0;
  let leading = 0;
  let trailing = 0;
  for (let i = 1; i < count; i++) {
    // Prefix: 0, 10, 110, 1110 or 1111 selects the delta-of-delta width.
    let ones = 0;
    while (ones < 4 && r.bit() === 1) ones++;
    let dod: number;
    if (ones === 0) dod = 0;
    else if (ones === 1) dod = signExtend(r.bits(14), 14);
    else if (ones === 2) dod = signExtend(r.bits(17), 17);
    else if (ones === 3) dod = signExtend(r.bits(20), 20);
    else dod = readSigned64(r);
    delta += dod;
    t += delta;
    if (r.bit() === 1) {
      if (r.bit() === 1) {
        leading = r.bits(5);
        let sig = r.bits(6);
        if (sig === 0) sig = 64;
        trailing = 64 - leading - sig;
      }
      const sig = 64 - leading - trailing;
      let xh = 0;
      let xl = 0;
      for (let p = trailing + sig - 1; p >= trailing; p--) {
        const b = r.bit();
        if (b) {
          if (p >= 32) xh = (xh | (1 << (p - 32))) >>> 0;
          else xl = (xl | (1 << p)) >>> 0;
        }
      }
      hi = (hi ^ xh) >>> 0;
      lo = (lo ^ xl) >>> 0;
    }
    out.push({ t, v: fromBits(hi, lo), stale: hi === STALE_HI && lo === STALE_LO });
  }
  return out;
}
