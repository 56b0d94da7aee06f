#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (ctest).
# Real public files are used when QINLING_REAL_DATA points at them (tests skip otherwise).
# Usage: scripts/test.sh [--sanitize | --tsan] [ctest arguments]
#   --sanitize  the whole suite built with ASan+UBSan in its own folder (QINLING_ASAN_BUILD_DIR,
#               default build-asan); any memory error, leak or undefined behaviour fails the test.
#   --tsan      the raster engine tests (tests/raster and the threaded CLI runs) under
#               ThreadSanitizer (QINLING_TSAN_BUILD_DIR, default build-tsan).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=normal
case "${1:-}" in
  --sanitize) MODE=asan; shift ;;
  --tsan) MODE=tsan; shift ;;
esac
if [ -z "${QINLING_REAL_DATA:-}" ] && [ -d "$ROOT/../shared/data" ]; then
  export QINLING_REAL_DATA=$(cd "$ROOT/../shared/data" && pwd)
fi
echo "test: QINLING_REAL_DATA=${QINLING_REAL_DATA:-<unset, real-data tests skip>}"

if [ "$MODE" = normal ]; then
  BUILD_DIR=${QINLING_BUILD_DIR:-$ROOT/build}
  "$ROOT/scripts/setup.sh"
  cd "$BUILD_DIR"
  exec ctest --output-on-failure --timeout 900 -j "$(nproc)" "$@"
fi

"$ROOT/scripts/setup.sh" --no-build
launcher=$(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache || true)
# Sanitizer reports abort the process (non-zero exit), also in the `qinling` runs tests make.
SUPP="$ROOT/tests/sanitizer"
if [ "$MODE" = asan ]; then
  BUILD_DIR=${QINLING_ASAN_BUILD_DIR:-$ROOT/build-asan}
  [ -f "$BUILD_DIR/build.ninja" ] || cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DQINLING_SANITIZE=address,undefined -DQINLING_BUILD_BENCH=OFF $launcher
  cmake --build "$BUILD_DIR" --parallel "$(nproc)"
  export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1"
  export LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$SUPP/ubsan.supp"
  cd "$BUILD_DIR"
  # OpenMPI's leaks come from dlclosed plugins; only full (slow) stacks reach the OpenMPI frames
  # that tests/sanitizer/lsan.supp names, so the MPI tests run apart with the slow unwinder.
  MPI_TESTS='^(MpiRun|Slurm)\.'
  ctest --output-on-failure --timeout 1800 -j "$(nproc)" -E "$MPI_TESTS" "$@"
  ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" \
    exec ctest --output-on-failure --timeout 1800 -j "$(nproc)" -R "$MPI_TESTS" "$@"
fi
BUILD_DIR=${QINLING_TSAN_BUILD_DIR:-$ROOT/build-tsan}
[ -f "$BUILD_DIR/build.ninja" ] || cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DQINLING_SANITIZE=thread -DQINLING_BUILD_BENCH=OFF $launcher
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target qinling test_raster test_integration
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$SUPP/tsan.supp"
cd "$BUILD_DIR"
# The engine: block writer, window plans, tiles, the sample-scene generator, and the streamed
# runner through the CLI with 2 threads.
ENGINE='^(Expression|Grid|PlanWindows|SampleData|Tile[A-Za-z]*|TiledWriter|AtomicRasterOutput|NdviCli)\.'
exec ctest --output-on-failure --timeout 1800 -j "$(nproc)" -R "${QINLING_TSAN_TESTS:-$ENGINE}" "$@"
