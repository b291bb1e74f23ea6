import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { S3Error } from '../core/s3-error.js';
import { decodeAwsChunked } from './aws-chunked.js';
import type { ChunkedResult } from './aws-chunked.js';
import { canonicalQuery, canonicalUri, parseAuth, parseQuery, verifyRequest } from './sigv4.js';

// The worked examples of AWS's "Signature Version 4 (AWS4-HMAC-SHA256)" S3 documentation.
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const NOW = Date.parse('2013-05-24T00:00:00Z');

function fakeRequest(method: string, headers: Record<string, string>): IncomingMessage {
  const lower: Record<string, string> = {};
  const raw: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    lower[k.toLowerCase()] = v;
    raw.push(k, v);
  }
  return { method, headers: lower, rawHeaders: raw } as unknown as IncomingMessage;
}

test('GET object example: the documented signature verifies', () => {
  const req = fakeRequest('GET', {
    Host: 'examplebucket.s3.amazonaws.com',
    Range: 'bytes=0-9',
    'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'x-amz-date': '20130524T000000Z',
    Authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  });
  const auth = parseAuth(req, []);
  assert.ok(auth !== undefined);
  assert.equal(auth.accessKeyId, 'AKIAIOSFODNN7EXAMPLE');
  const ctx = verifyRequest(req, '/test.txt', [], auth, SECRET, NOW);
  assert.equal(ctx.seedSignature, 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  assert.throws(
    () => verifyRequest(req, '/test2.txt', [], auth, SECRET, NOW),
    (e: S3Error) => e.code === 'SignatureDoesNotMatch',
  );
  assert.throws(
    () => verifyRequest(req, '/test.txt', [], auth, SECRET, NOW + 16 * 60_000),
    (e: S3Error) => e.code === 'RequestTimeTooSkewed',
  );
});

const chunkedHeaders = {
  Host: 's3.amazonaws.com',
  'x-amz-date': '20130524T000000Z',
  'x-amz-storage-class': 'REDUCED_REDUNDANCY',
  Authorization:
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'Content-Encoding': 'aws-chunked',
  'x-amz-decoded-content-length': '66560',
  'Content-Length': '66824',
};

function chunkedBody(sig1: string): Buffer {
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${sig1}\r\n`),
    Buffer.alloc(65536, 'a'),
    Buffer.from(
      '\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n',
    ),
    Buffer.alloc(1024, 'a'),
    Buffer.from(
      '\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n',
    ),
  ]);
}

async function drain(
  body: Buffer,
  ctx: ReturnType<typeof verifyRequest>,
  pieceSize: number,
): Promise<Buffer> {
  async function* pieces(): AsyncGenerator<Buffer> {
    for (let i = 0; i < body.length; i += pieceSize) yield body.subarray(i, i + pieceSize);
  }
  const result: ChunkedResult = { trailers: new Map() };
  const out: Buffer[] = [];
  for await (const c of decodeAwsChunked(
    pieces(),
    { signing: ctx, trailer: false, signedTrailer: false },
    result,
  )) {
    out.push(c);
  }
  return Buffer.concat(out);
}

test('aws-chunked example: seed and chunk signatures verify, in any network split', async () => {
  const req = fakeRequest('PUT', chunkedHeaders);
  const auth = parseAuth(req, []);
  assert.ok(auth !== undefined);
  const ctx = verifyRequest(req, '/examplebucket/chunkObject.txt', [], auth, SECRET, NOW);
  assert.equal(ctx.seedSignature, '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');
  const good = chunkedBody('ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648');
  assert.equal(good.length, 66824);
  for (const split of [1, 7, 4096, 100_000]) {
    const data = await drain(good, ctx, split);
    assert.deepEqual(data, Buffer.alloc(66560, 'a'));
  }
  const tampered = Buffer.from(good);
  tampered[200] = 'b'.charCodeAt(0);
  await assert.rejects(drain(tampered, ctx, 4096), (e: S3Error) => e.code === 'SignatureDoesNotMatch');
  await assert.rejects(
    drain(chunkedBody('0'.repeat(64)), ctx, 4096),
    (e: S3Error) => e.code === 'SignatureDoesNotMatch',
  );
  await assert.rejects(
    drain(good.subarray(0, 60_000), ctx, 4096),
    (e: S3Error) => e.code === 'IncompleteBody',
  );
});

test('unsigned aws-chunked with a checksum trailer yields the payload and the trailer', async () => {
  const body = Buffer.from('5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n');
  async function* one(): AsyncGenerator<Buffer> {
    yield body;
  }
  const result: ChunkedResult = { trailers: new Map() };
  const out: Buffer[] = [];
  for await (const c of decodeAwsChunked(one(), { trailer: true, signedTrailer: false }, result)) out.push(c);
  assert.equal(Buffer.concat(out).toString(), 'hello world');
  assert.equal(result.trailers.get('x-amz-checksum-crc32'), 'DUoRhQ==');
});

test('canonical URI and query follow AWS encoding', () => {
  assert.equal(canonicalUri('/bucket/a%20b/c+d~e'), '/bucket/a%20b/c%2Bd~e');
  assert.equal(canonicalUri('/bucket/%E2%82%AC'), '/bucket/%E2%82%AC');
  assert.equal(
    canonicalQuery(parseQuery('prefix=a%2Fb&list-type=2&delimiter=%2F&uploads')),
    'delimiter=%2F&list-type=2&prefix=a%2Fb&uploads=',
  );
  assert.equal(canonicalQuery(parseQuery('X-Amz-Signature=abc&a=1')), 'a=1');
});

test('presigned URLs: expiry and malformed parameters', () => {
  const req = fakeRequest('GET', { Host: 'h' });
  const q = parseQuery(
    'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00',
  );
  const auth = parseAuth(req, q);
  assert.ok(auth?.presigned === true);
  assert.throws(
    () => verifyRequest(req, '/b/k', q, auth, SECRET, NOW + 61_000),
    (e: S3Error) => e.code === 'AccessDenied' && /expired/.test(e.message),
  );
  assert.throws(
    () => verifyRequest(req, '/b/k', q, auth, SECRET, NOW + 1000),
    (e: S3Error) => e.code === 'SignatureDoesNotMatch',
  );
  assert.throws(
    () => parseAuth(req, parseQuery('X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x')),
    (e: S3Error) => e.code === 'AuthorizationQueryParametersError',
  );
});
