/** A label pair. */
export interface Label {
  readonly name: string;
  readonly value: string;
}

/** A label set: sorted by name, no empty values, no duplicate names. */
export type Labels = readonly Label[];

/** The label that holds a series' metric name. */
export const METRIC_NAME = '__name__';

/** Builds a label set from a record, dropping empty values and sorting by name. */
export function labelsFromRecord(record: Readonly<Record<string, string>>): Labels {
  const out: Label[] = [];
  for (const [name, value] of Object.entries(record)) if (value !== '') out.push({ name, value });
  out.sort((a, b) => cmpStr(a.name, b.name));
  return out;
}

/** Builds a label set from pairs (later duplicates win), dropping empty values and sorting by name. */
export function labelsFromPairs(pairs: Iterable<readonly [string, string]>): Labels {
  const m = new Map<string, string>();
  for (const [n, v] of pairs) m.set(n, v);
  const out: Label[] = [];
  for (const [name, value] of m) if (value !== '') out.push({ name, value });
  out.sort((a, b) => cmpStr(a.name, b.name));
  return out;
}

/** Plain code-unit string comparison (Go's string ordering for ASCII label names). */
export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A string key that identifies a label set exactly. */
export function labelsKey(labels: Labels): string {
  let s = '';
  for (const l of labels) s += l.name + '\xff' + l.value + '\xfe';
  return s;
}

/** The value of a label, '' when absent (Prometheus treats absent and empty alike). */
export function getLabel(labels: Labels, name: string): string {
  for (const l of labels) if (l.name === name) return l.value;
  return '';
}

/** The label set without the named labels. */
export function dropLabels(labels: Labels, names: ReadonlySet<string> | readonly string[]): Labels {
  const set = names instanceof Set ? names : new Set(names as readonly string[]);
  return labels.filter((l) => !set.has(l.name));
}

/** Only the named labels. */
export function keepLabels(labels: Labels, names: ReadonlySet<string> | readonly string[]): Labels {
  const set = names instanceof Set ? names : new Set(names as readonly string[]);
  return labels.filter((l) => set.has(l.name));
}

/** The label set without the metric name. */
export function dropMetricName(labels: Labels): Labels {
  if (!labels.some((l) => l.name === METRIC_NAME)) return labels;
  return labels.filter((l) => l.name !== METRIC_NAME);
}

/** Sets (or, with an empty value, deletes) one label. */
export function setLabel(labels: Labels, name: string, value: string): Labels {
  const out = labels.filter((l) => l.name !== name);
  if (value !== '') {
    out.push({ name, value });
    out.sort((a, b) => cmpStr(a.name, b.name));
  }
  return out;
}

/** Compares label sets the way Prometheus' labels.Compare does. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as Label;
    const y = b[i] as Label;
    if (x.name !== y.name) return cmpStr(x.name, y.name);
    if (x.value !== y.value) return cmpStr(x.value, y.value);
  }
  return a.length - b.length;
}

/** Prometheus' text form: `name{a="b", c="d"}`. */
export function formatLabels(labels: Labels): string {
  const name = getLabel(labels, METRIC_NAME);
  const rest = labels.filter((l) => l.name !== METRIC_NAME);
  if (name !== '' && rest.length === 0) return name;
  return name + '{' + rest.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ') + '}';
}

/** Whether a string is a valid Prometheus label name. */
export function isValidLabelName(name: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name);
}

/** Whether a string is a valid Prometheus metric name. */
export function isValidMetricName(name: string): boolean {
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name);
}
