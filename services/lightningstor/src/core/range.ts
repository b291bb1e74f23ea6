/** HTTP Range for GetObject (RFC 9110 §14, S3's single-range subset). */
import { S3Error } from './s3-error.js';

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parse `Range` against an object of `size` bytes. `undefined` means "serve the whole object" (no
 * header, or a header S3 ignores: other units, several ranges, bad syntax). Unsatisfiable → InvalidRange.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return undefined;
  const a = m[1] ?? '';
  const b = m[2] ?? '';
  if (a === '' && b === '') return undefined;
  const unsatisfiable = (): never => {
    throw new S3Error('InvalidRange', 'The requested range is not satisfiable', {
      extra: { ActualObjectSize: String(size), RangeRequested: header.trim() },
      headers: { 'Content-Range': `bytes */${size}` },
    });
  };
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return unsatisfiable();
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (b !== '' && Number(b) < start) return undefined;
  if (start >= size) return unsatisfiable();
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  return { start, end };
}
