/** Parsing of Prometheus HTTP API parameters (times and durations), as Prometheus' web/api/v1 does. */
import { parseDuration } from './promql/format.js';

/** A bad request parameter (Prometheus' `bad_data`). */
export class BadDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadDataError';
  }
}

/** Prometheus' minimum and maximum representable times (ms), used for open ranges. */
export const MIN_TIME = -9223372036854776; // math.MinInt64 / 1e6 as Prometheus' minTime, in ms
/** Upper bound of open ranges. */
export const MAX_TIME = 9223372036854776;

/** Parses a time parameter: Unix seconds (float) or RFC 3339; returns ms. */
export function parseTimeParam(value: string, name: string): number {
  const v = value.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) {
    const s = Number(v);
    const whole = Math.trunc(s);
    const frac = Math.round((s - whole) * 1000);
    return whole * 1000 + frac;
  }
  if (v === '-292273086-05-16T16:47:06Z') return MIN_TIME;
  if (v === '292277025-08-18T07:12:54.999999999Z') return MAX_TIME;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v)) {
    const ms = Date.parse(v);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new BadDataError(`invalid parameter "${name}": cannot parse "${value}" to a valid timestamp`);
}

/** Parses a duration parameter: seconds (float) or a Prometheus duration; returns ms. */
export function parseDurationParam(value: string, name: string): number {
  const v = value.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) {
    const s = Number(v);
    const ms = Math.round(s * 1000);
    if (!Number.isFinite(ms) || Math.abs(ms) > 9.2e15)
      throw new BadDataError(
        `invalid parameter "${name}": cannot parse "${value}" to a valid duration. It overflows int64`,
      );
    return ms;
  }
  try {
    return parseDuration(v);
  } catch {
    throw new BadDataError(`invalid parameter "${name}": cannot parse "${value}" to a valid duration`);
  }
}
