/**
 * The client kit the `-api` packages build their typed clients on: Node's global fetch, the envelope
 * unwrapped (`data` returned), error envelopes thrown as `ApiClientError`, and pagination as an async
 * iterator. Deliberately free of server code so a CLI can import it without fastify
 * (`@photoncloud/http-kit/client`).
 */

/** `meta` of a response. */
export interface ResponseMeta {
  request_id?: string;
  timestamp?: string;
  total?: number;
  limit?: number;
  offset?: number;
  [k: string]: unknown;
}

/** An error answered by a service (or the transport), with the envelope's fields. */
export class ApiClientError extends Error {
  /** HTTP status; 0 when no response arrived (connection refused, DNS, abort). */
  readonly status: number;
  /** The envelope's `error.code`, or NETWORK_ERROR / HTTP_<status> when there was no envelope. */
  readonly code: string;
  readonly details: Record<string, unknown> | null;
  readonly hint: string | undefined;
  /** The server's request ID (envelope `meta.request_id` or `X-Request-Id`). */
  readonly requestId: string | undefined;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    details?: Record<string, unknown> | null;
    hint?: string;
    requestId?: string;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ApiClientError';
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? null;
    this.hint = init.hint;
    this.requestId = init.requestId;
  }
}

/** A query parameter value; arrays repeat the parameter; `undefined` omits it. */
export type QueryValue = string | number | boolean | undefined | ReadonlyArray<string | number | boolean>;

/** Per-request options. */
export interface RequestOptions {
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  /** Sent as `Idempotency-Key`. */
  idempotencyKey?: string;
  /** Sent as `If-Match` (quoted when a bare value is given). */
  ifMatch?: string | number;
  /** Sent as `If-None-Match` (`*` for create-only). */
  ifNoneMatch?: string | number;
  signal?: AbortSignal;
}

/** A full response, for callers that need headers or meta as well as data. */
export interface ApiResponse<T> {
  status: number;
  data: T;
  meta: ResponseMeta;
  headers: Headers;
}

/** Options of `ApiClient`. */
export interface ApiClientOptions {
  /** e.g. `http://127.0.0.1:8081`. */
  baseUrl: string;
  /** Bearer token sent on every request. */
  token?: string;
  /** Replaces the global fetch (tests, proxies, custom agents). */
  fetch?: typeof fetch;
  /** Headers sent on every request. */
  headers?: Record<string, string>;
}

/** Options of `paginate`. */
export interface PaginateOptions extends Omit<RequestOptions, 'idempotencyKey' | 'ifMatch' | 'ifNoneMatch'> {
  /** Items per request; default: the server's default. */
  pageSize?: number;
  /** Stop after this many pages (a guard against a server that never ends); default 10000. */
  maxPages?: number;
}

function quoteETag(v: string | number): string {
  const s = String(v);
  return s === '*' || s.startsWith('"') || s.startsWith('W/') ? s : `"${s}"`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A thin typed HTTP client for one PhotonCloud service. */
export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly defaultHeaders: Record<string, string>;

  constructor(opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
    this.defaultHeaders = opts.headers ?? {};
  }

  /** Build the absolute URL for `path` (already percent-encoded by the caller) and `query`. */
  url(path: string, query?: Record<string, QueryValue>): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v))
        for (const item of v as ReadonlyArray<string | number | boolean>) params.append(k, String(item));
      else params.append(k, String(v));
    }
    const qs = params.toString();
    return `${this.baseUrl}${path.startsWith('/') ? '' : '/'}${path}${qs ? `?${qs}` : ''}`;
  }

  /** Send a request and return the whole unwrapped response; throws `ApiClientError` on errors. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    opts: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...this.defaultHeaders,
      ...opts.headers,
    };
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
    if (opts.ifMatch !== undefined) headers['if-match'] = quoteETag(opts.ifMatch);
    if (opts.ifNoneMatch !== undefined) headers['if-none-match'] = quoteETag(opts.ifNoneMatch);
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, opts.query), {
        method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      });
    } catch (err) {
      const reason =
        err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new ApiClientError({
        status: 0,
        code: 'NETWORK_ERROR',
        message: `${method} ${path}: ${reason}`,
        cause: err,
      });
    }
    const requestId = res.headers.get('x-request-id') ?? undefined;
    const raw = await res.text();
    let parsed: unknown;
    try {
      parsed = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const env = isObject(parsed) ? parsed : {};
      const error = isObject(env['error']) ? env['error'] : undefined;
      const meta = isObject(env['meta']) ? env['meta'] : {};
      if (error !== undefined && typeof error['code'] === 'string') {
        throw new ApiClientError({
          status: res.status,
          code: error['code'],
          message: typeof error['message'] === 'string' ? error['message'] : `HTTP ${res.status}`,
          details: isObject(error['details']) ? error['details'] : null,
          ...(typeof error['hint'] === 'string' ? { hint: error['hint'] } : {}),
          ...(typeof meta['request_id'] === 'string'
            ? { requestId: meta['request_id'] }
            : requestId
              ? { requestId }
              : {}),
        });
      }
      throw new ApiClientError({
        status: res.status,
        code: `HTTP_${res.status}`,
        message: `${method} ${path}: HTTP ${res.status} ${res.statusText}${raw ? `: ${raw.slice(0, 200)}` : ''}`,
        ...(requestId ? { requestId } : {}),
      });
    }
    if (!isObject(parsed) || !('data' in parsed)) {
      throw new ApiClientError({
        status: res.status,
        code: 'INVALID_RESPONSE',
        message: `${method} ${path}: response is not a PhotonCloud envelope`,
        ...(requestId ? { requestId } : {}),
      });
    }
    return {
      status: res.status,
      data: parsed['data'] as T,
      meta: isObject(parsed['meta']) ? (parsed['meta'] as ResponseMeta) : {},
      headers: res.headers,
    };
  }

  /** GET → `data`. */
  async get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>('GET', path, undefined, opts)).data;
  }

  /** POST → `data`. */
  async post<T>(path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>('POST', path, body, opts)).data;
  }

  /** PUT → `data`. */
  async put<T>(path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>('PUT', path, body, opts)).data;
  }

  /** PATCH → `data`. */
  async patch<T>(path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>('PATCH', path, body, opts)).data;
  }

  /** DELETE → `data`. */
  async delete<T>(path: string, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>('DELETE', path, undefined, opts)).data;
  }

  /**
   * Iterate over every item of a paginated list (`data[key]`), page by page, following
   * `meta.total/offset`. Stops at the end of the list, on an empty page, or after `maxPages`.
   */
  async *paginate<T>(
    path: string,
    key: string,
    opts: PaginateOptions = {},
  ): AsyncGenerator<T, void, undefined> {
    const { pageSize, maxPages = 10_000, ...rest } = opts;
    let offset = Number(rest.query?.['offset'] ?? 0);
    for (let page = 0; page < maxPages; page++) {
      const query = { ...rest.query, offset, ...(pageSize === undefined ? {} : { limit: pageSize }) };
      const res = await this.request<Record<string, unknown>>('GET', path, undefined, { ...rest, query });
      const items = res.data[key];
      if (!Array.isArray(items)) {
        throw new ApiClientError({
          status: res.status,
          code: 'INVALID_RESPONSE',
          message: `${path}: data.${key} is not a list`,
        });
      }
      for (const item of items) yield item as T;
      offset += items.length;
      const total = typeof res.meta.total === 'number' ? res.meta.total : undefined;
      if (items.length === 0 || (total !== undefined && offset >= total)) return;
    }
  }
}
