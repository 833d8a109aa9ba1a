#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test.sh — the whole test suite, as CI runs it (via ./run.sh test):
#   0. every C++ file as .clang-format says (clang-format --dry-run --Werror; ~2 s), and
#      the files whose fields say which mutex guards them (sched/annotated_mutex.hpp)
#      through Clang's thread-safety analysis (~30 s);
#   1. the release build, clang-tidy on every unit it compiles (.clang-tidy's checks;
#      scripts/tidy.sh remembers clean units, so only changed ones cost ~10 s of CPU each),
#      and its unit and integration tests (real redis-servers);
#   2. the RESP parser fuzzed with libFuzzer (clang) for FUZZ_SECONDS (default 60), and
#      the value codec for a third of that;
#   3. the unit and integration tests again under AddressSanitizer + UBSan;
#   4. the concurrency building blocks' tests (scheduler, queue, collector) under
#      ThreadSanitizer.
# Stops at the first failing stage. Each stage ends with CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache: the same sources hit the cache from any folder (a clone elsewhere, CI).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
JOBS=$(nproc)

configure_and_build() {  # dir, cmake args...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
  fi
  cmake --build "$dir"
}

echo "== 0/4 format: every .cpp and .hpp as .clang-format says"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  sources() { git ls-files -z '*.cpp' '*.hpp'; }
else  # (an unpacked source tarball)
  sources() { find src include tests examples fuzz bench -name '*.[ch]pp' -print0 2>/dev/null; }
fi
sources | xargs -0 clang-format --dry-run --Werror || {
  echo "format: the files above differ from .clang-format's style; clang-format -i them and commit the result" >&2
  exit 1
}

echo "== 0/4 thread safety: what each annotated mutex guards is only touched with it held"
annotated() { grep -lE '"(sched/annotated_mutex|monitor/monitor_impl)\.hpp"' src/*/*.cpp; }
annotated | xargs -P "$JOBS" -I{} clang++ -fsyntax-only -std=c++20 -Iinclude -Isrc -DBOOST_ASIO_SEPARATE_COMPILATION \
  -DBOOST_ASIO_NO_DEPRECATED -Wno-everything -Wthread-safety -Werror=thread-safety {} || {
  echo "thread safety: the fields named above are touched without their mutex (SK_GUARDED_BY); take it, or" \
    "mark the function SK_REQUIRES(mu)" >&2
  exit 1
}

echo "== 1/4 release build: clang-tidy, unit + integration tests"
configure_and_build build
scripts/tidy.sh build
ctest --test-dir build --output-on-failure -j "$JOBS" --timeout 600

echo "== 2/4 fuzz: RESP parser, ${FUZZ_SECONDS} s; value codec, a third of that"
configure_and_build build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DSWARMKEEPER_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake -S . -B build-fuzz -DFUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null
ctest --test-dir build-fuzz --output-on-failure --timeout $((FUZZ_SECONDS + 120))

echo "== 3/4 sanitizers (ASan + UBSan): unit + integration tests"
configure_and_build build-asan -DSWARMKEEPER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$JOBS" --timeout 600

echo "== 4/4 ThreadSanitizer: scheduler, event queue, metrics collector"
configure_and_build build-tsan -DSWARMKEEPER_TSAN_BLOCKS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
ctest --test-dir build-tsan --output-on-failure -j "$JOBS" --timeout 300
