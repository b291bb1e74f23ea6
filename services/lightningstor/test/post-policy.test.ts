/** Browser-form uploads: POST with a SigV4-signed policy document (multipart/form-data). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { startHarness } from './helpers.js';
import type { Harness } from './helpers.js';

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** Form fields for a policy, signed as AWS documents for browser-based uploads. */
function signedForm(
  id: string,
  secret: string,
  conditions: unknown[],
  expiration = new Date(Date.now() + 600_000),
): Record<string, string> {
  const now = new Date();
  const date = now.toISOString().slice(0, 10).replace(/-/g, '');
  const amzDate = `${date}T000000Z`;
  const credential = `${id}/${date}/us-east-1/s3/aws4_request`;
  const policy = Buffer.from(
    JSON.stringify({
      expiration: expiration.toISOString(),
      conditions: [
        ...conditions,
        { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
        { 'x-amz-credential': credential },
        { 'x-amz-date': amzDate },
      ],
    }),
  ).toString('base64');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), 'us-east-1'), 's3'), 'aws4_request');
  return {
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': credential,
    'X-Amz-Date': amzDate,
    Policy: policy,
    'X-Amz-Signature': hmac(key, policy).toString('hex'),
  };
}

function form(fields: Record<string, string>, file: Buffer, filename = 'upload.bin'): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('file', new Blob([file]), filename);
  return fd;
}

describe('POST policy uploads', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.client.send(new CreateBucketCommand({ Bucket: 'forms' }));
  });
  after(async () => {
    await h.close();
  });

  it('accepts a signed form and stores the file with its metadata', async () => {
    const { access_key_id: id, secret_access_key: secret } = h.server.rootKey;
    const body = Buffer.alloc(200_000, 'z');
    body.write('\r\n--not-the-boundary\r\n', 1000);
    const fields = {
      key: 'uploads/${filename}',
      'Content-Type': 'image/png',
      'x-amz-meta-origin': 'form',
      success_action_status: '201',
      ...signedForm(id, secret, [
        { bucket: 'forms' },
        ['starts-with', '$key', 'uploads/'],
        ['starts-with', '$Content-Type', 'image/'],
        { 'x-amz-meta-origin': 'form' },
        { success_action_status: '201' },
        ['content-length-range', 1, 1_000_000],
      ]),
    };
    const res = await fetch(`${h.server.url}/forms`, { method: 'POST', body: form(fields, body, 'cat.png') });
    assert.equal(res.status, 201, await res.clone().text());
    assert.match(await res.text(), /<Key>uploads\/cat\.png<\/Key>/);
    const got = await h.client.send(new GetObjectCommand({ Bucket: 'forms', Key: 'uploads/cat.png' }));
    assert.equal(got.ContentType, 'image/png');
    assert.deepEqual(got.Metadata, { origin: 'form' });
    assert.deepEqual(
      Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()),
      body,
    );
  });

  it('refuses forms that break the policy or its signature', async () => {
    const { access_key_id: id, secret_access_key: secret } = h.server.rootKey;
    const base = [{ bucket: 'forms' }, ['starts-with', '$key', 'uploads/'], ['content-length-range', 1, 10]];
    const cases: Array<[string, Record<string, string>, Buffer, number, string]> = [
      [
        'key outside the allowed prefix',
        { key: 'other/x', ...signedForm(id, secret, base) },
        Buffer.from('x'),
        403,
        'AccessDenied',
      ],
      [
        'too large',
        { key: 'uploads/big', ...signedForm(id, secret, base) },
        Buffer.alloc(11),
        400,
        'EntityTooLarge',
      ],
      [
        'expired',
        { key: 'uploads/x', ...signedForm(id, secret, base, new Date(Date.now() - 1000)) },
        Buffer.from('x'),
        403,
        'AccessDenied',
      ],
      [
        'wrong secret',
        { key: 'uploads/x', ...signedForm(id, 'wrong', base) },
        Buffer.from('x'),
        403,
        'SignatureDoesNotMatch',
      ],
      [
        'field not in the policy',
        { key: 'uploads/x', 'x-amz-meta-extra': '1', ...signedForm(id, secret, base) },
        Buffer.from('x'),
        403,
        'AccessDenied',
      ],
    ];
    for (const [what, fields, file, status, code] of cases) {
      const res = await fetch(`${h.server.url}/forms`, { method: 'POST', body: form(fields, file) });
      assert.equal(res.status, status, what);
      assert.match(await res.text(), new RegExp(`<Code>${code}</Code>`), what);
    }
    const head = await fetch(`${h.server.url}/forms?list-type=2`);
    assert.doesNotMatch(await head.text(), /<Key>(other\/x|uploads\/big|uploads\/x)<\/Key>/);
  });
});
