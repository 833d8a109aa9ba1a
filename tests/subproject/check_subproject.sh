#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# check_subproject.sh — configures tests/subproject (a parent project that takes the tree
# in with add_subdirectory) and builds its two programs; get_set then runs against the
# Redis URL given. The build goes to BUILD_DIR, beside the main build at the same depth,
# so the compiler cache's relative paths match.
# Usage: check_subproject.sh SOURCE_DIR BUILD_DIR REDIS_URL
set -euo pipefail
SRC=$1 BUILD=$2 URL=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
launcher=$(command -v ccache || true)
cmake -S "$SRC/tests/subproject" -B "$BUILD" -G Ninja -DSWARMKEEPER_DIR="$SRC" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER_LAUNCHER="$launcher" >"$BUILD.configure.log" 2>&1 \
  || fail "configure: $(tail -20 "$BUILD.configure.log")"
cmake --build "$BUILD" --target get_set monitor >"$BUILD.build.log" 2>&1 || fail "build: $(tail -30 "$BUILD.build.log")"
rm -f "$BUILD.configure.log" "$BUILD.build.log"
out=$("$BUILD/get_set" "$URL" 2>&1) || fail "get_set exited $?: $out"
echo "$out"
