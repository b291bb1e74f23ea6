import type {
  AggregateOp,
  BinaryOp,
  Expr,
  Matcher,
  Sample,
  Series,
  SubqueryExpr,
  VectorMatching,
  VectorSelector,
  AtModifier,
} from './ast.js';
import { typeOf } from './ast.js';
import { formatFloat } from './format.js';
import { callFunction } from './functions.js';
import type { Labels } from './labels.js';
import {
  dropLabels,
  dropMetricName,
  formatLabels,
  isValidLabelName,
  keepLabels,
  labelsKey,
  METRIC_NAME,
  setLabel,
} from './labels.js';
import { isComparison, isSetOperator } from './parser.js';

/** Raw samples of one stored series, sorted by time. `stale[i] === 1` marks a staleness marker. */
export interface RawSeries {
  readonly labels: Labels;
  readonly t: ArrayLike<number>;
  readonly v: ArrayLike<number>;
  readonly stale?: ArrayLike<number>;
}

/** What the engine reads from: series matching all matchers with samples in [mint, maxt] (ms). */
export interface Queryable {
  select(matchers: readonly Matcher[], mint: number, maxt: number): RawSeries[];
}

/** Engine settings. */
export interface EngineOptions {
  /** How far back an instant selector looks for a sample (ms); Prometheus' default is 5 m. */
  readonly lookbackDelta?: number;
  /** Step of subqueries written without one (ms); Prometheus uses the global evaluation interval (1 m). */
  readonly noStepSubqueryInterval?: number;
  /** Maximum number of samples a query may hold at once (Prometheus' --query.max-samples). */
  readonly maxSamples?: number;
  /** Called between evaluation steps; throw (e.g. a timeout) to abort the query. */
  readonly checkAbort?: () => void;
}

/** An evaluation failure (Prometheus' `execution` error, HTTP 422). */
export class PromQLEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromQLEvalError';
  }
}

/** A value during evaluation at one step. */
export type Value =
  | { readonly type: 'scalar'; readonly v: number }
  | { readonly type: 'string'; readonly s: string }
  | { readonly type: 'vector'; readonly samples: Sample[] }
  | {
      readonly type: 'matrix';
      readonly series: Series[];
      readonly range: number;
      readonly rangeStart: number;
      readonly rangeEnd: number;
    };

/** Result of an instant query. */
export type InstantResult =
  | { readonly resultType: 'scalar'; readonly t: number; readonly v: number }
  | { readonly resultType: 'string'; readonly t: number; readonly s: string }
  | { readonly resultType: 'vector'; readonly t: number; readonly samples: Sample[] }
  | { readonly resultType: 'matrix'; readonly series: Series[] };

/** Result of a range query. */
export interface RangeResult {
  readonly resultType: 'matrix';
  readonly series: Series[];
}

const DEFAULT_LOOKBACK = 5 * 60_000;

/** Staleness marker bit pattern used by Prometheus (a NaN with payload 2). */
export const STALE_NAN_BITS_HI = 0x7ff00000;
/** Low word of the staleness marker. */
export const STALE_NAN_BITS_LO = 0x00000002;

/** Evaluates an expression at one time (ms). */
export function instantQuery(q: Queryable, expr: Expr, t: number, opts: EngineOptions = {}): InstantResult {
  const ev = new Evaluator(q, expr, t, t, opts);
  const v = ev.eval(expr, t);
  switch (v.type) {
    case 'scalar':
      return { resultType: 'scalar', t, v: v.v };
    case 'string':
      return { resultType: 'string', t, s: v.s };
    case 'vector':
      return { resultType: 'vector', t, samples: v.samples.map((s) => ({ metric: s.metric, t, v: s.v })) };
    case 'matrix':
      return { resultType: 'matrix', series: v.series };
  }
}

/** Evaluates an expression at every step in [start, end] (ms); series sorted by labels. */
export function rangeQuery(
  q: Queryable,
  expr: Expr,
  start: number,
  end: number,
  step: number,
  opts: EngineOptions = {},
): RangeResult {
  const type = typeOf(expr);
  if (type !== 'scalar' && type !== 'vector') {
    throw new PromQLEvalError(
      `invalid expression type "${type === 'matrix' ? 'range vector' : type}" for range query, must be Scalar or instant Vector`,
    );
  }
  if (step <= 0) throw new PromQLEvalError('zero or negative query resolution step widths are not accepted');
  const ev = new Evaluator(q, expr, start, end, opts);
  const byKey = new Map<string, Series>();
  for (let t = start; t <= end; t += step) {
    opts.checkAbort?.();
    const v = ev.eval(expr, t);
    if (v.type === 'scalar') {
      pushPoint(byKey, [], t, v.v);
    } else if (v.type === 'vector') {
      for (const s of v.samples) pushPoint(byKey, s.metric, t, s.v);
    }
  }
  const series = [...byKey.values()];
  series.sort((a, b) => compareSeries(a.metric, b.metric));
  return { resultType: 'matrix', series };
}

function compareSeries(a: Labels, b: Labels): number {
  const ka = labelsKey(a);
  const kb = labelsKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function pushPoint(map: Map<string, Series>, metric: Labels, t: number, v: number): void {
  const key = labelsKey(metric);
  let s = map.get(key);
  if (!s) {
    s = { metric, t: [], v: [] };
    map.set(key, s);
  }
  s.t.push(t);
  s.v.push(v);
}

interface Bounds {
  min: number;
  max: number;
}

/** Index of the last element of sorted `ts` that is <= x, or -1. */
export function lastIndexAtOrBefore(ts: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = ts.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((ts[mid] as number) <= x) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** Index of the first element of sorted `ts` that is >= x (ts.length when none). */
export function firstIndexAtOrAfter(ts: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ts[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class Evaluator {
  private readonly lookback: number;
  private readonly subStep: number;
  private readonly maxSamples: number;
  private readonly checkAbort: () => void;
  private readonly bounds = new Map<VectorSelector, Bounds>();
  private readonly selected = new Map<VectorSelector, RawSeries[]>();

  constructor(
    private readonly q: Queryable,
    root: Expr,
    private readonly start: number,
    private readonly end: number,
    opts: EngineOptions,
  ) {
    this.lookback = opts.lookbackDelta ?? DEFAULT_LOOKBACK;
    this.subStep = opts.noStepSubqueryInterval ?? 60_000;
    this.maxSamples = opts.maxSamples ?? 50_000_000;
    this.checkAbort = opts.checkAbort ?? (() => undefined);
    this.collectBounds(root, start, end);
  }

  private atTime(at: AtModifier): number {
    return at.kind === 'time' ? at.ms : at.kind === 'start' ? this.start : this.end;
  }

  private addBounds(vs: VectorSelector, min: number, max: number): void {
    const b = this.bounds.get(vs);
    if (b) {
      b.min = Math.min(b.min, min);
      b.max = Math.max(b.max, max);
    } else this.bounds.set(vs, { min, max });
  }

  /** Works out, for each selector, which time span it can read, so each is selected once. */
  private collectBounds(e: Expr, lo: number, hi: number): void {
    switch (e.kind) {
      case 'vectorSelector': {
        const [a, b] = e.at ? [this.atTime(e.at), this.atTime(e.at)] : [lo, hi];
        this.addBounds(e, a - e.offset - this.lookback, b - e.offset);
        return;
      }
      case 'matrixSelector': {
        const vs = e.vs;
        const [a, b] = vs.at ? [this.atTime(vs.at), this.atTime(vs.at)] : [lo, hi];
        this.addBounds(vs, a - vs.offset - e.range, b - vs.offset);
        return;
      }
      case 'subquery': {
        const [a, b] = e.at ? [this.atTime(e.at), this.atTime(e.at)] : [lo, hi];
        this.collectBounds(e.expr, a - e.offset - e.range, b - e.offset);
        return;
      }
      case 'paren':
      case 'unary':
        this.collectBounds(e.expr, lo, hi);
        return;
      case 'binary':
        this.collectBounds(e.lhs, lo, hi);
        this.collectBounds(e.rhs, lo, hi);
        return;
      case 'aggregate':
        this.collectBounds(e.expr, lo, hi);
        if (e.param) this.collectBounds(e.param, lo, hi);
        return;
      case 'call':
        for (const a of e.args) this.collectBounds(a, lo, hi);
        return;
      default:
        return;
    }
  }

  private series(vs: VectorSelector): RawSeries[] {
    let s = this.selected.get(vs);
    if (!s) {
      const b = this.bounds.get(vs) ?? { min: -Infinity, max: Infinity };
      s = this.q.select(vs.matchers, b.min, b.max);
      this.selected.set(vs, s);
    }
    return s;
  }

  eval(e: Expr, t: number): Value {
    switch (e.kind) {
      case 'number':
        return { type: 'scalar', v: e.value };
      case 'string':
        return { type: 'string', s: e.value };
      case 'paren':
        return this.eval(e.expr, t);
      case 'vectorSelector':
        return { type: 'vector', samples: this.vectorSelector(e, t) };
      case 'matrixSelector': {
        const vs = e.vs;
        const ref = (vs.at ? this.atTime(vs.at) : t) - vs.offset;
        return {
          type: 'matrix',
          series: this.rangeSelect(vs, ref - e.range, ref),
          range: e.range,
          rangeStart: ref - e.range,
          rangeEnd: ref,
        };
      }
      case 'subquery':
        return this.subquery(e, t);
      case 'unary': {
        const v = this.eval(e.expr, t);
        if (e.op === '+') return v;
        if (v.type === 'scalar') return { type: 'scalar', v: -v.v };
        if (v.type === 'vector') {
          return {
            type: 'vector',
            samples: checkDuplicates(
              v.samples.map((s) => ({ metric: dropMetricName(s.metric), t: s.t, v: -s.v })),
            ),
          };
        }
        throw new PromQLEvalError('unary minus on a non-numeric value');
      }
      case 'binary':
        return this.binary(e.op, e.lhs, e.rhs, e.returnBool, e.matching, t);
      case 'aggregate':
        return this.aggregate(e.op, e.expr, e.param, e.grouping, e.without, t);
      case 'call': {
        const args = e.args.map((a) => this.eval(a, t));
        const out = callFunction(e.func, args, e.args, t, this.timestampArg(e), this.absentLabels(e));
        if (out.type === 'vector') checkDuplicates(out.samples);
        return out;
      }
    }
  }

  /** timestamp() reports a selector's own sample times; other arguments carry the evaluation time. */
  private timestampArg(e: Expr & { kind: 'call' }): boolean {
    if (e.func !== 'timestamp') return false;
    let a = e.args[0];
    while (a && a.kind === 'paren') a = a.expr;
    return a?.kind === 'vectorSelector';
  }

  /** Labels absent()/absent_over_time() give their result: the selector's equality matchers. */
  private absentLabels(e: Expr & { kind: 'call' }): Labels {
    if (e.func !== 'absent' && e.func !== 'absent_over_time') return [];
    let a = e.args[0];
    while (a && a.kind === 'paren') a = a.expr;
    let vs: VectorSelector | undefined;
    if (a?.kind === 'vectorSelector') vs = a;
    else if (a?.kind === 'matrixSelector') vs = a.vs;
    if (!vs) return [];
    let out: Labels = [];
    const has = new Set<string>();
    const set = new Set<string>();
    for (const m of vs.matchers) {
      if (m.name === METRIC_NAME) continue;
      if (m.type === '=' && !set.has(m.name)) {
        out = setLabel(out, m.name, m.value);
        set.add(m.name);
      } else has.add(m.name);
    }
    return dropLabels(out, has);
  }

  private vectorSelector(vs: VectorSelector, t: number): Sample[] {
    const ref = (vs.at ? this.atTime(vs.at) : t) - vs.offset;
    const out: Sample[] = [];
    for (const s of this.series(vs)) {
      const i = lastIndexAtOrBefore(s.t, ref);
      if (i < 0) continue;
      const ts = s.t[i] as number;
      if (ts < ref - this.lookback) continue;
      if (s.stale && s.stale[i] === 1) continue;
      out.push({ metric: s.labels, t: ts, v: s.v[i] as number });
    }
    return out;
  }

  private rangeSelect(vs: VectorSelector, mint: number, maxt: number): Series[] {
    const out: Series[] = [];
    let total = 0;
    for (const s of this.series(vs)) {
      const from = firstIndexAtOrAfter(s.t, mint);
      const ts: number[] = [];
      const vals: number[] = [];
      for (let i = from; i < s.t.length && (s.t[i] as number) <= maxt; i++) {
        if (s.stale && s.stale[i] === 1) continue;
        ts.push(s.t[i] as number);
        vals.push(s.v[i] as number);
      }
      if (ts.length > 0) {
        total += ts.length;
        if (total > this.maxSamples)
          throw new PromQLEvalError(
            'query processing would load too many samples into memory in query execution',
          );
        out.push({ metric: s.labels, t: ts, v: vals });
      }
    }
    return out;
  }

  private subquery(e: SubqueryExpr, t: number): Value {
    const base = e.at ? this.atTime(e.at) : t;
    const end = base - e.offset;
    const start = end - e.range;
    const step = e.step > 0 ? e.step : this.subStep;
    let first = step * Math.trunc(start / step);
    if (first < start) first += step;
    const byKey = new Map<string, Series>();
    for (let ts = first; ts <= end; ts += step) {
      this.checkAbort();
      const v = this.eval(e.expr, ts);
      if (v.type === 'vector') for (const s of v.samples) pushPoint(byKey, s.metric, ts, s.v);
      else if (v.type === 'scalar') pushPoint(byKey, [], ts, v.v);
    }
    return { type: 'matrix', series: [...byKey.values()], range: e.range, rangeStart: start, rangeEnd: end };
  }

  private binary(
    op: BinaryOp,
    lhsE: Expr,
    rhsE: Expr,
    returnBool: boolean,
    matching: VectorMatching | undefined,
    t: number,
  ): Value {
    const lhs = this.eval(lhsE, t);
    const rhs = this.eval(rhsE, t);
    if (lhs.type === 'scalar' && rhs.type === 'scalar') {
      const [v, keep] = binop(op, lhs.v, rhs.v);
      return { type: 'scalar', v: returnBool ? (keep ? 1 : 0) : v };
    }
    if (lhs.type === 'vector' && rhs.type === 'vector') {
      const m = matching ?? {
        card: isSetOperator(op) ? 'many-to-many' : 'one-to-one',
        on: false,
        labels: [],
        include: [],
      };
      let out: Sample[];
      if (op === 'and') out = this.and(lhs.samples, rhs.samples, m);
      else if (op === 'or') out = this.or(lhs.samples, rhs.samples, m);
      else if (op === 'unless') out = this.unless(lhs.samples, rhs.samples, m);
      else out = this.vectorBinop(op, lhs.samples, rhs.samples, m, returnBool, t);
      return { type: 'vector', samples: out };
    }
    if (lhs.type === 'vector' && rhs.type === 'scalar')
      return { type: 'vector', samples: vectorScalar(op, lhs.samples, rhs.v, false, returnBool, t) };
    if (lhs.type === 'scalar' && rhs.type === 'vector')
      return { type: 'vector', samples: vectorScalar(op, rhs.samples, lhs.v, true, returnBool, t) };
    throw new PromQLEvalError('binary expression must contain only scalar and instant vector types');
  }

  private and(lhs: Sample[], rhs: Sample[], m: VectorMatching): Sample[] {
    const sig = signature(m);
    const right = new Set(rhs.map((s) => sig(s.metric)));
    return lhs.filter((s) => right.has(sig(s.metric)));
  }

  private or(lhs: Sample[], rhs: Sample[], m: VectorMatching): Sample[] {
    const sig = signature(m);
    const left = new Set(lhs.map((s) => sig(s.metric)));
    return [...lhs, ...rhs.filter((s) => !left.has(sig(s.metric)))];
  }

  private unless(lhs: Sample[], rhs: Sample[], m: VectorMatching): Sample[] {
    const sig = signature(m);
    const right = new Set(rhs.map((s) => sig(s.metric)));
    return lhs.filter((s) => !right.has(sig(s.metric)));
  }

  private vectorBinop(
    op: BinaryOp,
    lhsIn: Sample[],
    rhsIn: Sample[],
    m: VectorMatching,
    returnBool: boolean,
    t: number,
  ): Sample[] {
    const sig = signature(m);
    const swapped = m.card === 'one-to-many';
    const [lhs, rhs] = swapped ? [rhsIn, lhsIn] : [lhsIn, rhsIn];
    const right = new Map<string, Sample>();
    for (const rs of rhs) {
      const k = sig(rs.metric);
      const dup = right.get(k);
      if (dup) {
        const side = swapped ? 'left' : 'right';
        const matched = m.on
          ? keepLabels(rs.metric, m.labels)
          : dropLabels(rs.metric, [...m.labels, METRIC_NAME]);
        throw new PromQLEvalError(
          `found duplicate series for the match group ${formatLabels(matched)} on the ${side} hand-side of the operation: [${formatLabels(rs.metric)}, ${formatLabels(dup.metric)}];many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      right.set(k, rs);
    }
    const matchedSigs = new Map<string, Set<string> | null>();
    const out: Sample[] = [];
    for (const ls of lhs) {
      const k = sig(ls.metric);
      const rs = right.get(k);
      if (!rs) continue;
      const [vl, vr] = swapped ? [rs.v, ls.v] : [ls.v, rs.v];
      const [raw, keep] = binop(op, vl, vr);
      let value = raw;
      if (returnBool) {
        value = keep ? 1 : 0;
      } else if (!keep) continue;
      let metric = resultMetric(ls.metric, rs.metric, op, m);
      if (returnBool) metric = dropMetricName(metric);
      const inserted = matchedSigs.get(k);
      if (m.card === 'one-to-one') {
        if (inserted !== undefined)
          throw new PromQLEvalError(
            'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
          );
        matchedSigs.set(k, null);
      } else {
        const mk = labelsKey(metric);
        let set = inserted;
        if (!set) {
          set = new Set();
          matchedSigs.set(k, set);
        } else if (set.has(mk))
          throw new PromQLEvalError(
            'multiple matches for labels: grouping labels must ensure unique results',
          );
        set.add(mk);
      }
      out.push({ metric, t, v: value });
    }
    return out;
  }

  private aggregate(
    op: AggregateOp,
    expr: Expr,
    paramE: Expr | undefined,
    grouping: readonly string[],
    without: boolean,
    t: number,
  ): Value {
    const v = this.eval(expr, t);
    if (v.type !== 'vector') throw new PromQLEvalError('aggregation over a non-vector');
    const pv = paramE ? this.eval(paramE, t) : undefined;
    return { type: 'vector', samples: aggregate(op, v.samples, pv, grouping, without, t) };
  }
}

function checkDuplicates(samples: Sample[]): Sample[] {
  if (samples.length < 2) return samples;
  const seen = new Set<string>();
  for (const s of samples) {
    const k = labelsKey(s.metric);
    if (seen.has(k)) throw new PromQLEvalError('vector cannot contain metrics with the same labelset');
    seen.add(k);
  }
  return samples;
}

/** The matching signature function of a vector matching. */
function signature(m: VectorMatching): (l: Labels) => string {
  if (m.on) {
    const keep = new Set(m.labels);
    return (l) => labelsKey(keepLabels(l, keep));
  }
  const drop = new Set([...m.labels, METRIC_NAME]);
  return (l) => labelsKey(dropLabels(l, drop));
}

function shouldDropMetricName(op: BinaryOp): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '^';
}

function resultMetric(lhs: Labels, rhs: Labels, op: BinaryOp, m: VectorMatching): Labels {
  let out = lhs;
  if (shouldDropMetricName(op)) out = dropMetricName(out);
  if (m.card === 'one-to-one') {
    out = m.on ? keepLabels(out, m.labels) : dropLabels(out, m.labels);
  }
  for (const ln of m.include) {
    const v = rhs.find((l) => l.name === ln)?.value ?? '';
    out = setLabel(out, ln, v);
  }
  return out;
}

/** Applies an operator to two floats: [value, keep] (keep is false for a failed comparison). */
export function binop(op: BinaryOp, l: number, r: number): [number, boolean] {
  switch (op) {
    case '+':
      return [l + r, true];
    case '-':
      return [l - r, true];
    case '*':
      return [l * r, true];
    case '/':
      return [l / r, true];
    case '%':
      return [goMod(l, r), true];
    case '^':
      return [goPow(l, r), true];
    case 'atan2':
      return [Math.atan2(l, r), true];
    case '==':
      return [l, l === r];
    case '!=':
      return [l, l !== r];
    case '>':
      return [l, l > r];
    case '<':
      return [l, l < r];
    case '>=':
      return [l, l >= r];
    case '<=':
      return [l, l <= r];
    default:
      throw new PromQLEvalError(`operator "${op}" not allowed for scalar operations`);
  }
}

/** Go's math.Mod (sign of the dividend, NaN for x%0 and for infinite x). */
function goMod(x: number, y: number): number {
  if (y === 0 || !Number.isFinite(x) || Number.isNaN(y)) return NaN;
  return x % y;
}

/** Go's math.Pow; JavaScript differs for 1^NaN/1^±Inf and (-1)^±Inf, which Go defines as 1. */
function goPow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return Math.pow(x, y);
}

function vectorScalar(
  op: BinaryOp,
  vec: Sample[],
  scalar: number,
  swap: boolean,
  returnBool: boolean,
  t: number,
): Sample[] {
  const out: Sample[] = [];
  for (const s of vec) {
    let [lv, rv] = [s.v, scalar];
    if (swap) [lv, rv] = [rv, lv];
    let [value, keep] = binop(op, lv, rv);
    if (isComparison(op) && swap) value = rv;
    if (returnBool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    const metric = shouldDropMetricName(op) || returnBool ? dropMetricName(s.metric) : s.metric;
    out.push({ metric, t, v: value });
  }
  return checkDuplicates(out);
}

interface Group {
  metric: Labels;
  value: number;
  mean: number;
  count: number;
  heap: Sample[];
  values: number[];
}

/** Prometheus' quantile over a set of values (linear interpolation between closest ranks). */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0) return NaN;
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort(byValueNaNFirst);
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return (sorted[lower] as number) * (1 - weight) + (sorted[upper] as number) * weight;
}

function byValueNaNFirst(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a - b;
}

function aggregate(
  op: AggregateOp,
  vec: Sample[],
  param: Value | undefined,
  grouping: readonly string[],
  without: boolean,
  t: number,
): Sample[] {
  let k = 0;
  let q = 0;
  let valueLabel = '';
  const groupingLabels = [...grouping];
  if (op === 'topk' || op === 'bottomk') {
    const f = param?.type === 'scalar' ? param.v : NaN;
    if (!(Math.abs(f) < 9.2e18)) throw new PromQLEvalError(`Scalar value ${formatFloat(f)} overflows int64`);
    k = Math.trunc(f);
    if (k < 1) return [];
  }
  if (op === 'quantile') q = param?.type === 'scalar' ? param.v : NaN;
  if (op === 'count_values') {
    valueLabel = param?.type === 'string' ? param.s : '';
    if (!isValidLabelName(valueLabel)) throw new PromQLEvalError(`invalid label name "${valueLabel}"`);
    if (!without) groupingLabels.push(valueLabel);
  }
  const groupSet = new Set(groupingLabels);
  const withoutSet = new Set([...groupingLabels, METRIC_NAME]);
  const groups = new Map<string, Group>();
  const order: Group[] = [];
  for (const s0 of vec) {
    let s = s0;
    if (op === 'count_values')
      s = { metric: setLabel(s.metric, valueLabel, formatFloat(s.v)), t: s.t, v: s.v };
    const gm = without ? dropLabels(s.metric, withoutSet) : keepLabels(s.metric, groupSet);
    const key = labelsKey(gm);
    let g = groups.get(key);
    if (!g) {
      g = { metric: gm, value: s.v, mean: s.v, count: 1, heap: [], values: [] };
      groups.set(key, g);
      order.push(g);
      if (op === 'stddev' || op === 'stdvar') g.value = 0;
      if (op === 'count' || op === 'group' || op === 'count_values') g.value = 1;
      if (op === 'topk' || op === 'bottomk') g.heap.push(s);
      if (op === 'quantile') g.values.push(s.v);
      continue;
    }
    switch (op) {
      case 'sum':
        g.value += s.v;
        break;
      case 'avg': {
        g.count++;
        if (!Number.isFinite(g.mean) && !Number.isNaN(g.mean)) {
          if (!Number.isFinite(s.v) && !Number.isNaN(s.v) && g.mean > 0 === s.v > 0) break;
          if (Number.isFinite(s.v)) break;
        }
        g.mean += s.v / g.count - g.mean / g.count;
        break;
      }
      case 'group':
        break;
      case 'count':
      case 'count_values':
        g.count++;
        g.value = g.count;
        break;
      case 'max':
        if (g.value < s.v || Number.isNaN(g.value)) g.value = s.v;
        break;
      case 'min':
        if (g.value > s.v || Number.isNaN(g.value)) g.value = s.v;
        break;
      case 'stddev':
      case 'stdvar': {
        g.count++;
        const delta = s.v - g.mean;
        g.mean += delta / g.count;
        g.value += delta * (s.v - g.mean);
        break;
      }
      case 'topk':
      case 'bottomk':
        g.heap.push(s);
        break;
      case 'quantile':
        g.values.push(s.v);
        break;
    }
  }
  const out: Sample[] = [];
  for (const g of order) {
    switch (op) {
      case 'avg':
        out.push({ metric: g.metric, t, v: g.mean });
        break;
      case 'stddev':
        out.push({ metric: g.metric, t, v: Math.sqrt(g.value / g.count) });
        break;
      case 'stdvar':
        out.push({ metric: g.metric, t, v: g.value / g.count });
        break;
      case 'quantile':
        out.push({ metric: g.metric, t, v: quantile(q, g.values) });
        break;
      case 'topk':
      case 'bottomk': {
        const sorted = selectK(g.heap, k, op === 'topk');
        for (const s of sorted) out.push({ metric: s.metric, t, v: s.v });
        break;
      }
      default:
        out.push({ metric: g.metric, t, v: g.value });
    }
  }
  return out;
}

/** topk/bottomk: the k largest (smallest) samples, best first; NaN always ranks last. */
function selectK(samples: Sample[], k: number, top: boolean): Sample[] {
  const cmp = (a: Sample, b: Sample): number => {
    const an = Number.isNaN(a.v);
    const bn = Number.isNaN(b.v);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    return top ? b.v - a.v : a.v - b.v;
  };
  return [...samples].sort(cmp).slice(0, k);
}
