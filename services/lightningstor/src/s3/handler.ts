/**
 * The S3 API on plain node:http: request routing (path-style and virtual-host style), SigV4
 * authentication, and every operation. Bodies stream to disk; responses stream from disk.
 */
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, createReadStream, open as openCb } from 'node:fs';
import { promisify } from 'node:util';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '@photoncloud/log';
import { bucketNameProblem } from '../core/bucket-name.js';
import { evaluatePreconditions } from '../core/conditions.js';
import type { Preconditions } from '../core/conditions.js';
import { listPage } from '../core/listing.js';
import { parseRange } from '../core/range.js';
import type { ByteRange } from '../core/range.js';
import { S3Error } from '../core/s3-error.js';
import { child, childText, children, parseXml, toXml } from '../core/xml.js';
import type { XmlTree } from '../core/xml.js';
import type { AccessKey, KeyStore } from '../storage/key-store.js';
import type {
  BucketRecord,
  CorsRule,
  ObjectRecord,
  ObjectStore,
  PartRecord,
  Segment,
} from '../storage/object-store.js';
import { checksumAlgorithm, CHECKSUM_ALGORITHMS } from './checksums.js';
import { openBody, readSmallBody, verifyBody } from './request-body.js';
import { handlePostObject } from './post-object.js';
import { awsUriEncode, parseAuth, parseQuery, verifyRequest } from './sigv4.js';
import type { SigningContext } from './sigv4.js';

/** Who is calling. */
export interface S3Principal {
  owner: string;
  isAdmin: boolean;
  accessKeyId?: string;
  projectId?: string;
}

/** Settings of the S3 handler. */
export interface S3HandlerOptions {
  objects: ObjectStore;
  keys: KeyStore;
  logger?: Logger;
  /** Host suffixes for virtual-host style (`<bucket>.<suffix>`); default `['localhost']`. */
  virtualHostSuffixes?: string[];
  /** Unsigned requests from loopback act as the root principal (auth mode "local"). */
  anonymousLoopbackIsAdmin: boolean;
  /** Smallest part (except the last) of a multipart upload; default 5 MiB, as S3. */
  minPartSize?: number;
  /** The clock (ms); tests may fake it. */
  now?: () => number;
  region?: string;
}

/** One request being served. */
export interface S3Context {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  rawPath: string;
  query: Array<[string, string]>;
  q: Map<string, string>;
  bucket: string | undefined;
  key: string | undefined;
  requestId: string;
  principal: S3Principal;
  signing: SigningContext | undefined;
  opts: S3HandlerOptions;
  now: number;
  cors?: Record<string, string>;
}

const openFd = promisify(openCb);
const MAX_META = 2048;
const MAX_XML = 1024 * 1024;
const STORED_HEADERS = [
  'content-disposition',
  'content-encoding',
  'cache-control',
  'content-language',
  'expires',
];

function isLoopback(a: string | undefined): boolean {
  if (a === undefined) return false;
  return a === '::1' || /^(::ffff:)?127\./.test(a);
}

function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString();
}

/** Send an S3 XML document. */
function sendXml(ctx: S3Context, status: number, xml: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(xml, 'utf8');
  ctx.res.writeHead(status, {
    ...baseHeaders(ctx),
    ...headers,
    'Content-Type': 'application/xml',
    'Content-Length': String(body.length),
  });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
}

function sendEmpty(ctx: S3Context, status: number, headers: Record<string, string> = {}): void {
  ctx.res.writeHead(status, { ...baseHeaders(ctx), ...headers, 'Content-Length': '0' });
  ctx.res.end();
}

function baseHeaders(ctx: S3Context): Record<string, string> {
  return {
    'x-amz-request-id': ctx.requestId,
    'x-amz-id-2': ctx.requestId,
    Server: 'LightningSTOR',
    ...(ctx.cors ?? {}),
  };
}

/** Answer an error as S3 XML (HEAD: status and headers only). */
export function sendS3Error(
  ctx: Pick<S3Context, 'res' | 'method' | 'requestId' | 'rawPath' | 'cors'>,
  err: S3Error,
): void {
  const res = ctx.res;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = {
    'x-amz-request-id': ctx.requestId,
    'x-amz-id-2': ctx.requestId,
    Server: 'LightningSTOR',
    ...(ctx.cors ?? {}),
    ...err.headers,
  };
  if (err.status === 304 || ctx.method === 'HEAD') {
    res.writeHead(err.status, { ...headers, 'x-amz-error-code': err.code });
    res.end();
    return;
  }
  const xml = toXml(
    'Error',
    { Code: err.code, Message: err.message, ...err.extra, Resource: ctx.rawPath, RequestId: ctx.requestId },
    '',
  );
  const body = Buffer.from(xml, 'utf8');
  res.writeHead(err.status, {
    ...headers,
    'Content-Type': 'application/xml',
    'Content-Length': String(body.length),
  });
  res.end(body);
}

function noSuchBucket(name: string): S3Error {
  return new S3Error('NoSuchBucket', 'The specified bucket does not exist', { extra: { BucketName: name } });
}

function noSuchKey(key: string): S3Error {
  return new S3Error('NoSuchKey', 'The specified key does not exist.', { extra: { Key: key } });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function decodeSeg(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidArgument', 'The request path is not valid percent-encoded UTF-8');
  }
}

/** Resolve bucket and key from the Host header and path. */
function locate(
  req: IncomingMessage,
  rawPath: string,
  suffixes: string[],
): { bucket?: string; key?: string } {
  const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
  for (const suffix of suffixes) {
    if (host.endsWith(`.${suffix}`)) {
      const bucket = host.slice(0, -suffix.length - 1);
      const key = decodeSeg(rawPath.slice(1));
      return key === '' ? { bucket } : { bucket, key };
    }
  }
  const rest = rawPath.slice(1);
  if (rest === '') return {};
  const i = rest.indexOf('/');
  if (i < 0) return { bucket: decodeSeg(rest) };
  const bucket = decodeSeg(rest.slice(0, i));
  const key = decodeSeg(rest.slice(i + 1));
  return key === '' ? { bucket } : { bucket, key };
}

/** Handle one S3 request; never throws (errors become XML). */
export async function handleS3(
  req: IncomingMessage,
  res: ServerResponse,
  opts: S3HandlerOptions,
): Promise<void> {
  const url = req.url ?? '/';
  const qi = url.indexOf('?');
  const rawPath = qi < 0 ? url : url.slice(0, qi);
  const query = parseQuery(qi < 0 ? '' : url.slice(qi + 1));
  const ctx: S3Context = {
    req,
    res,
    method: req.method ?? 'GET',
    rawPath,
    query,
    q: new Map(query),
    bucket: undefined,
    key: undefined,
    requestId: randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase(),
    principal: { owner: '', isAdmin: false },
    signing: undefined,
    opts,
    now: (opts.now ?? Date.now)(),
  };
  try {
    const loc = locate(req, rawPath, opts.virtualHostSuffixes ?? ['localhost']);
    ctx.bucket = loc.bucket;
    ctx.key = loc.key;
    if (ctx.key !== undefined && Buffer.byteLength(ctx.key) > 1024) {
      throw new S3Error('KeyTooLongError', 'Your key is too long');
    }
    if (ctx.bucket !== undefined) ctx.cors = corsHeaders(ctx);
    if (ctx.method === 'OPTIONS') return preflight(ctx);
    if (
      ctx.method === 'POST' &&
      ctx.key === undefined &&
      ctx.bucket !== undefined &&
      /^multipart\/form-data/i.test(header(req, 'content-type') ?? '')
    ) {
      return await handlePostObject(ctx);
    }
    await authenticate(ctx);
    await dispatch(ctx);
  } catch (err) {
    if (err instanceof S3Error) {
      if (err.status >= 500) opts.logger?.warn({ err, request_id: ctx.requestId }, err.message);
      sendS3Error(ctx, err);
    } else {
      const code = (err as NodeJS.ErrnoException | undefined)?.code;
      if (
        code === 'ECONNRESET' ||
        code === 'ERR_STREAM_PREMATURE_CLOSE' ||
        (err as Error | undefined)?.message === 'aborted'
      ) {
        // The client went away mid-body; nothing was committed.
        res.destroy();
        return;
      }
      opts.logger?.error(
        { err, request_id: ctx.requestId, method: ctx.method, path: rawPath },
        'S3 request failed',
      );
      sendS3Error(ctx, new S3Error('InternalError', 'We encountered an internal error. Please try again.'));
    }
  } finally {
    // A body the handler did not read (an early error) must not stall keep-alive: drain it.
    if (!req.complete && !req.destroyed) req.resume();
  }
}

async function authenticate(ctx: S3Context): Promise<void> {
  const parsed = parseAuth(ctx.req, ctx.query);
  if (parsed === undefined) {
    if (ctx.opts.anonymousLoopbackIsAdmin && isLoopback(ctx.req.socket.remoteAddress)) {
      ctx.principal = { owner: 'root', isAdmin: true };
      return;
    }
    throw new S3Error('AccessDenied', 'Access Denied (anonymous requests need a signature)');
  }
  const key: AccessKey | undefined = await ctx.opts.keys.get(parsed.accessKeyId);
  if (key === undefined) {
    throw new S3Error(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      {
        extra: { AWSAccessKeyId: parsed.accessKeyId },
      },
    );
  }
  ctx.signing = verifyRequest(ctx.req, ctx.rawPath, ctx.query, parsed, key.secret_access_key, ctx.now);
  ctx.principal = {
    owner: key.owner,
    isAdmin: key.is_admin,
    accessKeyId: key.access_key_id,
    ...(key.project_id === undefined ? {} : { projectId: key.project_id }),
  };
}

/** The bucket of the request, checked for existence and access. */
export function requireBucket(
  ctx: Pick<S3Context, 'bucket' | 'principal' | 'opts'>,
  name = ctx.bucket,
): BucketRecord {
  if (name === undefined) throw new S3Error('InvalidRequest', 'A bucket is required');
  const b = ctx.opts.objects.getBucket(name);
  if (b === undefined) throw noSuchBucket(name);
  if (!ctx.principal.isAdmin && b.owner !== ctx.principal.owner)
    throw new S3Error('AccessDenied', 'Access Denied');
  return b;
}

async function dispatch(ctx: S3Context): Promise<void> {
  const { method, q } = ctx;
  if (ctx.bucket === undefined) {
    if (method === 'GET' || method === 'HEAD') return listBuckets(ctx);
    throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }
  if (ctx.key === undefined) {
    switch (method) {
      case 'PUT':
        if (q.has('versioning')) return putVersioning(ctx);
        if (q.has('cors')) return putCors(ctx);
        if (q.has('acl')) return acceptAcl(ctx);
        if (q.has('tagging') || q.has('policy') || q.has('lifecycle') || q.has('encryption')) {
          throw new S3Error('NotImplemented', 'This bucket configuration is not implemented');
        }
        return createBucket(ctx);
      case 'GET':
      case 'HEAD':
        if (method === 'HEAD') return headBucket(ctx);
        if (q.has('location')) return getLocation(ctx);
        if (q.has('versioning')) return getVersioning(ctx);
        if (q.has('cors')) return getCors(ctx);
        if (q.has('uploads')) return listUploads(ctx);
        if (q.has('versions')) return listObjects(ctx, 'versions');
        if (q.has('acl')) return getAcl(ctx);
        if (q.has('policy'))
          return void (
            requireBucket(ctx),
            missingConfig('NoSuchBucketPolicy', 'The bucket policy does not exist')
          );
        if (q.has('lifecycle'))
          return void (
            requireBucket(ctx),
            missingConfig('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist')
          );
        if (q.has('tagging'))
          return void (requireBucket(ctx), missingConfig('NoSuchTagSet', 'The TagSet does not exist'));
        if (q.has('encryption')) {
          requireBucket(ctx);
          missingConfig(
            'ServerSideEncryptionConfigurationNotFoundError',
            'The server side encryption configuration was not found',
          );
        }
        return listObjects(ctx, q.get('list-type') === '2' ? 'v2' : 'v1');
      case 'DELETE':
        if (q.has('cors')) return deleteCors(ctx);
        return deleteBucket(ctx);
      case 'POST':
        if (q.has('delete')) return deleteObjects(ctx);
        break;
    }
    throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }
  switch (method) {
    case 'PUT':
      if (q.has('uploadId')) return uploadPart(ctx);
      if (q.has('tagging')) return putTagging(ctx);
      if (q.has('acl')) return acceptAcl(ctx);
      if (header(ctx.req, 'x-amz-copy-source') !== undefined) return copyObject(ctx);
      return putObject(ctx);
    case 'GET':
    case 'HEAD':
      if (q.has('uploadId') && method === 'GET') return listParts(ctx);
      if (q.has('tagging') && method === 'GET') return getTagging(ctx);
      if (q.has('acl') && method === 'GET') return getAcl(ctx);
      return getObject(ctx);
    case 'DELETE':
      if (q.has('uploadId')) return abortUpload(ctx);
      if (q.has('tagging')) return deleteTagging(ctx);
      return deleteObject(ctx);
    case 'POST':
      if (q.has('uploads')) return createUpload(ctx);
      if (q.has('uploadId')) return completeUpload(ctx);
      break;
  }
  throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
}

function missingConfig(
  code:
    | 'NoSuchBucketPolicy'
    | 'NoSuchLifecycleConfiguration'
    | 'NoSuchTagSet'
    | 'ServerSideEncryptionConfigurationNotFoundError',
  msg: string,
): never {
  throw new S3Error(code, msg);
}

// ---- buckets --------------------------------------------------------------------------------------

function owner(ctx: S3Context): XmlTree {
  return { ID: ctx.principal.owner, DisplayName: ctx.principal.owner };
}

function listBuckets(ctx: S3Context): void {
  const buckets = ctx.opts.objects
    .listBuckets()
    .filter((b) => ctx.principal.isAdmin || b.owner === ctx.principal.owner)
    .map((b) => ({ Name: b.name, CreationDate: isoDate(b.created) }));
  sendXml(ctx, 200, toXml('ListAllMyBucketsResult', { Owner: owner(ctx), Buckets: { Bucket: buckets } }));
}

async function createBucket(ctx: S3Context): Promise<void> {
  const name = ctx.bucket as string;
  const problem = bucketNameProblem(name);
  if (problem !== undefined) throw new S3Error('InvalidBucketName', problem, { extra: { BucketName: name } });
  const body = await readSmallBody(openBody(ctx.req, ctx.signing), MAX_XML);
  if (body.length > 0) {
    const doc = parseXml(body.toString('utf8'));
    if (doc.name !== 'CreateBucketConfiguration')
      throw new S3Error('MalformedXML', 'Expected CreateBucketConfiguration');
  }
  const rec: BucketRecord = {
    name,
    created: ctx.now,
    owner: ctx.principal.owner,
    ...(ctx.principal.projectId === undefined ? {} : { projectId: ctx.principal.projectId }),
  };
  const r = await ctx.opts.objects.createBucket(rec);
  if (!r.created) {
    if (r.bucket.owner === ctx.principal.owner) {
      throw new S3Error(
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
        {
          extra: { BucketName: name },
        },
      );
    }
    throw new S3Error('BucketAlreadyExists', 'The requested bucket name is not available.', {
      extra: { BucketName: name },
    });
  }
  sendEmpty(ctx, 200, { Location: `/${name}` });
}

function headBucket(ctx: S3Context): void {
  requireBucket(ctx);
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': ctx.opts.region ?? 'us-east-1' });
}

function getLocation(ctx: S3Context): void {
  requireBucket(ctx);
  // us-east-1 is the empty LocationConstraint in S3.
  const region = ctx.opts.region ?? 'us-east-1';
  sendXml(
    ctx,
    200,
    toXml('LocationConstraint', {}).replace(
      '</LocationConstraint>',
      `${region === 'us-east-1' ? '' : region}</LocationConstraint>`,
    ),
  );
}

async function deleteBucket(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  await ctx.opts.objects.deleteBucket(ctx.bucket as string);
  sendEmpty(ctx, 204);
}

function getAcl(ctx: S3Context): void {
  requireBucket(ctx);
  if (ctx.key !== undefined && ctx.opts.objects.getObject(ctx.bucket as string, ctx.key) === undefined)
    throw noSuchKey(ctx.key);
  sendXml(
    ctx,
    200,
    toXml('AccessControlPolicy', {
      Owner: owner(ctx),
      AccessControlList: {
        Grant: {
          Grantee: { ID: ctx.principal.owner, DisplayName: ctx.principal.owner },
          Permission: 'FULL_CONTROL',
        },
      },
    }),
  );
}

async function acceptAcl(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  await readSmallBody(openBody(ctx.req, ctx.signing), MAX_XML);
  const acl = header(ctx.req, 'x-amz-acl');
  if (acl !== undefined && acl !== 'private')
    throw new S3Error('NotImplemented', 'Only the private canned ACL is supported');
  sendEmpty(ctx, 200);
}

async function putVersioning(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  const doc = parseXml((await readSmallBody(openBody(ctx.req, ctx.signing), MAX_XML)).toString('utf8'));
  const status = childText(doc, 'Status');
  if (status !== 'Enabled' && status !== 'Suspended') {
    throw new S3Error('MalformedXML', 'VersioningConfiguration Status must be Enabled or Suspended');
  }
  // Objects keep the single version "null"; the setting is recorded and reported.
  await ctx.opts.objects.updateBucket(ctx.bucket as string, (b) => ({ ...b, versioning: status }));
  sendEmpty(ctx, 200);
}

function getVersioning(ctx: S3Context): void {
  const b = requireBucket(ctx);
  sendXml(ctx, 200, toXml('VersioningConfiguration', { Status: b.versioning }));
}

// ---- CORS ----------------------------------------------------------------------------------------

function originMatches(pattern: string, origin: string): boolean {
  if (pattern === '*') return true;
  const i = pattern.indexOf('*');
  if (i < 0) return pattern === origin;
  return (
    origin.startsWith(pattern.slice(0, i)) &&
    origin.endsWith(pattern.slice(i + 1)) &&
    origin.length >= pattern.length - 1
  );
}

function findCorsRule(
  b: BucketRecord | undefined,
  origin: string,
  method: string,
  reqHeaders: string[],
): CorsRule | undefined {
  return b?.cors?.find(
    (r) =>
      r.allowedOrigins.some((o) => originMatches(o, origin)) &&
      r.allowedMethods.includes(method) &&
      reqHeaders.every((h) => r.allowedHeaders.some((a) => originMatches(a.toLowerCase(), h.toLowerCase()))),
  );
}

function corsHeaders(ctx: S3Context): Record<string, string> | undefined {
  const origin = header(ctx.req, 'origin');
  if (origin === undefined || ctx.method === 'OPTIONS') return undefined;
  const b = ctx.opts.objects.getBucket(ctx.bucket as string);
  const rule = findCorsRule(b, origin, ctx.method, []);
  if (rule === undefined) return undefined;
  const out: Record<string, string> = {
    'Access-Control-Allow-Origin': rule.allowedOrigins.includes('*') ? '*' : origin,
    'Access-Control-Allow-Methods': rule.allowedMethods.join(', '),
    Vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  if (rule.exposeHeaders.length > 0) out['Access-Control-Expose-Headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) out['Access-Control-Max-Age'] = String(rule.maxAgeSeconds);
  return out;
}

function preflight(ctx: S3Context): void {
  const origin = header(ctx.req, 'origin');
  const method = header(ctx.req, 'access-control-request-method');
  if (origin === undefined || method === undefined || ctx.bucket === undefined) {
    throw new S3Error('InvalidRequest', 'Insufficient information. Origin request header needed.');
  }
  const b = ctx.opts.objects.getBucket(ctx.bucket);
  if (b === undefined) throw noSuchBucket(ctx.bucket);
  const reqHeaders = (header(ctx.req, 'access-control-request-headers') ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  const rule = findCorsRule(b, origin, method, reqHeaders);
  if (rule === undefined)
    throw new S3Error('AccessDenied', 'CORSResponse: This CORS request is not allowed.');
  const h: Record<string, string> = {
    'Access-Control-Allow-Origin': rule.allowedOrigins.includes('*') ? '*' : origin,
    'Access-Control-Allow-Methods': rule.allowedMethods.join(', '),
    Vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  if (reqHeaders.length > 0) h['Access-Control-Allow-Headers'] = reqHeaders.join(', ');
  if (rule.exposeHeaders.length > 0) h['Access-Control-Expose-Headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) h['Access-Control-Max-Age'] = String(rule.maxAgeSeconds);
  sendEmpty(ctx, 200, h);
}

const CORS_METHODS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'HEAD']);

async function putCors(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  const doc = parseXml((await readSmallBody(openBody(ctx.req, ctx.signing), MAX_XML)).toString('utf8'));
  if (doc.name !== 'CORSConfiguration') throw new S3Error('MalformedXML', 'Expected CORSConfiguration');
  const rules: CorsRule[] = children(doc, 'CORSRule').map((r) => {
    const rule: CorsRule = {
      allowedOrigins: children(r, 'AllowedOrigin').map((e) => e.text.trim()),
      allowedMethods: children(r, 'AllowedMethod').map((e) => e.text.trim()),
      allowedHeaders: children(r, 'AllowedHeader').map((e) => e.text.trim()),
      exposeHeaders: children(r, 'ExposeHeader').map((e) => e.text.trim()),
    };
    const id = childText(r, 'ID');
    if (id !== undefined) rule.id = id;
    const age = childText(r, 'MaxAgeSeconds');
    if (age !== undefined) {
      const n = Number(age);
      if (!Number.isInteger(n) || n < 0)
        throw new S3Error('MalformedXML', 'MaxAgeSeconds must be a non-negative integer');
      rule.maxAgeSeconds = n;
    }
    if (rule.allowedOrigins.length === 0 || rule.allowedMethods.length === 0) {
      throw new S3Error('MalformedXML', 'Each CORSRule needs AllowedOrigin and AllowedMethod');
    }
    for (const m of rule.allowedMethods) {
      if (!CORS_METHODS.has(m))
        throw new S3Error(
          'InvalidRequest',
          `Found unsupported HTTP method in CORS config. Unsupported method is ${m}`,
        );
    }
    return rule;
  });
  if (rules.length === 0 || rules.length > 100)
    throw new S3Error('MalformedXML', 'A CORS configuration has 1 to 100 rules');
  await ctx.opts.objects.updateBucket(ctx.bucket as string, (b) => ({ ...b, cors: rules }));
  sendEmpty(ctx, 200);
}

function getCors(ctx: S3Context): void {
  const b = requireBucket(ctx);
  if (b.cors === undefined) {
    throw new S3Error('NoSuchCORSConfiguration', 'The CORS configuration does not exist', {
      extra: { BucketName: b.name },
    });
  }
  sendXml(
    ctx,
    200,
    toXml('CORSConfiguration', {
      CORSRule: b.cors.map((r) => ({
        ID: r.id,
        AllowedHeader: r.allowedHeaders,
        AllowedMethod: r.allowedMethods,
        AllowedOrigin: r.allowedOrigins,
        ExposeHeader: r.exposeHeaders,
        MaxAgeSeconds: r.maxAgeSeconds,
      })),
    }),
  );
}

async function deleteCors(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  await ctx.opts.objects.updateBucket(ctx.bucket as string, (b) => {
    const { cors: _cors, ...rest } = b;
    return rest;
  });
  sendEmpty(ctx, 204);
}

// ---- listing -------------------------------------------------------------------------------------

function intParam(ctx: S3Context, name: string, def: number, max: number): number {
  const v = ctx.q.get(name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v))
    throw new S3Error('InvalidArgument', `${name} must be a non-negative integer`, {
      extra: { ArgumentName: name, ArgumentValue: v },
    });
  return Math.min(Number(v), max);
}

function listObjects(ctx: S3Context, kind: 'v1' | 'v2' | 'versions'): void {
  requireBucket(ctx);
  const q = ctx.q;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = intParam(ctx, 'max-keys', 1000, 1000);
  const encodingType = q.get('encoding-type');
  if (encodingType !== undefined && encodingType !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request');
  }
  const enc = (s: string | undefined): string | undefined =>
    s === undefined || encodingType !== 'url' ? s : awsUriEncode(s, true);
  let after = '';
  const token = q.get('continuation-token');
  if (kind === 'v2') {
    if (token !== undefined) {
      const decoded = Buffer.from(token, 'base64url').toString('utf8');
      if (token === '' || !decoded.startsWith('k:'))
        throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
          extra: { ArgumentName: 'continuation-token' },
        });
      after = decoded.slice(2);
    } else {
      after = q.get('start-after') ?? '';
    }
  } else if (kind === 'v1') {
    after = q.get('marker') ?? '';
  } else {
    after = q.get('key-marker') ?? '';
  }
  const bucket = ctx.bucket as string;
  const page = listPage((from) => ctx.opts.objects.scanObjects(bucket, from), {
    prefix,
    delimiter,
    maxKeys,
    after,
  });
  const commonPrefixes = page.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
  const item = (k: string, o: ObjectRecord): XmlTree => ({
    Key: enc(k),
    LastModified: isoDate(o.lastModified),
    ETag: o.etag,
    ...(Object.keys(o.checksums).length > 0 && o.partCount === undefined
      ? { ChecksumAlgorithm: Object.keys(o.checksums).map((a) => a.toUpperCase()) }
      : {}),
    Size: o.size,
    StorageClass: 'STANDARD',
    ...(kind === 'v2' && q.get('fetch-owner') !== 'true'
      ? {}
      : { Owner: { ID: o.owner, DisplayName: o.owner } }),
  });
  if (kind === 'versions') {
    sendXml(
      ctx,
      200,
      toXml('ListVersionsResult', {
        Name: bucket,
        Prefix: enc(prefix),
        KeyMarker: enc(after),
        VersionIdMarker: q.get('version-id-marker') ?? '',
        ...(page.truncated ? { NextKeyMarker: enc(page.last), NextVersionIdMarker: 'null' } : {}),
        MaxKeys: maxKeys,
        Delimiter: delimiter === '' ? undefined : enc(delimiter),
        IsTruncated: page.truncated,
        Version: page.contents.map(([k, o]) => ({
          Key: enc(k),
          VersionId: 'null',
          IsLatest: true,
          LastModified: isoDate(o.lastModified),
          ETag: o.etag,
          Size: o.size,
          StorageClass: 'STANDARD',
          Owner: { ID: o.owner, DisplayName: o.owner },
        })),
        CommonPrefixes: commonPrefixes,
        EncodingType: encodingType,
      }),
    );
    return;
  }
  if (kind === 'v1') {
    sendXml(
      ctx,
      200,
      toXml('ListBucketResult', {
        Name: bucket,
        Prefix: enc(prefix),
        Marker: enc(after),
        ...(page.truncated ? { NextMarker: enc(page.last) } : {}),
        MaxKeys: maxKeys,
        Delimiter: delimiter === '' ? undefined : enc(delimiter),
        IsTruncated: page.truncated,
        Contents: page.contents.map(([k, o]) => item(k, o)),
        CommonPrefixes: commonPrefixes,
        EncodingType: encodingType,
      }),
    );
    return;
  }
  sendXml(
    ctx,
    200,
    toXml('ListBucketResult', {
      Name: bucket,
      Prefix: enc(prefix),
      ...(token === undefined ? {} : { ContinuationToken: token }),
      ...(page.truncated && page.last !== undefined
        ? { NextContinuationToken: Buffer.from(`k:${page.last}`, 'utf8').toString('base64url') }
        : {}),
      ...(q.has('start-after') ? { StartAfter: enc(q.get('start-after')) } : {}),
      KeyCount: page.contents.length + page.commonPrefixes.length,
      MaxKeys: maxKeys,
      Delimiter: delimiter === '' ? undefined : enc(delimiter),
      IsTruncated: page.truncated,
      Contents: page.contents.map(([k, o]) => item(k, o)),
      CommonPrefixes: commonPrefixes,
      EncodingType: encodingType,
    }),
  );
}

// ---- objects ---------------------------------------------------------------------------------------

function metadataFromHeaders(req: IncomingMessage): {
  contentType: string;
  headers: Record<string, string>;
  userMeta: Record<string, string>;
} {
  const headers: Record<string, string> = {};
  for (const h of STORED_HEADERS) {
    const v = header(req, h);
    if (v !== undefined) headers[h] = v;
  }
  // aws-chunked is the transfer framing, not the object's encoding.
  const ce = headers['content-encoding'];
  if (ce !== undefined) {
    const rest = ce
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '' && s !== 'aws-chunked');
    if (rest.length === 0) delete headers['content-encoding'];
    else headers['content-encoding'] = rest.join(', ');
  }
  const userMeta: Record<string, string> = {};
  let size = 0;
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.startsWith('x-amz-meta-') && v !== undefined) {
      const value = Array.isArray(v) ? v.join(',') : v;
      userMeta[k.slice(11)] = value;
      size += k.length - 11 + value.length;
    }
  }
  if (size > MAX_META)
    throw new S3Error('MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size.');
  return { contentType: header(req, 'content-type') ?? 'binary/octet-stream', headers, userMeta };
}

function parseTagging(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (s === undefined || s === '') return out;
  for (const [k, v] of parseQuery(s)) {
    if (k === '' || k.length > 128 || v.length > 256)
      throw new S3Error('InvalidTag', 'The tag provided was not a valid tag.');
    out[k] = v;
  }
  if (Object.keys(out).length > 10) throw new S3Error('InvalidTag', 'Object tags cannot be greater than 10');
  return out;
}

function writePreconditions(ctx: S3Context): (cur: ObjectRecord | undefined) => void {
  const ifNoneMatch = header(ctx.req, 'if-none-match');
  const ifMatch = header(ctx.req, 'if-match');
  return (cur) => {
    if (ifNoneMatch !== undefined) {
      if (ifNoneMatch.trim() !== '*')
        throw new S3Error('NotImplemented', 'If-None-Match on writes supports only "*"');
      if (cur !== undefined)
        throw new S3Error(
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          { extra: { Condition: 'If-None-Match' } },
        );
    }
    if (ifMatch !== undefined) {
      if (cur === undefined) throw noSuchKey(ctx.key as string);
      if (evaluatePreconditions({ ifMatch }, cur) !== 'ok') {
        throw new S3Error(
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          { extra: { Condition: 'If-Match' } },
        );
      }
    }
  };
}

function checksumHeaders(checksums: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [alg, v] of Object.entries(checksums)) out[`x-amz-checksum-${alg}`] = v;
  return out;
}

async function putObject(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  const meta = metadataFromHeaders(ctx.req);
  const tags = parseTagging(header(ctx.req, 'x-amz-tagging'));
  const check = writePreconditions(ctx);
  // Fail fast before streaming a body that a conditional write would refuse anyway.
  check(ctx.opts.objects.getObject(ctx.bucket as string, ctx.key as string));
  const body = openBody(ctx.req, ctx.signing);
  if (body.length === undefined && header(ctx.req, 'transfer-encoding') === undefined) {
    throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
  }
  const staged = await ctx.opts.objects.stage(body.source, {
    checksums: body.algorithms,
    sha256: body.sha256 !== undefined,
  });
  let checksums: Record<string, string>;
  let file: string;
  try {
    checksums = verifyBody(body, staged);
    file = await ctx.opts.objects.install(staged);
  } catch (err) {
    await ctx.opts.objects.discard(staged);
    throw err;
  }
  const rec: ObjectRecord = {
    key: ctx.key as string,
    size: staged.size,
    etag: `"${staged.md5Hex}"`,
    lastModified: ctx.now,
    ...meta,
    checksums,
    segments: [{ file, size: staged.size }],
    tags,
    owner: ctx.principal.owner,
  };
  try {
    await ctx.opts.objects.putObject(ctx.bucket as string, rec, check);
  } catch (err) {
    await ctx.opts.objects.removeFiles([file]);
    throw err;
  }
  sendEmpty(ctx, 200, { ETag: rec.etag, ...checksumHeaders(checksums) });
}

function readPreconditions(req: IncomingMessage, prefix = 'if-'): Preconditions {
  const p: Preconditions = {};
  const im = header(req, `${prefix}match`);
  const inm = header(req, `${prefix}none-match`);
  const ims = header(req, `${prefix}modified-since`);
  const ius = header(req, `${prefix}unmodified-since`);
  if (im !== undefined) p.ifMatch = im;
  if (inm !== undefined) p.ifNoneMatch = inm;
  if (ims !== undefined) p.ifModifiedSince = ims;
  if (ius !== undefined) p.ifUnmodifiedSince = ius;
  return p;
}

/** Response headers describing an object. */
function objectHeaders(o: ObjectRecord): Record<string, string> {
  const h: Record<string, string> = {
    'Content-Type': o.contentType,
    ETag: o.etag,
    'Last-Modified': httpDate(o.lastModified),
    'Accept-Ranges': 'bytes',
  };
  for (const [k, v] of Object.entries(o.headers)) h[k] = v;
  for (const [k, v] of Object.entries(o.userMeta)) h[`x-amz-meta-${k}`] = v;
  const tagCount = Object.keys(o.tags).length;
  if (tagCount > 0) h['x-amz-tagging-count'] = String(tagCount);
  if (o.partCount !== undefined) h['x-amz-mp-parts-count'] = String(o.partCount);
  return h;
}

/** Open every segment (retrying when an overwrite removed the files between lookup and open). */
async function openSegments(
  ctx: S3Context,
  bucket: string,
  key: string,
): Promise<{ obj: ObjectRecord; fds: number[] } | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const obj = ctx.opts.objects.getObject(bucket, key);
    if (obj === undefined) return undefined;
    const fds: number[] = [];
    try {
      for (const s of obj.segments) {
        fds.push(await openFd(ctx.opts.objects.segmentPath(s), 'r'));
      }
      return { obj, fds };
    } catch (err) {
      for (const fd of fds) closeSync(fd);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new S3Error('ServiceUnavailable', 'The object is being overwritten; please retry');
}

async function streamSegments(
  res: ServerResponse,
  segments: Segment[],
  fds: number[],
  range: ByteRange | undefined,
): Promise<void> {
  let pos = 0;
  const start = range?.start ?? 0;
  const end = range === undefined ? Infinity : range.end;
  try {
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i] as Segment;
      const fd = fds[i] as number;
      const segStart = pos;
      const segEnd = pos + seg.size - 1;
      pos += seg.size;
      fds[i] = -1;
      if (seg.size === 0 || segEnd < start || segStart > end) {
        closeSync(fd);
        continue;
      }
      const from = Math.max(start, segStart) - segStart;
      const to = Math.min(end, segEnd) - segStart;
      await pipeline(createReadStream('', { fd, start: from, end: to, highWaterMark: 1024 * 1024 }), res, {
        end: false,
      });
    }
  } finally {
    for (const fd of fds) if (fd >= 0) closeSync(fd);
  }
  res.end();
}

const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
};

async function getObject(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  const bucket = ctx.bucket as string;
  const key = ctx.key as string;
  const opened = await openSegments(ctx, bucket, key);
  if (opened === undefined) throw noSuchKey(key);
  const { obj, fds } = opened;
  let handedOver = false;
  try {
    const verdict = evaluatePreconditions(readPreconditions(ctx.req), obj);
    if (verdict === 'failed')
      throw new S3Error(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        { extra: { Condition: 'If-Match' } },
      );
    if (verdict === 'not-modified') {
      throw new S3Error('NotModified', 'Not Modified', {
        headers: { ETag: obj.etag, 'Last-Modified': httpDate(obj.lastModified) },
      });
    }
    const headers = objectHeaders(obj);
    let range: ByteRange | undefined;
    const partNumber = ctx.q.get('partNumber');
    if (partNumber !== undefined) {
      const n = Number(partNumber);
      const sizes = obj.partSizes ?? [obj.size];
      if (!Number.isInteger(n) || n < 1 || n > sizes.length)
        throw new S3Error('InvalidPart', 'The requested partnumber is not satisfiable');
      let s = 0;
      for (let i = 0; i < n - 1; i++) s += sizes[i] as number;
      const len = sizes[n - 1] as number;
      if (obj.partCount !== undefined || len > 0) range = { start: s, end: s + len - 1 };
      if (len === 0) range = undefined;
    } else {
      range = parseRange(header(ctx.req, 'range'), obj.size);
    }
    if (
      range === undefined &&
      header(ctx.req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED' &&
      obj.partCount === undefined
    ) {
      Object.assign(headers, checksumHeaders(obj.checksums));
    }
    for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
      const v = ctx.q.get(param);
      if (v !== undefined) headers[name] = v;
    }
    const status = range === undefined ? 200 : 206;
    const length = range === undefined ? obj.size : range.end - range.start + 1;
    if (range !== undefined) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${obj.size}`;
    ctx.res.writeHead(status, { ...baseHeaders(ctx), ...headers, 'Content-Length': String(length) });
    if (ctx.method === 'HEAD' || length === 0) {
      ctx.res.end();
      return;
    }
    handedOver = true;
    await streamSegments(ctx.res, obj.segments, fds, range);
  } finally {
    if (!handedOver) for (const fd of fds) closeSync(fd);
  }
}

async function deleteObject(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  const ifMatch = header(ctx.req, 'if-match');
  await ctx.opts.objects.deleteObject(ctx.bucket as string, ctx.key as string, (cur) => {
    if (ifMatch !== undefined && (cur === undefined || evaluatePreconditions({ ifMatch }, cur) !== 'ok')) {
      throw new S3Error(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        { extra: { Condition: 'If-Match' } },
      );
    }
  });
  sendEmpty(ctx, 204);
}

async function deleteObjects(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  const body = openBody(ctx.req, ctx.signing);
  if (body.contentMd5 === undefined && body.algorithms.length === 0) {
    throw new S3Error(
      'InvalidRequest',
      'Missing required header for this request: Content-MD5 or x-amz-checksum-*',
    );
  }
  const doc = parseXml((await readSmallBody(body, 2 * MAX_XML)).toString('utf8'));
  if (doc.name !== 'Delete') throw new S3Error('MalformedXML', 'Expected a Delete document');
  const quiet = childText(doc, 'Quiet')?.trim() === 'true';
  const objs = children(doc, 'Object');
  if (objs.length > 1000) throw new S3Error('MalformedXML', 'At most 1000 keys per request');
  const deleted: XmlTree[] = [];
  const errors: XmlTree[] = [];
  for (const o of objs) {
    const key = childText(o, 'Key');
    if (key === undefined || key === '') {
      errors.push({ Key: '', Code: 'InvalidArgument', Message: 'Key is required' });
      continue;
    }
    try {
      await ctx.opts.objects.deleteObject(ctx.bucket as string, key);
      if (!quiet) deleted.push({ Key: key });
    } catch (err) {
      const e =
        err instanceof S3Error ? err : new S3Error('InternalError', 'We encountered an internal error.');
      errors.push({ Key: key, Code: e.code, Message: e.message });
    }
  }
  sendXml(ctx, 200, toXml('DeleteResult', { Deleted: deleted, Error: errors }));
}

/** Parse `x-amz-copy-source`: `[/]bucket/key[?versionId=…]`, URL-encoded. */
function copySource(ctx: S3Context): { bucket: string; key: string } {
  let src = header(ctx.req, 'x-amz-copy-source') as string;
  const qi = src.indexOf('?');
  if (qi >= 0) {
    const vid = new URLSearchParams(src.slice(qi + 1)).get('versionId');
    if (vid !== null && vid !== 'null') throw new S3Error('InvalidArgument', 'Only version "null" exists');
    src = src.slice(0, qi);
  }
  src = decodeSeg(src.replace(/^\//, ''));
  const i = src.indexOf('/');
  if (i <= 0 || i === src.length - 1)
    throw new S3Error(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      { extra: { ArgumentName: 'x-amz-copy-source' } },
    );
  return { bucket: src.slice(0, i), key: src.slice(i + 1) };
}

async function* segmentData(
  ctx: S3Context,
  obj: ObjectRecord,
  fds: number[],
  range: ByteRange | undefined,
): AsyncGenerator<Buffer> {
  let pos = 0;
  const start = range?.start ?? 0;
  const end = range?.end ?? obj.size - 1;
  try {
    for (let i = 0; i < obj.segments.length; i++) {
      const seg = obj.segments[i] as Segment;
      const fd = fds[i] as number;
      const segStart = pos;
      pos += seg.size;
      fds[i] = -1;
      if (seg.size === 0 || segStart + seg.size - 1 < start || segStart > end) {
        closeSync(fd);
        continue;
      }
      const stream = createReadStream('', {
        fd,
        start: Math.max(start, segStart) - segStart,
        end: Math.min(end, segStart + seg.size - 1) - segStart,
        highWaterMark: 1024 * 1024,
      });
      for await (const c of stream) yield c as Buffer;
    }
  } finally {
    for (const fd of fds) if (fd >= 0) closeSync(fd);
  }
}

async function openCopySource(ctx: S3Context): Promise<{ obj: ObjectRecord; fds: number[] }> {
  const src = copySource(ctx);
  requireBucket(ctx, src.bucket);
  const opened = await openSegments(ctx, src.bucket, src.key);
  if (opened === undefined) throw noSuchKey(src.key);
  const verdict = evaluatePreconditions(readPreconditions(ctx.req, 'x-amz-copy-source-if-'), opened.obj);
  if (verdict !== 'ok') {
    for (const fd of opened.fds) closeSync(fd);
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  }
  return opened;
}

async function copyObject(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  const src = copySource(ctx);
  const directive = (header(ctx.req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  const tagDirective = (header(ctx.req, 'x-amz-tagging-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE')
    throw new S3Error('InvalidArgument', 'Unknown metadata directive.');
  if (src.bucket === ctx.bucket && src.key === ctx.key && directive === 'COPY') {
    throw new S3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const { obj, fds } = await openCopySource(ctx);
  const algHeader = header(ctx.req, 'x-amz-checksum-algorithm');
  const algs = new Set(Object.keys(obj.checksums).map((a) => checksumAlgorithm(a)));
  if (algHeader !== undefined) algs.add(checksumAlgorithm(algHeader));
  const staged = await ctx.opts.objects.stage(segmentData(ctx, obj, fds, undefined), {
    checksums: [...algs],
  });
  const file = await ctx.opts.objects.install(staged);
  const meta =
    directive === 'REPLACE'
      ? metadataFromHeaders(ctx.req)
      : { contentType: obj.contentType, headers: obj.headers, userMeta: obj.userMeta };
  const rec: ObjectRecord = {
    key: ctx.key as string,
    size: staged.size,
    etag: obj.partCount === undefined ? `"${staged.md5Hex}"` : obj.etag,
    lastModified: ctx.now,
    ...meta,
    checksums: Object.fromEntries(staged.checksums),
    segments: [{ file, size: staged.size }],
    tags: tagDirective === 'REPLACE' ? parseTagging(header(ctx.req, 'x-amz-tagging')) : obj.tags,
    owner: ctx.principal.owner,
  };
  if (obj.partCount !== undefined) rec.etag = `"${staged.md5Hex}"`;
  try {
    await ctx.opts.objects.putObject(ctx.bucket as string, rec, writePreconditions(ctx));
  } catch (err) {
    await ctx.opts.objects.removeFiles([file]);
    throw err;
  }
  const sums: XmlTree = {};
  for (const [a, v] of Object.entries(rec.checksums)) sums[`Checksum${a.toUpperCase()}`] = v;
  sendXml(
    ctx,
    200,
    toXml('CopyObjectResult', { ETag: rec.etag, LastModified: isoDate(rec.lastModified), ...sums }),
  );
}

// ---- tagging ---------------------------------------------------------------------------------------

async function putTagging(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  const doc = parseXml((await readSmallBody(openBody(ctx.req, ctx.signing), MAX_XML)).toString('utf8'));
  if (doc.name !== 'Tagging') throw new S3Error('MalformedXML', 'Expected a Tagging document');
  const set = child(doc, 'TagSet');
  const tags: Record<string, string> = {};
  for (const t of set === undefined ? [] : children(set, 'Tag')) {
    const k = childText(t, 'Key');
    const v = childText(t, 'Value') ?? '';
    if (k === undefined || k === '' || k.length > 128 || v.length > 256)
      throw new S3Error('InvalidTag', 'The tag provided was not a valid tag.');
    if (k in tags) throw new S3Error('InvalidTag', 'Cannot provide multiple Tags with the same key');
    tags[k] = v;
  }
  if (Object.keys(tags).length > 10) throw new S3Error('InvalidTag', 'Object tags cannot be greater than 10');
  await ctx.opts.objects.updateObject(ctx.bucket as string, ctx.key as string, (o) => ({ ...o, tags }));
  sendEmpty(ctx, 200, { 'x-amz-version-id': 'null' });
}

function getTagging(ctx: S3Context): void {
  requireBucket(ctx);
  const o = ctx.opts.objects.getObject(ctx.bucket as string, ctx.key as string);
  if (o === undefined) throw noSuchKey(ctx.key as string);
  sendXml(
    ctx,
    200,
    toXml('Tagging', { TagSet: { Tag: Object.entries(o.tags).map(([Key, Value]) => ({ Key, Value })) } }),
    {
      'x-amz-version-id': 'null',
    },
  );
}

async function deleteTagging(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  await ctx.opts.objects.updateObject(ctx.bucket as string, ctx.key as string, (o) => ({ ...o, tags: {} }));
  sendEmpty(ctx, 204, { 'x-amz-version-id': 'null' });
}

// ---- multipart -------------------------------------------------------------------------------------

async function createUpload(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  const meta = metadataFromHeaders(ctx.req);
  const alg = header(ctx.req, 'x-amz-checksum-algorithm');
  const uploadId = randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');
  await ctx.opts.objects.createUpload({
    uploadId,
    bucket: ctx.bucket as string,
    key: ctx.key as string,
    initiated: ctx.now,
    ...meta,
    tags: parseTagging(header(ctx.req, 'x-amz-tagging')),
    ...(alg === undefined ? {} : { checksumAlgorithm: checksumAlgorithm(alg) }),
    owner: ctx.principal.owner,
  });
  sendXml(
    ctx,
    200,
    toXml('InitiateMultipartUploadResult', { Bucket: ctx.bucket, Key: ctx.key, UploadId: uploadId }),
    alg === undefined ? {} : { 'x-amz-checksum-algorithm': alg.toUpperCase() },
  );
}

function requireUpload(ctx: S3Context): string {
  const uploadId = ctx.q.get('uploadId') as string;
  const u = ctx.opts.objects.getUpload(ctx.bucket as string, uploadId);
  if (u === undefined || u.key !== ctx.key) {
    throw new S3Error(
      'NoSuchUpload',
      'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      {
        extra: { UploadId: uploadId },
      },
    );
  }
  return uploadId;
}

async function uploadPart(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  const uploadId = requireUpload(ctx);
  const pn = Number(ctx.q.get('partNumber'));
  if (!Number.isInteger(pn) || pn < 1 || pn > 10000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      extra: { ArgumentName: 'partNumber' },
    });
  }
  let staged;
  let checksums: Record<string, string>;
  const isCopy = header(ctx.req, 'x-amz-copy-source') !== undefined;
  if (isCopy) {
    const { obj, fds } = await openCopySource(ctx);
    let range: ByteRange | undefined;
    const r = header(ctx.req, 'x-amz-copy-source-range');
    if (r !== undefined) {
      const m = /^bytes=(\d+)-(\d+)$/.exec(r.trim());
      if (m === null || Number(m[2]) < Number(m[1]) || Number(m[2]) >= obj.size) {
        for (const fd of fds) closeSync(fd);
        throw new S3Error(
          'InvalidArgument',
          'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
          {
            extra: { ArgumentName: 'x-amz-copy-source-range' },
          },
        );
      }
      range = { start: Number(m[1]), end: Number(m[2]) };
    }
    staged = await ctx.opts.objects.stage(segmentData(ctx, obj, fds, range), {});
    checksums = {};
  } else {
    const body = openBody(ctx.req, ctx.signing);
    staged = await ctx.opts.objects.stage(body.source, {
      checksums: body.algorithms,
      sha256: body.sha256 !== undefined,
      maxSize: 5 * 1024 ** 3,
    });
    try {
      checksums = verifyBody(body, staged);
    } catch (err) {
      await ctx.opts.objects.discard(staged);
      throw err;
    }
  }
  const file = await ctx.opts.objects.install(staged);
  const part: PartRecord = {
    partNumber: pn,
    etag: `"${staged.md5Hex}"`,
    size: staged.size,
    lastModified: ctx.now,
    file,
    checksums,
  };
  try {
    await ctx.opts.objects.putPart(ctx.bucket as string, uploadId, part);
  } catch (err) {
    await ctx.opts.objects.removeFiles([file]);
    throw err;
  }
  if (isCopy) {
    sendXml(ctx, 200, toXml('CopyPartResult', { ETag: part.etag, LastModified: isoDate(part.lastModified) }));
  } else {
    sendEmpty(ctx, 200, { ETag: part.etag, ...checksumHeaders(checksums) });
  }
}

function listParts(ctx: S3Context): void {
  requireBucket(ctx);
  const uploadId = requireUpload(ctx);
  const marker = intParam(ctx, 'part-number-marker', 0, 10000);
  const max = intParam(ctx, 'max-parts', 1000, 1000);
  const all = ctx.opts.objects.listParts(uploadId).filter((p) => p.partNumber > marker);
  const page = all.slice(0, max);
  const truncated = all.length > page.length;
  const upload = ctx.opts.objects.getUpload(ctx.bucket as string, uploadId);
  sendXml(
    ctx,
    200,
    toXml('ListPartsResult', {
      Bucket: ctx.bucket,
      Key: ctx.key,
      UploadId: uploadId,
      PartNumberMarker: marker,
      ...(truncated ? { NextPartNumberMarker: page[page.length - 1]?.partNumber } : {}),
      MaxParts: max,
      IsTruncated: truncated,
      ...(upload?.checksumAlgorithm === undefined
        ? {}
        : { ChecksumAlgorithm: upload.checksumAlgorithm.toUpperCase() }),
      Part: page.map((p) => {
        const sums: XmlTree = {};
        for (const [a, v] of Object.entries(p.checksums)) sums[`Checksum${a.toUpperCase()}`] = v;
        return {
          PartNumber: p.partNumber,
          LastModified: isoDate(p.lastModified),
          ETag: p.etag,
          Size: p.size,
          ...sums,
        };
      }),
      Initiator: owner(ctx),
      Owner: owner(ctx),
      StorageClass: 'STANDARD',
    }),
  );
}

function listUploads(ctx: S3Context): void {
  requireBucket(ctx);
  const prefix = ctx.q.get('prefix') ?? '';
  const max = intParam(ctx, 'max-uploads', 1000, 1000);
  const keyMarker = ctx.q.get('key-marker') ?? '';
  const idMarker = ctx.q.get('upload-id-marker') ?? '';
  const all = ctx.opts.objects
    .listUploads(ctx.bucket as string)
    .filter((u) => u.key.startsWith(prefix))
    .sort((a, b) =>
      a.key < b.key
        ? -1
        : a.key > b.key
          ? 1
          : a.initiated - b.initiated || (a.uploadId < b.uploadId ? -1 : 1),
    )
    .filter(
      (u) =>
        keyMarker === '' ||
        u.key > keyMarker ||
        (u.key === keyMarker && idMarker !== '' && u.uploadId > idMarker),
    );
  const page = all.slice(0, max);
  const truncated = all.length > page.length;
  const last = page[page.length - 1];
  sendXml(
    ctx,
    200,
    toXml('ListMultipartUploadsResult', {
      Bucket: ctx.bucket,
      KeyMarker: keyMarker,
      UploadIdMarker: idMarker,
      ...(truncated && last !== undefined
        ? { NextKeyMarker: last.key, NextUploadIdMarker: last.uploadId }
        : {}),
      Prefix: prefix,
      MaxUploads: max,
      IsTruncated: truncated,
      Upload: page.map((u) => ({
        Key: u.key,
        UploadId: u.uploadId,
        Initiator: { ID: u.owner, DisplayName: u.owner },
        Owner: { ID: u.owner, DisplayName: u.owner },
        StorageClass: 'STANDARD',
        Initiated: isoDate(u.initiated),
      })),
    }),
  );
}

async function abortUpload(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  const uploadId = requireUpload(ctx);
  await ctx.opts.objects.abortUpload(ctx.bucket as string, uploadId);
  sendEmpty(ctx, 204);
}

async function completeUpload(ctx: S3Context): Promise<void> {
  requireBucket(ctx);
  const uploadId = requireUpload(ctx);
  const doc = parseXml((await readSmallBody(openBody(ctx.req, ctx.signing), 4 * MAX_XML)).toString('utf8'));
  if (doc.name !== 'CompleteMultipartUpload')
    throw new S3Error('MalformedXML', 'Expected CompleteMultipartUpload');
  const wanted = children(doc, 'Part').map((p) => ({
    partNumber: Number(childText(p, 'PartNumber')),
    etag: (childText(p, 'ETag') ?? '').trim(),
    checksums: Object.fromEntries(
      CHECKSUM_ALGORITHMS.map((a) => [a, childText(p, `Checksum${a.toUpperCase()}`)]).filter(
        ([, v]) => v !== undefined,
      ),
    ) as Record<string, string>,
  }));
  if (wanted.length === 0) throw new S3Error('MalformedXML', 'You must specify at least one part');
  const minPart = ctx.opts.minPartSize ?? 5 * 1024 * 1024;
  const check = writePreconditions(ctx);
  const rec = await ctx.opts.objects.completeUpload(
    ctx.bucket as string,
    uploadId,
    (upload, parts, current) => {
      check(current);
      const chosen: PartRecord[] = [];
      let prev = 0;
      for (const w of wanted) {
        if (!Number.isInteger(w.partNumber) || w.partNumber <= prev) {
          throw new S3Error(
            'InvalidPartOrder',
            'The list of parts was not in ascending order. Parts must be ordered by part number.',
          );
        }
        prev = w.partNumber;
        const p = parts.get(w.partNumber);
        if (p === undefined || p.etag.replace(/"/g, '') !== w.etag.replace(/"/g, '')) {
          throw new S3Error(
            'InvalidPart',
            "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
            {
              extra: { PartNumber: String(w.partNumber) },
            },
          );
        }
        for (const [a, v] of Object.entries(w.checksums)) {
          const have = p.checksums[a];
          if (have !== undefined && have !== v) {
            throw new S3Error(
              'InvalidPart',
              `The ${a.toUpperCase()} checksum of part ${w.partNumber} does not match`,
            );
          }
        }
        chosen.push(p);
      }
      chosen.forEach((p, i) => {
        if (i < chosen.length - 1 && p.size < minPart) {
          throw new S3Error(
            'EntityTooSmall',
            'Your proposed upload is smaller than the minimum allowed object size.',
            {
              extra: {
                PartNumber: String(p.partNumber),
                ProposedSize: String(p.size),
                MinSizeAllowed: String(minPart),
              },
            },
          );
        }
      });
      const md5 = createHash('md5');
      for (const p of chosen) md5.update(Buffer.from(p.etag.replace(/"/g, ''), 'hex'));
      return {
        key: upload.key,
        size: chosen.reduce((n, p) => n + p.size, 0),
        etag: `"${md5.digest('hex')}-${chosen.length}"`,
        lastModified: ctx.now,
        contentType: upload.contentType,
        headers: upload.headers,
        userMeta: upload.userMeta,
        checksums: {},
        segments: chosen.map((p) => ({ file: p.file, size: p.size })),
        tags: upload.tags,
        partCount: chosen.length,
        partSizes: chosen.map((p) => p.size),
        owner: upload.owner,
      };
    },
  );
  sendXml(
    ctx,
    200,
    toXml('CompleteMultipartUploadResult', {
      Location: `/${ctx.bucket}/${awsUriEncode(rec.key, true)}`,
      Bucket: ctx.bucket,
      Key: rec.key,
      ETag: rec.etag,
    }),
  );
}
