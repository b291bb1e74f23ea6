/**
 * The payload of an S3 request, whatever its framing: plain (signed hash, UNSIGNED-PAYLOAD) or
 * aws-chunked (signed chunks, unsigned with a checksum trailer). Checked after it has been consumed:
 * payload hash, declared length, Content-MD5 and `x-amz-checksum-*` (header or trailer).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { S3Error } from '../core/s3-error.js';
import { decodeAwsChunked } from './aws-chunked.js';
import type { ChunkedResult } from './aws-chunked.js';
import { CHECKSUM_ALGORITHMS, checksumAlgorithm, declaredChecksums, newChecksummer } from './checksums.js';
import type { ChecksumAlgorithm } from './checksums.js';
import {
  STREAMING_SIGNED,
  STREAMING_SIGNED_TRAILER,
  STREAMING_UNSIGNED_TRAILER,
  UNSIGNED_PAYLOAD,
} from './sigv4.js';
import type { SigningContext } from './sigv4.js';
import type { StagedData } from '../storage/object-store.js';

/** A request payload ready to be streamed. */
export interface RequestBody {
  source: AsyncIterable<Buffer>;
  /** The signed sha256 (hex) to check, when the payload hash is a real hash. */
  sha256?: string;
  /** Expected decoded length, when known. */
  length?: number;
  trailers: ChunkedResult;
  /** Checksum algorithms to compute (declared in headers, the trailer or x-amz-sdk-checksum-algorithm). */
  algorithms: ChecksumAlgorithm[];
  /** Values declared in headers. */
  declared: Map<ChecksumAlgorithm, string>;
  contentMd5?: string;
}

/** Set up reading the body of `req`. */
export function openBody(req: IncomingMessage, signing: SigningContext | undefined): RequestBody {
  const payloadHash =
    signing?.payloadHash ?? (req.headers['x-amz-content-sha256'] as string | undefined) ?? UNSIGNED_PAYLOAD;
  const trailers: ChunkedResult = { trailers: new Map() };
  const declared = declaredChecksums(req.headers);
  const algs = new Set<ChecksumAlgorithm>(declared.keys());
  const sdkAlg = req.headers['x-amz-sdk-checksum-algorithm'] ?? req.headers['x-amz-checksum-algorithm'];
  if (typeof sdkAlg === 'string' && sdkAlg !== '') algs.add(checksumAlgorithm(sdkAlg));
  const trailerHeader = req.headers['x-amz-trailer'];
  if (typeof trailerHeader === 'string') {
    for (const t of trailerHeader.split(',')) {
      const name = t.trim().toLowerCase();
      if (!name.startsWith('x-amz-checksum-'))
        throw new S3Error('InvalidRequest', `Unsupported trailer ${name}`);
      algs.add(checksumAlgorithm(name.slice('x-amz-checksum-'.length)));
    }
  }
  const md5 = req.headers['content-md5'];
  const body: RequestBody = {
    source: req,
    trailers,
    algorithms: [...algs],
    declared,
    ...(typeof md5 === 'string' ? { contentMd5: md5 } : {}),
  };
  const decoded = req.headers['x-amz-decoded-content-length'];
  if (payloadHash.startsWith('STREAMING-')) {
    if (
      payloadHash !== STREAMING_SIGNED &&
      payloadHash !== STREAMING_SIGNED_TRAILER &&
      payloadHash !== STREAMING_UNSIGNED_TRAILER
    ) {
      throw new S3Error('InvalidArgument', `Unsupported x-amz-content-sha256 value ${payloadHash}`);
    }
    const signed = payloadHash !== STREAMING_UNSIGNED_TRAILER;
    if (signed && signing === undefined)
      throw new S3Error('AccessDenied', 'A signed streaming payload needs a signed request');
    body.source = decodeAwsChunked(
      req,
      {
        ...(signed ? { signing: signing as SigningContext } : {}),
        trailer: payloadHash !== STREAMING_SIGNED,
        signedTrailer: payloadHash === STREAMING_SIGNED_TRAILER,
      },
      trailers,
    );
    if (typeof decoded === 'string') {
      const n = Number(decoded);
      if (!Number.isSafeInteger(n) || n < 0)
        throw new S3Error('InvalidArgument', 'Bad x-amz-decoded-content-length');
      body.length = n;
    } else if (req.headers['content-length'] !== undefined) {
      throw new S3Error(
        'MissingContentLength',
        'x-amz-decoded-content-length is required with aws-chunked bodies',
      );
    }
  } else {
    if (payloadHash !== UNSIGNED_PAYLOAD) {
      if (!/^[0-9a-f]{64}$/i.test(payloadHash))
        throw new S3Error(
          'InvalidArgument',
          'x-amz-content-sha256 must be a hex SHA-256, UNSIGNED-PAYLOAD or STREAMING-*',
        );
      body.sha256 = payloadHash.toLowerCase();
    }
    const cl = req.headers['content-length'];
    if (cl !== undefined) body.length = Number(cl);
  }
  return body;
}

const NAMES: Record<ChecksumAlgorithm, string> = {
  crc32: 'CRC32',
  crc32c: 'CRC32C',
  crc64nvme: 'CRC64NVME',
  sha1: 'SHA1',
  sha256: 'SHA256',
};

/**
 * Check a consumed body against everything that was declared about it. Returns the checksums to
 * store (algorithm → base64). Throws (the caller discards the staged file).
 */
export function verifyBody(
  body: RequestBody,
  staged: Pick<StagedData, 'size' | 'md5Hex' | 'sha256Hex' | 'checksums'>,
): Record<string, string> {
  if (body.length !== undefined && body.length !== staged.size) {
    throw new S3Error(
      'IncompleteBody',
      'You did not provide the number of bytes specified by the Content-Length HTTP header',
    );
  }
  if (body.sha256 !== undefined && staged.sha256Hex !== body.sha256) {
    throw new S3Error(
      'XAmzContentSHA256Mismatch',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  if (body.contentMd5 !== undefined) {
    const b = Buffer.from(body.contentMd5, 'base64');
    if (b.length !== 16) throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.');
    if (b.toString('hex') !== staged.md5Hex)
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const out: Record<string, string> = {};
  for (const alg of CHECKSUM_ALGORITHMS) {
    const computed = staged.checksums.get(alg);
    if (computed === undefined) continue;
    const claimed = body.declared.get(alg) ?? body.trailers.trailers.get(`x-amz-checksum-${alg}`);
    if (claimed !== undefined && claimed !== computed) {
      throw new S3Error(
        'BadDigest',
        `The ${NAMES[alg]} you specified did not match the calculated checksum.`,
      );
    }
    out[alg] = computed;
  }
  return out;
}

/** Read a small body (XML documents) into memory, verified; `limit` bytes at most. */
export async function readSmallBody(body: RequestBody, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body.source) {
    size += c.length;
    if (size > limit) throw new S3Error('MaxMessageLengthExceeded', 'Your request was too big.');
    chunks.push(c);
  }
  const buf = Buffer.concat(chunks);
  const sums = new Map<ChecksumAlgorithm, string>();
  for (const alg of body.algorithms) {
    const c = newChecksummer(alg);
    c.update(buf);
    sums.set(alg, c.digest());
  }
  verifyBody(body, {
    size: buf.length,
    md5Hex: createHash('md5').update(buf).digest('hex'),
    sha256Hex: createHash('sha256').update(buf).digest('hex'),
    checksums: sums,
  });
  return buf;
}
