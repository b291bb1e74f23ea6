/**
 * AWS Signature Version 4 verification for S3: the Authorization header form, presigned URLs
 * (X-Amz-* query), per-chunk signatures of aws-chunked bodies and POST policy signatures.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { S3Error } from '../core/s3-error.js';

/** The payload hash values that are not hashes. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
/** sha256 of the empty string, hex. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** What a signed request claims, before the secret is known. */
export interface ParsedAuth {
  accessKeyId: string;
  /** yyyymmdd of the credential scope. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  /** ISO basic timestamp (yyyymmddThhmmssZ). */
  amzDate: string;
  presigned: boolean;
  /** For presigned URLs: validity in seconds. */
  expires?: number;
}

/** A verified request: what chunk and trailer signatures are checked against. */
export interface SigningContext {
  accessKeyId: string;
  amzDate: string;
  scope: string;
  signingKey: Buffer;
  seedSignature: string;
  /** The request's declared payload hash (`x-amz-content-sha256`, or UNSIGNED-PAYLOAD when presigned). */
  payloadHash: string;
}

/** AWS's URI encoding: everything but unreserved characters is %XX (upper case); `/` kept when asked. */
export function awsUriEncode(s: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Canonical URI of a raw request path (S3: each segment decoded then encoded once). */
export function canonicalUri(rawPath: string): string {
  return rawPath
    .split('/')
    .map((seg) => awsUriEncode(safeDecode(seg), false))
    .join('/');
}

/** Decoded query parameters in wire order (`+` is literal, as in AWS clients' encoding). */
export function parseQuery(rawQuery: string): Array<[string, string]> {
  if (rawQuery === '') return [];
  return rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [safeDecode(p), ''] : [safeDecode(p.slice(0, i)), safeDecode(p.slice(i + 1))];
    });
}

/** Canonical query string, without `X-Amz-Signature`. */
export function canonicalQuery(params: Array<[string, string]>): string {
  return params
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [awsUriEncode(k, false), awsUriEncode(v, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValues(req: IncomingMessage, name: string): string | undefined {
  const vals: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === name)
      vals.push((raw[i + 1] as string).trim().replace(/\s+/g, ' '));
  }
  return vals.length === 0 ? undefined : vals.join(',');
}

function sha256Hex(s: string | Buffer): string {
  return createHash('sha256').update(s).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** The SigV4 signing key for a secret, date, region and service. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
}

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function parseCredential(
  cred: string,
  malformed: S3Error,
): Pick<ParsedAuth, 'accessKeyId' | 'date' | 'region' | 'service'> {
  const parts = cred.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1] ?? '')) throw malformed;
  return {
    accessKeyId: parts[0] as string,
    date: parts[1] as string,
    region: parts[2] as string,
    service: parts[3] as string,
  };
}

/**
 * What the request claims: from `Authorization: AWS4-HMAC-SHA256 …` or presigned `X-Amz-*` query.
 * `undefined` for an anonymous request. Throws for malformed or unsupported (V2) authorization.
 */
export function parseAuth(req: IncomingMessage, query: Array<[string, string]>): ParsedAuth | undefined {
  const h = req.headers.authorization;
  const q = new Map(query);
  if (h !== undefined && h !== '') {
    if (!h.startsWith('AWS4-HMAC-SHA256 ')) {
      throw new S3Error('InvalidRequest', 'Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported');
    }
    const malformed = new S3Error('AuthorizationHeaderMalformed', 'The authorization header is malformed');
    const fields = new Map<string, string>();
    for (const part of h.slice(17).split(',')) {
      const i = part.indexOf('=');
      if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
    }
    const cred = fields.get('Credential');
    const sh = fields.get('SignedHeaders');
    const sig = fields.get('Signature');
    if (cred === undefined || sh === undefined || sig === undefined) throw malformed;
    const amzDate = (req.headers['x-amz-date'] as string | undefined) ?? '';
    let date = amzDate;
    if (!/^\d{8}T\d{6}Z$/.test(date)) {
      const d = req.headers.date;
      const t = d === undefined ? NaN : Date.parse(d);
      if (Number.isNaN(t))
        throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
      date = new Date(t)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
    }
    return {
      ...parseCredential(cred, malformed),
      signedHeaders: sh.split(';'),
      signature: sig,
      amzDate: date,
      presigned: false,
    };
  }
  if (q.has('X-Amz-Algorithm') || q.has('X-Amz-Signature') || q.has('X-Amz-Credential')) {
    const malformed = new S3Error(
      'AuthorizationQueryParametersError',
      'Query-string authentication parameters are malformed',
    );
    if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
      throw new S3Error(
        'AuthorizationQueryParametersError',
        'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
      );
    }
    const cred = q.get('X-Amz-Credential');
    const amzDate = q.get('X-Amz-Date');
    const expires = Number(q.get('X-Amz-Expires') ?? '');
    const sh = q.get('X-Amz-SignedHeaders');
    const sig = q.get('X-Amz-Signature');
    if (cred === undefined || amzDate === undefined || sh === undefined || sig === undefined) throw malformed;
    if (!/^\d{8}T\d{6}Z$/.test(amzDate)) throw malformed;
    if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_SECONDS) {
      throw new S3Error(
        'AuthorizationQueryParametersError',
        'X-Amz-Expires must be between 1 and 604800 seconds',
      );
    }
    return {
      ...parseCredential(cred, malformed),
      signedHeaders: sh.split(';'),
      signature: sig,
      amzDate,
      presigned: true,
      expires,
    };
  }
  return undefined;
}

/** Milliseconds since the epoch of an ISO basic timestamp. */
export function amzDateMs(amzDate: string): number {
  const iso = `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`;
  return Date.parse(iso);
}

/**
 * Verify the request's signature with `secret`. Returns the signing context (for chunk signatures);
 * throws SignatureDoesNotMatch, RequestTimeTooSkewed, AccessDenied (expired presigned URL).
 */
export function verifyRequest(
  req: IncomingMessage,
  rawPath: string,
  query: Array<[string, string]>,
  auth: ParsedAuth,
  secret: string,
  now: number,
): SigningContext {
  if (auth.service !== 's3') {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      `The credential scope service must be "s3", not "${auth.service}"`,
    );
  }
  const t = amzDateMs(auth.amzDate);
  if (Number.isNaN(t)) throw new S3Error('AccessDenied', 'Invalid request date');
  if (auth.presigned) {
    if (now > t + (auth.expires ?? 0) * 1000) throw new S3Error('AccessDenied', 'Request has expired');
    if (t - now > MAX_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not yet valid');
  } else if (Math.abs(now - t) > MAX_SKEW_MS) {
    throw new S3Error(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      {
        extra: {
          RequestTime: auth.amzDate,
          ServerTime: new Date(now).toISOString(),
          MaxAllowedSkewMilliseconds: '900000',
        },
      },
    );
  }
  if (auth.amzDate.slice(0, 8) !== auth.date) {
    throw new S3Error('SignatureDoesNotMatch', 'The credential date does not match the request date');
  }
  if (!auth.signedHeaders.includes('host')) {
    throw new S3Error('AccessDenied', 'The host header must be signed');
  }
  let payloadHash: string;
  if (auth.presigned) {
    payloadHash = (req.headers['x-amz-content-sha256'] as string | undefined) ?? UNSIGNED_PAYLOAD;
  } else {
    const p = req.headers['x-amz-content-sha256'];
    if (typeof p !== 'string' || p === '') {
      throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    }
    payloadHash = p;
  }
  const canonicalHeaders = auth.signedHeaders
    .map((name) => `${name}:${headerValues(req, name) ?? ''}\n`)
    .join('');
  const canonicalRequest = [
    req.method ?? 'GET',
    canonicalUri(rawPath),
    canonicalQuery(query),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', auth.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = signingKey(secret, auth.date, auth.region, auth.service);
  const expected = hmac(key, stringToSign).toString('hex');
  if (!equalHex(expected, auth.signature.toLowerCase())) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      {
        extra: {
          AWSAccessKeyId: auth.accessKeyId,
          StringToSign: stringToSign,
          CanonicalRequest: canonicalRequest,
        },
      },
    );
  }
  return {
    accessKeyId: auth.accessKeyId,
    amzDate: auth.amzDate,
    scope,
    signingKey: key,
    seedSignature: expected,
    payloadHash,
  };
}

/** Expected signature of one aws-chunked chunk whose data hashes to `chunkSha256Hex`. */
export function chunkSignature(ctx: SigningContext, previous: string, chunkSha256Hex: string): string {
  const sts = [
    'AWS4-HMAC-SHA256-PAYLOAD',
    ctx.amzDate,
    ctx.scope,
    previous,
    EMPTY_SHA256,
    chunkSha256Hex,
  ].join('\n');
  return hmac(ctx.signingKey, sts).toString('hex');
}

/** Expected signature of the trailing headers of a signed aws-chunked body. */
export function trailerSignature(ctx: SigningContext, previous: string, canonicalTrailers: string): string {
  const sts = [
    'AWS4-HMAC-SHA256-TRAILER',
    ctx.amzDate,
    ctx.scope,
    previous,
    sha256Hex(canonicalTrailers),
  ].join('\n');
  return hmac(ctx.signingKey, sts).toString('hex');
}

/** Compare signatures in constant time. */
export function signaturesEqual(a: string, b: string): boolean {
  return equalHex(a.toLowerCase(), b.toLowerCase());
}

/** Signature of a POST policy document (base64 text) with a derived key. */
export function policySignature(secret: string, date: string, region: string, policyBase64: string): string {
  return hmac(signingKey(secret, date, region, 's3'), policyBase64).toString('hex');
}
