/** Prometheus HTTP API JSON shapes of query results (values as strings, times as float seconds). */
import type { InstantResult, RangeResult } from './promql/engine.js';
import { formatFloat } from './promql/format.js';
import type { Labels } from './promql/labels.js';

/** A label set as a JSON object. */
export function labelsObject(l: Labels): Record<string, string> {
  const o: Record<string, string> = {};
  for (const x of l) o[x.name] = x.value;
  return o;
}

function ts(ms: number): number {
  return ms / 1000;
}

/** `data` of a /api/v1/query response. */
export function instantResultJson(r: InstantResult): unknown {
  switch (r.resultType) {
    case 'scalar':
      return { resultType: 'scalar', result: [ts(r.t), formatFloat(r.v)] };
    case 'string':
      return { resultType: 'string', result: [ts(r.t), r.s] };
    case 'vector':
      return {
        resultType: 'vector',
        result: r.samples.map((s) => ({
          metric: labelsObject(s.metric),
          value: [ts(r.t), formatFloat(s.v)],
        })),
      };
    case 'matrix':
      return {
        resultType: 'matrix',
        result: r.series.map((s) => ({
          metric: labelsObject(s.metric),
          values: s.t.map((t, i) => [ts(t), formatFloat(s.v[i] as number)]),
        })),
      };
  }
}

/** `data` of a /api/v1/query_range response. */
export function rangeResultJson(r: RangeResult): unknown {
  return {
    resultType: 'matrix',
    result: r.series.map((s) => ({
      metric: labelsObject(s.metric),
      values: s.t.map((t, i) => [ts(t), formatFloat(s.v[i] as number)]),
    })),
  };
}
