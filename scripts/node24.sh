#!/usr/bin/env bash
# Node 24 LTS (production's runtime) beside the machine's Node 20, from the npm registry's node-linux-<arch>
# package: it ships the node binary, so nothing is downloaded from anywhere but the registry. Installed once
# into .cache/node24 (git-ignored) and reused while its version matches NODE24_VERSION.
#
#   scripts/node24.sh path          print the Node 24 binary's absolute path (installing it when missing)
#   scripts/node24.sh exec CMD...   run CMD with Node 24 first on PATH (npm, npx and scripts then use it), e.g.
#                                   scripts/node24.sh exec bash scripts/test.sh   (npm run test:node24)
#
# Exits non-zero when Node 24 cannot be installed (no package for this CPU, registry unreachable): whoever
# asked for it fails rather than silently running on another Node.
set -euo pipefail

# The Node 24 release the project tests against; bump deliberately.
NODE24_VERSION=24.21.0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE24_DIR="$ROOT/.cache/node24"

node_arch() {
  case "$(uname -m)" in
    x86_64) echo x64 ;;
    aarch64 | arm64) echo arm64 ;;
    *)
      echo "no Node 24 package for $(uname -m)" >&2
      return 1
      ;;
  esac
}

ensure_node24() {
  local arch binary
  arch="$(node_arch)"
  binary="$NODE24_DIR/node_modules/node-linux-$arch/bin/node"
  mkdir -p "$NODE24_DIR"
  # One installer at a time: tests and scripts may ask concurrently.
  exec 9>"$NODE24_DIR/.lock"
  flock 9
  if [[ ! -x "$binary" || "$("$binary" --version 2>/dev/null)" != "v$NODE24_VERSION" ]]; then
    echo "installing Node $NODE24_VERSION (npm package node-linux-$arch) into $NODE24_DIR" >&2
    npm install --prefix "$NODE24_DIR" --no-save --no-package-lock --no-audit --no-fund \
      "node-linux-$arch@$NODE24_VERSION" </dev/null >&2
  fi
  exec 9>&-
  echo "$binary"
}

case "${1:-}" in
  path)
    ensure_node24
    ;;
  exec)
    shift
    [[ $# -gt 0 ]] || {
      echo "usage: scripts/node24.sh exec CMD [ARGS...]" >&2
      exit 2
    }
    binary="$(ensure_node24)"
    PATH="$(dirname "$binary"):$PATH"
    export PATH
    echo "running on Node $(node --version): $*" >&2
    exec "$@"
    ;;
  *)
    echo "usage: scripts/node24.sh path | exec CMD [ARGS...]" >&2
    exit 2
    ;;
esac
