#!/usr/bin/env bash
# Tiles benchmark: our `qinling tiles` of the NDVI layer against gdal2tiles.py --processes=2 --xyz
# on the same layer rendered as Byte, same zoom range, same session, alternating runs.
#   scripts/bench-tiles.sh [--size N] [--runs R]      (or: scripts/bench.sh tiles --size N --runs R)
# Prints tiles/s, the ratio and peak RSS (/usr/bin/time -v; for gdal2tiles the largest process).
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
# Benchmarks must time real work: no job store, so an unchanged rerun is never skipped.
export QINLING_STORE=none
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=4000; RUNS=3
bench_args bench-tiles "$@"
Q="${QINLING_BUILD_DIR:-$ROOT/build}/qinling"
[ -x "$Q" ] || { echo "bench-tiles: build first (scripts/setup.sh); no $Q" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bench-tiles: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
D="$ROOT/bench-data/n$SIZE"
mkdir -p "$D/tiles"
if [ ! -f "$D/scene_2024-07.tif" ]; then
  echo "bench-tiles: generating the ${SIZE}x${SIZE} scene…"
  "$Q" sample-data "$D" --size "$SIZE" --quiet
fi
T="$D/tiles"
if [ ! -f "$T/ndvi.tif" ]; then
  cat > "$T/ndvi.yaml" <<YAML
job: bench-tiles-ndvi
inputs:
  scene: {path: $D/scene_2024-07.tif, bands: {red: 4, nir: 5}}
steps:
  - {id: ndvi, kind: index.ndvi, input: scene}
outputs:
  - {from: ndvi, path: ndvi.tif, format: gtiff, options: {TILED: YES, BLOCKXSIZE: 512, BLOCKYSIZE: 512, COMPRESS: DEFLATE}}
YAML
  "$Q" run "$T/ndvi.yaml" --out "$T" --quiet
fi
# gdal2tiles clamps to Byte: give it the NDVI scaled to 1..255 with 0 as nodata (not timed).
[ -f "$T/ndvi8.tif" ] || gdal_translate -q -ot Byte -scale -0.2 0.9 1 255 -a_nodata 0 \
  -co TILED=YES -co COMPRESS=DEFLATE "$T/ndvi.tif" "$T/ndvi8.tif"
# Our automatic zoom range (native resolution down to one tile) is used for both tools.
ZOOM=$(/usr/bin/python3 - "$T/ndvi.tif" <<'PY'
import sys, math
from osgeo import gdal, osr
ds = gdal.Open(sys.argv[1])
srs = osr.SpatialReference(); srs.ImportFromEPSG(3857)
vrt = gdal.AutoCreateWarpedVRT(ds, None, srs.ExportToWkt())
gt = vrt.GetGeoTransform(); res0 = 2 * math.pi * 6378137 / 256
def zoom_for(px):  # gdal2tiles' rule: the deepest zoom not finer than px
    for z in range(32):
        if px > res0 / 2 ** z: return max(0, z - 1)
    return 31
zmax = zoom_for(gt[1]); zmin = zoom_for(max(vrt.RasterXSize, vrt.RasterYSize) * gt[1] / 256)
print(f"{min(zmin, zmax)}-{zmax}")
PY
)
echo "bench-tiles: ${SIZE}x${SIZE} NDVI, zoom $ZOOM, $RUNS alternating runs"

declare -A CMD
CMD[ours]="$Q tiles $T/ndvi.tif $T/out_ours --ramp ndvi --formats xyz --matrix-sets WebMercatorQuad --zoom $ZOOM --threads 2 --quiet"
CMD[gdal2tiles]="gdal2tiles.py -q --xyz -w none -r average --processes=2 -z $ZOOM $T/ndvi8.tif $T/out_g2t"
CMD[ours_all]="$Q tiles $T/ndvi.tif $T/out_all --ramp ndvi --formats xyz,mbtiles,pmtiles --matrix-sets WebMercatorQuad,CGCS2000Quad --zoom $ZOOM --threads 2 --quiet"
# The same as ours_all over its own finished output: an incremental re-run with nothing changed
# (the layer is still warped and hashed; every tile is kept).
CMD[ours_all_rerun]="${CMD[ours_all]}"
ORDER=(ours gdal2tiles ours_all ours_all_rerun)
RES="$T/results.tsv"; : > "$RES"
for r in $(seq 1 "$RUNS"); do
  for name in "${ORDER[@]}"; do
    [ "$name" = ours_all_rerun ] || rm -rf "$T/out_ours" "$T/out_g2t" "$T/out_all"
    sync
    load=$(cut -d' ' -f1 /proc/loadavg)  # 1-minute load average as the command starts
    /usr/bin/time -v -o "$T/time.txt" bash -c "${CMD[$name]}" >"$T/log.txt" 2>&1 \
      || { echo "bench-tiles: $name failed:"; tail -5 "$T/log.txt"; exit 1; }
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$T/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$T/time.txt")
    case $name in
      ours) dir="$T/out_ours/ndvi" ;; gdal2tiles) dir="$T/out_g2t" ;; ours_all*) dir="$T/out_all/ndvi" ;;
    esac
    tiles=$(find "$dir" -name '*.png' | wc -l)
    printf "%s\t%s\t%s\t%s\t%s\t%s\n" "$name" "$r" "$secs" "$rss" "$tiles" "$load" >> "$RES"
    printf "run %d %-14s %7.2f s  %6d tiles  %6d MiB  load %s\n" "$r" "$name" "$secs" "$tiles" $((rss / 1024)) "$load"
  done
done

/usr/bin/python3 - "$RES" "$SIZE" "$RUNS" "$ZOOM" <<'PY' | tee "$T/results.md"
import sys, statistics as st, collections
rows = collections.defaultdict(list); rss = collections.defaultdict(int); tiles = {}; loads = []
for line in open(sys.argv[1]):
    n, r, s, m, t, l = line.split(); rows[n].append(float(s)); rss[n] = max(rss[n], int(m)); tiles[n] = int(t)
    loads.append(float(l))
med = {n: st.median(v) for n, v in rows.items()}
print(f"\nTiles of the {sys.argv[2]}x{sys.argv[2]} NDVI layer, zoom {sys.argv[4]}, {sys.argv[3]} alternating runs, 2 threads/processes\n")
print("| command | tiles | median s | min-max s | tiles/s | peak RSS MiB |\n|---|---|---|---|---|---|")
for n, v in rows.items():
    print(f"| {n} | {tiles[n]} | {med[n]:.2f} | {min(v):.2f}-{max(v):.2f} | {tiles[n]/med[n]:.0f} | {rss[n]//1024} |")
r = (tiles['ours'] / med['ours']) / (tiles['gdal2tiles'] / med['gdal2tiles'])
print(f"\n- ours / gdal2tiles, tiles per second (XYZ PNG, WebMercatorQuad): {r:.1f}x (goal >= 10x)")
print(f"- ours_all = both matrix sets + MBTiles + PMTiles from one render: {tiles['ours_all']/med['ours_all']:.0f} tiles/s "
      f"(PNG files counted; MBTiles/PMTiles hold the WebMercatorQuad ones again)")
if 'ours_all_rerun' in med:
    print(f"- ours_all_rerun = ours_all again over its finished output (incremental, nothing changed): "
          f"{med['ours_all_rerun']:.2f} s vs {med['ours_all']:.2f} s")
print(f"- peak RSS: ours {rss['ours']//1024} MiB, ours_all {rss['ours_all']//1024} MiB, gdal2tiles {rss['gdal2tiles']//1024} MiB (goal < 1024)")
print(f"- 1-minute load average as each command started: {min(loads):.2f}-{max(loads):.2f} (2 cores)")
PY
