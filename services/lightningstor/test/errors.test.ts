/** Error paths: S3 XML errors with the right codes and statuses, never a 500. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { S3ServiceException } from '@aws-sdk/client-s3';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startHarness, s3Client } from './helpers.js';
import type { Harness } from './helpers.js';

/** A raw request (fetch cannot send some of these). */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          headers: res.headers,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('S3 error responses', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.client.send(new CreateBucketCommand({ Bucket: 'errs' }));
    await h.client.send(new PutObjectCommand({ Bucket: 'errs', Key: 'obj', Body: '0123456789' }));
  });
  after(async () => {
    await h.close();
  });

  it('a wrong secret is 403 SignatureDoesNotMatch', async () => {
    const bad = s3Client(h.server.url, h.server.rootKey.access_key_id, 'not-the-secret');
    await assert.rejects(bad.send(new ListObjectsV2Command({ Bucket: 'errs' })), (e: S3ServiceException) => {
      assert.equal(e.name, 'SignatureDoesNotMatch');
      assert.equal(e.$metadata.httpStatusCode, 403);
      return true;
    });
    bad.destroy();
  });

  it('an unknown access key is 403 InvalidAccessKeyId', async () => {
    const bad = s3Client(h.server.url, 'LSNOSUCHKEY000000000', 'whatever');
    await assert.rejects(
      bad.send(new GetObjectCommand({ Bucket: 'errs', Key: 'obj' })),
      (e: S3ServiceException) => {
        assert.equal(e.name, 'InvalidAccessKeyId');
        assert.equal(e.$metadata.httpStatusCode, 403);
        return true;
      },
    );
    bad.destroy();
  });

  it('a skewed clock is 403 RequestTimeTooSkewed', async () => {
    const skewed = new S3Client({
      endpoint: h.server.url,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1,
      systemClockOffset: -20 * 60 * 1000,
      credentials: {
        accessKeyId: h.server.rootKey.access_key_id,
        secretAccessKey: h.server.rootKey.secret_access_key,
      },
    });
    await assert.rejects(
      skewed.send(new ListObjectsV2Command({ Bucket: 'errs' })),
      (e: S3ServiceException) => {
        assert.equal(e.name, 'RequestTimeTooSkewed');
        assert.equal(e.$metadata.httpStatusCode, 403);
        return true;
      },
    );
    skewed.destroy();
  });

  it('a missing bucket is 404 NoSuchBucket XML; a missing key 404 NoSuchKey', async () => {
    const r = await raw(h.server.url, 'GET', '/no-such-bucket?list-type=2');
    assert.equal(r.status, 404);
    assert.match(r.headers['content-type'] as string, /application\/xml/);
    assert.match(
      r.body,
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>NoSuchBucket<\/Code><Message>[^<]+<\/Message>.*<Resource>\/no-such-bucket<\/Resource><RequestId>[^<]+<\/RequestId><\/Error>$/,
    );
    const k = await raw(h.server.url, 'GET', '/errs/missing');
    assert.equal(k.status, 404);
    assert.match(k.body, /<Code>NoSuchKey<\/Code>/);
  });

  it('an unsatisfiable range is 416 InvalidRange', async () => {
    const r = await raw(h.server.url, 'GET', '/errs/obj', { Range: 'bytes=10-' });
    assert.equal(r.status, 416);
    assert.match(r.body, /<Code>InvalidRange<\/Code>/);
    assert.equal(r.headers['content-range'], 'bytes */10');
  });

  it('HEAD errors carry no body', async () => {
    const r = await raw(h.server.url, 'HEAD', '/errs/missing');
    assert.equal(r.status, 404);
    assert.equal(r.body, '');
    const b = await raw(h.server.url, 'HEAD', '/nope-bucket');
    assert.equal(b.status, 404);
    assert.equal(b.body, '');
  });

  it('bad input is a 4xx, never a 500', async () => {
    const cases: Array<[string, string, Record<string, string>, string?]> = [
      ['GET', '/errs/%E0%A4%A', {}],
      ['PUT', '/Bad_Bucket', {}],
      ['PUT', '/ab', {}],
      ['POST', '/errs?delete', { 'Content-MD5': '1B2M2Y8AsgTpgAmY7PhCfg==' }, ''],
      [
        'POST',
        '/errs?delete',
        { 'Content-Type': 'application/xml' },
        '<Delete><Object><Key>x</Key></Object></Delete>',
      ],
      [
        'PUT',
        '/errs?versioning',
        {},
        '<VersioningConfiguration><Status>Maybe</Status></VersioningConfiguration>',
      ],
      ['PUT', '/errs?cors', {}, '<CORSConfiguration><CORSRule></CORS'],
      ['POST', '/errs/obj?uploadId=nope', {}, '<CompleteMultipartUpload/>'],
      ['PUT', '/errs/obj?partNumber=0&uploadId=nope', {}, 'x'],
      ['GET', '/errs?list-type=2&max-keys=abc', {}],
      ['GET', '/errs?list-type=2&continuation-token=%%%', {}],
      ['GET', '/errs/obj', { Authorization: 'AWS4-HMAC-SHA256 garbage' }],
      ['GET', '/errs/obj', { Authorization: 'AWS AKIA:sig' }],
      ['GET', '/errs/obj?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&X-Amz-Expires=99999999', {}],
      ['PUT', '/errs/obj', { 'x-amz-copy-source': 'nobucketonly' }],
      [
        'PUT',
        '/errs/chunked',
        {
          'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          'x-amz-decoded-content-length': '5',
          'Content-Encoding': 'aws-chunked',
        },
        'zz;bad\r\n',
      ],
      ['PUT', '/errs/sha', { 'x-amz-content-sha256': '0'.repeat(64) }, 'abc'],
      ['DELETE', '/errs', {}],
      ['PATCH', '/errs/obj', {}],
      ['OPTIONS', '/errs/obj', {}],
    ];
    for (const [method, path, headers, body] of cases) {
      const r = await raw(h.server.url, method, path, headers, body);
      assert.ok(r.status >= 400 && r.status < 500, `${method} ${path} → ${r.status} ${r.body}`);
      assert.match(r.body, /<Error><Code>\w+<\/Code>/, `${method} ${path} answers S3 XML`);
    }
    // The failed writes above left nothing behind.
    const missing = await raw(h.server.url, 'HEAD', '/errs/sha');
    assert.equal(missing.status, 404);
  });

  it('virtual-host style addressing (<bucket>.localhost) reaches the same objects', async () => {
    const port = new URL(h.server.url).port;
    const r = await raw(h.server.url, 'GET', '/obj', { Host: `errs.localhost:${port}`, Range: 'bytes=0-3' });
    assert.equal(r.status, 206);
    assert.equal(r.body, '0123');
    const list = await raw(h.server.url, 'GET', '/?list-type=2', { Host: `errs.localhost:${port}` });
    assert.match(list.body, /<Name>errs<\/Name>.*<Key>obj<\/Key>/s);
  });

  it('S3 requests are counted on /metrics', async () => {
    const text = await (await fetch(`${h.server.url}/metrics`)).text();
    assert.match(text, /lightningstor_s3_requests_total\{method="GET",status_code="404"\} [1-9]/);
  });

  it('the JSON routes keep the envelope', async () => {
    const health = await fetch(`${h.server.url}/health`);
    assert.equal(health.status, 200);
    const body = (await health.json()) as { success: boolean; data: { service: string } };
    assert.equal(body.success, true);
    assert.equal(body.data.service, 'lightningstor');
    const created = await fetch(`${h.server.url}/api/v1/access-keys`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ owner: 'alice', description: 'test' }),
    });
    assert.equal(created.status, 201);
    const key = (
      (await created.json()) as { data: { access_key: { access_key_id: string; secret_access_key: string } } }
    ).data.access_key;
    const alice = s3Client(h.server.url, key.access_key_id, key.secret_access_key);
    await alice.send(new CreateBucketCommand({ Bucket: 'alice-bucket' }));
    // alice cannot see root's bucket.
    await assert.rejects(
      alice.send(new ListObjectsV2Command({ Bucket: 'errs' })),
      (e: S3ServiceException) => e.name === 'AccessDenied',
    );
    const listed = (await (await fetch(`${h.server.url}/api/v1/access-keys`)).json()) as {
      data: { access_keys: Array<Record<string, unknown>> };
    };
    assert.ok(listed.data.access_keys.some((k) => k['access_key_id'] === key.access_key_id));
    assert.ok(listed.data.access_keys.every((k) => !('secret_access_key' in k)));
    const bad = await fetch(`${h.server.url}/api/v1/access-keys`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"is_admin":"yes"}',
    });
    assert.equal(bad.status, 400);
    const del = await fetch(`${h.server.url}/api/v1/access-keys/${key.access_key_id}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    await assert.rejects(
      alice.send(new ListObjectsV2Command({ Bucket: 'alice-bucket' })),
      (e: S3ServiceException) => e.name === 'InvalidAccessKeyId',
    );
    const gone = await fetch(`${h.server.url}/api/v1/access-keys/${key.access_key_id}`, { method: 'DELETE' });
    assert.equal(gone.status, 404);
    alice.destroy();
  });
});
