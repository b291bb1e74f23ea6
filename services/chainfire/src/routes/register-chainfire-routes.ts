/**
 * ChainFire's REST API (guide §1, ARCHITECTURE.md §2): keys (get, put, delete, prefix listing) and the
 * cluster status, over any `Store` — ChainFire's own engine in-process, or a real etcd.
 *
 * Both route forms are served: `PUT|DELETE /api/v1/kv/{key}` and `POST /api/v1/kv/{key}/put|delete`.
 * Single-segment keys match the documented `:key` routes; keys with `/` fall through to hidden
 * wildcard routes that run the same handlers (the OpenAPI document shows one operation per form).
 * Writes honour `If-Match` (the key's mod revision, its ETag) and `If-None-Match: *` (create-only)
 * atomically, with a store transaction.
 */
import { Type } from '@sinclair/typebox';
import {
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  ValidationError,
} from '@photoncloud/errors';
import {
  assertValid,
  envelope,
  listEnvelope,
  listResponse,
  ok,
  pageQueryProperties,
  parsePage,
  readPreconditions,
  checkPreconditions,
  responses,
  setAuditResource,
  setETag,
} from '@photoncloud/http-kit';
import type { ServiceApp } from '@photoncloud/http-kit';
import { bytes, prefixEnd, text } from '@photoncloud/store';
import type { KeyValue, Store } from '@photoncloud/store';
import {
  AddMemberBody,
  ClusterMember,
  ClusterStatus,
  DeleteResult,
  KvItem,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  PutBody,
  PutResult,
} from '@photoncloud/chainfire-api';
import type { ClusterStatus as ClusterStatusData } from '@photoncloud/chainfire-api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clusterStatusFromEngine, hasClusterStatus } from './cluster-status-from-engine.js';
import { clusterStatusFromStore } from './cluster-status-from-store.js';
import { checkKey, keyActionFromUrl, keyFromUrl } from './kv-key.js';

/** What the routes need. */
export interface ChainFireRoutesOptions {
  /** ChainFire's engine (in-process) or any other Store (e.g. an EtcdStore). */
  store: Store;
  /**
   * Cluster status provider. Default: the engine's own `clusterStatus()` when the store has one,
   * else derived from the store's status and member list (works for etcd too).
   */
  clusterStatus?: () => Promise<ClusterStatusData>;
  /** Scheme of the peer URL a member added by address gets: `https` when members serve TLS (default `http`). */
  peerUrlScheme?: 'http' | 'https';
}

/**
 * Largest put body: the value limit with room for JSON escaping (a control character becomes six
 * characters), so every value within MAX_VALUE_BYTES is accepted however it is encoded.
 */
export const PUT_BODY_LIMIT = MAX_VALUE_BYTES * 6 + 64 * 1024;

const KEY_DOC = `The key, 1 to ${MAX_KEY_BYTES} bytes of UTF-8. Keys may contain ":" and "/" (e.g. user:123, config/db/host); percent-encode anything else (e.g. %20).`;
const KeyParams = Type.Object({ key: Type.String({ description: KEY_DOC }) });
const ETAG_NOTE =
  'If-Match: "<mod_revision>" makes it conditional (412 when the key changed); If-Match: * requires the key to exist.';

/** `0x…` (as etcdctl prints lease IDs) → decimal; decimal kept; must fit int64. */
function leaseId(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const n = BigInt(raw);
  if (n > 0x7fff_ffff_ffff_ffffn) {
    throw new ValidationError('lease', 'maximum', 'lease must be a 64-bit signed lease ID', {
      details: { location: 'body' },
    });
  }
  return n.toString(10);
}

function toItem(kv: KeyValue): KvItem {
  return {
    key: text(kv.key),
    value: text(kv.value),
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

async function currentKv(store: Store, key: Uint8Array): Promise<KeyValue | undefined> {
  return (await store.range({ key })).kvs[0];
}

/** Register ChainFire's REST routes on a service built with `createService`. */
export function registerChainFireRoutes(app: ServiceApp, opts: ChainFireRoutesOptions): void {
  const { store } = opts;
  const clusterStatus =
    opts.clusterStatus ??
    (hasClusterStatus(store)
      ? async () => clusterStatusFromEngine(await store.clusterStatus())
      : () => clusterStatusFromStore(store));

  async function getKey(request: FastifyRequest, reply: FastifyReply) {
    const key = keyFromUrl(request.url);
    const kv = await currentKv(store, bytes(key));
    if (kv === undefined) throw new NotFoundError('key', key);
    setETag(reply, kv.modRevision);
    return ok(request, toItem(kv));
  }

  async function putKey(request: FastifyRequest, reply: FastifyReply, key: string) {
    const body = assertValid(PutBody, request.body);
    const size = Buffer.byteLength(body.value, 'utf8');
    if (size > MAX_VALUE_BYTES) {
      throw new PayloadTooLargeError(`value is ${size} bytes; the limit is ${MAX_VALUE_BYTES} bytes`, {
        details: { field: 'value', limit: MAX_VALUE_BYTES, size },
        hint: 'Keep bulk data out of ChainFire (LightningSTOR holds objects)',
      });
    }
    setAuditResource(request, key);
    const k = bytes(key);
    const put = { key: k, value: bytes(body.value), lease: leaseId(body.lease) ?? '0' };
    const cond = readPreconditions(request);
    let revision: number;
    if (cond.ifMatch === undefined && cond.ifNoneMatch === undefined) {
      revision = (await store.put(put)).header.revision;
    } else {
      // Evaluate against the current revision, then write only if the key is still at it.
      const cur = await currentKv(store, k);
      checkPreconditions(request, cur?.modRevision);
      const res = await store.txn({
        compare: [
          cur === undefined
            ? { key: k, target: 'create', createRevision: 0, result: 'equal' }
            : { key: k, target: 'mod', modRevision: cur.modRevision, result: 'equal' },
        ],
        success: [{ put }],
        failure: [],
      });
      if (!res.succeeded)
        throw new PreconditionFailedError('Precondition failed: the key changed concurrently');
      revision = res.header.revision;
    }
    setETag(reply, revision);
    return ok(request, { key, revision });
  }

  async function deleteKey(request: FastifyRequest, key: string) {
    setAuditResource(request, key);
    const k = bytes(key);
    const cond = readPreconditions(request);
    let deleted: number;
    let revision: number;
    if (cond.ifMatch === undefined && cond.ifNoneMatch === undefined) {
      const res = await store.deleteRange({ key: k });
      deleted = res.deleted;
      revision = res.header.revision;
    } else {
      const cur = await currentKv(store, k);
      checkPreconditions(request, cur?.modRevision);
      if (cur === undefined) throw new NotFoundError('key', key);
      const res = await store.txn({
        compare: [{ key: k, target: 'mod', modRevision: cur.modRevision, result: 'equal' }],
        success: [{ deleteRange: { key: k } }],
        failure: [],
      });
      if (!res.succeeded)
        throw new PreconditionFailedError('Precondition failed: the key changed concurrently');
      const first = res.responses[0];
      deleted = first !== undefined && 'deleteRange' in first ? first.deleteRange.deleted : 0;
      revision = res.header.revision;
    }
    if (deleted === 0) throw new NotFoundError('key', key);
    return ok(request, { key, deleted, revision });
  }

  const getSchema = {
    tags: ['kv'],
    summary: 'Get a key',
    description: `Returns the value and its revisions; the ETag header is the mod revision. 404 when the key does not exist. ${KEY_DOC}`,
    response: responses({ 200: envelope(KvItem) }),
  };
  app.get('/api/v1/kv/:key', { schema: { ...getSchema, params: KeyParams } }, getKey);
  app.get('/api/v1/kv/*', { schema: { ...getSchema, hide: true } }, getKey);

  const putSchema = {
    tags: ['kv'],
    body: PutBody,
    response: responses({ 200: envelope(PutResult) }),
  };
  const putDescription = `Writes the value (at most ${MAX_VALUE_BYTES} bytes of UTF-8; larger → 413). ${ETAG_NOTE} If-None-Match: * creates only (412 when the key exists).`;
  app.put(
    '/api/v1/kv/:key',
    {
      bodyLimit: PUT_BODY_LIMIT,
      schema: { ...putSchema, params: KeyParams, summary: 'Put a key', description: putDescription },
    },
    (request, reply) => putKey(request, reply, keyFromUrl(request.url)),
  );
  app.put(
    '/api/v1/kv/*',
    { bodyLimit: PUT_BODY_LIMIT, schema: { ...putSchema, hide: true } },
    (request, reply) => putKey(request, reply, keyFromUrl(request.url)),
  );
  app.post(
    '/api/v1/kv/:key/put',
    {
      bodyLimit: PUT_BODY_LIMIT,
      schema: {
        ...putSchema,
        params: KeyParams,
        summary: 'Put a key (POST form)',
        description: `${putDescription} Accepts Idempotency-Key.`,
      },
    },
    (request, reply) => putKey(request, reply, keyActionFromUrl(request.url).key),
  );

  const deleteSchema = {
    tags: ['kv'],
    response: responses({ 200: envelope(DeleteResult) }),
  };
  const deleteDescription = `Deletes the key; 404 when it does not exist. ${ETAG_NOTE}`;
  app.delete(
    '/api/v1/kv/:key',
    {
      schema: { ...deleteSchema, params: KeyParams, summary: 'Delete a key', description: deleteDescription },
    },
    (request) => deleteKey(request, keyFromUrl(request.url)),
  );
  app.delete('/api/v1/kv/*', { schema: { ...deleteSchema, hide: true } }, (request) =>
    deleteKey(request, keyFromUrl(request.url)),
  );
  app.post(
    '/api/v1/kv/:key/delete',
    {
      schema: {
        ...deleteSchema,
        params: KeyParams,
        summary: 'Delete a key (POST form)',
        description: `${deleteDescription} Accepts Idempotency-Key.`,
      },
    },
    (request) => deleteKey(request, keyActionFromUrl(request.url).key),
  );
  // Keys with "/" in the POST forms: the last path segment is the action.
  app.post('/api/v1/kv/*', { bodyLimit: PUT_BODY_LIMIT, schema: { hide: true } }, (request, reply) => {
    const { key, action } = keyActionFromUrl(request.url);
    return action === 'put' ? putKey(request, reply, key) : deleteKey(request, key);
  });

  app.get(
    '/api/v1/kv',
    {
      schema: {
        tags: ['kv'],
        summary: 'List keys by prefix',
        description:
          'Keys starting with `prefix` (every key when absent or empty), in byte order, with values. ' +
          'Paginated with limit/offset; meta.total, X-Total-Count and Link give the rest. All pages read one store revision.',
        querystring: Type.Object({
          prefix: Type.Optional(Type.String({ description: `Key prefix (at most ${MAX_KEY_BYTES} bytes)` })),
          ...pageQueryProperties(),
        }),
        response: responses({ 200: listEnvelope('items', KvItem) }),
      },
    },
    async (request, reply) => {
      const page = parsePage(request.query);
      const prefix = request.query.prefix ?? '';
      if (prefix !== '') checkKey(prefix, 'prefix');
      const all = prefix === '';
      const key = all ? Uint8Array.of(0) : bytes(prefix);
      const rangeEnd = all ? Uint8Array.of(0) : prefixEnd(key);
      let kvs: KeyValue[];
      let total: number;
      if (page.offset === 0) {
        const res = await store.range({ key, rangeEnd, limit: page.limit });
        kvs = res.kvs;
        total = res.count;
      } else {
        // The store has no offsets: find the key just before the page (keys only), then read the
        // page from there at the same revision so that both reads see one snapshot.
        const skip = await store.range({ key, rangeEnd, limit: page.offset, keysOnly: true });
        total = skip.count;
        const last = skip.kvs[page.offset - 1];
        if (last === undefined) {
          kvs = [];
        } else {
          const start = new Uint8Array(last.key.length + 1);
          start.set(last.key);
          const res = await store.range({
            key: start,
            rangeEnd,
            limit: page.limit,
            revision: skip.header.revision,
          });
          kvs = res.kvs;
        }
      }
      return listResponse(request, reply, { key: 'items', items: kvs.map(toItem), total, page });
    },
  );

  app.get(
    '/api/v1/cluster/status',
    {
      schema: {
        tags: ['cluster'],
        summary: 'Cluster status',
        description:
          'This node’s ID, the cluster ID, Raft term and role, the leader, the applied index, the store revision and the members.',
        response: responses({ 200: envelope(ClusterStatus) }),
      },
    },
    async (request) => ok(request, await clusterStatus()),
  );

  app.post(
    '/api/v1/cluster/members',
    {
      schema: {
        tags: ['cluster'],
        summary: 'Add a cluster member',
        description:
          'Adds a member by its gRPC address (peer traffic uses ChainFire’s gRPC port), as a learner by default. Start the new node with `photoncloud serve chainfire --join <any member’s gRPC address>` and it catches up and is promoted to voter. Adding a voter directly is refused (409) while the running voters could not form a quorum of the larger cluster.',
        body: AddMemberBody,
        response: responses({ 201: envelope(ClusterMember) }),
      },
    },
    async (request, reply) => {
      const body = assertValid(AddMemberBody, request.body);
      if (!hasMembership(store)) {
        throw new ConflictError('this store does not support membership changes through ChainFire’s API', {
          hint: 'Use etcdctl member add against the store',
        });
      }
      const peerUrl = `${opts.peerUrlScheme ?? 'http'}://${body.address}`;
      setAuditResource(request, body.address);
      let res: Awaited<ReturnType<typeof store.memberAdd>>;
      try {
        res = await store.memberAdd({
          peerUrls: [peerUrl],
          isLearner: body.is_learner ?? true,
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.node_id === undefined ? {} : { nodeNum: body.node_id }),
        });
      } catch (e) {
        if (e instanceof Error && e.name === 'MembershipError') {
          const reason = (e as Error & { reason?: string }).reason;
          throw new ConflictError(e.message.replace(/^etcdserver: /, ''), {
            details: { reason },
            ...(reason === 'notEnoughStartedMembers'
              ? { hint: 'Add it as a learner (is_learner: true), start it, then promote it' }
              : {}),
          });
        }
        throw e;
      }
      const m = res.member!;
      reply.code(201);
      return ok(request, {
        id: res.nodeNum ?? body.node_id ?? 0,
        member_id: m.id,
        name: m.name,
        peer_urls: m.peerUrls,
        client_urls: m.clientUrls,
        is_learner: m.isLearner,
      });
    },
  );
}

/** A store that can change membership (ChainFire's engine). */
interface MembershipSource {
  memberAdd(req: { peerUrls: string[]; isLearner: boolean; name?: string; nodeNum?: number }): Promise<{
    nodeNum?: number;
    member?: { id: string; name: string; peerUrls: string[]; clientUrls: string[]; isLearner: boolean };
  }>;
}

function hasMembership(store: object): store is MembershipSource {
  return typeof (store as Partial<MembershipSource>).memberAdd === 'function';
}
