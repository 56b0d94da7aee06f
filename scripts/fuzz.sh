#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan+UBSan) and runs each for a short
# time over a copy of its corpus (tests/fuzz/corpus/<target>), so runs never grow the committed
# corpus. A crash leaves its input in the work folder and fails the script.
# Usage: scripts/fuzz.sh [--seconds N] [--merge] [TARGET...]
#   --seconds N   time per target (default 60; QINLING_FUZZ_SECONDS)
#   --merge       add the new interesting inputs to tests/fuzz/corpus (minimised with -merge=1)
#   TARGET        job_plan rules stations cron tile_router (default: all)
# Build folder: QINLING_FUZZ_BUILD_DIR (default build-fuzz beside the sources); the clang folder of
# `scripts/test.sh --sanitize` (build-asan-clang, configured with QINLING_FUZZ) works too, which is
# how CI fuzzes job_plan and stations without building the whole pipeline twice.
# QINLING_FUZZ_SEED=N fixes libFuzzer's seed, so a CI run explores the same inputs every time (a
# gate must not fail at random); leave it unset for exploratory runs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${QINLING_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
SECONDS_EACH=${QINLING_FUZZ_SECONDS:-60}
MERGE=0
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --merge) MERGE=1; shift ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(job_plan rules stations cron tile_router)
command -v clang++ >/dev/null || { echo "fuzz: clang++ is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DQINLING_FUZZ=ON -DQINLING_SANITIZE=address,undefined -DQINLING_BUILD_TESTS=OFF -DQINLING_BUILD_BENCH=OFF \
    $(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
grep -q '^QINLING_FUZZ:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" ||
  { echo "fuzz: $BUILD_DIR was not configured with -DQINLING_FUZZ=ON (clang): use another QINLING_FUZZ_BUILD_DIR" >&2; exit 2; }
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target "${TARGETS[@]/#/fuzz_}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/qinling-fuzz-run-XXXXXX")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${TARGETS[@]}"; do
  mkdir -p "$WORK/$t/corpus" "$WORK/$t/artifacts"
  cp "$ROOT/tests/fuzz/corpus/$t/"* "$WORK/$t/corpus/"
  start=$(date +%s)
  if "$BUILD_DIR/fuzz/fuzz_$t" ${QINLING_FUZZ_SEED:+-seed=$QINLING_FUZZ_SEED} -max_total_time="$SECONDS_EACH" -max_len=8192 -timeout=20 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$WORK/$t/artifacts/" "$WORK/$t/corpus" > "$WORK/$t/log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$WORK/$t/log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $t ok ($runs inputs in $(( $(date +%s) - start )) s)"
  else
    echo "fuzz: $t FAILED — input in $WORK/$t/artifacts/, log $WORK/$t/log:" >&2
    grep -m 5 -E 'ERROR|SUMMARY|runtime error|terminate' "$WORK/$t/log" >&2 || tail -20 "$WORK/$t/log" >&2
    failed+=("$t")
  fi
  if [ "$MERGE" = 1 ]; then
    "$BUILD_DIR/fuzz/fuzz_$t" -merge=1 "$ROOT/tests/fuzz/corpus/$t" "$WORK/$t/corpus" > /dev/null 2>&1 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]} (reproduce: $BUILD_DIR/fuzz/fuzz_TARGET FILE)" >&2
  exit 1
fi
rm -rf "$WORK"
