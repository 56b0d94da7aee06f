#!/usr/bin/env bash
# Meteorology benchmark: a global 0.25° field (0–360° longitudes, NetCDF) regridded to a 1 km
# Qinling grid (CGCS2000 / GK CM 114E, N×N km), ours against CDO and GDAL on the same fields in the
# same run, alternating, with `sync` before each run:
#   ours_bil / ours_con   qinling met.regrid bilinear / conservative → GTiff
#   cdo_bil / cdo_con     cdo remapbil / remapcon to the same cells (a curvilinear grid file with
#                         the cells' lon/lat centres and corners, computed beforehand, untimed) → NetCDF
#   cdo_bilp              cdo remapbil to the grid given like ours, as a projection (proj_params,
#                         x/y of the cells): cdo computes the cells' lon/lat with PROJ itself → NetCDF
#   gdal_bil              gdalwarp -r bilinear -et 0 onto the same grid → GTiff
# and forecast verification of 10^4 stations × 72 lead times (tests/data/verify_reference.py: a
# 72-band forecast on the same N×N km grid, 720 000 station rows) at the GB/T 28592 grades:
#   ours_ver              qinling met.verify (forecasts + leads + stations) → JSON + CSV per lead
#   numpy_ver             the same scores in numpy (np.loadtxt, osr, fancy indexing), which also
#                         checks ours: every count equal, continuous scores to the JSON's 6 digits
#   ours_ver_masks        ours_ver with `masks:` 100 polygons (a jittered 10 x 10 tiling of the grid,
#                         GeoPackage) and the per-mask CSV, JSON and GeoPackage outputs as well
# Usage: scripts/bench-met.sh [--size N] [--runs R]   (default N=600 km, R=3); also scripts/bench.sh met.
# STATIONS, LEADS and VSIZE (environment) change the verification size (default 10000 stations,
# 72 leads, a VSIZE x VSIZE km grid of 1 km cells with the same centre, default 600).
# Prints medians, peak RSS, the ratios and how far the results are apart. Not part of CI.
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
export QINLING_STORE=none
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=600; RUNS=3
bench_args bench-met "$@"
export DEBIAN_FRONTEND=noninteractive
for pkg in cdo time python3-gdal python3-numpy; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || {
    echo "bench-met: installing $pkg…"; apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null; }
done
Q="${QINLING_BUILD_DIR:-$ROOT/build}/qinling"
[ -x "$Q" ] || { echo "bench-met: build qinling first (scripts/setup.sh)" >&2; exit 2; }
M="$ROOT/bench-data/met$SIZE"
mkdir -p "$M/out"
STATIONS=${STATIONS:-10000}; LEADS=${LEADS:-72}; VSIZE=${VSIZE:-600}
V="$ROOT/bench-data/met-verify-$STATIONS-$LEADS-$VSIZE"
VREF="/usr/bin/python3 $ROOT/tests/data/verify_reference.py"
GRADES=0.1,10,25,50,100,250
# The region: SIZE km square centred on 108°E 33.6°N (x −57 km, y 3735 km in EPSG:4547).
HALF=$((SIZE * 500))
XMIN=$((-57000 - HALF)); XMAX=$((-57000 + HALF)); YMIN=$((3735000 - HALF)); YMAX=$((3735000 + HALF))

if [ ! -f "$M/target_grid.nc" ]; then
  echo "bench-met: writing the global field and the target grid…"
  /usr/bin/python3 - "$M" "$XMIN" "$YMAX" "$SIZE" <<'PY'
import sys, numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
m, xmin, ymax, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
# Global 0.25° field, longitudes 0..360: temperature-like smooth field and a precipitation total.
w, h = 1440, 720
lon = (np.arange(w) + 0.5) * 0.25; lat = 90 - (np.arange(h) + 0.5) * 0.25
t = 280 + 15 * np.cos(np.radians(lat))[:, None] + 3 * np.sin(np.radians(lon) * 5)[None, :] * np.cos(np.radians(lat) * 3)[:, None]
p = 10 * (1.2 + np.sin(np.radians(lon) * 7)[None, :] * np.cos(np.radians(lat) * 4)[:, None])
mem = gdal.GetDriverByName("MEM").Create("", w, h, 1, gdal.GDT_Float32)
mem.SetGeoTransform([0, 0.25, 0, 90, 0, -0.25]); mem.SetProjection("EPSG:4326")
for name, a in (("t", t), ("tp", p)):
    mem.GetRasterBand(1).WriteArray(a.astype(np.float32))
    gdal.GetDriverByName("netCDF").CreateCopy(f"{m}/{name}.nc", mem, options=["FORMAT=NC4"])
# The target cells as a curvilinear grid for CDO: centres and corners in lon/lat, north row first.
s = osr.SpatialReference(); s.ImportFromEPSG(4547); s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
g = osr.SpatialReference(); g.ImportFromEPSG(4326); g.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
ct = osr.CoordinateTransformation(s, g)
def ll(x, y):
    pts = np.array(ct.TransformPoints(np.stack([x.ravel(), y.ravel()], 1)))
    return pts[:, 0].reshape(x.shape), pts[:, 1].reshape(x.shape)
r, c = np.mgrid[0:n, 0:n]
clon, clat = ll(xmin + (c + 0.5) * 1000.0, ymax - (r + 0.5) * 1000.0)
r, c = np.mgrid[0:n + 1, 0:n + 1]
elon, elat = ll(xmin + c * 1000.0, ymax - r * 1000.0)
blon = np.stack([elon[:-1, :-1], elon[:-1, 1:], elon[1:, 1:], elon[1:, :-1]], -1)
blat = np.stack([elat[:-1, :-1], elat[:-1, 1:], elat[1:, 1:], elat[1:, :-1]], -1)
ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(f"{m}/target_grid.nc")
rg = ds.GetRootGroup()
dy = rg.CreateDimension("y", None, None, n); dx = rg.CreateDimension("x", None, None, n)
dv = rg.CreateDimension("nv", None, None, 4)
f64 = gdal.ExtendedDataType.Create(gdal.GDT_Float64); st = gdal.ExtendedDataType.CreateString()
for name, data, dims, units, std in (("lat", clat, [dy, dx], "degrees_north", "latitude"),
                                      ("lon", clon, [dy, dx], "degrees_east", "longitude"),
                                      ("lat_bnds", blat, [dy, dx, dv], None, None),
                                      ("lon_bnds", blon, [dy, dx, dv], None, None)):
    v = rg.CreateMDArray(name, dims, f64); v.Write(data)
    if units:
        v.CreateAttribute("units", [], st).Write(units); v.CreateAttribute("standard_name", [], st).Write(std)
        v.CreateAttribute("bounds", [], st).Write(name + "_bnds")
mask = rg.CreateMDArray("mask", [dy, dx], f64); mask.Write(np.ones((n, n)))
mask.CreateAttribute("coordinates", [], st).Write("lat lon")
del ds
PY
fi
# The target grid as cdo's projection grid description: cell-centre x/y and the PROJ string.
cat > "$M/target_proj.txt" <<GRID
gridtype = projection
xsize = $SIZE
ysize = $SIZE
xunits = "m"
yunits = "m"
xfirst = $((XMIN + 500))
xinc = 1000
yfirst = $((YMAX - 500))
yinc = -1000
grid_mapping = crs
proj_params = "$(gdalsrsinfo -o proj4 EPSG:4547 | tr -d "'" | sed '/^$/d')"
GRID
if [ ! -f "$V/obs.csv" ]; then
  echo "bench-met: writing $STATIONS stations × $LEADS lead times…"
  mkdir -p "$V"
  $VREF make "$V" "$STATIONS" "$LEADS" "$VSIZE" EPSG:4547 1000 $((-57000 - VSIZE * 500)) $((3735000 + VSIZE * 500))
fi
if [ ! -f "$V/masks100.gpkg" ]; then
  /usr/bin/python3 - "$V/masks100.gpkg" $((-57000 - VSIZE * 500)) $((3735000 - VSIZE * 500)) $((VSIZE * 1000)) <<'PY'
import sys, numpy as np
from osgeo import ogr, osr
path, x0, y0, size = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rng = np.random.default_rng(3)
k = 10
u = np.linspace(-0.01, 1.01, k + 1)
px, py = np.meshgrid(u, u)
px[1:-1, 1:-1] += rng.uniform(-0.03, 0.03, (k - 1, k - 1))
py[1:-1, 1:-1] += rng.uniform(-0.03, 0.03, (k - 1, k - 1))
srs = osr.SpatialReference(); srs.ImportFromEPSG(4547)
ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
layer = ds.CreateLayer("masks", srs, ogr.wkbPolygon)
layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
for i in range(k):
    for j in range(k):
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for a, b in ((i, j), (i, j + 1), (i + 1, j + 1), (i + 1, j), (i, j)):
            ring.AddPoint_2D(x0 + px[a, b] * size, y0 + py[a, b] * size)
        poly = ogr.Geometry(ogr.wkbPolygon); poly.AddGeometry(ring)
        f = ogr.Feature(layer.GetLayerDefn()); f.SetField("name", f"m{i:02d}{j:02d}"); f.SetGeometry(poly)
        layer.CreateFeature(f)
ds = None
PY
fi
LEAD_LIST=$(seq -s ", " 1 "$LEADS")
cat > "$V/verify.yaml" <<YAML
job: bench-met-verify
inputs:
  fc: {path: fc.tif}
steps:
  - {id: v, kind: met.verify, forecasts: [fc], leads: [$LEAD_LIST], stations: obs.csv, variable: precipitation}
outputs:
  - {from: v, path: verify.json, format: json}
  - {from: v, path: verify.csv, format: csv}
YAML
cat > "$V/verify_masks.yaml" <<YAML
job: bench-met-verify-masks
inputs:
  fc: {path: fc.tif}
  masks: {path: masks100.gpkg}
steps:
  - {id: v, kind: met.verify, forecasts: [fc], leads: [$LEAD_LIST], stations: obs.csv, variable: precipitation,
     masks: masks, mask_id_field: name}
outputs:
  - {from: v, path: verify_m.json, format: json}
  - {from: v, path: verify_m.csv, format: csv}
  - {from: v, path: masks.csv, format: mask_csv}
  - {from: v, path: masks.json, format: mask_json}
  - {from: v, path: masks.gpkg, format: gpkg}
YAML

for m in bilinear conservative; do
  src=t; [ "$m" = conservative ] && src=tp
  cat > "$M/ours_$m.yaml" <<YAML
job: bench-met-$m
grid: {crs: EPSG:4547, resolution: 1000, extent: [$XMIN, $YMIN, $XMAX, $YMAX]}
inputs:
  f: {path: $M/$src.nc}
steps:
  - {id: r, kind: met.regrid, source: f, method: $m}
outputs:
  - {from: r, path: ours_$m.tif, format: gtiff}
YAML
done

declare -A CMD
CMD[ours_bil]="$Q run $M/ours_bilinear.yaml --out $M/out --quiet"
CMD[ours_con]="$Q run $M/ours_conservative.yaml --out $M/out --quiet"
CMD[cdo_bil]="cdo -s -O -P $(nproc) remapbil,$M/target_grid.nc $M/t.nc $M/out/cdo_bil.nc"
CMD[cdo_con]="cdo -s -O -P $(nproc) remapcon,$M/target_grid.nc $M/tp.nc $M/out/cdo_con.nc"
CMD[cdo_bilp]="cdo -s -O -P $(nproc) remapbil,$M/target_proj.txt $M/t.nc $M/out/cdo_bilp.nc"
CMD[ours_ver]="$Q run $V/verify.yaml --out $V/out --quiet"
CMD[ours_ver_masks]="$Q run $V/verify_masks.yaml --out $V/out --quiet"
CMD[numpy_ver]="$VREF score $V $GRADES > $V/numpy.json"
CMD[gdal_bil]="gdalwarp -q -overwrite -r bilinear -et 0 -wo NUM_THREADS=ALL_CPUS -t_srs EPSG:4547 -te $XMIN $YMIN $XMAX $YMAX -tr 1000 1000 -ot Float32 $M/t.nc $M/out/gdal_bil.tif"
RES="$M/results.tsv"
bench_alternate "$RUNS" "$RES" "$M" ours_bil cdo_bil cdo_bilp gdal_bil ours_con cdo_con ours_ver ours_ver_masks numpy_ver

VCHECK=$($VREF compare "$V" $GRADES "$V/out/verify.json")
/usr/bin/python3 - "$RES" "$SIZE" "$RUNS" "$M" "$STATIONS" "$LEADS" "$VCHECK" <<'PY' | tee "$M/results.md"
import sys, collections, statistics as st, numpy as np
from osgeo import gdal
gdal.UseExceptions()
res, size, runs, m, stations, leads, vcheck = sys.argv[1:8]
rows = collections.defaultdict(list); rss = collections.defaultdict(int)
for line in open(res):
    n, r, s, k = line.split(); rows[n].append(float(s)); rss[n] = max(rss[n], int(k))
med = {n: st.median(v) for n, v in rows.items()}
print(f"\nGlobal 0.25° field → 1 km Qinling grid ({size}x{size} cells); verification of {stations} stations x "
      f"{leads} lead times; {runs} alternating runs\n")
print("| command | median s | min-max s | peak RSS MiB |\n|---|---|---|---|")
for n, v in rows.items():
    print(f"| {n} | {med[n]:.2f} | {min(v):.2f}-{max(v):.2f} | {rss[n] // 1024} |")
def arr(path, var=None):
    ds = gdal.Open(f'NETCDF:"{path}":{var}' if var else path)
    a = ds.GetRasterBand(1).ReadAsArray().astype(float)
    return a
ob, oc = arr(f"{m}/out/ours_bilinear.tif"), arr(f"{m}/out/ours_conservative.tif")
cb, cc = arr(f"{m}/out/cdo_bil.nc", "Band1"), arr(f"{m}/out/cdo_con.nc", "Band1")
cp = arr(f"{m}/out/cdo_bilp.nc")
gb = arr(f"{m}/out/gdal_bil.tif")
# GDAL reads the curvilinear NetCDF south-up or north-up depending on its y axis: align by the best match.
if np.nanmax(np.abs(cb[::-1] - ob)) < np.nanmax(np.abs(cb - ob)): cb, cc = cb[::-1], cc[::-1]
print()
if np.nanmax(np.abs(cp[::-1] - ob)) < np.nanmax(np.abs(cp - ob)): cp = cp[::-1]
print(f"- cdo_bil / ours_bil = {med['cdo_bil'] / med['ours_bil']:.2f}x; cdo_bilp / ours_bil = {med['cdo_bilp'] / med['ours_bil']:.2f}x; "
      f"gdal_bil / ours_bil = {med['gdal_bil'] / med['ours_bil']:.2f}x; cdo_con / ours_con = {med['cdo_con'] / med['ours_con']:.2f}x; "
      f"numpy_ver / ours_ver = {med['numpy_ver'] / med['ours_ver']:.2f}x; "
      f"ours_ver_masks / ours_ver = {med['ours_ver_masks'] / med['ours_ver']:.2f}x (the cost of 100 masks)")
print(f"- bilinear: max |ours - cdo| = {np.nanmax(np.abs(ob - cb)):.2e}, max |ours - cdo (projection)| = {np.nanmax(np.abs(ob - cp)):.2e}, "
      f"max |ours - gdalwarp| = {np.nanmax(np.abs(ob - gb)):.2e}")
print(f"- verification, ours against numpy: {vcheck} (MAXDIFF: largest relative difference of a continuous score; "
      f"COUNTS 1: every n and contingency count equal)")
print(f"- conservative: max |ours - cdo| = {np.nanmax(np.abs(oc - cc)):.2e}, mean |ours - cdo| = {np.nanmean(np.abs(oc - cc)):.2e} "
      f"(CDO intersects cell polygons exactly; ours samples each cell)")
PY
