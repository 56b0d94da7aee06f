#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (ctest).
# Real public files are used when QINLING_REAL_DATA points at them (tests skip otherwise).
# Usage: scripts/test.sh [--sanitize | --tsan] [ctest arguments]
#   --sanitize  the whole suite built with ASan+UBSan in its own folder (QINLING_ASAN_BUILD_DIR,
#               default build-asan-clang, or build-asan with GCC); any memory error, leak or undefined
#               behaviour fails the run. QINLING_SANITIZERS (default address,undefined),
#               QINLING_ASAN_EXCLUDE (ctest regex), QINLING_SAN_COMPILER (clang, the default when
#               clang++ is installed, or gcc). The clang build also makes the libFuzzer targets
#               (QINLING_FUZZ), so scripts/fuzz.sh can run in the same folder (QINLING_FUZZ_BUILD_DIR).
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
# -O1 -g1 (line tables, enough for the reports' file:line) instead of RelWithDebInfo's -O2 -g:
# GCC 12 compiled pipeline/run_record.cpp with ASan+UBSan in 35 s of CPU instead of 91 s.
SAN_CONFIG=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
            -DQINLING_BUILD_BENCH=OFF $launcher)
SUPP="$ROOT/tests/sanitizer"
# Every report is also written to REPORTS/<tool>.<pid> (log_path), so a report in a `qinling` run
# that a test expects to fail (exit code != 0 only) still fails this script. Only files with a
# report SUMMARY count (a sanitizer may log a plain warning there).
REPORTS=$(mktemp -d "${TMPDIR:-/tmp}/qinling-sanitizer-reports-XXXXXX")
check_reports() {
  local with_report
  with_report=$(grep -l '^SUMMARY: ' "$REPORTS"/* 2>/dev/null || true)
  if [ -n "$with_report" ]; then
    echo "test: sanitizer reports (kept in $REPORTS):" >&2
    for f in $with_report; do echo "---- $f" >&2; cat "$f" >&2; done
    return 1
  fi
  rm -rf "$REPORTS"
}
rc=0
if [ "$MODE" = asan ]; then
  # clang 14 compiles ASan+UBSan about as fast as GCC 12 compiles ASan alone (GCC's UBSan is what is
  # slow, docs/RELIABILITY.md), and its UBSan reports honour log_path. With clang the same build
  # carries libFuzzer's coverage instrumentation, so the fuzz targets need no second build.
  SAN_CC=${QINLING_SAN_COMPILER:-$(command -v clang++ >/dev/null && echo clang || echo gcc)}
  SAN_COMPILER=()
  BUILD_DIR=${QINLING_ASAN_BUILD_DIR:-$ROOT/build-asan}
  if [ "$SAN_CC" = clang ]; then
    SAN_COMPILER=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DQINLING_FUZZ=ON)
    BUILD_DIR=${QINLING_ASAN_BUILD_DIR:-$ROOT/build-asan-clang}
  fi
  # An existing build folder keeps the compiler and sanitizers it was made with: give other choices
  # (QINLING_SANITIZERS=address, QINLING_SAN_COMPILER=gcc) their own QINLING_ASAN_BUILD_DIR.
  [ -f "$BUILD_DIR/build.ninja" ] ||
    cmake -S "$ROOT" -B "$BUILD_DIR" -DQINLING_SANITIZE="${QINLING_SANITIZERS:-address,undefined}" "${SAN_CONFIG[@]}" \
      "${SAN_COMPILER[@]}"
  cmake --build "$BUILD_DIR" --parallel "$(nproc)"
  # Reports abort the process (non-zero exit), also in the `qinling` runs tests make.
  export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:log_path=$REPORTS/asan"
  export LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0"
  # GCC's separate libubsan ignores log_path next to ASan: a UBSan report exits 1 and goes to stderr
  # (clang's UBSan runs inside the ASan runtime and writes its reports to REPORTS too).
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$SUPP/ubsan.supp:log_path=$REPORTS/ubsan"
  cd "$BUILD_DIR"
  # OpenMPI's leaks come from dlclosed plugins; only full (slow) stacks reach the OpenMPI frames
  # that tests/sanitizer/lsan.supp names, so the MPI tests run apart with the slow unwinder.
  # QINLING_ASAN_EXCLUDE: a ctest regex of tests to leave out (a CI subset).
  # Every test that starts mpirun/srun: the suites of tests/mpi, and tests elsewhere whose name says Mpi
  # (e.g. MetVerifyMasks.UnderMpiRankZeroAloneGivesTheSameBytes).
  MPI_TESTS='Mpi|^Slurm\.'
  EXCLUDE=${QINLING_ASAN_EXCLUDE:+|$QINLING_ASAN_EXCLUDE}
  ctest --output-on-failure --timeout 1800 -j "$(nproc)" -E "$MPI_TESTS$EXCLUDE" "$@" || rc=$?
  ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" \
    ctest --output-on-failure --timeout 1800 -j "$(nproc)" -R "$MPI_TESTS" ${QINLING_ASAN_EXCLUDE:+-E "$QINLING_ASAN_EXCLUDE"} "$@" || rc=$?
  check_reports || rc=1
  exit $rc
fi
BUILD_DIR=${QINLING_TSAN_BUILD_DIR:-$ROOT/build-tsan}
[ -f "$BUILD_DIR/build.ninja" ] || cmake -S "$ROOT" -B "$BUILD_DIR" -DQINLING_SANITIZE=thread "${SAN_CONFIG[@]}"
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target qinling test_raster test_integration
# history_size=7: the longest access history, so the earlier access of a report keeps its stack
# (tsan.supp matches TBB's internal frames on either stack; a lost stack cannot be matched).
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=7:suppressions=$SUPP/tsan.supp:log_path=$REPORTS/tsan"
cd "$BUILD_DIR"
# The engine: every test_raster test (block writer, window plans, tiles and pyramids, the
# sample-scene generator, aerial placement and blending, regridding), and the streamed runner
# through the CLI with 2 threads (NdviCli, the demo and ndwi_gtiff jobs).
ENGINE='^((Detectors/)?Aerial[A-Za-z]*|LineTransformer|Expression|Grid|PlanWindows|SampleSceneFiles|SampleData|Tile[A-Za-z]*|Pmtiles|ColourRamp|TiledWriter|AtomicRasterOutput|NdviCli)\.|^Configs/ConfigJob\.RunsEndToEnd/(demo|ndwi_gtiff)( |$)'
ctest --output-on-failure --timeout 1800 -j "$(nproc)" -R "${QINLING_TSAN_TESTS:-$ENGINE}" "$@" || rc=$?
check_reports || rc=1
exit $rc
