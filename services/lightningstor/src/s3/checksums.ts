/** The checksums S3 clients ask for (`x-amz-checksum-*`), computed incrementally while data streams. */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { crc32c } from '../core/crc32c.js';
import { crc64nvme } from '../core/crc64nvme.js';
import type { Crc64 } from '../core/crc64nvme.js';
import { S3Error } from '../core/s3-error.js';

/** Algorithms, as lower-case header suffixes. */
export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
/** A supported checksum algorithm. */
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** An incremental checksum; `digest()` is the base64 S3 puts in `x-amz-checksum-<alg>`. */
export interface Checksummer {
  update(data: Uint8Array): void;
  digest(): string;
}

function crcSum(fn: (d: Uint8Array, prev: number) => number): Checksummer {
  let v = 0;
  return {
    update(d) {
      v = fn(d, v);
    },
    digest() {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(v >>> 0);
      return b.toString('base64');
    },
  };
}

function hashSum(alg: string): Checksummer {
  const h: Hash = createHash(alg);
  return {
    update(d) {
      h.update(d);
    },
    digest() {
      return h.digest('base64');
    },
  };
}

/** A new checksummer for `alg`. */
export function newChecksummer(alg: ChecksumAlgorithm): Checksummer {
  switch (alg) {
    case 'crc32':
      return crcSum((d, p) => crc32(d, p));
    case 'crc32c':
      return crcSum(crc32c);
    case 'crc64nvme': {
      let v: Crc64 = [0, 0];
      return {
        update(d) {
          v = crc64nvme(d, v);
        },
        digest() {
          const b = Buffer.alloc(8);
          b.writeUInt32BE(v[0], 0);
          b.writeUInt32BE(v[1], 4);
          return b.toString('base64');
        },
      };
    }
    case 'sha1':
      return hashSum('sha1');
    case 'sha256':
      return hashSum('sha256');
  }
}

/** `alg` when it names a supported algorithm (any case), else InvalidRequest. */
export function checksumAlgorithm(name: string): ChecksumAlgorithm {
  const a = name.toLowerCase();
  if ((CHECKSUM_ALGORITHMS as readonly string[]).includes(a)) return a as ChecksumAlgorithm;
  throw new S3Error('InvalidRequest', `Checksum algorithm ${name} is not supported`);
}

/** Checksum values the request declares in headers: `x-amz-checksum-<alg>: <base64>`. */
export function declaredChecksums(
  headers: Record<string, string | string[] | undefined>,
): Map<ChecksumAlgorithm, string> {
  const out = new Map<ChecksumAlgorithm, string>();
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = headers[`x-amz-checksum-${alg}`];
    if (typeof v === 'string') out.set(alg, v.trim());
  }
  return out;
}
