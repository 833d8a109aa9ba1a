#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tidy.sh — clang-tidy with the checks of .clang-tidy on every translation unit of the
# project that a build folder compiles (src/, tests/, examples/, bench/), after that
# build has run: scripts/tidy.sh build
#
# A unit takes ~10 s of CPU (Asio and Beast headers), so a clean result is remembered,
# under ${SWARMKEEPER_TIDY_CACHE:-~/.cache/swarmkeeper/tidy}, by the SHA-256 of the unit's
# path and bytes, the bytes of every project header it includes (ninja's dependency
# log), .clang-tidy and clang-tidy's version: only units whose text changed are checked
# again. A unit with a finding is never remembered. Exits 1 with the findings.
set -euo pipefail
build=${1:?usage: scripts/tidy.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
cache=${SWARMKEEPER_TIDY_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/swarmkeeper/tidy}
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
salt=$( (clang-tidy --version; cat "$root/.clang-tidy") | sha256sum | cut -c1-64)

# Each object's project files (its source first), from ninja's dependency log.
ninja -C "$build" -t deps | awk -v root="$root" -v build="$build" '
  function norm(p,   n, i, k, parts, out) {  # an absolute path without "." and ".."
    n = split(p, parts, "/"); k = 0
    for (i = 1; i <= n; i++) {
      if (parts[i] == "" || parts[i] == ".") continue
      if (parts[i] == "..") { if (k > 0) k--; continue }
      out[++k] = parts[i]
    }
    p = ""; for (i = 1; i <= k; i++) p = p "/" out[i]
    return p
  }
  /^[^ ].*: #deps/ { obj = $1; sub(/:$/, "", obj); first = 1; next }
  /^    / {
    f = $1
    if (f !~ /^\//) f = build "/" f
    f = norm(f)
    project = index(f, root "/") == 1 && index(f, build "/") != 1
    rel = substr(f, length(root) + 2)
    if (first) {  # the unit itself: one of ours, or skip the object
      first = 0
      if (!project || rel !~ /^(src|tests|examples|bench)\/.*\.cpp$/) obj = ""
    }
    if (obj != "" && project) print obj "\t" rel
  }' | sort -u > "$work/deps"

# A key per unit; the units without a remembered clean result.
cut -f1 "$work/deps" | sort -u | while read -r obj; do
  files=$(awk -F'\t' -v o="$obj" '$1 == o { print $2 }' "$work/deps" | sort)
  src=$(awk -F'\t' -v o="$obj" '$1 == o && $2 ~ /\.cpp$/ { print $2; exit }' "$work/deps")
  key=$( (echo "$salt"; for f in $files; do echo "$f"; cat "$root/$f"; done) | sha256sum | cut -c1-64)
  [ -e "$cache/$key" ] || printf '%s %s\n' "$key" "$src"
done | sort -u -k2,2 > "$work/todo"

total=$(cut -f1 "$work/deps" | sort -u | wc -l)
echo "tidy: $(wc -l < "$work/todo") of $total units to check (the rest unchanged since a clean check)"
[ -s "$work/todo" ] || exit 0
export root build cache work
xargs -P "$(nproc)" -L1 bash -c '
  if (cd "$root" && clang-tidy -p "$build" --quiet --extra-arg=-w "$1") > "$work/$0.log" 2>&1 &&
     ! grep -q "warning:\|error:" "$work/$0.log"; then
    touch "$cache/$0"
  else
    cat "$work/$0.log"; exit 1
  fi' < "$work/todo" || { echo "tidy: the findings above break .clang-tidy checks; fix them (or, with a reason, NOLINT one)" >&2; exit 1; }
echo "tidy: clean"
