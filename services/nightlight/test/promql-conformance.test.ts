// Runs every Prometheus 2.42 PromQL test script (read in place from the shared testdata) and ratchets the
// pass count: the floor is the figure reached so far, so any regression of the engine fails this test.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { formatConformanceTable } from '../src/core/promql/conformance.js';
import { PROMQL_TESTDATA_DIR, runConformance } from '../scripts/promql-conformance.js';

/** Passed evals reached so far (of 566). Raise it when the engine improves; never lower it. */
const FLOOR = 566;

test('PromQL conformance: Prometheus 2.42 test scripts', () => {
  assert.ok(existsSync(PROMQL_TESTDATA_DIR), `test scripts missing: ${PROMQL_TESTDATA_DIR}`);
  const rows = runConformance();
  console.log(formatConformanceTable(rows));
  for (const r of rows)
    for (const f of r.failures) console.log(`  ${r.file}:${f.line} ${f.expr}\n      ${f.message}`);
  const passed = rows.reduce((a, r) => a + r.passed, 0);
  const total = rows.reduce((a, r) => a + r.total, 0);
  assert.equal(total, 566, 'the 2.42 scripts hold 566 evals');
  assert.ok(passed >= FLOOR, `conformance regressed: ${passed} passed, floor is ${FLOOR}`);
});
