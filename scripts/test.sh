#!/usr/bin/env bash
# Runs the test suite (README: `npm test`) with node's test runner. Installs what is missing first
# (scripts/setup.sh) unless PHOTONCLOUD_SKIP_SETUP=1.
#
#   bash scripts/test.sh                          # every *.test.ts under packages services apps bench
#   bash scripts/test.sh packages/store services  # a subset: files or directories
#   TEST_ONLY="packages/store" npm test           # the same through npm
#
# Environment: TEST_CONCURRENCY (test files run at once, default 2 — the machine has 2 cores),
# TEST_TIMEOUT_MS (per-test hang guard, default 10 min), NODE_BIN (node to run, default `node`),
# TEST_SUMMARY_FILE (append "passed failed skipped" there, for .ci/run's total).
#
# Output: node's spec reporter for people; the closing lines are node's TAP summary (`# tests N`,
# `# pass N`, `# fail N`, …) followed by one plain `summary: N passed, N failed` line, for CI.
# The exit code is non-zero when any test failed or was cancelled, or when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${PHOTONCLOUD_SKIP_SETUP:-}" != "1" ]; then bash scripts/setup.sh; fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ] && [ -n "${TEST_ONLY:-}" ]; then read -r -a targets <<<"$TEST_ONLY"; fi
[ ${#targets[@]} -gt 0 ] || targets=(packages services apps bench)
for t in "${targets[@]}"; do
  [ -e "$t" ] || { echo "test.sh: no such file or directory: $t" >&2; exit 2; }
done
mapfile -t files < <(find "${targets[@]}" -name node_modules -prune -o -name '*.test.ts' -print | sort -u)
if [ ${#files[@]} -eq 0 ]; then
  echo "test.sh: no test files found under: ${targets[*]}" >&2
  exit 1
fi

node_bin=${NODE_BIN:-node}
tap_log=$(mktemp "${TMPDIR:-/tmp}/photoncloud-tap.XXXXXX")
trap 'rm -f "$tap_log"' EXIT
set +e
"$node_bin" --import tsx --test \
  --test-concurrency="${TEST_CONCURRENCY:-2}" \
  --test-timeout="${TEST_TIMEOUT_MS:-600000}" \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap_log" \
  "${files[@]}"
rc=$?
set -e

# Top-level TAP summary lines are unindented `# <name> <number>`.
count() { sed -n "s/^# $1 \([0-9][0-9]*\)\$/\1/p" "$tap_log" | tail -1; }
tests=$(count tests) pass=$(count pass) fail=$(count fail) cancelled=$(count cancelled)
skipped=$(count skipped) todo=$(count todo)
echo
grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$tap_log" || true
failed=$((${fail:-0} + ${cancelled:-0}))
echo "summary: ${pass:-0} passed, ${failed} failed, $((${skipped:-0} + ${todo:-0})) skipped"
if [ -n "${TEST_SUMMARY_FILE:-}" ]; then
  echo "${pass:-0} ${failed} $((${skipped:-0} + ${todo:-0}))" >>"$TEST_SUMMARY_FILE"
fi
if [ "$rc" -eq 0 ] && [ "${tests:-0}" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
if [ "$rc" -eq 0 ] && [ "$failed" -gt 0 ]; then rc=1; fi
exit "$rc"
