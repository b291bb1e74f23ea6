/**
 * POST object uploads (browser forms): `POST /<bucket>` with a multipart/form-data body whose fields
 * carry a base64 policy document and its SigV4 signature, and whose last field is the file. The form
 * is parsed as a stream: fields before the file are buffered (small), the file streams to disk.
 */
import { S3Error } from '../core/s3-error.js';
import type { ObjectRecord } from '../storage/object-store.js';
import { toXml } from '../core/xml.js';
import { requireBucket } from './handler.js';
import type { S3Context } from './handler.js';
import { policySignature, signaturesEqual, amzDateMs } from './sigv4.js';

const MAX_FIELDS_BYTES = 64 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;

/** A parsed form: fields (lower-case names) and the file part. */
interface Form {
  fields: Map<string, string>;
  file: { filename: string; contentType: string | undefined; data: AsyncGenerator<Buffer> };
}

function malformed(why: string): S3Error {
  return new S3Error(
    'MalformedPOSTRequest',
    `The body of your POST request is not well-formed multipart/form-data: ${why}`,
  );
}

/** Parse a multipart/form-data stream up to (and including, lazily) its `file` part. */
async function parseForm(source: AsyncIterable<Buffer>, boundary: string): Promise<Form> {
  const it = source[Symbol.asyncIterator]();
  let buf: Buffer = Buffer.alloc(0);
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const r = await it.next();
    if (r.done === true) {
      ended = true;
      return false;
    }
    buf = buf.length === 0 ? r.value : Buffer.concat([buf, r.value]);
    return true;
  };
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The first boundary has no leading CRLF: prepend one so that every delimiter looks alike.
  let first = true;
  const fields = new Map<string, string>();
  let fieldBytes = 0;
  for (;;) {
    // Find the next delimiter (the start of a part).
    let idx: number;
    for (;;) {
      idx = first ? Buffer.concat([Buffer.from('\r\n'), buf]).indexOf(delimiter) : buf.indexOf(delimiter);
      if (idx >= 0) break;
      if (buf.length > MAX_FIELDS_BYTES * 2) throw malformed('form fields too large');
      if (!(await more())) throw malformed('no file field');
    }
    if (first) {
      buf = buf.subarray(idx + delimiter.length - 2);
      first = false;
    } else {
      buf = buf.subarray(idx + delimiter.length);
    }
    while (buf.length < 2) if (!(await more())) throw malformed('truncated');
    if (buf[0] === 45 && buf[1] === 45) throw malformed('no file field');
    if (buf[0] !== 13 || buf[1] !== 10) throw malformed('bad boundary line');
    buf = buf.subarray(2);
    let headerEnd: number;
    while ((headerEnd = buf.indexOf('\r\n\r\n')) < 0) {
      if (buf.length > MAX_HEADER_BYTES) throw malformed('part headers too large');
      if (!(await more())) throw malformed('truncated part headers');
    }
    const headerText = buf.subarray(0, headerEnd).toString('utf8');
    buf = buf.subarray(headerEnd + 4);
    let name: string | undefined;
    let filename: string | undefined;
    let contentType: string | undefined;
    for (const line of headerText.split('\r\n')) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const h = line.slice(0, i).trim().toLowerCase();
      const v = line.slice(i + 1).trim();
      if (h === 'content-disposition') {
        name = /\bname="([^"]*)"/i.exec(v)?.[1];
        filename = /\bfilename="([^"]*)"/i.exec(v)?.[1];
      } else if (h === 'content-type') {
        contentType = v;
      }
    }
    if (name === undefined) throw malformed('a part has no name');
    if (name.toLowerCase() === 'file') {
      async function* data(): AsyncGenerator<Buffer> {
        for (;;) {
          const i = buf.indexOf(delimiter);
          if (i >= 0) {
            if (i > 0) yield buf.subarray(0, i);
            // Whatever follows the file is ignored, as S3 does; drain it.
            buf = Buffer.alloc(0);
            while (await more()) buf = Buffer.alloc(0);
            return;
          }
          const safe = buf.length - (delimiter.length - 1);
          if (safe > 0) {
            const out = buf.subarray(0, safe);
            buf = buf.subarray(safe);
            yield out;
          }
          if (!(await more())) throw malformed('the file part is not terminated');
        }
      }
      return { fields, file: { filename: filename ?? '', contentType, data: data() } };
    }
    // A plain field: its value runs up to the next delimiter.
    let end: number;
    while ((end = buf.indexOf(delimiter)) < 0) {
      if (buf.length > MAX_FIELDS_BYTES) throw malformed('form fields too large');
      if (!(await more())) throw malformed('truncated field');
    }
    const value = buf.subarray(0, end).toString('utf8');
    fieldBytes += value.length;
    if (fieldBytes > MAX_FIELDS_BYTES) throw malformed('form fields too large');
    fields.set(name.toLowerCase(), value);
    // Leave the delimiter in place for the next round.
    buf = buf.subarray(end);
  }
}

type Condition =
  { field: string; op: 'eq' | 'starts-with'; value: string } | { op: 'range'; min: number; max: number };

function parsePolicy(b64: string, now: number): Condition[] {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
  } catch {
    throw new S3Error('InvalidArgument', 'Invalid Policy: Invalid JSON.', {
      extra: { ArgumentName: 'policy' },
    });
  }
  const bad = (why: string): S3Error =>
    new S3Error('InvalidArgument', `Invalid Policy: ${why}`, { extra: { ArgumentName: 'policy' } });
  if (typeof doc !== 'object' || doc === null) throw bad('not an object');
  const { expiration, conditions } = doc as { expiration?: unknown; conditions?: unknown };
  if (typeof expiration !== 'string' || Number.isNaN(Date.parse(expiration))) throw bad('Invalid expiration');
  if (Date.parse(expiration) < now)
    throw new S3Error('AccessDenied', 'Invalid according to Policy: Policy expired.');
  if (!Array.isArray(conditions)) throw bad('conditions must be an array');
  const out: Condition[] = [];
  for (const c of conditions as unknown[]) {
    if (Array.isArray(c)) {
      const [op, a, b] = c as unknown[];
      if (op === 'content-length-range') {
        const min = Number(a);
        const max = Number(b);
        if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max)) throw bad('bad content-length-range');
        out.push({ op: 'range', min, max });
      } else if (
        (op === 'eq' || op === 'starts-with') &&
        typeof a === 'string' &&
        typeof b === 'string' &&
        a.startsWith('$')
      ) {
        out.push({ field: a.slice(1).toLowerCase(), op, value: b });
      } else {
        throw bad(`unsupported condition ${JSON.stringify(c)}`);
      }
    } else if (typeof c === 'object' && c !== null) {
      for (const [k, v] of Object.entries(c)) {
        if (typeof v !== 'string') throw bad(`condition ${k} must be a string`);
        out.push({ field: k.toLowerCase(), op: 'eq', value: v });
      }
    } else {
      throw bad('bad condition');
    }
  }
  return out;
}

/** Handle `POST /<bucket>` with a form body. */
export async function handlePostObject(ctx: S3Context): Promise<void> {
  const ct = ctx.req.headers['content-type'] ?? '';
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(ct);
  const b = boundary?.[1] ?? boundary?.[2];
  if (b === undefined || b.length > 200) throw malformed('no boundary');
  const form = await parseForm(ctx.req, b);
  const f = form.fields;
  const policy = f.get('policy');
  let conditions: Condition[] = [];
  if (policy !== undefined) {
    if (f.get('x-amz-algorithm') !== 'AWS4-HMAC-SHA256') {
      throw new S3Error('InvalidArgument', 'x-amz-algorithm must be AWS4-HMAC-SHA256 (Signature Version 4)');
    }
    const cred = (f.get('x-amz-credential') ?? '').split('/');
    const signature = f.get('x-amz-signature') ?? '';
    const amzDate = f.get('x-amz-date') ?? '';
    if (
      cred.length !== 5 ||
      cred[3] !== 's3' ||
      cred[4] !== 'aws4_request' ||
      Number.isNaN(amzDateMs(amzDate))
    ) {
      throw new S3Error('InvalidArgument', 'Bad x-amz-credential or x-amz-date');
    }
    const key = await ctx.opts.keys.get(cred[0] as string);
    if (key === undefined) {
      throw new S3Error(
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
        {
          extra: { AWSAccessKeyId: cred[0] as string },
        },
      );
    }
    const expected = policySignature(key.secret_access_key, cred[1] as string, cred[2] as string, policy);
    if (!signaturesEqual(expected, signature)) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
      );
    }
    ctx.principal = { owner: key.owner, isAdmin: key.is_admin, accessKeyId: key.access_key_id };
    conditions = parsePolicy(policy, ctx.now);
  } else if (
    ctx.opts.anonymousLoopbackIsAdmin &&
    /^(::ffff:)?127\.|^::1$/.test(ctx.req.socket.remoteAddress ?? '')
  ) {
    ctx.principal = { owner: 'root', isAdmin: true };
  } else {
    throw new S3Error('AccessDenied', 'Access Denied (a POST upload needs a signed policy)');
  }
  requireBucket(ctx);
  let objectKey = f.get('key');
  if (objectKey === undefined || objectKey === '')
    throw new S3Error('InvalidArgument', 'Bucket POST must contain a field named key.', {
      extra: { ArgumentName: 'key' },
    });
  objectKey = objectKey.replace(/\$\{filename\}/g, form.file.filename);
  if (Buffer.byteLength(objectKey) > 1024) throw new S3Error('KeyTooLongError', 'Your key is too long');
  const values = new Map(f);
  values.set('bucket', ctx.bucket as string);
  values.set('key', objectKey);
  let range: { min: number; max: number } | undefined;
  if (policy !== undefined) {
    if (!conditions.some((c) => c.op === 'eq' && c.field === 'bucket')) {
      throw new S3Error(
        'AccessDenied',
        'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", …] is required',
      );
    }
    const covered = new Set(['bucket']);
    for (const c of conditions) {
      if (c.op === 'range') {
        range = { min: c.min, max: c.max };
        continue;
      }
      covered.add(c.field);
      const v = values.get(c.field) ?? '';
      const okay = c.op === 'eq' ? v === c.value : v.startsWith(c.value);
      if (!okay) {
        throw new S3Error(
          'AccessDenied',
          `Invalid according to Policy: Policy Condition failed: ["${c.op}", "$${c.field}", "${c.value}"]`,
        );
      }
    }
    for (const name of f.keys()) {
      if (name === 'policy' || name === 'x-amz-signature' || name === 'file' || name.startsWith('x-ignore-'))
        continue;
      if (!covered.has(name)) {
        throw new S3Error('AccessDenied', `Invalid according to Policy: Extra input fields: ${name}`);
      }
    }
  }
  const staged = await ctx.opts.objects.stage(
    form.file.data,
    range === undefined ? {} : { maxSize: range.max },
  );
  let file: string;
  try {
    if (range !== undefined && staged.size < range.min) {
      throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size');
    }
    file = await ctx.opts.objects.install(staged);
  } catch (err) {
    await ctx.opts.objects.discard(staged);
    throw err;
  }
  const userMeta: Record<string, string> = {};
  const headers: Record<string, string> = {};
  for (const [k, v] of f) {
    if (k.startsWith('x-amz-meta-')) userMeta[k.slice(11)] = v;
    else if (['content-disposition', 'content-encoding', 'cache-control', 'expires'].includes(k))
      headers[k] = v;
  }
  const rec: ObjectRecord = {
    key: objectKey,
    size: staged.size,
    etag: `"${staged.md5Hex}"`,
    lastModified: ctx.now,
    contentType: f.get('content-type') ?? form.file.contentType ?? 'binary/octet-stream',
    headers,
    userMeta,
    checksums: {},
    segments: [{ file, size: staged.size }],
    tags: {},
    owner: ctx.principal.owner,
  };
  try {
    await ctx.opts.objects.putObject(ctx.bucket as string, rec);
  } catch (err) {
    await ctx.opts.objects.removeFiles([file]);
    throw err;
  }
  const location = `/${ctx.bucket as string}/${encodeURIComponent(objectKey)}`;
  const base = {
    'x-amz-request-id': ctx.requestId,
    Server: 'LightningSTOR',
    ETag: rec.etag,
    Location: location,
    ...(ctx.cors ?? {}),
  };
  const redirect = f.get('success_action_redirect') ?? f.get('redirect');
  if (redirect !== undefined && /^https?:\/\//.test(redirect)) {
    const u = new URL(redirect);
    u.searchParams.set('bucket', ctx.bucket as string);
    u.searchParams.set('key', objectKey);
    u.searchParams.set('etag', rec.etag);
    ctx.res.writeHead(303, { ...base, Location: u.toString(), 'Content-Length': '0' });
    ctx.res.end();
    return;
  }
  const status = f.get('success_action_status');
  if (status === '201') {
    const body = Buffer.from(
      toXml('PostResponse', { Location: location, Bucket: ctx.bucket, Key: objectKey, ETag: rec.etag }, ''),
    );
    ctx.res.writeHead(201, {
      ...base,
      'Content-Type': 'application/xml',
      'Content-Length': String(body.length),
    });
    ctx.res.end(body);
    return;
  }
  ctx.res.writeHead(status === '200' ? 200 : 204, { ...base, 'Content-Length': '0' });
  ctx.res.end();
}
