// Runs every Prometheus 2.42 PromQL test script against NightLight's engine and prints a per-file table.
//   node --import tsx services/nightlight/scripts/promql-conformance.ts [dir] [--verbose]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatConformanceTable } from '../src/core/promql/conformance.js';
import { runTestScript } from '../src/core/promql/test-script.js';

/** Default location of the Prometheus test scripts (read in place, never copied into the repo). */
export const PROMQL_TESTDATA_DIR = process.env.PROMQL_TESTDATA_DIR ?? '/work/shared/testdata/promql-v2.42';

/** Runs every `*.test` file in dir. */
export function runConformance(dir = PROMQL_TESTDATA_DIR) {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.test'))
    .sort();
  return files.map((file) => ({ file, ...runTestScript(readFileSync(join(dir, file), 'utf8')) }));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const dir = args.find((a) => !a.startsWith('--')) ?? PROMQL_TESTDATA_DIR;
  const rows = runConformance(dir);
  if (verbose) {
    for (const r of rows)
      for (const f of r.failures) console.log(`${r.file}:${f.line}: ${f.expr}\n    ${f.message}`);
  }
  console.log(formatConformanceTable(rows));
}
