#!/usr/bin/env bash
# Installs the Debian packages the build needs (only the missing ones), then configures and
# builds qinling in Release under build/ (incremental on later runs).
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${QINLING_BUILD_DIR:-$ROOT/build}

PACKAGES=(
  g++ cmake ninja-build pkg-config git
  libgdal-dev gdal-bin python3-gdal python3-numpy libproj-dev proj-bin libgeos-dev
  libopencv-dev libhdf5-dev libtbb-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libmuparser-dev
  libsqlite3-dev sqlite3 zlib1g-dev
  libexiv2-dev
  libdeflate-dev libwebp-dev libcpp-httplib-dev libtiff-dev
  libssl-dev tzdata
  libgtest-dev libgmock-dev libbenchmark-dev curl
  python3-jsonschema
  hdf5-tools cdo  # meteorology: h5dump, scripts/bench-met.sh (CDO remapbil/remapcon)
  python3-scipy python3-h5py
  wrk clang libclang-rt-14-dev
  libopenmpi-dev openmpi-bin slurm-wlm munge
  chromium  # viewer test: headless page load against `qinling serve` (~25 s to install)
  strace  # TilesStorage: the order of flushes and renames of a tiling run
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js/npm (viewer and PMTiles checks): machines may already have a newer Node.js that bundles
# npm (NodeSource); Debian's npm would conflict with it, so install both only when npm is absent.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 2; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all ${#PACKAGES[@]} packages present"
fi

[ "${1:-}" = "--no-build" ] && exit 0
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
echo "setup: built $BUILD_DIR/qinling"
