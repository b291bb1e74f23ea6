/** Byte helpers for keys: string conversion, prefix ranges and comparisons. */
import type { Bytes } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 encode a string key or value. */
export function bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** UTF-8 decode bytes to a string. */
export function text(b: Bytes): string {
  return decoder.decode(b);
}

/**
 * The `rangeEnd` that covers every key starting with `prefix` (etcd's GetPrefixRangeEnd):
 * the prefix with its last byte below 0xff incremented and the rest dropped; `\0` (all keys) when the
 * prefix is empty or all 0xff.
 */
export function prefixEnd(prefix: Bytes): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.slice(0, i + 1);
    }
  }
  return Uint8Array.of(0);
}

/** Lexicographic byte comparison: negative, zero or positive. */
export function compareBytes(a: Bytes, b: Bytes): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
