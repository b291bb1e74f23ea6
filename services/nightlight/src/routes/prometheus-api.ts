/**
 * The Prometheus 2.42 HTTP API (web/api/v1) in Prometheus' own JSON format — `{"status":"success",
 * "data":…}` / `{"status":"error","errorType":…,"error":…}` — so Grafana and promtool work unchanged.
 * Also the remote-write receiver (`POST /api/v1/write`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceApp } from '@photoncloud/http-kit';
import { uncompress as snappyUncompress } from 'snappyjs';
import { BadDataError, MAX_TIME, MIN_TIME, parseDurationParam, parseTimeParam } from '../core/api-params.js';
import { instantResultJson, labelsObject, rangeResultJson } from '../core/prom-json.js';
import type { Matcher } from '../core/promql/ast.js';
import { instantQuery, PromQLEvalError, rangeQuery } from '../core/promql/engine.js';
import type { EngineOptions } from '../core/promql/engine.js';
import type { Labels } from '../core/promql/labels.js';
import { compareLabels, isValidLabelName } from '../core/promql/labels.js';
import { parseMetricSelector, parsePromQL, PromQLParseError } from '../core/promql/parser.js';
import { decodeWriteRequest, ProtobufError } from '../core/remote-write.js';
import type { MetadataStore } from '../storage/metadata-store.js';
import { AppendError } from '../storage/tsdb.js';
import type { Tsdb } from '../storage/tsdb.js';

/** What the API routes need. */
export interface PrometheusApiOptions {
  readonly db: Tsdb;
  readonly metadata: MetadataStore;
  readonly now: () => number;
  readonly lookbackDelta?: number;
  /** Default and maximum query timeout (ms); Prometheus' default is 2 m. */
  readonly queryTimeout?: number;
  readonly maxSamples?: number;
}

/** Prometheus' API error types and their statuses. */
type ErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal' | 'unavailable' | 'not_found';
const STATUS: Record<ErrorType, number> = {
  bad_data: 400,
  execution: 422,
  timeout: 503,
  canceled: 499,
  internal: 500,
  unavailable: 503,
  not_found: 404,
};

class ApiFailure extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
  ) {
    super(message);
  }
}

class QueryTimeout extends Error {}

/** Version reported by /api/v1/status/buildinfo: the Prometheus API version this server speaks. */
export const PROMETHEUS_API_VERSION = '2.42.0';

function params(request: FastifyRequest): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (src: unknown): void => {
    if (src === null || typeof src !== 'object') return;
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
      const list = out.get(k) ?? [];
      if (Array.isArray(v)) for (const x of v) list.push(String(x));
      else if (v !== undefined) list.push(String(v));
      out.set(k, list);
    }
  };
  // Form values come first, as Go's Request.FormValue reads the body before the URL.
  if (typeof request.body === 'object' && request.body !== null && !(request.body instanceof Buffer))
    add(request.body);
  add(request.query);
  return out;
}

function one(p: Map<string, string[]>, name: string): string | undefined {
  return p.get(name)?.[0];
}

function success(reply: FastifyReply, data: unknown): FastifyReply {
  return reply.code(200).header('content-type', 'application/json').send({ status: 'success', data });
}

function failure(reply: FastifyReply, type: ErrorType, message: string): FastifyReply {
  return reply
    .code(STATUS[type])
    .header('content-type', 'application/json')
    .send({ status: 'error', errorType: type, error: message });
}

function handle(fn: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown> | unknown) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    try {
      const data = await fn(request, reply);
      if (reply.sent) return reply;
      return success(reply, data);
    } catch (err) {
      if (err instanceof ApiFailure) return failure(reply, err.type, err.message);
      if (err instanceof BadDataError) return failure(reply, 'bad_data', err.message);
      if (err instanceof QueryTimeout)
        return failure(reply, 'timeout', 'query timed out in expression evaluation');
      if (err instanceof PromQLEvalError) return failure(reply, 'execution', err.message);
      request.log.error({ err }, 'prometheus api: unexpected error');
      return failure(reply, 'internal', 'internal error');
    }
  };
}

function parseExpr(q: string | undefined) {
  if (q === undefined || q === '')
    throw new ApiFailure(
      'bad_data',
      'invalid parameter "query": 1:1: parse error: no expression found in input',
    );
  try {
    return parsePromQL(q);
  } catch (err) {
    if (err instanceof PromQLParseError)
      throw new ApiFailure('bad_data', `invalid parameter "query": ${err.message}`);
    throw err;
  }
}

function matcherSets(p: Map<string, string[]>): (readonly Matcher[])[] {
  return (p.get('match[]') ?? []).map((m) => {
    try {
      return parseMetricSelector(m);
    } catch (err) {
      throw new ApiFailure('bad_data', `invalid parameter "match[]": ${(err as Error).message}`);
    }
  });
}

function timeRange(p: Map<string, string[]>): [number, number] {
  const s = one(p, 'start');
  const e = one(p, 'end');
  const start = s === undefined || s === '' ? MIN_TIME : parseTimeParam(s, 'start');
  const end = e === undefined || e === '' ? MAX_TIME : parseTimeParam(e, 'end');
  if (end < start)
    throw new ApiFailure('bad_data', 'invalid parameter "end": end timestamp must not be before start time');
  return [start, end];
}

const ALL: readonly Matcher[] = [{ name: '__name__', type: '=~', value: '.+', re: /^(?:.+)$/s }];

/** Registers the Prometheus API routes on the service's app (inside their own plugin scope). */
export async function registerPrometheusApi(app: ServiceApp, opts: PrometheusApiOptions): Promise<void> {
  const { db } = opts;
  const lookback = opts.lookbackDelta ?? 5 * 60_000;
  const maxTimeout = opts.queryTimeout ?? 2 * 60_000;

  const engineOpts = (p: Map<string, string[]>): EngineOptions => {
    const t = one(p, 'timeout');
    const timeout =
      t === undefined || t === '' ? maxTimeout : Math.min(maxTimeout, parseDurationParam(t, 'timeout'));
    const deadline = opts.now() + timeout;
    return {
      lookbackDelta: lookback,
      ...(opts.maxSamples === undefined ? {} : { maxSamples: opts.maxSamples }),
      checkAbort: () => {
        if (opts.now() > deadline) throw new QueryTimeout();
      },
    };
  };

  const labelSets = (p: Map<string, string[]>): Labels[] => {
    const [start, end] = timeRange(p);
    const sets = matcherSets(p);
    const all = sets.length === 0 ? [ALL] : sets;
    const out = new Map<string, Labels>();
    for (const m of all) for (const l of db.labelSets(m, start, end)) out.set(JSON.stringify(l), l);
    return [...out.values()];
  };

  await app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => {
        const out: Record<string, string[]> = {};
        for (const [k, v] of new URLSearchParams(body as string)) (out[k] ??= []).push(v);
        done(null, out);
      },
    );
    scope.addContentTypeParser(
      ['application/x-protobuf', 'application/octet-stream'],
      { parseAs: 'buffer', bodyLimit: 64 * 1024 * 1024 },
      (_req, body, done) => {
        done(null, body);
      },
    );

    const query = handle((request) => {
      const p = params(request);
      const expr = parseExpr(one(p, 'query'));
      const tp = one(p, 'time');
      const t = tp === undefined || tp === '' ? opts.now() : parseTimeParam(tp, 'time');
      return instantResultJson(instantQuery(db, expr, t, engineOpts(p)));
    });
    scope.get('/api/v1/query', query);
    scope.post('/api/v1/query', query);

    const queryRange = handle((request) => {
      const p = params(request);
      const s = one(p, 'start');
      const e = one(p, 'end');
      const st = one(p, 'step');
      if (s === undefined)
        throw new ApiFailure('bad_data', 'invalid parameter "start": cannot parse "" to a valid timestamp');
      if (e === undefined)
        throw new ApiFailure('bad_data', 'invalid parameter "end": cannot parse "" to a valid timestamp');
      if (st === undefined)
        throw new ApiFailure('bad_data', 'invalid parameter "step": cannot parse "" to a valid duration');
      const start = parseTimeParam(s, 'start');
      const end = parseTimeParam(e, 'end');
      if (end < start)
        throw new ApiFailure(
          'bad_data',
          'invalid parameter "end": end timestamp must not be before start time',
        );
      const step = parseDurationParam(st, 'step');
      if (step <= 0)
        throw new ApiFailure(
          'bad_data',
          'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
        );
      if ((end - start) / step > 11000)
        throw new ApiFailure(
          'bad_data',
          'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
        );
      const expr = parseExpr(one(p, 'query'));
      return rangeResultJson(rangeQuery(db, expr, start, end, step, engineOpts(p)));
    });
    scope.get('/api/v1/query_range', queryRange);
    scope.post('/api/v1/query_range', queryRange);

    const series = handle((request) => {
      const p = params(request);
      if ((p.get('match[]') ?? []).length === 0)
        throw new ApiFailure('bad_data', 'no match[] parameter provided');
      const sets = labelSets(p);
      sets.sort(compareLabels);
      return sets.map(labelsObject);
    });
    scope.get('/api/v1/series', series);
    scope.post('/api/v1/series', series);

    const labels = handle((request) => {
      const names = new Set<string>();
      for (const l of labelSets(params(request))) for (const x of l) names.add(x.name);
      return [...names].sort();
    });
    scope.get('/api/v1/labels', labels);
    scope.post('/api/v1/labels', labels);

    scope.get(
      '/api/v1/label/:name/values',
      handle((request) => {
        const name = (request.params as { name: string }).name;
        if (!isValidLabelName(name)) throw new ApiFailure('bad_data', `invalid label name: "${name}"`);
        const values = new Set<string>();
        for (const l of labelSets(params(request)))
          for (const x of l) if (x.name === name) values.add(x.value);
        return [...values].sort();
      }),
    );

    scope.get(
      '/api/v1/metadata',
      handle(async (request) => {
        const p = params(request);
        const limitRaw = one(p, 'limit');
        const limit = limitRaw === undefined || limitRaw === '' ? -1 : Number(limitRaw);
        if (!Number.isInteger(limit)) throw new ApiFailure('bad_data', 'limit must be a number');
        const metric = one(p, 'metric');
        const all = await opts.metadata.list(metric === '' ? undefined : metric);
        const out: Record<string, { type: string; help: string; unit: string }[]> = {};
        let n = 0;
        for (const [name, m] of all) {
          if (limit >= 0 && n >= limit) break;
          out[name] = [{ type: m.type, help: m.help, unit: m.unit }];
          n++;
        }
        return out;
      }),
    );

    scope.get(
      '/api/v1/status/buildinfo',
      handle(() => ({
        version: PROMETHEUS_API_VERSION,
        revision: 'nightlight',
        branch: 'main',
        buildUser: 'photoncloud',
        buildDate: '',
        goVersion: 'node' + process.versions.node,
      })),
    );
    scope.get(
      '/api/v1/status/tsdb',
      handle(() => {
        const s = db.stats();
        return {
          headStats: {
            numSeries: s.headSeries,
            minTime: s.headMinTime,
            maxTime: s.headMaxTime,
            chunkCount: 0,
          },
          blocks: db.blockMetas(),
        };
      }),
    );
    // Grafana asks for these; NightLight evaluates no rules and stores no exemplars.
    scope.get(
      '/api/v1/rules',
      handle(() => ({ groups: [] })),
    );
    scope.get(
      '/api/v1/alerts',
      handle(() => ({ alerts: [] })),
    );
    scope.get(
      '/api/v1/query_exemplars',
      handle(() => []),
    );
    scope.post(
      '/api/v1/query_exemplars',
      handle(() => []),
    );

    scope.post('/api/v1/write', async (request, reply) => {
      const body = request.body;
      if (!(body instanceof Buffer))
        return reply
          .code(400)
          .type('text/plain')
          .send(
            'remote write needs a snappy-compressed protobuf body (Content-Type: application/x-protobuf)\n',
          );
      let decoded;
      try {
        decoded = decodeWriteRequest(snappyUncompress(body, 256 * 1024 * 1024) as Uint8Array);
      } catch (err) {
        if (err instanceof ProtobufError || err instanceof Error)
          return reply.code(400).type('text/plain').send(`decode error: ${err.message}\n`);
        throw err;
      }
      try {
        for (const s of decoded.series) {
          const names = new Set<string>();
          for (const [n] of s.rawLabels) {
            if (names.has(n))
              return reply
                .code(400)
                .type('text/plain')
                .send(`duplicate label name ${JSON.stringify(n)}\n`);
            names.add(n);
          }
        }
        await db.append(decoded.series.map((s) => ({ labels: s.labels, samples: s.samples })));
      } catch (err) {
        if (err instanceof AppendError)
          return reply
            .code(400)
            .type('text/plain')
            .send(err.message + '\n');
        request.log.error({ err }, 'remote write: storage failure');
        return reply.code(500).type('text/plain').send('storage failure, retry later\n');
      }
      if (decoded.metadata.length > 0) {
        try {
          await opts.metadata.put(
            decoded.metadata.map((m) => [m.metric, { type: m.type, help: m.help, unit: m.unit }] as const),
          );
        } catch (err) {
          request.log.warn({ err }, 'remote write: metadata not stored');
          return reply.code(503).type('text/plain').send('metadata store unavailable, retry later\n');
        }
      }
      return reply.code(204).send();
    });
  });
}
