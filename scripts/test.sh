#!/usr/bin/env bash
# Runs the whole test suite (README: `npm test`). Installs what is missing first (scripts/setup.sh).
# Usage: scripts/test.sh [file-or-dir ...]   (default: every *.test.ts in the repo)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${PHOTONCLOUD_SKIP_SETUP:-}" != "1" ]; then bash scripts/setup.sh; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(packages services apps bench)
mapfile -t files < <(find "${targets[@]}" -name node_modules -prune -o -name '*.test.ts' -print | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" "${files[@]}"
