import type { Sample } from './ast.js';
import { instantQuery, rangeQuery } from './engine.js';
import { formatFloat, parseDuration, parseGoFloat } from './format.js';
import type { Labels } from './labels.js';
import { formatLabels, labelsFromPairs, labelsKey, METRIC_NAME } from './labels.js';
import { MemoryQueryable } from './memory-queryable.js';
import { parsePromQL, unquoteString } from './parser.js';

/** One value of a series description: a number, a staleness marker, or an omitted sample. */
export type SequenceValue =
  { readonly kind: 'value'; readonly v: number } | { readonly kind: 'stale' } | { readonly kind: 'omitted' };

/** One failed eval of a test script. */
export interface EvalFailure {
  readonly line: number;
  readonly expr: string;
  readonly message: string;
}

/** Outcome of running one test script. */
export interface ScriptResult {
  readonly total: number;
  readonly passed: number;
  readonly failures: EvalFailure[];
}

/** Relative tolerance of value comparisons, as in Prometheus' test harness. */
const EPSILON = 0.000001;
const MIN_NORMAL = 2.2250738585072014e-308;

/** Prometheus' almostEqual: NaN equals NaN, otherwise a relative error below 1e-6. */
export function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || diff < MIN_NORMAL) return diff < EPSILON * MIN_NORMAL;
  return diff / (Math.abs(a) + Math.abs(b)) < EPSILON;
}

const VALUE = String.raw`[+-]?(?:inf|nan|stale|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|0x[0-9a-f]+)`;
const ITEM = new RegExp(
  String.raw`^(${VALUE})(?:([+-](?:inf|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?))?x(\d+))?$`,
  'i',
);

function parseValue(tok: string): SequenceValue {
  if (tok.toLowerCase() === 'stale') return { kind: 'stale' };
  return { kind: 'value', v: parseGoFloat(tok) };
}

/** Expands the series value notation: `1+2x3` → 1 3 5 7, `5x2` → 5 5 5, `_x2` → two gaps, `stale`. */
export function parseSequence(text: string): SequenceValue[] {
  const out: SequenceValue[] = [];
  for (const tok of text.trim().split(/\s+/)) {
    if (tok === '') continue;
    const blank = /^_(?:x(\d+))?$/.exec(tok);
    if (blank) {
      const n = blank[1] === undefined ? 1 : Number(blank[1]);
      for (let i = 0; i < n; i++) out.push({ kind: 'omitted' });
      continue;
    }
    const m = ITEM.exec(tok);
    if (!m) throw new Error(`bad series value ${JSON.stringify(tok)}`);
    const first = parseValue(m[1] as string);
    if (m[3] === undefined) {
      out.push(first);
      continue;
    }
    const times = Number(m[3]);
    if (first.kind !== 'value') {
      for (let i = 0; i <= times; i++) out.push(first);
      continue;
    }
    let v = first.v;
    const inc = m[2] === undefined ? 0 : parseGoFloat(m[2]);
    out.push({ kind: 'value', v });
    for (let i = 1; i <= times; i++) {
      v += inc;
      out.push({ kind: 'value', v });
    }
  }
  return out;
}

/** Parses `name{a="b", c="d"}` (either part optional) into labels. */
export function parseSeriesLabels(text: string): Labels {
  const s = text.trim();
  const brace = s.indexOf('{');
  const name = (brace < 0 ? s : s.slice(0, brace)).trim();
  const pairs: [string, string][] = [];
  if (name !== '') pairs.push([METRIC_NAME, name]);
  if (brace >= 0) {
    const body = s.slice(brace + 1, s.lastIndexOf('}'));
    const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*,?/y;
    let pos = 0;
    while (pos < body.length && body.slice(pos).trim() !== '') {
      re.lastIndex = pos;
      const m = re.exec(body);
      if (!m) throw new Error(`bad label set ${JSON.stringify(text)}`);
      pairs.push([m[1] as string, unquoteString(m[2] as string)]);
      pos = re.lastIndex;
    }
  }
  return labelsFromPairs(pairs);
}

/** Splits a series description line into its label part and its values part. */
export function splitSeriesLine(line: string): [string, string] {
  const s = line.trim();
  const brace = s.indexOf('{');
  const space = s.search(/\s/);
  if (brace >= 0 && (space < 0 || brace < space)) {
    let inQuote: string | null = null;
    for (let i = brace; i < s.length; i++) {
      const c = s[i];
      if (inQuote) {
        if (c === '\\') i++;
        else if (c === inQuote) inQuote = null;
      } else if (c === '"' || c === "'" || c === '`') inQuote = c;
      else if (c === '}') return [s.slice(0, i + 1), s.slice(i + 1)];
    }
    throw new Error(`unterminated label set in ${JSON.stringify(line)}`);
  }
  if (space < 0) return [s, ''];
  return [s.slice(0, space), s.slice(space)];
}

interface Expected {
  readonly labels?: Labels;
  readonly scalar?: number;
  readonly value: number;
}

interface EvalCmd {
  readonly line: number;
  readonly expr: string;
  readonly at: number;
  readonly fail: boolean;
  readonly ordered: boolean;
  readonly expected: Expected[];
}

function compare(cmd: EvalCmd, got: ReturnType<typeof instantQuery>): string | undefined {
  if (got.resultType === 'scalar') {
    const exp = cmd.expected[0];
    if (!exp || cmd.expected.length !== 1)
      return `expected ${cmd.expected.length} samples, got scalar ${formatFloat(got.v)}`;
    if (!almostEqual(exp.value, got.v))
      return `expected scalar ${formatFloat(exp.value)} but got ${formatFloat(got.v)}`;
    return undefined;
  }
  if (got.resultType !== 'vector') return `received ${got.resultType} result on instant evaluation`;
  return compareVector(cmd, got.samples);
}

function compareVector(cmd: EvalCmd, samples: readonly Sample[]): string | undefined {
  const expected = new Map<string, { pos: number; e: Expected }>();
  cmd.expected.forEach((e, pos) => expected.set(labelsKey(e.labels ?? []), { pos, e }));
  const seen = new Set<string>();
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as Sample;
    const k = labelsKey(s.metric);
    const exp = expected.get(k);
    if (!exp) return `unexpected metric ${formatLabels(s.metric)} in result`;
    if (cmd.ordered && exp.pos !== i)
      return `expected metric ${formatLabels(s.metric)} at position ${exp.pos} but was at ${i}`;
    if (!almostEqual(exp.e.value, s.v))
      return `expected ${formatFloat(exp.e.value)} for ${formatLabels(s.metric)} but got ${formatFloat(s.v)}`;
    seen.add(k);
  }
  for (const [k, e] of expected)
    if (!seen.has(k))
      return `expected metric ${formatLabels(e.e.labels ?? [])} with ${formatFloat(e.e.value)} not found`;
  return undefined;
}

/** Runs one eval: the instant query, then (as Prometheus' harness does) the same query in range mode. */
function runEval(store: MemoryQueryable, cmd: EvalCmd): string | undefined {
  let result: ReturnType<typeof instantQuery>;
  try {
    const expr = parsePromQL(cmd.expr);
    result = instantQuery(store, expr, cmd.at, { lookbackDelta: 5 * 60_000, noStepSubqueryInterval: 60_000 });
    if (cmd.fail) return 'expected an error but the query succeeded';
    const diff = compare(cmd, result);
    if (diff) return diff;
    if (cmd.ordered) return undefined;
    // Range mode must agree at the middle step.
    const range = rangeQuery(store, expr, cmd.at - 60_000, cmd.at + 60_000, 60_000, {
      lookbackDelta: 5 * 60_000,
      noStepSubqueryInterval: 60_000,
    });
    const vecAtT: Sample[] = [];
    for (const s of range.series) {
      const i = s.t.indexOf(cmd.at);
      if (i >= 0) vecAtT.push({ metric: s.metric, t: cmd.at, v: s.v[i] as number });
    }
    if (result.resultType === 'scalar') {
      const v = vecAtT[0];
      if (!v || !almostEqual(result.v, v.v))
        return `range mode: scalar mismatch (${v ? formatFloat(v.v) : 'none'})`;
      return undefined;
    }
    const rd = compareVector(cmd, vecAtT);
    return rd ? `range mode: ${rd}` : undefined;
  } catch (err) {
    if (cmd.fail) return undefined;
    return `error: ${(err as Error).message}`;
  }
}

/** Parses and runs a Prometheus PromQL test script (`load`, `clear`, `eval[_fail|_ordered] instant at`). */
export function runTestScript(content: string): ScriptResult {
  const lines = content.split('\n');
  const store = new MemoryQueryable();
  const failures: EvalFailure[] = [];
  let total = 0;
  let passed = 0;
  let i = 0;
  const block = (): { text: string; line: number }[] => {
    const out: { text: string; line: number }[] = [];
    while (i < lines.length) {
      const l = (lines[i] as string).trim();
      if (l === '') break;
      i++;
      if (l.startsWith('#')) continue;
      out.push({ text: l, line: i });
    }
    return out;
  };
  while (i < lines.length) {
    const raw = (lines[i] as string).trim();
    const lineNo = i + 1;
    i++;
    if (raw === '' || raw.startsWith('#')) continue;
    if (raw === 'clear') {
      store.clear();
      continue;
    }
    const load = /^load\s+(\S+)$/.exec(raw);
    if (load) {
      const interval = parseDuration(load[1] as string);
      for (const { text } of block()) {
        const [lbl, vals] = splitSeriesLine(text);
        const labels = parseSeriesLabels(lbl);
        parseSequence(vals).forEach((sv, idx) => {
          if (sv.kind === 'omitted') return;
          store.append(labels, idx * interval, sv.kind === 'stale' ? NaN : sv.v, sv.kind === 'stale');
        });
      }
      continue;
    }
    const ev = /^eval(?:_(fail|ordered))?\s+instant\s+at\s+(\S+)\s+(.+)$/.exec(raw);
    if (ev) {
      const expected: Expected[] = [];
      let parseErr: string | undefined;
      for (const { text } of block()) {
        try {
          if (/^[+-]?(?:\d|\.\d|inf|nan)/i.test(text) && !/[{\s]/.test(text.trim())) {
            expected.push({ scalar: parseGoFloat(text), value: parseGoFloat(text) });
            continue;
          }
          const [lbl, vals] = splitSeriesLine(text);
          const seq = parseSequence(vals);
          const first = seq[0];
          expected.push({ labels: parseSeriesLabels(lbl), value: first?.kind === 'value' ? first.v : NaN });
        } catch (err) {
          parseErr = (err as Error).message;
        }
      }
      total++;
      const cmd: EvalCmd = {
        line: lineNo,
        expr: ev[3] as string,
        at: parseDuration(ev[2] as string),
        fail: ev[1] === 'fail',
        ordered: ev[1] === 'ordered',
        expected,
      };
      const msg = parseErr ?? runEval(store, cmd);
      if (msg === undefined) passed++;
      else failures.push({ line: lineNo, expr: cmd.expr, message: msg });
      continue;
    }
    failures.push({ line: lineNo, expr: raw, message: 'unknown command' });
  }
  return { total, passed, failures };
}
