/** Compatibility with the AWS SDK for JavaScript v3 (@aws-sdk/client-s3), driven against a real server. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3ServiceException } from '@aws-sdk/client-s3';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketCorsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function bodyBytes(body: unknown): Promise<Buffer> {
  const b = body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await b.transformToByteArray());
}

describe('LightningSTOR with @aws-sdk/client-s3', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.client.send(new CreateBucketCommand({ Bucket: 'sdk' }));
  });
  after(async () => {
    await h.close();
  });

  it('creates, lists and refuses a duplicate bucket', async () => {
    const list = await h.client.send(new ListBucketsCommand({}));
    assert.ok(list.Buckets?.some((b) => b.Name === 'sdk'));
    await assert.rejects(
      h.client.send(new CreateBucketCommand({ Bucket: 'sdk' })),
      (e: S3ServiceException) => {
        assert.equal(e.name, 'BucketAlreadyOwnedByYou');
        assert.equal(e.$metadata.httpStatusCode, 409);
        return true;
      },
    );
  });

  it('puts a Buffer body (default CRC32 checksum) and reads it back with metadata', async () => {
    const body = Buffer.from('hello, lightningstor\n');
    const put = await h.client.send(
      new PutObjectCommand({
        Bucket: 'sdk',
        Key: 'dir/hello.txt',
        Body: body,
        ContentType: 'text/plain',
        ContentDisposition: 'attachment',
        CacheControl: 'max-age=60',
        Metadata: { color: 'blue' },
      }),
    );
    assert.equal(put.ETag, `"${createHash('md5').update(body).digest('hex')}"`);
    assert.ok(put.ChecksumCRC32 !== undefined, 'the SDK asked for CRC32 and gets it back');
    const got = await h.client.send(
      new GetObjectCommand({ Bucket: 'sdk', Key: 'dir/hello.txt', ChecksumMode: 'ENABLED' }),
    );
    assert.deepEqual(await bodyBytes(got.Body), body);
    assert.equal(got.ContentType, 'text/plain');
    assert.equal(got.ContentDisposition, 'attachment');
    assert.equal(got.CacheControl, 'max-age=60');
    assert.deepEqual(got.Metadata, { color: 'blue' });
    assert.equal(got.ChecksumCRC32, put.ChecksumCRC32);
  });

  it('puts a stream body of unknown length (aws-chunked with a checksum trailer)', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    for (let i = 0; i < data.length; i += 4096) data[i] = i & 255;
    const put = await h.client.send(
      new PutObjectCommand({
        Bucket: 'sdk',
        Key: 'stream.bin',
        Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
        ContentLength: data.length,
      }),
    );
    assert.ok(put.ETag);
    const got = await h.client.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'stream.bin' }));
    assert.equal(sha(await bodyBytes(got.Body)), sha(data));
  });

  it('verifies declared checksums (SHA256, CRC32C, SHA1, CRC64NVME)', async () => {
    for (const alg of ['SHA256', 'CRC32C', 'SHA1', 'CRC64NVME'] as const) {
      const put = await h.client.send(
        new PutObjectCommand({
          Bucket: 'sdk',
          Key: `sum-${alg}`,
          Body: `data for ${alg}`,
          ChecksumAlgorithm: alg,
        }),
      );
      const field = `Checksum${alg}` as const;
      assert.ok(put[field] !== undefined, `${alg} returned`);
      const head = await h.client.send(
        new HeadObjectCommand({ Bucket: 'sdk', Key: `sum-${alg}`, ChecksumMode: 'ENABLED' }),
      );
      assert.equal(head[field], put[field]);
    }
    const expected = createHash('sha256').update('abc').digest('base64');
    await h.client.send(
      new PutObjectCommand({ Bucket: 'sdk', Key: 'sum-ok', Body: 'abc', ChecksumSHA256: expected }),
    );
    await assert.rejects(
      h.client.send(
        new PutObjectCommand({
          Bucket: 'sdk',
          Key: 'sum-bad',
          Body: 'abc',
          ChecksumSHA256: createHash('sha256').update('xyz').digest('base64'),
        }),
      ),
      (e: S3ServiceException) => e.name === 'BadDigest',
    );
    await assert.rejects(
      h.client.send(new HeadObjectCommand({ Bucket: 'sdk', Key: 'sum-bad' })),
      (e: S3ServiceException) => e.name === 'NotFound',
    );
  });

  it('lists with a delimiter, prefixes, pagination and start-after (V2 and V1)', async () => {
    for (const k of ['p/a/1', 'p/a/2', 'p/b/1', 'p/c', 'p/d', 'q/1']) {
      await h.client.send(new PutObjectCommand({ Bucket: 'sdk', Key: k, Body: k }));
    }
    const top = await h.client.send(
      new ListObjectsV2Command({ Bucket: 'sdk', Prefix: 'p/', Delimiter: '/' }),
    );
    assert.deepEqual(
      top.CommonPrefixes?.map((p) => p.Prefix),
      ['p/a/', 'p/b/'],
    );
    assert.deepEqual(
      top.Contents?.map((c) => c.Key),
      ['p/c', 'p/d'],
    );
    assert.equal(top.KeyCount, 4);
    const seen: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await h.client.send(
        new ListObjectsV2Command({
          Bucket: 'sdk',
          Prefix: 'p/',
          Delimiter: '/',
          MaxKeys: 1,
          ContinuationToken: token,
        }),
      );
      seen.push(
        ...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string),
        ...(page.Contents ?? []).map((c) => c.Key as string),
      );
      if (page.IsTruncated !== true) break;
      token = page.NextContinuationToken;
    }
    assert.deepEqual(seen, ['p/a/', 'p/b/', 'p/c', 'p/d']);
    const sa = await h.client.send(
      new ListObjectsV2Command({ Bucket: 'sdk', Prefix: 'p/', StartAfter: 'p/b/1' }),
    );
    assert.deepEqual(
      sa.Contents?.map((c) => c.Key),
      ['p/c', 'p/d'],
    );
    const v1 = await h.client.send(
      new ListObjectsCommand({ Bucket: 'sdk', Prefix: 'p/', Marker: 'p/a/2', MaxKeys: 2 }),
    );
    assert.deepEqual(
      v1.Contents?.map((c) => c.Key),
      ['p/b/1', 'p/c'],
    );
    assert.equal(v1.IsTruncated, true);
    const versions = await h.client.send(new ListObjectVersionsCommand({ Bucket: 'sdk', Prefix: 'q/' }));
    assert.deepEqual(
      versions.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest]),
      [['q/1', 'null', true]],
    );
  });

  it('copies objects (metadata COPY and REPLACE) and deletes many at once', async () => {
    await h.client.send(
      new PutObjectCommand({
        Bucket: 'sdk',
        Key: 'src',
        Body: 'copy me',
        ContentType: 'text/x-src',
        Metadata: { a: '1' },
      }),
    );
    const c1 = await h.client.send(
      new CopyObjectCommand({ Bucket: 'sdk', Key: 'dst1', CopySource: 'sdk/src' }),
    );
    assert.ok(c1.CopyObjectResult?.ETag);
    const d1 = await h.client.send(new HeadObjectCommand({ Bucket: 'sdk', Key: 'dst1' }));
    assert.equal(d1.ContentType, 'text/x-src');
    assert.deepEqual(d1.Metadata, { a: '1' });
    await h.client.send(
      new CopyObjectCommand({
        Bucket: 'sdk',
        Key: 'dst2',
        CopySource: 'sdk/src',
        MetadataDirective: 'REPLACE',
        ContentType: 'text/x-new',
        Metadata: { b: '2' },
      }),
    );
    const d2 = await h.client.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'dst2' }));
    assert.equal(d2.ContentType, 'text/x-new');
    assert.deepEqual(d2.Metadata, { b: '2' });
    assert.equal((await bodyBytes(d2.Body)).toString(), 'copy me');
    const del = await h.client.send(
      new DeleteObjectsCommand({
        Bucket: 'sdk',
        Delete: { Objects: [{ Key: 'dst1' }, { Key: 'dst2' }, { Key: 'never-existed' }] },
      }),
    );
    assert.deepEqual(del.Deleted?.map((d) => d.Key).sort(), ['dst1', 'dst2', 'never-existed']);
    await assert.rejects(
      h.client.send(new HeadObjectCommand({ Bucket: 'sdk', Key: 'dst1' })),
      (e: S3ServiceException) => e.$metadata.httpStatusCode === 404,
    );
  });

  it('serves ranges and conditional GETs', async () => {
    const put = await h.client.send(
      new PutObjectCommand({ Bucket: 'sdk', Key: 'range', Body: '0123456789' }),
    );
    const r = await h.client.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'range', Range: 'bytes=2-5' }));
    assert.equal((await bodyBytes(r.Body)).toString(), '2345');
    assert.equal(r.ContentRange, 'bytes 2-5/10');
    const tail = await h.client.send(
      new GetObjectCommand({ Bucket: 'sdk', Key: 'range', Range: 'bytes=-3' }),
    );
    assert.equal((await bodyBytes(tail.Body)).toString(), '789');
    await assert.rejects(
      h.client.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'range', Range: 'bytes=20-30' })),
      (e: S3ServiceException) => {
        assert.equal(e.name, 'InvalidRange');
        assert.equal(e.$metadata.httpStatusCode, 416);
        return true;
      },
    );
    await assert.rejects(
      h.client.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'range', IfNoneMatch: put.ETag })),
      (e: S3ServiceException) => e.$metadata.httpStatusCode === 304,
    );
    await assert.rejects(
      h.client.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'range', IfMatch: '"nope"' })),
      (e: S3ServiceException) => e.$metadata.httpStatusCode === 412,
    );
    const ok = await h.client.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'range', IfMatch: put.ETag }));
    assert.equal((await bodyBytes(ok.Body)).toString(), '0123456789');
    await assert.rejects(
      h.client.send(
        new GetObjectCommand({
          Bucket: 'sdk',
          Key: 'range',
          IfModifiedSince: new Date(Date.now() + 3600_000),
        }),
      ),
      (e: S3ServiceException) => e.$metadata.httpStatusCode === 304,
    );
    // Conditional create: If-None-Match: * refuses to overwrite.
    await assert.rejects(
      h.client.send(new PutObjectCommand({ Bucket: 'sdk', Key: 'range', Body: 'x', IfNoneMatch: '*' })),
      (e: S3ServiceException) => e.$metadata.httpStatusCode === 412,
    );
    await h.client.send(new PutObjectCommand({ Bucket: 'sdk', Key: 'fresh', Body: 'x', IfNoneMatch: '*' }));
  });

  it('uploads multipart manually and with lib-storage Upload', async () => {
    const part = Buffer.alloc(5 * 1024 * 1024, 1);
    const last = Buffer.from('the end');
    const cmu = await h.client.send(
      new CreateMultipartUploadCommand({ Bucket: 'sdk', Key: 'mp', ContentType: 'application/x-mp' }),
    );
    const uploadId = cmu.UploadId as string;
    const p1 = await h.client.send(
      new UploadPartCommand({ Bucket: 'sdk', Key: 'mp', UploadId: uploadId, PartNumber: 1, Body: part }),
    );
    const p2 = await h.client.send(
      new UploadPartCommand({ Bucket: 'sdk', Key: 'mp', UploadId: uploadId, PartNumber: 2, Body: last }),
    );
    const parts = await h.client.send(new ListPartsCommand({ Bucket: 'sdk', Key: 'mp', UploadId: uploadId }));
    assert.deepEqual(
      parts.Parts?.map((p) => [p.PartNumber, p.Size]),
      [
        [1, part.length],
        [2, last.length],
      ],
    );
    const done = await h.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'sdk',
        Key: 'mp',
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    );
    const md5s = Buffer.concat([part, last].map((b) => createHash('md5').update(b).digest()));
    assert.equal(done.ETag, `"${createHash('md5').update(md5s).digest('hex')}-2"`);
    const got = await h.client.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'mp' }));
    assert.equal(got.ContentType, 'application/x-mp');
    assert.equal(sha(await bodyBytes(got.Body)), sha(Buffer.concat([part, last])));
    const mid = await h.client.send(
      new GetObjectCommand({
        Bucket: 'sdk',
        Key: 'mp',
        Range: `bytes=${part.length - 2}-${part.length + 2}`,
      }),
    );
    assert.deepEqual(await bodyBytes(mid.Body), Buffer.concat([part.subarray(-2), last.subarray(0, 3)]));

    const big = Buffer.alloc(12 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 1024) big.writeUInt32BE(i, i);
    const upload = new Upload({
      client: h.client,
      params: { Bucket: 'sdk', Key: 'lib-storage', Body: Readable.from([big]) },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    await upload.done();
    const back = await h.client.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'lib-storage' }));
    assert.equal(sha(await bodyBytes(back.Body)), sha(big));
  });

  it('copies parts (UploadPartCopy), lists and aborts uploads', async () => {
    const src = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < src.length; i += 4) src.writeUInt32BE(i, i);
    await h.client.send(new PutObjectCommand({ Bucket: 'sdk', Key: 'copy-src', Body: src }));
    const up = await h.client.send(new CreateMultipartUploadCommand({ Bucket: 'sdk', Key: 'copied' }));
    const c1 = await h.client.send(
      new UploadPartCopyCommand({
        Bucket: 'sdk',
        Key: 'copied',
        UploadId: up.UploadId,
        PartNumber: 1,
        CopySource: 'sdk/copy-src',
        CopySourceRange: 'bytes=0-5242879',
      }),
    );
    const c2 = await h.client.send(
      new UploadPartCopyCommand({
        Bucket: 'sdk',
        Key: 'copied',
        UploadId: up.UploadId,
        PartNumber: 2,
        CopySource: 'sdk/copy-src',
        CopySourceRange: `bytes=5242880-${src.length - 1}`,
      }),
    );
    const other = await h.client.send(new CreateMultipartUploadCommand({ Bucket: 'sdk', Key: 'abandoned' }));
    const uploads = await h.client.send(new ListMultipartUploadsCommand({ Bucket: 'sdk' }));
    assert.deepEqual(uploads.Uploads?.map((u) => u.Key).sort(), ['abandoned', 'copied']);
    await h.client.send(
      new AbortMultipartUploadCommand({ Bucket: 'sdk', Key: 'abandoned', UploadId: other.UploadId }),
    );
    await assert.rejects(
      h.client.send(new ListPartsCommand({ Bucket: 'sdk', Key: 'abandoned', UploadId: other.UploadId })),
      (e: S3ServiceException) => e.name === 'NoSuchUpload',
    );
    await h.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'sdk',
        Key: 'copied',
        UploadId: up.UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: c1.CopyPartResult?.ETag },
            { PartNumber: 2, ETag: c2.CopyPartResult?.ETag },
          ],
        },
      }),
    );
    const got = await h.client.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'copied' }));
    assert.equal(sha(await bodyBytes(got.Body)), sha(src));
    const left = await h.client.send(new ListMultipartUploadsCommand({ Bucket: 'sdk' }));
    assert.equal(left.Uploads, undefined);
  });

  it('rejects out-of-order and too-small parts on complete', async () => {
    const up = await h.client.send(new CreateMultipartUploadCommand({ Bucket: 'sdk', Key: 'bad-mp' }));
    const p1 = await h.client.send(
      new UploadPartCommand({
        Bucket: 'sdk',
        Key: 'bad-mp',
        UploadId: up.UploadId,
        PartNumber: 1,
        Body: 'tiny',
      }),
    );
    const p2 = await h.client.send(
      new UploadPartCommand({
        Bucket: 'sdk',
        Key: 'bad-mp',
        UploadId: up.UploadId,
        PartNumber: 2,
        Body: 'tiny',
      }),
    );
    const complete = (parts: Array<{ PartNumber: number; ETag?: string }>) =>
      h.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'sdk',
          Key: 'bad-mp',
          UploadId: up.UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    await assert.rejects(
      complete([
        { PartNumber: 2, ETag: p2.ETag },
        { PartNumber: 1, ETag: p1.ETag },
      ]),
      (e: S3ServiceException) => e.name === 'InvalidPartOrder',
    );
    await assert.rejects(
      complete([{ PartNumber: 1, ETag: '"0000"' }]),
      (e: S3ServiceException) => e.name === 'InvalidPart',
    );
    await assert.rejects(
      complete([
        { PartNumber: 1, ETag: p1.ETag },
        { PartNumber: 2, ETag: p2.ETag },
      ]),
      (e: S3ServiceException) => e.name === 'EntityTooSmall',
    );
    // The failed completes left the upload intact; a single small part is a valid object.
    await complete([{ PartNumber: 1, ETag: p1.ETag }]);
    const got = await h.client.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'bad-mp' }));
    assert.equal((await bodyBytes(got.Body)).toString(), 'tiny');
  });

  it('presigned GET and PUT work with plain fetch', async () => {
    const putUrl = await getSignedUrl(
      h.client,
      new PutObjectCommand({ Bucket: 'sdk', Key: 'presigned.txt' }),
      { expiresIn: 300 },
    );
    const put = await fetch(putUrl, { method: 'PUT', body: 'via presigned PUT' });
    assert.equal(put.status, 200);
    const getUrl = await getSignedUrl(
      h.client,
      new GetObjectCommand({ Bucket: 'sdk', Key: 'presigned.txt' }),
      { expiresIn: 300 },
    );
    const get = await fetch(getUrl);
    assert.equal(get.status, 200);
    assert.equal(await get.text(), 'via presigned PUT');
    const tampered = await fetch(getUrl.replace('presigned.txt', 'other.txt'));
    assert.equal(tampered.status, 403);
    assert.match(await tampered.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
  });

  it('tags objects, records versioning and CORS configuration', async () => {
    await h.client.send(new PutObjectCommand({ Bucket: 'sdk', Key: 'tagged', Body: 't' }));
    await h.client.send(
      new PutObjectTaggingCommand({
        Bucket: 'sdk',
        Key: 'tagged',
        Tagging: { TagSet: [{ Key: 'env', Value: 'test' }] },
      }),
    );
    const tags = await h.client.send(new GetObjectTaggingCommand({ Bucket: 'sdk', Key: 'tagged' }));
    assert.deepEqual(tags.TagSet, [{ Key: 'env', Value: 'test' }]);
    await h.client.send(
      new PutBucketVersioningCommand({ Bucket: 'sdk', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const v = await h.client.send(new GetBucketVersioningCommand({ Bucket: 'sdk' }));
    assert.equal(v.Status, 'Enabled');
    await h.client.send(
      new PutBucketCorsCommand({
        Bucket: 'sdk',
        CORSConfiguration: {
          CORSRules: [
            {
              AllowedOrigins: ['https://app.example'],
              AllowedMethods: ['GET', 'PUT'],
              AllowedHeaders: ['*'],
              MaxAgeSeconds: 60,
            },
          ],
        },
      }),
    );
    const pre = await fetch(`${h.server.url}/sdk/tagged`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
    const denied = await fetch(`${h.server.url}/sdk/tagged`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(denied.status, 403);
    const simple = await fetch(`${h.server.url}/sdk/tagged`, { headers: { Origin: 'https://app.example' } });
    assert.equal(simple.status, 200);
    assert.equal(simple.headers.get('access-control-allow-origin'), 'https://app.example');
    const other = await fetch(`${h.server.url}/sdk/tagged`, { headers: { Origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('handles keys with spaces, plus signs, unicode and URL metacharacters', async () => {
    const keys = [
      'odd/a b+c.txt',
      'odd/ü€😀.bin',
      "odd/q?x=1&y=#frag%20!'()*.txt",
      'odd//double/slash',
      'odd/~tilde',
    ];
    for (const Key of keys) {
      await h.client.send(new PutObjectCommand({ Bucket: 'sdk', Key, Body: Key }));
      const got = await h.client.send(new GetObjectCommand({ Bucket: 'sdk', Key }));
      assert.equal((await bodyBytes(got.Body)).toString(), Key);
    }
    const listed = await h.client.send(new ListObjectsV2Command({ Bucket: 'sdk', Prefix: 'odd/' }));
    assert.deepEqual(
      listed.Contents?.map((c) => c.Key),
      [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    const encoded = await h.client.send(
      new ListObjectsV2Command({ Bucket: 'sdk', Prefix: 'odd/', EncodingType: 'url' }),
    );
    assert.ok(encoded.Contents?.some((c) => c.Key === 'odd/a%20b%2Bc.txt' || c.Key === 'odd/a b+c.txt'));
  });

  it('refuses to delete a non-empty bucket', async () => {
    await assert.rejects(
      h.client.send(new DeleteBucketCommand({ Bucket: 'sdk' })),
      (e: S3ServiceException) => e.name === 'BucketNotEmpty',
    );
  });
});
