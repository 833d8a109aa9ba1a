#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# check_package.sh — builds the Debian packages (scripts/package.sh) and checks them:
# control fields and dependencies, contents, the conffile, the maintainer scripts, the
# systemd units (systemd-analyze verify, warnings included), and the binary run from the
# extracted tree. Usage: check_package.sh SOURCE_DIR BUILD_DIR VERSION
set -euo pipefail
SRC=$1 BUILD=$2 VERSION=$3
ARCH=$(dpkg --print-architecture)
TMP=$(mktemp -d)
trap 'rm -rf --one-file-system "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$SRC/scripts/package.sh" --out "$TMP/dist" --build-dir "$BUILD" >/dev/null
DEB="$TMP/dist/swarmkeeper_${VERSION}_${ARCH}.deb" DEV="$TMP/dist/swarmkeeper-dev_${VERSION}_${ARCH}.deb"
[ -f "$DEB" ] && [ -f "$DEV" ] || fail "no packages: $(ls "$TMP/dist")"

# lintian: clean, every remaining tag explained in packaging/deb/lintian-overrides.
lintian_rc=0
lintian_out=$(lintian --fail-on warning,error "$DEB" "$DEV" 2>&1) || lintian_rc=$?
lintian_out=$(printf '%s\n' "$lintian_out" | grep -v 'running with root privileges' || true)
[ "$lintian_rc" -eq 0 ] && [ -z "$lintian_out" ] || fail "lintian (exit $lintian_rc): $lintian_out"

# Control fields.
[ "$(dpkg-deb -f "$DEB" Package)" = swarmkeeper ] || fail "Package"
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ] || fail "Version is not the project's $VERSION"
# Each command's output is captured before grep reads it: under pipefail, `cmd | grep -q`
# fails when grep exits at its first match and the writer dies of SIGPIPE.
depends=$(dpkg-deb -f "$DEB" Depends)
grep -q 'libc6' <<<"$depends" || fail "Depends lacks the shared libraries: $depends"
grep -q 'adduser' <<<"$depends" || fail "Depends lacks adduser (postinst uses it)"

# Contents.
dpkg-deb -x "$DEB" "$TMP/root"
dpkg-deb -e "$DEB" "$TMP/control"
for f in usr/bin/swarmkeeper lib/systemd/system/swarmkeeper-cleanup.service lib/systemd/system/swarmkeeper-cleanup.timer \
         lib/systemd/system/swarmkeeper-serve.service etc/swarmkeeper/swarmkeeper.env usr/share/swarmkeeper/alert-rules.json \
         usr/share/swarmkeeper/prometheus-alerts.yml usr/share/swarmkeeper/web-config.yml usr/share/doc/swarmkeeper/copyright; do
  [ -e "$TMP/root/$f" ] || fail "missing /$f"
done
[ "$(cat "$TMP/control/conffiles")" = /etc/swarmkeeper/swarmkeeper.env ] || fail "conffiles"
[ "$(stat -c %a "$TMP/root/etc/swarmkeeper/swarmkeeper.env")" = 640 ] || fail "the config file is readable by all"
grep -q '^REDIS_URL=' "$TMP/root/etc/swarmkeeper/swarmkeeper.env" || fail "no REDIS_URL in the config file"

# Maintainer scripts: valid sh; the system user has no shell and no home.
for s in postinst prerm postrm; do sh -n "$TMP/control/$s" || fail "$s is not valid sh"; done
grep -q -- '--system' "$TMP/control/postinst" && grep -q 'nologin' "$TMP/control/postinst" || fail "postinst user"

# Units: every one runs as the swarmkeeper user, hardened; systemd-analyze verify finds
# nothing (ExecStart pointed at the extracted binary, since none is installed here).
mkdir "$TMP/units"
for u in "$TMP"/root/lib/systemd/system/*; do
  grep -q '^User=swarmkeeper' "$u" || [[ "$u" == *.timer ]] || fail "$(basename "$u") does not run as swarmkeeper"
  grep -q '^NoNewPrivileges=yes' "$u" || [[ "$u" == *.timer ]] || fail "$(basename "$u") lacks NoNewPrivileges"
  grep -q '^ProtectSystem=strict' "$u" || [[ "$u" == *.timer ]] || fail "$(basename "$u") lacks ProtectSystem=strict"
  sed "s|/usr/bin/swarmkeeper|$TMP/root/usr/bin/swarmkeeper|" "$u" >"$TMP/units/$(basename "$u")"
done
if ! out=$(cd "$TMP/units" && systemd-analyze verify --man=no ./*.service ./*.timer 2>&1) || [ -n "$out" ]; then
  fail "systemd-analyze verify: $out"
fi

# The binary from the extracted tree.
version_out=$("$TMP/root/usr/bin/swarmkeeper" --version) || fail "--version exited $?"
grep -q "^swarmkeeper $VERSION " <<<"$version_out" || fail "--version: $version_out"
help_out=$("$TMP/root/usr/bin/swarmkeeper" cleanup --help) || fail "cleanup --help exited $?"
grep -q 'SWARMKEEPER_THRESHOLD' <<<"$help_out" || fail "cleanup --help does not name SWARMKEEPER_THRESHOLD"

# The manual page: rendered without a warning, the version filled in, and a section for
# every command `swarmkeeper --help` lists.
MAN="$TMP/root/usr/share/man/man1/swarmkeeper.1.gz"
[ -f "$MAN" ] || fail "no manual page"
man_warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$MAN" 2>&1 >/dev/null) || fail "man: $man_warnings"
[ -z "$man_warnings" ] || fail "the manual page renders with warnings: $man_warnings"
man_src=$(zcat "$MAN")
grep -q "swarmkeeper $VERSION" <<<"$man_src" || fail "the manual page does not carry version $VERSION"
top_help=$("$TMP/root/usr/bin/swarmkeeper" --help) || fail "--help exited $?"
commands=$(sed -n '/^Subcommands:/,$s/^  \([a-z]*\) .*/\1/p' <<<"$top_help")
[ -n "$commands" ] || fail "no commands in --help: $top_help"
for c in $commands; do
  grep -qx ".B $c" <<<"$man_src" || fail "the manual page has no section for '$c'"
done

# The -dev package: headers, libraries, the CMake package and pkg-config; no test helper.
dpkg-deb -x "$DEV" "$TMP/dev"
[ -f "$TMP/dev/usr/include/swarmkeeper/client/client.hpp" ] || fail "dev: headers"
[ ! -e "$TMP/dev/usr/include/swarmkeeper/redis_process.hpp" ] || fail "dev: the test helper's header is shipped"
ls "$TMP"/dev/usr/lib/*/cmake/swarmkeeper/swarmkeeperConfig.cmake >/dev/null 2>&1 || fail "dev: CMake package"
ls "$TMP"/dev/usr/lib/*/pkgconfig/swarmkeeper.pc >/dev/null 2>&1 || fail "dev: pkg-config file"
ls "$TMP"/dev/usr/lib/*/libswarmkeeper_client.a >/dev/null 2>&1 || fail "dev: libraries"
inc=$(PKG_CONFIG_PATH=$(echo "$TMP"/dev/usr/lib/*/pkgconfig) pkg-config --variable=includedir swarmkeeper)
[ -f "$inc/swarmkeeper/client/client.hpp" ] || fail "dev: swarmkeeper.pc does not find the headers ($inc)"
echo "packages: $(stat -c %s "$DEB") B and $(stat -c %s "$DEV") B; contents, scripts, units and binary checked"
