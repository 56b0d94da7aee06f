#!/usr/bin/env bash
# Benchmarks against GDAL's own tools, measured in the same session, alternating runs.
#   scripts/bench.sh ndvi [--size N] [--runs R]     (default N=8000, R=3)
# Generates the sample scene once per size (DEFLATE and uncompressed copies) under bench-data/,
# then runs, alternating, with `sync` before each run:
#   ours_deflate   our NDVI job, GTiff DEFLATE out (same creation options as the tools)
#   gdal_calc      gdal_calc.py doing the same NDVI with the same creation options
#   floor          gdal_translate -b 4 -ot Float32, same options, all threads: decode+encode only
#   ours_cog       our default COG output (ZSTD level 1, floating-point predictor, overviews)
#   floor_cog      gdal_translate -of COG with the same COG options as ours_cog
#   ours_raw / gdal_calc_raw   uncompressed in and out
# and prints medians, peak RSS and the ratios the README quotes. Not part of CI.
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
# Benchmarks must time real work: no job store, so an unchanged rerun is never skipped.
export QINLING_STORE=none
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${1:-ndvi}; shift || true
SIZE=8000; RUNS=3
bench_args bench "$@"
if [ "$BENCH" != ndvi ]; then
  # Other benchmarks live in scripts/bench-NAME.sh and take the same options.
  [ -x "$ROOT/scripts/bench-$BENCH.sh" ] && exec "$ROOT/scripts/bench-$BENCH.sh" --size "$SIZE" --runs "$RUNS"
  echo "bench: unknown benchmark '$BENCH' (available: ndvi $(cd "$ROOT/scripts" && ls bench-*.sh 2>/dev/null | sed 's/bench-//; s/\.sh//' | tr '\n' ' '))" >&2
  exit 2
fi

"$ROOT/scripts/setup.sh" >/dev/null
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
Q="${QINLING_BUILD_DIR:-$ROOT/build}/qinling"
D="$ROOT/bench-data/n$SIZE"
mkdir -p "$D/out"
if [ ! -f "$D/deflate/truth.json" ]; then
  echo "bench: generating the ${SIZE}x${SIZE} scene (DEFLATE)…"
  "$Q" sample-data "$D/deflate" --size "$SIZE" --quiet
fi
if [ ! -f "$D/raw/truth.json" ]; then
  echo "bench: generating the ${SIZE}x${SIZE} scene (uncompressed)…"
  "$Q" sample-data "$D/raw" --size "$SIZE" --compress NONE --quiet
fi

CO="-co TILED=YES -co BLOCKXSIZE=512 -co BLOCKYSIZE=512 -co BIGTIFF=IF_SAFER -co COMPRESS=DEFLATE"
CO_RAW="-co TILED=YES -co BLOCKXSIZE=512 -co BLOCKYSIZE=512 -co BIGTIFF=IF_SAFER -co COMPRESS=NONE"
COG_CO="-co COMPRESS=ZSTD -co LEVEL=1 -co PREDICTOR=YES -co BLOCKSIZE=512 -co BIGTIFF=IF_SAFER -co OVERVIEW_RESAMPLING=AVERAGE -co NUM_THREADS=ALL_CPUS"
job() {  # job NAME SCENE FORMAT OPTIONS_YAML
  cat > "$D/$1.yaml" <<YAML
job: bench-$1
inputs:
  scene: {path: $2, bands: {red: 4, nir: 5}}
steps:
  - {id: ndvi, kind: index.ndvi, input: scene}
outputs:
  - {from: ndvi, path: $1.tif, format: $3, options: $4}
YAML
}
job ours_deflate "$D/deflate/scene_2024-07.tif" gtiff "{TILED: YES, BLOCKXSIZE: 512, BLOCKYSIZE: 512, COMPRESS: DEFLATE, PREDICTOR: 1}"
job ours_cog "$D/deflate/scene_2024-07.tif" cog "{}"
job ours_raw "$D/raw/scene_2024-07.tif" gtiff "{TILED: YES, BLOCKXSIZE: 512, BLOCKYSIZE: 512, COMPRESS: NONE}"

CALC="--type=Float32 --calc='(A.astype(numpy.float32)-B)/(A.astype(numpy.float32)+B)'"
declare -A CMD
CMD[ours_deflate]="$Q run $D/ours_deflate.yaml --out $D/out --quiet"
CMD[gdal_calc]="gdal_calc.py --quiet --overwrite -A $D/deflate/scene_2024-07.tif --A_band=5 -B $D/deflate/scene_2024-07.tif --B_band=4 $CALC --outfile=$D/out/calc.tif ${CO//-co /--co }"
CMD[floor]="gdal_translate -q --config GDAL_NUM_THREADS ALL_CPUS -b 4 -ot Float32 $CO -co NUM_THREADS=ALL_CPUS $D/deflate/scene_2024-07.tif $D/out/floor.tif"
CMD[ours_cog]="$Q run $D/ours_cog.yaml --out $D/out --quiet"
CMD[floor_cog]="gdal_translate -q --config GDAL_NUM_THREADS ALL_CPUS -b 4 -ot Float32 -of COG $COG_CO $D/deflate/scene_2024-07.tif $D/out/floor_cog.tif"
CMD[ours_raw]="$Q run $D/ours_raw.yaml --out $D/out --quiet"
CMD[gdal_calc_raw]="gdal_calc.py --quiet --overwrite -A $D/raw/scene_2024-07.tif --A_band=5 -B $D/raw/scene_2024-07.tif --B_band=4 $CALC --outfile=$D/out/calc_raw.tif ${CO_RAW//-co /--co }"
ORDER=(ours_deflate gdal_calc floor ours_cog floor_cog ours_raw gdal_calc_raw)

RES="$D/results.tsv"
bench_alternate "$RUNS" "$RES" "$D" "${ORDER[@]}"

/usr/bin/python3 - "$RES" "$SIZE" "$RUNS" <<'PY' | tee "$D/results.md"
import sys, statistics as st, collections
rows = collections.defaultdict(list); rss = collections.defaultdict(int)
for line in open(sys.argv[1]):
    n, r, s, m = line.split(); rows[n].append(float(s)); rss[n] = max(rss[n], int(m))
med = {n: st.median(v) for n, v in rows.items()}
print(f"\nNDVI, {sys.argv[2]}x{sys.argv[2]} sample scene, {sys.argv[3]} alternating runs, medians (min-max), peak RSS\n")
print("| command | median s | min-max s | peak RSS MiB |\n|---|---|---|---|")
for n, v in rows.items():
    print(f"| {n} | {med[n]:.2f} | {min(v):.2f}-{max(v):.2f} | {rss[n]//1024} |")
print()
print(f"- DEFLATE in and out: ours / floor = {med['ours_deflate']/med['floor']:.2f} (goal <= 1.15); gdal_calc / ours = {med['gdal_calc']/med['ours_deflate']:.2f}x")
print(f"- COG default (ZSTD 1 + predictor): ours / gdal_translate -of COG = {med['ours_cog']/med['floor_cog']:.2f}; gdal_calc (DEFLATE) / ours_cog = {med['gdal_calc']/med['ours_cog']:.2f}x")
print(f"- uncompressed: gdal_calc_raw / ours_raw = {med['gdal_calc_raw']/med['ours_raw']:.2f}x (goal >= 4)")
PY
ls -l "$D/out" | awk 'NR>1 {printf "  %-20s %8.1f MiB\n", $9, $5/1048576}'
