/**
 * Decoding of `Content-Encoding: aws-chunked` bodies as a stream: `<hex-size>[;chunk-signature=<sig>]\r\n
 * <data>\r\n` … a zero-size chunk, then optional trailing headers (`x-amz-checksum-crc32:…`) and, for
 * signed trailers, `x-amz-trailer-signature:…`. Chunk and trailer signatures are verified as data flows;
 * a bad one fails the stream, so nothing unverified is ever committed.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { S3Error } from '../core/s3-error.js';
import { chunkSignature, signaturesEqual, trailerSignature } from './sigv4.js';
import type { SigningContext } from './sigv4.js';

/** How the chunks are signed. */
export interface ChunkedOptions {
  /** Verify chunk signatures with this context (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]). */
  signing?: SigningContext;
  /** A trailer is expected (the `…-TRAILER` variants). */
  trailer: boolean;
  /** Trailing headers are signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER). */
  signedTrailer: boolean;
}

/** Where the decoded trailing headers end up once the stream is done. */
export interface ChunkedResult {
  trailers: Map<string, string>;
}

const MAX_LINE = 4096;
const MAX_CHUNK = 1 << 30;

/**
 * Decode an aws-chunked body. Yields the payload bytes; fills `result.trailers` before finishing.
 */
export async function* decodeAwsChunked(
  source: AsyncIterable<Buffer>,
  opts: ChunkedOptions,
  result: ChunkedResult,
): AsyncGenerator<Buffer> {
  const bad = (why: string): never => {
    throw new S3Error('IncompleteBody', `Malformed aws-chunked body: ${why}`);
  };
  let buf: Buffer = Buffer.alloc(0);
  let state: 'header' | 'data' | 'crlf' | 'trailer' | 'done' = 'header';
  let remaining = 0;
  let chunkSig = '';
  let previous = opts.signing?.seedSignature ?? '';
  let hash: Hash | undefined;
  let trailerText = '';
  const verifyChunk = (): void => {
    if (opts.signing === undefined) return;
    const digest = (hash as Hash).digest('hex');
    const expected = chunkSignature(opts.signing, previous, digest);
    if (!signaturesEqual(expected, chunkSig)) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        'The chunk signature we calculated does not match the one you provided',
      );
    }
    previous = expected;
  };
  const takeLine = (): string | undefined => {
    const i = buf.indexOf('\r\n');
    if (i < 0) {
      if (buf.length > MAX_LINE) bad('line too long');
      return undefined;
    }
    const line = buf.subarray(0, i).toString('latin1');
    buf = buf.subarray(i + 2);
    return line;
  };
  for await (const piece of source) {
    buf = buf.length === 0 ? piece : Buffer.concat([buf, piece]);
    for (;;) {
      if (state === 'header') {
        const line = takeLine();
        if (line === undefined) break;
        const m = /^([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-fA-F]{64}))?\s*$/.exec(line);
        if (m === null) return bad('bad chunk header');
        remaining = parseInt(m[1] as string, 16);
        if (remaining > MAX_CHUNK) bad('chunk too large');
        chunkSig = m[2] ?? '';
        if (opts.signing !== undefined) {
          if (chunkSig === '') bad('missing chunk signature');
          hash = createHash('sha256');
        }
        if (remaining === 0) {
          verifyChunk();
          state = opts.trailer ? 'trailer' : 'done';
          continue;
        }
        state = 'data';
      } else if (state === 'data') {
        if (buf.length === 0) break;
        const n = Math.min(remaining, buf.length);
        const out = buf.subarray(0, n);
        buf = buf.subarray(n);
        remaining -= n;
        hash?.update(out);
        if (remaining === 0) {
          verifyChunk();
          state = 'crlf';
        }
        yield out;
      } else if (state === 'crlf') {
        if (buf.length < 2) break;
        if (buf[0] !== 13 || buf[1] !== 10) bad('missing CRLF after chunk data');
        buf = buf.subarray(2);
        state = 'header';
      } else if (state === 'trailer') {
        const line = takeLine();
        if (line === undefined) break;
        if (line === '') {
          state = 'done';
          continue;
        }
        const i = line.indexOf(':');
        if (i <= 0) bad('bad trailing header');
        const name = line.slice(0, i).trim().toLowerCase();
        const value = line.slice(i + 1).trim();
        if (name === 'x-amz-trailer-signature') {
          if (!opts.signedTrailer || opts.signing === undefined) bad('unexpected trailer signature');
          const expected = trailerSignature(opts.signing as SigningContext, previous, trailerText);
          if (!signaturesEqual(expected, value)) {
            throw new S3Error(
              'SignatureDoesNotMatch',
              'The trailer signature we calculated does not match the one you provided',
            );
          }
          result.trailers.set(name, value);
        } else {
          trailerText += `${name}:${value}\n`;
          result.trailers.set(name, value);
        }
        if (result.trailers.size > 16) bad('too many trailing headers');
      } else {
        // done: anything after the final CRLF is ignored.
        buf = Buffer.alloc(0);
        break;
      }
    }
  }
  if ((state as string) === 'trailer' && buf.length === 0 && result.trailers.size > 0) state = 'done';
  if ((state as string) !== 'done') bad('the body ended early');
  if (opts.signedTrailer && !result.trailers.has('x-amz-trailer-signature')) bad('missing trailer signature');
}
