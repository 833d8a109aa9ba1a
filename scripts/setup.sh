#!/usr/bin/env bash
# Installs everything swarmkeeper needs to build, test and run on Debian bookworm.
# Idempotent: installs only what is missing, so it costs ~0.1 s once done.
# Used by scripts/demo.sh and scripts/test.sh; safe to run by hand (needs root or sudo).
set -euo pipefail

# One package per line; the build, the tests and the tools the tests drive.
PACKAGES=(
  g++ cmake ninja-build ccache pkg-config make git ca-certificates
  libboost1.81-dev libboost-url1.81-dev libssl-dev openssl
  libsimdjson-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libzstd-dev libabsl-dev libxxhash-dev libhiredis-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  redis-server redis-tools procps
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian starts the packaged redis-server as a service where it can; our tests never use it.
if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
  $SUDO systemctl stop redis-server || true
  $SUDO systemctl disable redis-server >/dev/null 2>&1 || true
fi
