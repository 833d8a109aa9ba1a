#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs everything swarmkeeper needs to build, test and run on Debian bookworm
# (the apt packages below, then the web packages of web/package.json with npm).
# Idempotent: installs only what is missing, so it costs ~0.1 s once done.
# Used by scripts/demo.sh and scripts/test.sh; safe to run by hand (needs root or sudo).
set -euo pipefail

# One package per line; the build, the tests and the tools the tests drive.
PACKAGES=(
  g++ cmake ninja-build ccache pkg-config make git ca-certificates dpkg-dev systemd lintian
  libboost1.81-dev libboost-url1.81-dev libssl-dev openssl
  libsimdjson-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libzstd-dev libabsl-dev libxxhash-dev libhiredis-dev libyaml-cpp-dev libcrypt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format clang-tidy
  redis-server redis-tools procps
  chromium prometheus prometheus-alertmanager
)
# Node and npm: Debian's, unless the machine already has them (a NodeSource Node ships
# its own npm, which Debian's npm package conflicts with).
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != 'install ok installed' ]; then
    missing+=("$p")
  fi
done
install_web() {  # the dashboard's chart library and the browser test's driver (web/package.json)
  if [ ! -f web/node_modules/uplot/dist/uPlot.iife.min.js ] || [ ! -d web/node_modules/playwright-core ]; then
    echo "setup: installing the web packages (npm, web/package.json)" >&2
    (cd web && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}
cd "$(dirname "$0")/.."
if [ ${#missing[@]} -eq 0 ]; then
  install_web
  exit 0
fi

echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian starts the packaged redis-server, prometheus and alertmanager as services where it can; the
# tests never use them (they start private servers, and only run promtool). Stopped only
# when this very run installed them: a service the machine already had is left alone.
just_installed() { [[ " ${missing[*]} " == *" $1 "* ]]; }
for service in redis-server prometheus prometheus-alertmanager; do
  if just_installed "$service" && command -v systemctl >/dev/null && systemctl is-active --quiet "$service" 2>/dev/null; then
    $SUDO systemctl stop "$service" || true
    $SUDO systemctl disable "$service" >/dev/null 2>&1 || true
  fi
done
install_web
