#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh — the one entry point: installs what is missing, builds, and runs.
#   ./run.sh demo [--url URL]   the main job on an embedded scenario, verified
#   ./run.sh test               the whole test suite (what CI runs)
#   ./run.sh build              just install + build (build/swarmkeeper)
#   ./run.sh bench-resp         the RESP codec benchmark, ours beside hiredis
#   ./run.sh package            the Debian packages in dist/ (swarmkeeper, swarmkeeper-dev)
set -euo pipefail
cd "$(dirname "$0")"
# ccache: the same sources hit the cache from any folder (a clone elsewhere, CI).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

bash scripts/setup.sh

build() {  # build DIR [cmake args...]: configure once, then incremental
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
  fi
  cmake --build "$dir"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  demo)
    build build >/dev/null
    exec build/swarmkeeper demo "$@"
    ;;
  build)
    build build
    ;;
  bench-resp)
    build build
    exec build/bench_resp "$@"
    ;;
  test)
    exec bash scripts/test.sh
    ;;
  package)
    exec bash scripts/package.sh "$@"
    ;;
  *)
    echo "usage: ./run.sh demo [--url URL] | test | build | bench-resp | package" >&2
    exit 64
    ;;
esac
