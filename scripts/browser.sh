#!/usr/bin/env bash
# Makes sure a headless Chromium exists for the dashboard's browser test (playwright-core drives it; no
# browser download: the browser comes from the OS packages).
#
#   scripts/browser.sh ensure   print the browser's path; install Debian's `chromium` when missing and
#                               this is a Debian/Ubuntu machine where we are root, else explain and exit 1
#
# CHROMIUM_PATH overrides the browser's location.
set -euo pipefail

candidates=("${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser)

find_browser() {
  local path
  for path in "${candidates[@]}"; do
    [[ -n "$path" && -x "$path" ]] && { echo "$path"; return 0; }
  done
  return 1
}

case "${1:-ensure}" in
  ensure)
    if path=$(find_browser); then
      echo "chromium: $path ($("$path" --version 2>/dev/null || echo 'version unknown'))"
      exit 0
    fi
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      echo "chromium not found: installing Debian's chromium package (a few minutes the first time)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends chromium >/dev/null
      path=$(find_browser) || { echo "chromium still missing after apt-get install" >&2; exit 1; }
      echo "chromium: $path ($("$path" --version 2>/dev/null))"
      exit 0
    fi
    echo "No Chromium found. Install your OS package (Debian/Ubuntu: sudo apt-get install chromium)" >&2
    echo "or point CHROMIUM_PATH at a Chromium/Chrome binary, then rerun." >&2
    exit 1
    ;;
  *)
    echo "usage: scripts/browser.sh ensure" >&2
    exit 2
    ;;
esac
