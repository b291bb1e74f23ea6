/** Per-file outcome of running the Prometheus PromQL test scripts. */
export interface ConformanceRow {
  readonly file: string;
  readonly passed: number;
  readonly total: number;
}

/** Formats the per-file conformance table with a total line. */
export function formatConformanceTable(rows: readonly ConformanceRow[]): string {
  const width = Math.max(10, ...rows.map((r) => r.file.length));
  const lines = rows.map(
    (r) => `${r.file.padEnd(width)}  ${String(r.passed).padStart(4)} / ${String(r.total).padStart(4)}`,
  );
  const passed = rows.reduce((a, r) => a + r.passed, 0);
  const total = rows.reduce((a, r) => a + r.total, 0);
  lines.push(`${'TOTAL'.padEnd(width)}  ${String(passed).padStart(4)} / ${String(total).padStart(4)}`);
  return lines.join('\n');
}
