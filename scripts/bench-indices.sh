#!/usr/bin/env bash
# Ecology benchmark: five indices (NDVI, SAVI, MSAVI2, NDWI, MNDWI) in one job against
# otbcli_RadiometricIndices (one run, five bands) and gdal_calc.py (five runs), and terrain.slope
# against gdaldem slope; same scene, same session, alternating runs, sync before each.
#   scripts/bench-indices.sh [--size N] [--runs R]   (or: scripts/bench.sh indices --size N --runs R)
# All outputs are uncompressed float32 so the comparison is about computing, not the codec.
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
# Benchmarks must time real work: no job store, so an unchanged rerun is never skipped.
export QINLING_STORE=none
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=8000; RUNS=3
bench_args bench-indices "$@"
Q="${QINLING_BUILD_DIR:-$ROOT/build}/qinling"
[ -x "$Q" ] || { echo "bench-indices: build first (scripts/setup.sh); no $Q" >&2; exit 2; }
command -v otbcli_RadiometricIndices >/dev/null || apt-get install -y -qq --no-install-recommends otb-bin >/dev/null
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
D="$ROOT/bench-data/n$SIZE"
S="$D/deflate/scene_2024-07.tif"; DEM="$D/deflate/dem.tif"
[ -f "$S" ] || "$Q" sample-data "$D/deflate" --size "$SIZE" --quiet
O="$D/indices"; mkdir -p "$O"
# Uncompressed float32 outputs: 5 indices x 3 tools + 2 slopes = 17 bands of SIZE^2 x 4 bytes
# (about 17 GB at 16000^2); stop early with a clear message rather than fail mid-run.
need_kb=$(( 17 * SIZE * SIZE * 4 / 1024 ))
free_kb=$(df -Pk "$O" | awk 'NR==2 {print $4}')
if [ "$free_kb" -lt "$need_kb" ]; then
  echo "bench-indices: $O needs about $((need_kb / 1048576)) GiB free for the outputs, has $((free_kb / 1048576)) GiB" >&2
  exit 2
fi
RAW="{TILED: YES, BLOCKXSIZE: 512, BLOCKYSIZE: 512, COMPRESS: NONE}"
cat > "$O/ours.yaml" <<YAML
job: bench-indices
inputs:
  scene: {path: $S, bands: {blue: 2, green: 3, red: 4, nir: 5, swir1: 6}}
steps:
  - {id: ndvi, kind: index.ndvi, input: scene}
  - {id: savi, kind: index.savi, input: scene}
  - {id: msavi2, kind: index.msavi2, input: scene}
  - {id: ndwi, kind: index.ndwi, input: scene}
  - {id: mndwi, kind: index.mndwi, input: scene}
outputs:
$(for k in ndvi savi msavi2 ndwi mndwi; do echo "  - {from: $k, path: $k.tif, format: gtiff, options: $RAW}"; done)
YAML
cat > "$O/slope.yaml" <<YAML
job: bench-slope
inputs:
  dem: {path: $DEM}
steps:
  - {id: slope, kind: terrain.slope, input: dem}
outputs:
  - {from: slope, path: slope.tif, format: gtiff, options: $RAW}
YAML
CO="--co TILED=YES --co BLOCKXSIZE=512 --co BLOCKYSIZE=512 --co COMPRESS=NONE"
calc() { gdal_calc.py --quiet --overwrite -A "$S" --A_band=$1 -B "$S" --B_band=$2 --type=Float32 --calc="$3" --outfile="$O/calc_$4.tif" $CO; }
export -f calc; export S O CO
declare -A CMD
CMD[ours_5idx]="$Q run $O/ours.yaml --out $O/ours --quiet"
CMD[otb_5idx]="otbcli_RadiometricIndices -in $S -out $O/otb.tif float -channels.blue 2 -channels.green 3 -channels.red 4 -channels.nir 5 -channels.mir 6 -list Vegetation:NDVI Vegetation:SAVI Vegetation:MSAVI2 Water:NDWI2 Water:MNDWI >/dev/null"
CMD[calc_5idx]="calc 4 5 '(B.astype(float)-A)/(B+A)' ndvi && calc 4 5 '1.5*(B.astype(float)-A)/(B+A+0.5)' savi && calc 4 5 '(2*B.astype(float)+1-numpy.sqrt((2*B.astype(float)+1)**2-8*(B.astype(float)-A)))/2' msavi2 && calc 3 5 '(A.astype(float)-B)/(A+B)' ndwi && calc 3 6 '(A.astype(float)-B)/(A+B)' mndwi"
CMD[ours_slope]="$Q run $O/slope.yaml --out $O/ours --quiet"
CMD[gdaldem_slope]="gdaldem slope -q $DEM $O/gdaldem_slope.tif -co TILED=YES -co BLOCKXSIZE=512 -co BLOCKYSIZE=512 -co COMPRESS=NONE"
ORDER=(ours_5idx otb_5idx calc_5idx ours_slope gdaldem_slope)
RES="$O/results.tsv"
bench_alternate "$RUNS" "$RES" "$O" "${ORDER[@]}"

/usr/bin/python3 - "$RES" "$SIZE" <<'PY' | tee "$O/results.md"
import sys, statistics as st, collections
rows = collections.defaultdict(list); rss = collections.defaultdict(int)
for line in open(sys.argv[1]):
    n, r, s, m = line.split(); rows[n].append(float(s)); rss[n] = max(rss[n], int(m))
med = {n: st.median(v) for n, v in rows.items()}
print(f"\nFive indices and slope, {sys.argv[2]}x{sys.argv[2]}, DEFLATE in, uncompressed float32 out, medians\n")
print("| command | median s | min-max s | peak RSS MiB |\n|---|---|---|---|")
for n, v in rows.items(): print(f"| {n} | {med[n]:.2f} | {min(v):.2f}-{max(v):.2f} | {rss[n]//1024} |")
print(f"\n- five indices: OTB / ours = {med['otb_5idx']/med['ours_5idx']:.2f}x, gdal_calc / ours = {med['calc_5idx']/med['ours_5idx']:.2f}x")
print(f"- slope: gdaldem / ours = {med['gdaldem_slope']/med['ours_slope']:.2f}x")
PY
