#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (ctest).
# Real public files are used when QINLING_REAL_DATA points at them (tests skip otherwise).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${QINLING_BUILD_DIR:-$ROOT/build}
"$ROOT/scripts/setup.sh"
if [ -z "${QINLING_REAL_DATA:-}" ] && [ -d "$ROOT/../shared/data" ]; then
  export QINLING_REAL_DATA=$(cd "$ROOT/../shared/data" && pwd)
fi
echo "test: QINLING_REAL_DATA=${QINLING_REAL_DATA:-<unset, real-data tests skip>}"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 900 -j "$(nproc)" "$@"
