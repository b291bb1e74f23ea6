/** A typed client for ChainFire's REST API, on the shared client kit. */
import { ApiClient, ApiClientError } from '@photoncloud/http-kit/client';
import type { ApiClientOptions, PaginateOptions } from '@photoncloud/http-kit/client';
import type {
  AddMemberBody,
  ClusterMember,
  ClusterStatus,
  DeleteResult,
  KvItem,
  KvList,
  PutResult,
} from './schemas.js';

/** Options of `ChainFireClient.put`. */
export interface PutOptions {
  /** Attach the key to this lease (decimal ID). */
  lease?: string;
  /** Only if the key's current mod revision (ETag) is this one; `*` = only if it exists. 412 otherwise. */
  ifMatch?: number | string;
  /** `*` = only if the key does not exist yet (create-only). 412 otherwise. */
  ifNoneMatch?: '*';
  /** Sent as Idempotency-Key (only meaningful with `method: 'POST'`). */
  idempotencyKey?: string;
  /** Which of the two route forms to use; default PUT. */
  method?: 'PUT' | 'POST';
}

/** Options of `ChainFireClient.delete`. */
export interface DeleteOptions {
  ifMatch?: number | string;
  method?: 'DELETE' | 'POST';
}

/** A page of `list`. */
export interface KvPage {
  items: KvItem[];
  total: number;
  limit: number;
  offset: number;
}

/** Path of a key: the whole key percent-encoded as one segment, so `/` and `:` survive. */
export function kvPath(key: string): string {
  if (key === '.' || key === '..') {
    // URL parsers resolve dot segments, even percent-encoded ones; such keys cannot be addressed by path.
    throw new TypeError(`key "${key}" cannot be addressed in a URL path`);
  }
  return `/api/v1/kv/${encodeURIComponent(key)}`;
}

/** ChainFire REST client: get/put/delete/list keys and read the cluster status. */
export class ChainFireClient {
  readonly api: ApiClient;

  constructor(opts: ApiClientOptions | ApiClient) {
    this.api = opts instanceof ApiClient ? opts : new ApiClient(opts);
  }

  /** The key, or `undefined` when it does not exist. */
  async get(key: string): Promise<KvItem | undefined> {
    try {
      return await this.api.get<KvItem>(kvPath(key));
    } catch (err) {
      if (err instanceof ApiClientError && err.status === 404 && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  /** Write `value` under `key`; returns the write's revision (the key's new ETag). */
  async put(key: string, value: string, opts: PutOptions = {}): Promise<PutResult> {
    const body = opts.lease === undefined ? { value } : { value, lease: opts.lease };
    const req = {
      ...(opts.ifMatch === undefined ? {} : { ifMatch: opts.ifMatch }),
      ...(opts.ifNoneMatch === undefined ? {} : { ifNoneMatch: opts.ifNoneMatch }),
      ...(opts.idempotencyKey === undefined ? {} : { idempotencyKey: opts.idempotencyKey }),
    };
    if (opts.method === 'POST') return this.api.post<PutResult>(`${kvPath(key)}/put`, body, req);
    return this.api.put<PutResult>(kvPath(key), body, req);
  }

  /** Delete `key`; throws `ApiClientError` 404 when it does not exist. */
  async delete(key: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    const req = opts.ifMatch === undefined ? {} : { ifMatch: opts.ifMatch };
    if (opts.method === 'POST') return this.api.post<DeleteResult>(`${kvPath(key)}/delete`, undefined, req);
    return this.api.delete<DeleteResult>(kvPath(key), req);
  }

  /** One page of keys starting with `prefix` (all keys when absent), in key order. */
  async list(opts: { prefix?: string; limit?: number; offset?: number } = {}): Promise<KvPage> {
    const res = await this.api.request<KvList>('GET', '/api/v1/kv', undefined, {
      query: { prefix: opts.prefix, limit: opts.limit, offset: opts.offset },
    });
    return {
      items: res.data.items,
      total: res.meta.total ?? res.data.items.length,
      limit: res.meta.limit ?? res.data.items.length,
      offset: res.meta.offset ?? 0,
    };
  }

  /** Every key starting with `prefix`, page by page. */
  listAll(
    prefix?: string,
    opts: Omit<PaginateOptions, 'query'> = {},
  ): AsyncGenerator<KvItem, void, undefined> {
    return this.api.paginate<KvItem>('/api/v1/kv', 'items', { ...opts, query: { prefix } });
  }

  /** Node, term, role, leader and members. */
  async clusterStatus(): Promise<ClusterStatus> {
    return this.api.get<ClusterStatus>('/api/v1/cluster/status');
  }

  /** Add a cluster member (a learner unless `is_learner: false`). */
  async addMember(body: AddMemberBody): Promise<ClusterMember> {
    return this.api.post<ClusterMember>('/api/v1/cluster/members', body);
  }
}
