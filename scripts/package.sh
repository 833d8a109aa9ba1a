#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# package.sh — the Debian packages (./run.sh package):
#   dist/swarmkeeper_<version>_<arch>.deb      the binary, systemd units for the cleanup
#                                              (service + timer) and serve, the config file
#                                              /etc/swarmkeeper/swarmkeeper.env (a conffile),
#                                              the alert rules, a swarmkeeper system user
#   dist/swarmkeeper-dev_<version>_<arch>.deb  headers, static libraries, the CMake package
#                                              and swarmkeeper.pc
# Usage: scripts/package.sh [--out DIR] [--build-dir DIR]   (defaults: dist, build-package)
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."
OUT=dist
BUILD=build-package
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    *) echo "usage: scripts/package.sh [--out DIR] [--build-dir DIR]" >&2; exit 64 ;;
  esac
done
VERSION=$(sed -n 's/^project(swarmkeeper VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
ARCH=$(dpkg --print-architecture)
[ -n "$VERSION" ] || { echo "package: no version in CMakeLists.txt" >&2; exit 1; }

# The same compiler flags as ./run.sh build (so the compiler cache is shared), installed to
# /usr (configured every time: a build dir made for another prefix is set right).
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_INSTALL_PREFIX=/usr -DSWARMKEEPER_TESTS=OFF -DSWARMKEEPER_BENCH=OFF \
  -DSWARMKEEPER_INSTALL=ON >"$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log" >&2; exit 1; }
cmake --build "$BUILD" >"$BUILD.build.log" 2>&1 || { tail -50 "$BUILD.build.log" >&2; exit 1; }

STAGE=$(mktemp -d)
trap 'rm -rf --one-file-system "$STAGE"' EXIT
DESTDIR="$STAGE/all" cmake --install "$BUILD" >/dev/null
R="$STAGE/swarmkeeper" D="$STAGE/swarmkeeper-dev"
mkdir -p "$R/DEBIAN" "$R/usr/bin" "$R/lib/systemd/system" "$R/etc/swarmkeeper" "$R/usr/share/swarmkeeper" \
  "$R/usr/share/doc/swarmkeeper" "$D/DEBIAN" "$D/usr/share/doc/swarmkeeper-dev"

# --- swarmkeeper: the binary, units, config, rules, docs
install -m 0755 "$STAGE/all/usr/bin/swarmkeeper" "$R/usr/bin/swarmkeeper"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$R/usr/bin/swarmkeeper"
install -m 0644 packaging/deb/swarmkeeper-cleanup.service packaging/deb/swarmkeeper-cleanup.timer \
  packaging/deb/swarmkeeper-serve.service "$R/lib/systemd/system/"
install -m 0640 packaging/deb/swarmkeeper.env "$R/etc/swarmkeeper/swarmkeeper.env"
install -m 0644 deploy/alert-rules.json deploy/prometheus-alerts.yml deploy/redis-acl.conf deploy/grafana-dashboard.json deploy/web-config.yml \
  "$R/usr/share/swarmkeeper/"
install -d "$R/usr/share/man/man1"
gzip -9n <"$STAGE/all/usr/share/man/man1/swarmkeeper.1" >"$R/usr/share/man/man1/swarmkeeper.1.gz"
install -m 0644 README.md "$R/usr/share/doc/swarmkeeper/README.md"
install -d "$R/usr/share/doc/swarmkeeper/docs"
install -m 0644 docs/*.md "$R/usr/share/doc/swarmkeeper/docs/"
copyright() {
  cat <<EOT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: swarmkeeper

Files: *
Copyright: 2026 the swarmkeeper authors
License: Apache-2.0
 On Debian systems, the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
EOT
}
changelog() {
  printf 'swarmkeeper (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- swarmkeeper maintainers <maintainers@swarmkeeper.org>  %s\n' \
    "$VERSION" "$VERSION" "$(date -R -u -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
}
copyright >"$R/usr/share/doc/swarmkeeper/copyright"
changelog | gzip -9n >"$R/usr/share/doc/swarmkeeper/changelog.gz"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$R/DEBIAN/"
install -D -m 0644 packaging/deb/lintian-overrides "$R/usr/share/lintian/overrides/swarmkeeper"
echo /etc/swarmkeeper/swarmkeeper.env >"$R/DEBIAN/conffiles"

# Shared-library dependencies of the binary, as dpkg-shlibdeps finds them.
mkdir -p "$STAGE/src/debian"
printf 'Source: swarmkeeper\n\nPackage: swarmkeeper\nArchitecture: any\n' >"$STAGE/src/debian/control"
SHLIBS=$(cd "$STAGE/src" && dpkg-shlibdeps -O "$R/usr/bin/swarmkeeper" 2>"$STAGE/shlibdeps.log" | sed -n 's/^shlibs:Depends=//p') ||
  { cat "$STAGE/shlibdeps.log" >&2; exit 1; }
[ -n "$SHLIBS" ] || { echo "package: dpkg-shlibdeps found no dependencies" >&2; cat "$STAGE/shlibdeps.log" >&2; exit 1; }
cat >"$R/DEBIAN/control" <<EOT
Package: swarmkeeper
Version: $VERSION
Architecture: $ARCH
Maintainer: swarmkeeper maintainers <maintainers@swarmkeeper.org>
Installed-Size: $(du -sk --exclude=DEBIAN "$R" | cut -f1)
Depends: ${SHLIBS}, adduser
Recommends: redis-tools
Suggests: prometheus-node-exporter
Section: admin
Priority: optional
Homepage: https://github.com/swarmkeeper/swarmkeeper
Description: keeps a Redis-backed agent swarm healthy
 Deletes every key of dead coordinators (stale or expired heartbeats) without
 blocking Redis or touching a living one, on one server or a Redis Cluster;
 serves a live dashboard, alerts and Prometheus metrics over Redis and the
 swarm. Ships systemd units for the cleanup (a 5-minute timer) and the
 dashboard.
EOT

# --- swarmkeeper-dev: headers, static libraries, CMake package, pkg-config
cp -a "$STAGE/all/usr/include" "$D/usr/"
cp -a "$STAGE/all/usr/lib" "$D/usr/"
find "$D/usr/lib" -name '*.a' -exec strip --strip-debug {} +
copyright >"$D/usr/share/doc/swarmkeeper-dev/copyright"
changelog | gzip -9n >"$D/usr/share/doc/swarmkeeper-dev/changelog.gz"
cat >"$D/DEBIAN/control" <<EOT
Package: swarmkeeper-dev
Version: $VERSION
Architecture: $ARCH
Maintainer: swarmkeeper maintainers <maintainers@swarmkeeper.org>
Installed-Size: $(du -sk --exclude=DEBIAN "$D" | cut -f1)
Depends: libboost1.81-dev, libboost-url1.81-dev, libssl-dev, libzstd-dev, libsimdjson-dev, nlohmann-json3-dev, libabsl-dev, libfmt-dev, libyaml-cpp-dev, libcrypt-dev, pkg-config
Section: libdevel
Priority: optional
Homepage: https://github.com/swarmkeeper/swarmkeeper
Description: swarmkeeper's C++ libraries: Redis client, two-tier cache, cleanup, monitor
 The pooled, multiplexed, auto-pipelined Redis client (one server or a Redis
 Cluster), the two-tier cache with server-assisted invalidation, the cleanup and
 the embeddable monitor, as static libraries with headers, a CMake package
 (find_package(swarmkeeper): swarmkeeper::client, ::cache, ::coord, ::monitor)
 and a pkg-config file.
EOT

for P in "$R" "$D"; do
  (cd "$P" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 -r md5sum >DEBIAN/md5sums)
  find "$P" -type d -exec chmod 0755 {} +
done
chmod 0750 "$R/etc/swarmkeeper"
mkdir -p "$OUT"
dpkg-deb --root-owner-group -Zxz --build "$R" "$OUT/swarmkeeper_${VERSION}_${ARCH}.deb" >/dev/null
dpkg-deb --root-owner-group -Zxz --build "$D" "$OUT/swarmkeeper-dev_${VERSION}_${ARCH}.deb" >/dev/null
ls -l "$OUT"/swarmkeeper*_"${VERSION}"_"${ARCH}".deb
