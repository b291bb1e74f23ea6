/** Parser of the Prometheus text exposition format (version 0.0.4), as served on /metrics. */
import type { Labels } from './promql/labels.js';
import { isValidLabelName, isValidMetricName, labelsFromPairs, METRIC_NAME } from './promql/labels.js';
import { parseGoFloat } from './promql/format.js';

/** One parsed sample line. */
export interface ExpositionSample {
  readonly labels: Labels;
  readonly value: number;
  /** Explicit timestamp (ms), when the line has one. */
  readonly t?: number;
}

/** HELP/TYPE/UNIT of a metric family. */
export interface ExpositionMetadata {
  readonly metric: string;
  type: string;
  help: string;
  unit: string;
}

/** A parsed exposition. */
export interface Exposition {
  readonly samples: ExpositionSample[];
  readonly metadata: Map<string, ExpositionMetadata>;
}

/** A malformed exposition line. */
export class ExpositionError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'ExpositionError';
  }
}

function unescapeLabelValue(s: string): string {
  return s.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

/** Parses a whole exposition body; throws ExpositionError on the first malformed line. */
export function parseExposition(text: string): Exposition {
  const samples: ExpositionSample[] = [];
  const metadata = new Map<string, ExpositionMetadata>();
  const meta = (name: string): ExpositionMetadata => {
    let m = metadata.get(name);
    if (!m) metadata.set(name, (m = { metric: name, type: 'unknown', help: '', unit: '' }));
    return m;
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE|UNIT)\s+(\S+)\s*(.*)$/.exec(trimmed);
      if (!m) continue;
      const [, kind, name = '', rest = ''] = m;
      if (kind === 'HELP') meta(name).help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      else if (kind === 'TYPE') meta(name).type = rest.trim().toLowerCase() || 'unknown';
      else meta(name).unit = rest.trim();
      continue;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(trimmed);
    if (!nameMatch)
      throw new ExpositionError(`invalid metric name in ${JSON.stringify(trimmed.slice(0, 40))}`, i + 1);
    const name = nameMatch[0];
    let pos = name.length;
    const pairs: [string, string][] = [[METRIC_NAME, name]];
    if (trimmed[pos] === '{') {
      pos++;
      const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;
      for (;;) {
        while (trimmed[pos] === ' ') pos++;
        if (trimmed[pos] === '}') {
          pos++;
          break;
        }
        re.lastIndex = pos;
        const lm = re.exec(trimmed);
        if (!lm)
          throw new ExpositionError(`invalid label set in ${JSON.stringify(trimmed.slice(0, 60))}`, i + 1);
        const ln = lm[1] as string;
        if (!isValidLabelName(ln) || ln === METRIC_NAME)
          throw new ExpositionError(`invalid label name ${ln}`, i + 1);
        if (pairs.some(([n]) => n === ln)) throw new ExpositionError(`duplicate label name ${ln}`, i + 1);
        pairs.push([ln, unescapeLabelValue(lm[2] as string)]);
        pos = re.lastIndex;
      }
    }
    const rest = trimmed.slice(pos).trim().split(/\s+/);
    if (rest.length < 1 || rest.length > 2 || rest[0] === '')
      throw new ExpositionError(`expected a value in ${JSON.stringify(trimmed.slice(0, 60))}`, i + 1);
    let value: number;
    try {
      value = parseGoFloat(rest[0] as string);
    } catch {
      throw new ExpositionError(`invalid value ${JSON.stringify(rest[0])}`, i + 1);
    }
    let t: number | undefined;
    if (rest[1] !== undefined) {
      if (!/^-?\d+$/.test(rest[1]))
        throw new ExpositionError(`invalid timestamp ${JSON.stringify(rest[1])}`, i + 1);
      t = Number(rest[1]);
    }
    if (!isValidMetricName(name)) throw new ExpositionError(`invalid metric name ${name}`, i + 1);
    samples.push(
      t === undefined
        ? { labels: labelsFromPairs(pairs), value }
        : { labels: labelsFromPairs(pairs), value, t },
    );
  }
  return { samples, metadata };
}
