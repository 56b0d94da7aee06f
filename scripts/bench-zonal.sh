#!/usr/bin/env bash
# Zonal-statistics benchmark: mean NDVI over a 1 km and a 100 m grid, ours against GDAL-based
# baselines measured in the same run, alternating, with `sync` before each run:
#   ours_1km / ours_100m      qinling: grid.load + zonal.stats (exact coverage weights) → CSV
#   numpy_1km / numpy_100m    gdal.RasterizeLayer of the cell FIDs + numpy.bincount (pixel centres)
#   otb_1km / otb_100m        otbcli_ZonalStatistics (OTB 8.1, Debian otb-bin; pixel centres) → XML
#   read                      one read of the NDVI raster through GDAL (the floor)
# Usage: scripts/bench-zonal.sh [--size N] [--runs R]   (default N=4000, R=3); also via scripts/bench.sh zonal.
# The scene is `qinling sample-data bench-data/nN --size N`; NDVI and the two grids are made once
# (untimed). Prints medians, min-max, peak RSS (/usr/bin/time) and the ratios. Not part of CI.
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
# Benchmarks must time real work: no job store, so an unchanged rerun is never skipped.
export QINLING_STORE=none
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=4000; RUNS=3
bench_args bench-zonal "$@"
export DEBIAN_FRONTEND=noninteractive
for pkg in otb-bin time python3-gdal python3-numpy; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || {
    echo "bench-zonal: installing $pkg…"; apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null; }
done
Q="${QINLING_BUILD_DIR:-$ROOT/build}/qinling"
[ -x "$Q" ] || { echo "bench-zonal: build qinling first (scripts/setup.sh)" >&2; exit 2; }
D="$ROOT/bench-data/n$SIZE"
Z="$D/zonal"
mkdir -p "$Z/out"
if [ ! -f "$D/truth.json" ]; then
  echo "bench-zonal: generating the ${SIZE}x${SIZE} scene…"
  "$Q" sample-data "$D" --size "$SIZE" --quiet
fi

# Untimed preparation: the NDVI layer (GTiff tiled 512, DEFLATE) and the two grids (GeoPackage).
if [ ! -f "$Z/ndvi.tif" ] || [ ! -f "$Z/grid_100m.gpkg" ]; then
  cat > "$Z/prepare.yaml" <<YAML
job: bench-zonal-prepare
inputs:
  scene: {path: $D/scene_2024-07.tif, bands: {red: 4, nir: 5}}
steps:
  - {id: ndvi, kind: index.ndvi, input: scene}
  - {id: grid_1km, kind: grid.build, cell_size: 1000}
  - {id: grid_100m, kind: grid.build, cell_size: 100}
outputs:
  - {from: ndvi, path: ndvi.tif, format: gtiff, options: {TILED: YES, BLOCKXSIZE: 512, BLOCKYSIZE: 512, COMPRESS: DEFLATE}}
  - {from: grid_1km, path: grid_1km.gpkg, format: gpkg}
  - {from: grid_100m, path: grid_100m.gpkg, format: gpkg}
YAML
  echo "bench-zonal: preparing NDVI and grids…"
  "$Q" run "$Z/prepare.yaml" --out "$Z" --quiet
fi
for g in 1km 100m; do
  cat > "$Z/ours_$g.yaml" <<YAML
job: bench-zonal-$g
inputs:
  ndvi: {path: $Z/ndvi.tif}
  cells: {path: $Z/grid_$g.gpkg}
steps:
  - {id: grid, kind: grid.load, input: cells, id_field: cell_id}
  - {id: stats, kind: zonal.stats, input: ndvi.b1, zones: grid, stats: [mean]}
outputs:
  - {from: stats, path: ours_$g.csv, format: csv}
YAML
done
cat > "$Z/numpy_zonal.py" <<'PY'
# Mean per polygon the way a GDAL/numpy user would: burn FIDs (pixel centres), bincount.
import sys, numpy as np
from osgeo import gdal, ogr
gdal.UseExceptions()
raster, vec, out = sys.argv[1:4]
src = gdal.Open(raster); band = src.GetRasterBand(1)
vds = ogr.Open(vec)  # keep the dataset alive
# The FID is not an attribute: expose it as one to burn it.
lyr = vds.ExecuteSQL(f"SELECT fid AS zone_id, * FROM \"{vds.GetLayer(0).GetName()}\"")
ids = gdal.GetDriverByName("MEM").Create("", src.RasterXSize, src.RasterYSize, 1, gdal.GDT_Int32)
ids.SetGeoTransform(src.GetGeoTransform()); ids.SetProjection(src.GetProjection())
ids.GetRasterBand(1).Fill(0)
gdal.RasterizeLayer(ids, [1], lyr, options=["ATTRIBUTE=zone_id"])
z = ids.GetRasterBand(1).ReadAsArray().ravel()
v = band.ReadAsArray().astype(np.float64).ravel()
ok = ~np.isnan(v)
n = int(z.max()) + 1
s = np.bincount(z[ok], weights=v[ok], minlength=n); c = np.bincount(z[ok], minlength=n)
with open(out, "w") as f:
    f.write("fid,mean\n")
    for i in range(1, n):
        f.write(f"{i},{s[i] / c[i] if c[i] else float('nan')}\n")
PY
cat > "$Z/read_all.py" <<'PY'
import sys
from osgeo import gdal
gdal.UseExceptions()
ds = gdal.Open(sys.argv[1]); b = ds.GetRasterBand(1)  # keep the dataset alive
bw, bh = b.GetBlockSize(); total = 0.0
for y in range(0, b.YSize, bh):
    a = b.ReadAsArray(0, y, b.XSize, min(bh, b.YSize - y)); total += float(a[0, 0])
PY

declare -A CMD
for g in 1km 100m; do
  CMD[ours_$g]="$Q run $Z/ours_$g.yaml --out $Z/out --quiet"
  CMD[numpy_$g]="/usr/bin/python3 $Z/numpy_zonal.py $Z/ndvi.tif $Z/grid_$g.gpkg $Z/out/numpy_$g.csv"
  CMD[otb_$g]="otbcli_ZonalStatistics -in $Z/ndvi.tif -inzone.vector.in $Z/grid_$g.gpkg -out xml -out.xml.filename $Z/out/otb_$g.xml -ram 1024 >/dev/null"
done
CMD[read]="/usr/bin/python3 $Z/read_all.py $Z/ndvi.tif"
ORDER=(read ours_1km numpy_1km otb_1km ours_100m numpy_100m otb_100m)
[ -n "${SKIP:-}" ] && ORDER=($(printf "%s\n" "${ORDER[@]}" | grep -v -E "$SKIP"))

RES="$Z/results.tsv"; : > "$RES"
for r in $(seq 1 "$RUNS"); do
  for name in "${ORDER[@]}"; do
    # OTB keeps every polygon in memory and is very slow on many cells: it runs under a timeout
    # (OTB_TIMEOUT, default 300 s) and, once timed out, is not repeated; the row is a lower bound.
    if [[ $name == otb_* ]] && grep -q "^$name	.*	timeout$" "$RES"; then continue; fi
    limit=""; [[ $name == otb_* ]] && limit="timeout ${OTB_TIMEOUT:-300}"
    sync
    status=0
    /usr/bin/time -f "%e %M" -o "$Z/time.txt" $limit bash -c "${CMD[$name]}" >"$Z/log.txt" 2>&1 || status=$?
    read -r secs rss < <(grep -E '^[0-9.]+ [0-9]+$' "$Z/time.txt" | tail -1)
    if [ "$status" = 124 ]; then
      printf "%s\t%s\t%s\t%s\ttimeout\n" "$name" "$r" "$secs" "$rss" >> "$RES"
      printf "run %d %-11s  >%7.2f s  %6d MiB (timed out)\n" "$r" "$name" "$secs" $((rss / 1024)); continue
    fi
    [ "$status" = 0 ] || { echo "bench-zonal: $name failed:"; tail -5 "$Z/log.txt"; exit 1; }
    printf "%s\t%s\t%s\t%s\tok\n" "$name" "$r" "$secs" "$rss" >> "$RES"
    printf "run %d %-11s %8.2f s  %6d MiB\n" "$r" "$name" "$secs" $((rss / 1024))
  done
done

/usr/bin/python3 - "$RES" "$SIZE" "$RUNS" "$Z" <<'PY' | tee "$Z/results.md"
import sys, csv, statistics as st, collections, math
res, size, runs, z = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = collections.defaultdict(list); rss = collections.defaultdict(int); timeout = set()
for line in open(res):
    n, r, s, m, flag = line.split(); rows[n].append(float(s)); rss[n] = max(rss[n], int(m))
    if flag == "timeout": timeout.add(n)
med = {n: st.median(v) for n, v in rows.items()}
print(f"\nZonal mean NDVI, {size}x{size} sample scene (30 m), {runs} alternating runs: medians (min-max), peak RSS\n")
print("| command | median s | min-max s | peak RSS MiB |\n|---|---|---|---|")
for n, v in rows.items():
    gt = ">" if n in timeout else ""
    print(f"| {n} | {gt}{med[n]:.2f} | {min(v):.2f}-{max(v):.2f} | {rss[n]//1024} |")
print()
for g in ("1km", "100m"):
    o = f"ours_{g}"
    if o not in med: continue
    cells = sum(1 for _ in open(f"{z}/out/{o}.csv", encoding="utf-8-sig")) - 1
    parts = [f"{g} grid ({cells} cells)"]
    for b in ("numpy", "otb"):
        if f"{b}_{g}" in med:
            gt = ">" if f"{b}_{g}" in timeout else ""
            parts.append(f"{b} / ours = {gt}{med[f'{b}_{g}'] / med[o]:.1f}x")
    if "read" in med: parts.append(f"ours / one read of the raster = {med[o] / med['read']:.2f}")
    # Agreement with the pixel-centre reference (cells are not pixel-aligned: exact coverage differs at edges).
    ours = [float(r["mean"]) if r["mean"] else math.nan for r in csv.DictReader(open(f"{z}/out/{o}.csv", encoding="utf-8-sig"))]
    ref = [float(r["mean"]) for r in csv.DictReader(open(f"{z}/out/numpy_{g}.csv"))] if f"numpy_{g}" in med else []
    d = sorted(abs(a - b) for a, b in zip(ours, ref) if not (math.isnan(a) or math.isnan(b)))
    if not d and ref: parts.append("NO AGREEMENT: the reference produced no values")
    if d: parts.append(f"|ours - numpy| median {d[len(d)//2]:.2e}, max {d[-1]:.2e}")
    print("- " + parts[0] + ": " + "; ".join(parts[1:]))
PY
