#!/usr/bin/env bash
# Installs what PhotonCloud and its tests need: npm packages, and (as root) Debian packages.
# Idempotent, quiet and quick when everything is present. Works on a fresh Debian 12 with Node 20 + npm.
#
#   bash scripts/setup.sh            # install what is missing
#   SETUP_SKIP_APT=1 bash …          # npm only (e.g. on a machine where apt is not ours to touch)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }

# ---- Node ---------------------------------------------------------------------------------------
# package.json says >= 20.19 (require(esm) and the test runner features the suite uses).
node_version=$(node -p 'process.versions.node' 2>/dev/null || true)
if [ -z "$node_version" ]; then
  say "node is not installed; PhotonCloud needs Node.js >= 20.19"
  exit 1
fi
IFS=. read -r node_major node_minor _ <<<"$node_version"
if [ "$node_major" -lt 20 ] || { [ "$node_major" -eq 20 ] && [ "$node_minor" -lt 19 ]; }; then
  say "Node.js $node_version is too old; PhotonCloud needs >= 20.19"
  exit 1
fi

# ---- npm packages -------------------------------------------------------------------------------
# `npm ci` when node_modules is missing, or when package-lock.json changed since the last install.
# The lock's hash is recorded after a successful install, so a merely touched lock file (git checkout)
# does not cause a reinstall, and a changed one always does.
stamp=node_modules/.photoncloud-lock-sha256
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
npm_needed=0
if [ ! -f node_modules/.package-lock.json ]; then
  npm_needed=1
elif [ "$(cat "$stamp" 2>/dev/null || true)" != "$lock_hash" ] && [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm_needed=1
fi
if [ "$npm_needed" = 1 ]; then
  say "installing npm packages (npm ci)"
  npm_log=$(mktemp "${TMPDIR:-/tmp}/photoncloud-npm.XXXXXX")
  if ! npm ci --no-audit --no-fund --loglevel=error >"$npm_log" 2>&1; then
    # npm ci refuses a lock file that lacks optional platform packages (e.g. msgpackr-extract's
    # darwin/win32 builds) when the registry in use does not serve them. `npm install --no-save`
    # installs the same locked versions, skips what cannot be had, and leaves the lock file alone.
    if grep -q 'EUSAGE' "$npm_log"; then
      say "npm ci refused the lock file; installing the locked versions with npm install --no-save"
      grep -E '^npm error Missing:' "$npm_log" | head -n 5 >&2 || true
      npm install --no-save --no-audit --no-fund --loglevel=error
    else
      cat "$npm_log" >&2
      rm -f "$npm_log"
      say "npm ci failed"
      exit 1
    fi
  fi
  rm -f "$npm_log"
fi
# Best effort: a read-only node_modules (another user's checkout) is not an error.
echo "$lock_hash" 2>/dev/null >"$stamp" || true

# ---- Debian packages ----------------------------------------------------------------------------
# package → a command it provides (checked instead of dpkg so a locally built binary also counts).
declare -A provides=(
  [etcd-server]=etcd
  [etcd-client]=etcdctl
  [qemu-system-x86]=qemu-system-x86_64
  [runc]=runc
  [jq]=jq
  [curl]=curl
  [awscli]=/usr/bin/aws
  [s3cmd]=s3cmd
  [prometheus]=/usr/bin/prometheus
  [qemu-utils]=qemu-img
  [busybox-static]=/bin/busybox
  [linux-image-amd64]='/boot/vmlinuz-*'
  [docker-registry]=docker-registry
  [iproute2]=ip
  [nftables]=nft
  [iptables]=iptables
  [openssl]=openssl
)
# runc lives in /usr/sbin, which is not on a normal user's PATH. An absolute path (a glob allowed, e.g. the
# kernel the VM tests boot) only has to exist.
have() {
  case "$1" in
    /*) compgen -G "$1" >/dev/null ;;
    *) PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1 ;;
  esac
}
missing=()
for pkg in etcd-server etcd-client qemu-system-x86 qemu-utils runc jq curl awscli s3cmd prometheus \
  busybox-static linux-image-amd64 docker-registry iproute2 nftables iptables openssl; do
  have "${provides[$pkg]}" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ] && [ "${SETUP_SKIP_APT:-}" != 1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_log=$(mktemp "${TMPDIR:-/tmp}/photoncloud-apt.XXXXXX")
    # apt's chatter goes to a log that is shown only when something fails.
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
      tail -n 40 "$apt_log" >&2
      rm -f "$apt_log"
      say "apt-get failed installing: ${missing[*]}"
      exit 1
    fi
    rm -f "$apt_log"
    for pkg in "${missing[@]}"; do
      have "${provides[$pkg]}" || { say "$pkg installed but ${provides[$pkg]} is not on PATH"; exit 1; }
    done
  else
    say "missing Debian packages: ${missing[*]}"
    say "install them as root:  apt-get install --no-install-recommends ${missing[*]}"
  fi
fi
