import type { Expr, Sample, Series } from './ast.js';
import type { Value } from './engine.js';
import { PromQLEvalError, quantile } from './engine.js';
import type { Labels } from './labels.js';
import {
  dropLabels,
  dropMetricName,
  getLabel,
  isValidLabelName,
  labelsKey,
  METRIC_NAME,
  setLabel,
} from './labels.js';
import { compileAnchoredRegex, expandTemplate } from './regex.js';

type Matrix = Value & { type: 'matrix' };

function vec(v: Value | undefined): Sample[] {
  if (!v || v.type !== 'vector') throw new PromQLEvalError('expected an instant vector argument');
  return v.samples;
}

function scalar(v: Value | undefined): number {
  if (!v || v.type !== 'scalar') throw new PromQLEvalError('expected a scalar argument');
  return v.v;
}

function str(v: Value | undefined): string {
  if (!v || v.type !== 'string') throw new PromQLEvalError('expected a string argument');
  return v.s;
}

function matrix(v: Value | undefined): Matrix {
  if (!v || v.type !== 'matrix') throw new PromQLEvalError('expected a range vector argument');
  return v;
}

function simple(args: Value[], t: number, f: (x: number) => number): Value {
  return {
    type: 'vector',
    samples: vec(args[0]).map((s) => ({ metric: dropMetricName(s.metric), t, v: f(s.v) })),
  };
}

/** Applies f to each series of a range vector that has samples; drops the metric name (except last_over_time). */
function overTime(args: Value[], t: number, f: (s: Series) => number | undefined, keepName = false): Value {
  const out: Sample[] = [];
  for (const s of matrix(args[0]).series) {
    if (s.t.length === 0) continue;
    const v = f(s);
    if (v === undefined) continue;
    out.push({ metric: keepName ? s.metric : dropMetricName(s.metric), t, v });
  }
  return { type: 'vector', samples: out };
}

/** Neumaier-compensated summation step, as Prometheus' kahanSumInc. */
function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  return [t, c];
}

function extrapolatedRate(m: Matrix, isCounter: boolean, isRate: boolean, t: number): Value {
  const out: Sample[] = [];
  for (const s of m.series) {
    const n = s.t.length;
    if (n < 2) continue;
    const firstT = s.t[0] as number;
    const lastT = s.t[n - 1] as number;
    const firstV = s.v[0] as number;
    let result = (s.v[n - 1] as number) - firstV;
    if (isCounter) {
      let last = 0;
      for (const v of s.v) {
        if (v < last) result += last;
        last = v;
      }
    }
    let durationToStart = (firstT - m.rangeStart) / 1000;
    const durationToEnd = (m.rangeEnd - lastT) / 1000;
    const sampled = (lastT - firstT) / 1000;
    const avg = sampled / (n - 1);
    if (isCounter && result > 0 && firstV >= 0) {
      const durationToZero = sampled * (firstV / result);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
    const threshold = avg * 1.1;
    let interval = sampled;
    interval += durationToStart < threshold ? durationToStart : avg / 2;
    interval += durationToEnd < threshold ? durationToEnd : avg / 2;
    result = result * (interval / sampled);
    if (isRate) result = result / (m.range / 1000);
    out.push({ metric: dropMetricName(s.metric), t, v: result });
  }
  return { type: 'vector', samples: out };
}

function instantValue(m: Matrix, isRate: boolean, t: number): Value {
  const out: Sample[] = [];
  for (const s of m.series) {
    const n = s.t.length;
    if (n < 2) continue;
    const lastV = s.v[n - 1] as number;
    const prevV = s.v[n - 2] as number;
    let result = lastV - prevV;
    if (isRate && lastV < prevV) result = lastV;
    const interval = (s.t[n - 1] as number) - (s.t[n - 2] as number);
    if (interval === 0) continue;
    if (isRate) result /= interval / 1000;
    out.push({ metric: dropMetricName(s.metric), t, v: result });
  }
  return { type: 'vector', samples: out };
}

function linearRegression(s: Series, interceptTime: number): [number, number] {
  let n = 0;
  let sumX = 0,
    cX = 0,
    sumY = 0,
    cY = 0,
    sumXY = 0,
    cXY = 0,
    sumX2 = 0,
    cX2 = 0;
  const initY = s.v[0] as number;
  let constY = true;
  for (let i = 0; i < s.t.length; i++) {
    const v = s.v[i] as number;
    if (constY && i > 0 && v !== initY) constY = false;
    n += 1;
    const x = ((s.t[i] as number) - interceptTime) / 1000;
    [sumX, cX] = kahanInc(x, sumX, cX);
    [sumY, cY] = kahanInc(v, sumY, cY);
    [sumXY, cXY] = kahanInc(x * v, sumXY, cXY);
    [sumX2, cX2] = kahanInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

function timeFn(args: Value[], t: number, f: (d: Date) => number): Value {
  if (args.length === 0) return { type: 'vector', samples: [{ metric: [], t, v: f(new Date(t)) }] };
  return {
    type: 'vector',
    samples: vec(args[0]).map((s) => ({
      metric: dropMetricName(s.metric),
      t,
      v: Number.isFinite(s.v) ? f(new Date(s.v * 1000)) : NaN,
    })),
  };
}

function avgOverTime(vals: readonly number[]): number {
  let mean = 0;
  let count = 0;
  for (const v of vals) {
    count++;
    if (count === 1) {
      mean = v;
      continue;
    }
    if (!Number.isFinite(mean) && !Number.isNaN(mean)) {
      if (!Number.isFinite(v) && !Number.isNaN(v) && mean > 0 === v > 0) continue;
      if (Number.isFinite(v)) continue;
    }
    mean += v / count - mean / count;
  }
  return mean;
}

function stdvarOverTime(vals: readonly number[]): number {
  let count = 0;
  let mean = 0,
    cMean = 0,
    aux = 0,
    cAux = 0;
  for (const v of vals) {
    count++;
    const delta = v - (mean + cMean);
    [mean, cMean] = kahanInc(delta / count, mean, cMean);
    [aux, cAux] = kahanInc(delta * (v - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

interface Bucket {
  upper: number;
  count: number;
}

/** Prometheus' bucketQuantile for conventional (le-labelled) histogram buckets. */
export function bucketQuantile(q: number, input: Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...input].sort((a, b) => a.upper - b.upper);
  if (sorted.length === 0 || (sorted[sorted.length - 1] as Bucket).upper !== Infinity) return NaN;
  const buckets: Bucket[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else buckets.push({ ...b });
  }
  let max = -Infinity;
  for (const b of buckets) {
    if (b.count > max) max = b.count;
    else if (b.count < max) b.count = max;
  }
  if (buckets.length < 2) return NaN;
  const observations = (buckets[buckets.length - 1] as Bucket).count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  let b = buckets.length - 1;
  for (let i = 0; i < buckets.length - 1; i++) {
    if ((buckets[i] as Bucket).count >= rank) {
      b = i;
      break;
    }
  }
  if (b === buckets.length - 1) return (buckets[buckets.length - 2] as Bucket).upper;
  const bk = buckets[b] as Bucket;
  if (b === 0 && bk.upper <= 0) return bk.upper;
  let start = 0;
  let count = bk.count;
  if (b > 0) {
    const prev = buckets[b - 1] as Bucket;
    start = prev.upper;
    count -= prev.count;
    rank -= prev.count;
  }
  return start + (bk.upper - start) * (rank / count);
}

function parseLe(s: string): number | undefined {
  const body = s.trim();
  if (body === '') return undefined;
  const low = body.toLowerCase().replace(/^[+-]/, '');
  if (low === 'inf' || low === 'infinity') return body.startsWith('-') ? -Infinity : Infinity;
  if (low === 'nan') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(body) && !/^[+-]?0x[0-9a-f]+$/i.test(body))
    return undefined;
  return Number(body);
}

function histogramQuantile(args: Value[], t: number): Value {
  const q = scalar(args[0]);
  const groups = new Map<string, { metric: Labels; buckets: Bucket[] }>();
  for (const s of vec(args[1])) {
    const upper = parseLe(getLabel(s.metric, 'le'));
    if (upper === undefined) continue;
    const key = labelsKey(dropLabels(s.metric, ['le']));
    let g = groups.get(key);
    if (!g) {
      g = { metric: dropLabels(s.metric, ['le', METRIC_NAME]), buckets: [] };
      groups.set(key, g);
    }
    g.buckets.push({ upper, count: s.v });
  }
  return {
    type: 'vector',
    samples: [...groups.values()].map((g) => ({ metric: g.metric, t, v: bucketQuantile(q, g.buckets) })),
  };
}

function labelReplace(args: Value[]): Value {
  const samples = vec(args[0]);
  const dst = str(args[1]);
  const repl = str(args[2]);
  const src = str(args[3]);
  const reSrc = str(args[4]);
  let re: RegExp;
  try {
    re = compileAnchoredRegex(reSrc);
  } catch {
    throw new PromQLEvalError(`invalid regular expression in label_replace(): ${reSrc}`);
  }
  if (!isValidLabelName(dst))
    throw new PromQLEvalError(`invalid destination label name in label_replace(): ${dst}`);
  const out = samples.map((s) => {
    const m = re.exec(getLabel(s.metric, src));
    if (!m) return s;
    const res = expandTemplate(repl, m);
    return { metric: setLabel(s.metric, dst, res), t: s.t, v: s.v };
  });
  return { type: 'vector', samples: out };
}

function labelJoin(args: Value[]): Value {
  const samples = vec(args[0]);
  const dst = str(args[1]);
  const sep = str(args[2]);
  const srcs = args.slice(3).map((a) => str(a));
  for (const s of srcs)
    if (!isValidLabelName(s)) throw new PromQLEvalError(`invalid source label name in label_join(): ${s}`);
  if (!isValidLabelName(dst))
    throw new PromQLEvalError(`invalid destination label name in label_join(): ${dst}`);
  return {
    type: 'vector',
    samples: samples.map((s) => ({
      metric: setLabel(s.metric, dst, srcs.map((l) => getLabel(s.metric, l)).join(sep)),
      t: s.t,
      v: s.v,
    })),
  };
}

function sortBy(samples: Sample[], desc: boolean): Sample[] {
  return [...samples].sort((a, b) => {
    const an = Number.isNaN(a.v);
    const bn = Number.isNaN(b.v);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    return desc ? b.v - a.v : a.v - b.v;
  });
}

const DAY_MS = 86_400_000;

function daysInMonth(d: Date): number {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
}

function dayOfYear(d: Date): number {
  return (
    Math.floor(
      (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) /
        DAY_MS,
    ) + 1
  );
}

/** Round half up to a multiple, as Prometheus' round(). */
function round(v: number, toNearest: number): number {
  const inv = 1 / toNearest;
  return Math.floor(v * inv + 0.5) / inv;
}

function sgn(v: number): number {
  return v > 0 ? 1 : v < 0 ? -1 : v;
}

/**
 * Calls a PromQL function at evaluation time t. `sampleTimestamps` makes timestamp() report the
 * samples' own times (its argument is a plain selector); `absentLabels` is what absent() returns.
 */
export function callFunction(
  name: string,
  args: Value[],
  _argExprs: readonly Expr[],
  t: number,
  sampleTimestamps: boolean,
  absentLabels: Labels,
): Value {
  switch (name) {
    case 'abs':
      return simple(args, t, Math.abs);
    case 'ceil':
      return simple(args, t, Math.ceil);
    case 'floor':
      return simple(args, t, Math.floor);
    case 'exp':
      return simple(args, t, Math.exp);
    case 'sqrt':
      return simple(args, t, Math.sqrt);
    case 'ln':
      return simple(args, t, Math.log);
    case 'log2':
      return simple(args, t, Math.log2);
    case 'log10':
      return simple(args, t, Math.log10);
    case 'sgn':
      return simple(args, t, sgn);
    case 'acos':
      return simple(args, t, Math.acos);
    case 'acosh':
      return simple(args, t, Math.acosh);
    case 'asin':
      return simple(args, t, Math.asin);
    case 'asinh':
      return simple(args, t, Math.asinh);
    case 'atan':
      return simple(args, t, Math.atan);
    case 'atanh':
      return simple(args, t, Math.atanh);
    case 'cos':
      return simple(args, t, Math.cos);
    case 'cosh':
      return simple(args, t, Math.cosh);
    case 'sin':
      return simple(args, t, Math.sin);
    case 'sinh':
      return simple(args, t, Math.sinh);
    case 'tan':
      return simple(args, t, Math.tan);
    case 'tanh':
      return simple(args, t, Math.tanh);
    case 'deg':
      return simple(args, t, (x) => (x * 180) / Math.PI);
    case 'rad':
      return simple(args, t, (x) => (x * Math.PI) / 180);
    case 'round': {
      const to = args.length > 1 ? scalar(args[1]) : 1;
      return simple(args, t, (x) => round(x, to));
    }
    case 'clamp': {
      const min = scalar(args[1]);
      const max = scalar(args[2]);
      if (max < min) return { type: 'vector', samples: [] };
      return simple(args, t, (x) => Math.max(min, Math.min(max, x)));
    }
    case 'clamp_max': {
      const max = scalar(args[1]);
      return simple(args, t, (x) => Math.min(max, x));
    }
    case 'clamp_min': {
      const min = scalar(args[1]);
      return simple(args, t, (x) => Math.max(min, x));
    }
    case 'pi':
      return { type: 'scalar', v: Math.PI };
    case 'time':
      return { type: 'scalar', v: t / 1000 };
    case 'vector':
      return { type: 'vector', samples: [{ metric: [], t, v: scalar(args[0]) }] };
    case 'scalar': {
      const s = vec(args[0]);
      return { type: 'scalar', v: s.length === 1 ? (s[0] as Sample).v : NaN };
    }
    case 'timestamp':
      return {
        type: 'vector',
        samples: vec(args[0]).map((s) => ({
          metric: dropMetricName(s.metric),
          t,
          v: (sampleTimestamps ? s.t : t) / 1000,
        })),
      };
    case 'sort':
      return { type: 'vector', samples: sortBy(vec(args[0]), false) };
    case 'sort_desc':
      return { type: 'vector', samples: sortBy(vec(args[0]), true) };
    case 'label_replace':
      return labelReplace(args);
    case 'label_join':
      return labelJoin(args);
    case 'absent':
      return vec(args[0]).length > 0
        ? { type: 'vector', samples: [] }
        : { type: 'vector', samples: [{ metric: absentLabels, t, v: 1 }] };
    case 'absent_over_time':
      return matrix(args[0]).series.some((s) => s.t.length > 0)
        ? { type: 'vector', samples: [] }
        : { type: 'vector', samples: [{ metric: absentLabels, t, v: 1 }] };
    case 'present_over_time':
      return overTime(args, t, () => 1);
    case 'count_over_time':
      return overTime(args, t, (s) => s.t.length);
    case 'sum_over_time':
      return overTime(args, t, (s) => {
        let sum = 0,
          c = 0;
        for (const v of s.v) [sum, c] = kahanInc(v, sum, c);
        return Number.isFinite(sum) ? sum + c : sum;
      });
    case 'avg_over_time':
      return overTime(args, t, (s) => avgOverTime(s.v));
    case 'min_over_time':
      return overTime(args, t, (s) => {
        let min = s.v[0] as number;
        for (const v of s.v) if (v < min || Number.isNaN(min)) min = v;
        return min;
      });
    case 'max_over_time':
      return overTime(args, t, (s) => {
        let max = s.v[0] as number;
        for (const v of s.v) if (v > max || Number.isNaN(max)) max = v;
        return max;
      });
    case 'last_over_time':
      return overTime(args, t, (s) => s.v[s.v.length - 1], true);
    case 'stdvar_over_time':
      return overTime(args, t, (s) => stdvarOverTime(s.v));
    case 'stddev_over_time':
      return overTime(args, t, (s) => Math.sqrt(stdvarOverTime(s.v)));
    case 'quantile_over_time': {
      const q = scalar(args[0]);
      return overTime([args[1] as Value], t, (s) => quantile(q, s.v));
    }
    case 'changes':
      return overTime(args, t, (s) => {
        let changes = 0;
        for (let i = 1; i < s.v.length; i++) {
          const cur = s.v[i] as number;
          const prev = s.v[i - 1] as number;
          if (cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))) changes++;
        }
        return changes;
      });
    case 'resets':
      return overTime(args, t, (s) => {
        let resets = 0;
        for (let i = 1; i < s.v.length; i++) if ((s.v[i] as number) < (s.v[i - 1] as number)) resets++;
        return resets;
      });
    case 'rate':
      return extrapolatedRate(matrix(args[0]), true, true, t);
    case 'increase':
      return extrapolatedRate(matrix(args[0]), true, false, t);
    case 'delta':
      return extrapolatedRate(matrix(args[0]), false, false, t);
    case 'irate':
      return instantValue(matrix(args[0]), true, t);
    case 'idelta':
      return instantValue(matrix(args[0]), false, t);
    case 'deriv':
      return overTime(args, t, (s) =>
        s.t.length < 2 ? undefined : linearRegression(s, s.t[0] as number)[0],
      );
    case 'predict_linear': {
      const d = scalar(args[1]);
      return overTime(args, t, (s) => {
        if (s.t.length < 2) return undefined;
        const [slope, intercept] = linearRegression(s, t);
        return slope * d + intercept;
      });
    }
    case 'holt_winters': {
      const sf = scalar(args[1]);
      const tf = scalar(args[2]);
      if (!(sf > 0 && sf < 1))
        throw new PromQLEvalError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf}`);
      if (!(tf > 0 && tf < 1))
        throw new PromQLEvalError(`invalid trend factor. Expected: 0 < tf < 1, got: ${tf}`);
      return overTime(args, t, (s) => {
        const l = s.v.length;
        if (l < 2) return undefined;
        let s0 = 0;
        let s1 = s.v[0] as number;
        let b = (s.v[1] as number) - (s.v[0] as number);
        for (let i = 1; i < l; i++) {
          const x = sf * (s.v[i] as number);
          if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
          const y = (1 - sf) * (s1 + b);
          s0 = s1;
          s1 = x + y;
        }
        return s1;
      });
    }
    case 'histogram_quantile':
      return histogramQuantile(args, t);
    case 'histogram_count':
    case 'histogram_sum':
    case 'histogram_fraction':
      // Native histograms are not stored; these functions only act on native histogram samples.
      return { type: 'vector', samples: [] };
    case 'day_of_month':
      return timeFn(args, t, (d) => d.getUTCDate());
    case 'day_of_week':
      return timeFn(args, t, (d) => d.getUTCDay());
    case 'day_of_year':
      return timeFn(args, t, dayOfYear);
    case 'days_in_month':
      return timeFn(args, t, daysInMonth);
    case 'hour':
      return timeFn(args, t, (d) => d.getUTCHours());
    case 'minute':
      return timeFn(args, t, (d) => d.getUTCMinutes());
    case 'month':
      return timeFn(args, t, (d) => d.getUTCMonth() + 1);
    case 'year':
      return timeFn(args, t, (d) => d.getUTCFullYear());
    default:
      throw new PromQLEvalError(`unknown function ${name}`);
  }
}
