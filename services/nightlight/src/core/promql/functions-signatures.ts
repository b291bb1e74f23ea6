import type { ValueType } from './ast.js';

/** Argument and return types of a PromQL function. */
export interface FunctionSignature {
  readonly args: readonly ValueType[];
  /** Number of trailing optional args (0), or -1 for an unbounded repetition of the last arg type. */
  readonly variadic: number;
  readonly returns: ValueType;
}

const v = 'vector' as const;
const m = 'matrix' as const;
const s = 'scalar' as const;
const str = 'string' as const;

function sig(args: readonly ValueType[], returns: ValueType = v, variadic = 0): FunctionSignature {
  return { args, returns, variadic };
}

/** The functions of Prometheus 2.42 (native-histogram functions accept vectors but only act on histograms). */
export const FUNCTIONS: Readonly<Record<string, FunctionSignature>> = {
  abs: sig([v]),
  absent: sig([v]),
  absent_over_time: sig([m]),
  acos: sig([v]),
  acosh: sig([v]),
  asin: sig([v]),
  asinh: sig([v]),
  atan: sig([v]),
  atanh: sig([v]),
  avg_over_time: sig([m]),
  ceil: sig([v]),
  changes: sig([m]),
  clamp: sig([v, s, s]),
  clamp_max: sig([v, s]),
  clamp_min: sig([v, s]),
  cos: sig([v]),
  cosh: sig([v]),
  count_over_time: sig([m]),
  days_in_month: sig([v], v, 1),
  day_of_month: sig([v], v, 1),
  day_of_week: sig([v], v, 1),
  day_of_year: sig([v], v, 1),
  deg: sig([v]),
  delta: sig([m]),
  deriv: sig([m]),
  exp: sig([v]),
  floor: sig([v]),
  histogram_count: sig([v]),
  histogram_sum: sig([v]),
  histogram_fraction: sig([s, s, v]),
  histogram_quantile: sig([s, v]),
  holt_winters: sig([m, s, s]),
  hour: sig([v], v, 1),
  idelta: sig([m]),
  increase: sig([m]),
  irate: sig([m]),
  label_replace: sig([v, str, str, str, str]),
  label_join: sig([v, str, str, str], v, -1),
  last_over_time: sig([m]),
  ln: sig([v]),
  log10: sig([v]),
  log2: sig([v]),
  max_over_time: sig([m]),
  min_over_time: sig([m]),
  minute: sig([v], v, 1),
  month: sig([v], v, 1),
  pi: sig([], s),
  predict_linear: sig([m, s]),
  present_over_time: sig([m]),
  quantile_over_time: sig([s, m]),
  rad: sig([v]),
  rate: sig([m]),
  resets: sig([m]),
  round: sig([v, s], v, 1),
  scalar: sig([v], s),
  sgn: sig([v]),
  sin: sig([v]),
  sinh: sig([v]),
  sort: sig([v]),
  sort_desc: sig([v]),
  sqrt: sig([v]),
  stddev_over_time: sig([m]),
  stdvar_over_time: sig([m]),
  sum_over_time: sig([m]),
  tan: sig([v]),
  tanh: sig([v]),
  time: sig([], s),
  timestamp: sig([v]),
  vector: sig([s]),
  year: sig([v], v, 1),
};
