/* eslint-disable @typescript-eslint/no-explicit-any -- OpenAPI documents and JSON bodies are navigated dynamically. */
/**
 * Bad input never gets a 500: every service of the registry (`SERVICES`, as `photoncloud up` runs them,
 * in auth mode `local` over ChainFire's etcd gRPC API) is sent, on EVERY route of its OpenAPI document,
 * malformed JSON, bodies of the wrong shape, every declared body property with a value of the wrong
 * type, odd path parameters (very long, dot-dot, NUL, non-ASCII, percent signs) and query parameters of
 * the wrong type. Each answer must be below 500, carry no stack trace, and — for the JSON APIs — be the
 * documented error envelope when it is an error.
 * The route list comes from the services' OpenAPI documents, not from a hand-written list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessPlatform } from './in-process-platform.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Path parameter values no route should choke on. */
const ODD_PARAMS = [
  'x'.repeat(3000),
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  '%C3%BC%E2%9C%93',
  '%25',
  'a%20b',
  '-1',
];

/** Paths answering in Prometheus' own JSON error format rather than the envelope (NightLight). */
const PROMETHEUS_FORMAT =
  /^\/api\/v1\/(query|query_range|series|labels|label\/|metadata|status\/|write|read|query_exemplars|format_query|targets)/;

/** A value of the wrong type for a JSON schema. */
function wrongValue(schema: any): unknown {
  const type = Array.isArray(schema?.type) ? schema.type[0] : schema?.type;
  switch (type) {
    case 'string':
      return 12345;
    case 'integer':
    case 'number':
      return 'not-a-number';
    case 'boolean':
      return 'yes';
    case 'array':
      return { not: 'an array' };
    case 'object':
      return 'not-an-object';
    default:
      return { unexpected: ['shape'] };
  }
}

interface Probe {
  method: string;
  path: string;
  body?: string;
  what: string;
}

/** Bad requests for one operation of an OpenAPI document. */
function probesFor(path: string, method: string, item: any, op: any): Probe[] {
  const out: Probe[] = [];
  const M = method.toUpperCase();
  const good = path.replace(/\{[^}]+\}/g, 'does-not-exist-1');
  const params: any[] = [...(item.parameters ?? []), ...(op.parameters ?? [])];
  if (/\{[^}]+\}/.test(path)) {
    for (const v of ODD_PARAMS) {
      out.push({ method: M, path: path.replace(/\{[^}]+\}/g, v), what: `path parameter ${v.slice(0, 20)}` });
    }
  }
  for (const q of params.filter((p) => p.in === 'query')) {
    const t = q.schema?.type;
    if (t === 'integer' || t === 'number' || t === 'boolean') {
      out.push({ method: M, path: `${good}?${q.name}=zzz`, what: `query ${q.name}=zzz` });
      if (t !== 'boolean')
        out.push({
          method: M,
          path: `${good}?${q.name}=-99999999999999999999`,
          what: `query ${q.name} huge`,
        });
    }
  }
  if (M !== 'GET' && M !== 'DELETE') {
    out.push({ method: M, path: good, body: '{"unterminated": ', what: 'malformed JSON' });
    out.push({ method: M, path: good, body: '[]', what: 'an array body' });
    out.push({ method: M, path: good, body: '"text"', what: 'a string body' });
    out.push({ method: M, path: good, body: 'null', what: 'a null body' });
    const schema = op.requestBody?.content?.['application/json']?.schema;
    const props = Object.entries<any>(schema?.properties ?? {});
    if (props.length > 0) {
      const all = Object.fromEntries(props.map(([k, s]) => [k, wrongValue(s)]));
      out.push({
        method: M,
        path: good,
        body: JSON.stringify(all),
        what: 'every property of the wrong type',
      });
      for (const [k, s] of props) {
        out.push({
          method: M,
          path: good,
          body: JSON.stringify({ [k]: wrongValue(s) }),
          what: `${k} of the wrong type`,
        });
      }
    }
  }
  return out;
}

test(
  'no route of any service answers bad input with a 500 or a stack trace',
  { timeout: 240_000 },
  async (t) => {
    const platform = await startInProcessPlatform('local');
    try {
      const bases = platform.urls;
      let probes = 0;
      const failures: string[] = [];
      for (const [service, base] of bases) {
        const doc: any = await (await fetch(`${base}/api/v1/openapi.json`)).json();
        const paths = Object.entries<any>(doc.paths ?? {});
        assert.ok(paths.length > 0, `${service} documents its routes`);
        for (const [path, item] of paths) {
          for (const m of METHODS) {
            const op = item[m];
            if (op === undefined) continue;
            for (const p of probesFor(path, m, item, op)) {
              probes += 1;
              const res = await fetch(base + p.path, {
                method: p.method,
                headers: p.body === undefined ? {} : { 'content-type': 'application/json' },
                ...(p.body === undefined ? {} : { body: p.body }),
              });
              const text = await res.text();
              const where = `${service} ${p.method} ${path} (${p.what}) → ${res.status}`;
              if (res.status >= 500) failures.push(`${where}: ${text.slice(0, 200)}`);
              if (/\n\s+at .+:\d+:\d+\)?/.test(text)) failures.push(`${where}: stack trace in the response`);
              const json = (res.headers.get('content-type') ?? '').includes('application/json');
              if (res.status >= 400 && json && !PROMETHEUS_FORMAT.test(path)) {
                let body: any;
                try {
                  body = JSON.parse(text);
                } catch {
                  failures.push(`${where}: JSON content-type but not JSON`);
                  continue;
                }
                if (
                  body.success !== false ||
                  typeof body.error?.code !== 'string' ||
                  typeof body.error?.message !== 'string'
                ) {
                  failures.push(`${where}: not the error envelope: ${text.slice(0, 200)}`);
                }
              }
            }
          }
        }
      }
      t.diagnostic(`${probes} bad requests to ${bases.size} services`);
      assert.ok(probes > 200, `probed ${probes} bad requests`);
      assert.deepEqual(failures, []);
    } finally {
      await platform.close();
    }
  },
);
