/**
 * CRC-64/NVME (S3's `x-amz-checksum-crc64nvme`): reflected polynomial 0x9A6C9329AC4BC9B5, init and
 * xorout all ones. 64-bit state kept as two unsigned 32-bit halves (no BigInt on the hot path).
 */

const POLY_HI = 0x9a6c9329;
const POLY_LO = 0xac4bc9b5;

const [T_HI, T_LO] = ((): [Uint32Array, Uint32Array] => {
  const hiT = new Uint32Array(256);
  const loT = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let hi = 0;
    let lo = n;
    for (let k = 0; k < 8; k++) {
      const lsb = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (lsb) {
        hi = (hi ^ POLY_HI) >>> 0;
        lo = (lo ^ POLY_LO) >>> 0;
      }
    }
    hiT[n] = hi;
    loT[n] = lo;
  }
  return [hiT, loT];
})();

/** A CRC-64/NVME value as [high 32 bits, low 32 bits]. */
export type Crc64 = readonly [number, number];

/** The initial state to pass to `crc64nvme`. */
export const CRC64_START: Crc64 = [0, 0];

/** Continue a CRC-64/NVME over `data` from `prev` (`CRC64_START` to begin). */
export function crc64nvme(data: Uint8Array, prev: Crc64 = CRC64_START): Crc64 {
  let hi = ~prev[0] >>> 0;
  let lo = ~prev[1] >>> 0;
  for (let i = 0; i < data.length; i++) {
    const idx = (lo ^ (data[i] as number)) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ (T_LO[idx] as number)) >>> 0;
    hi = ((hi >>> 8) ^ (T_HI[idx] as number)) >>> 0;
  }
  return [~hi >>> 0, ~lo >>> 0];
}
