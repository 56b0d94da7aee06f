#!/usr/bin/env bash
# Aerial-mosaic benchmark: N synthetic drone frames (W×H RGB JPEG + world file, 30 % overlap,
# brightness differences, world files 10–30 px off) cut from a textured 0.1 m orthophoto, mosaicked
#   ours      qinling aerial.mosaic: ORB registration against the orthophoto, gain compensation,
#             feather blend → RGBA COG (ZSTD) + footprints GeoPackage
#   gdalwarp  gdalwarp of the same georeferenced frames onto the same grid → RGBA COG (ZSTD),
#             no registration, no balancing, no blending (last frame wins)
# alternating, with `sync` before each run. Also prints our per-frame registration and blending
# times (from the step's log line). Not part of CI.
# Usage: scripts/bench-aerial.sh [--size N] [--runs R]   N frames (default 50), R rounds (default 3);
#        FRAME_W / FRAME_H set the frame size (default 2000×1500). Also via scripts/bench.sh aerial.
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
export QINLING_STORE=none
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=50; RUNS=3
bench_args bench-aerial "$@"
FW=${FRAME_W:-2000}; FH=${FRAME_H:-1500}
Q="${QINLING_BUILD_DIR:-$ROOT/build}/qinling"
[ -x "$Q" ] || { echo "bench-aerial: build qinling first (scripts/setup.sh)" >&2; exit 2; }
D="$ROOT/bench-data/aerial-n${SIZE}-${FW}x${FH}"
mkdir -p "$D/out"
if [ ! -f "$D/frames/done" ]; then
  echo "bench-aerial: generating $SIZE frames of ${FW}x${FH}…"
  /usr/bin/python3 - "$D" "$SIZE" "$FW" "$FH" <<'PY'
import math, os, sys
import numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
d, n, fw, fh = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cols = max(1, int(math.ceil(math.sqrt(n * 2))))
rows = int(math.ceil(n / cols))
step_x, step_y = int(fw * 0.7), int(fh * 0.7)
W, H = fw + step_x * (cols - 1) + 200, fh + step_y * (rows - 1) + 200
rng = np.random.default_rng(7)
# Texture: smooth fields (coarse noise upsampled) plus small rectangles (roofs, trees).
coarse = rng.uniform(60, 190, size=(H // 64 + 2, W // 64 + 2, 3)).astype(np.float32)
img = np.repeat(np.repeat(coarse, 64, axis=0), 64, axis=1)[:H, :W].copy()
for _ in range(W * H // 400):
    x, y = rng.integers(0, W - 16), rng.integers(0, H - 16)
    w, h = rng.integers(3, 15, size=2)
    img[y:y + h, x:x + w] *= rng.uniform(0.55, 1.45)
img = np.clip(img, 0, 255).astype(np.uint8)
res, x0, y0 = 0.1, 500000.0, 3750000.0
srs = osr.SpatialReference(); srs.ImportFromEPSG(4547)
drv = gdal.GetDriverByName('GTiff')
o = drv.Create(os.path.join(d, 'ortho.tif'), W, H, 3, gdal.GDT_Byte, ['TILED=YES', 'COMPRESS=DEFLATE', 'PHOTOMETRIC=RGB'])
o.SetGeoTransform((x0, res, 0, y0, 0, -res)); o.SetProjection(srs.ExportToWkt())
for b in range(3): o.GetRasterBand(b + 1).WriteArray(img[:, :, b])
o = None
os.makedirs(os.path.join(d, 'frames'), exist_ok=True)
mem = gdal.GetDriverByName('MEM'); jpg = gdal.GetDriverByName('JPEG')
prj = srs.Clone(); prj.MorphToESRI(); prj = prj.ExportToWkt()
for k in range(n):
    r, c = divmod(k, cols)
    px, py = 100 + c * step_x, 100 + r * step_y
    gain = rng.uniform(0.85, 1.15)
    f = np.clip(img[py:py + fh, px:px + fw].astype(np.float32) * gain + rng.normal(0, 2, (fh, fw, 3)), 0, 255).astype(np.uint8)
    m = mem.Create('', fw, fh, 3, gdal.GDT_Byte)
    for b in range(3): m.GetRasterBand(b + 1).WriteArray(f[:, :, b])
    name = os.path.join(d, 'frames', 'f%03d' % k)
    gdal.SetConfigOption('GDAL_PAM_ENABLED', 'NO')
    jpg.CreateCopy(name + '.jpg', m, options=['QUALITY=90'])
    ex, ey = rng.uniform(10, 30) * rng.choice([-1, 1]), rng.uniform(10, 30) * rng.choice([-1, 1])
    with open(name + '.jgw', 'w') as w:
        w.write('%.6f\n0\n0\n%.6f\n%.6f\n%.6f\n' % (res, -res, x0 + (px + ex + 0.5) * res, y0 - (py + ey + 0.5) * res))
    with open(name + '.prj', 'w') as w: w.write(prj)
open(os.path.join(d, 'frames', 'done'), 'w').write('ok')
PY
fi
cat > "$D/ours.yaml" <<YAML
job: bench-aerial
inputs:
  frames: {path: "$D/frames/*.jpg"}
  ortho: {path: $D/ortho.tif}
steps:
  - {id: mosaic, kind: aerial.mosaic, input: frames, reference: ortho, search_px: 60}
outputs:
  - {from: mosaic, path: mosaic.tif, format: cog}
  - {from: mosaic, path: footprints.gpkg, format: gpkg}
YAML
TE=$(/usr/bin/python3 -c "
from osgeo import gdal; d=gdal.Open('$D/ortho.tif'); g=d.GetGeoTransform()
print(g[0], g[3]+g[5]*d.RasterYSize, g[0]+g[1]*d.RasterXSize, g[3])")
declare -A CMD
CMD[ours]="$Q run $D/ours.yaml --out $D/out 2>&1 | tee $D/ours_log.txt"
CMD[gdalwarp]="rm -f $D/out/warp.tif && gdalwarp -q -overwrite -s_srs EPSG:4547 -t_srs EPSG:4547 -tr 0.1 0.1 -te $TE -dstalpha -multi -wo NUM_THREADS=ALL_CPUS -of COG -co COMPRESS=ZSTD -co LEVEL=1 -co PREDICTOR=YES -co NUM_THREADS=ALL_CPUS $D/frames/*.jpg $D/out/warp.tif"
bench_alternate "$RUNS" "$D/results.tsv" "$D" ours gdalwarp
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
O=$(awk '$1=="ours"{print $3}' "$D/results.tsv" | median)
G=$(awk '$1=="gdalwarp"{print $3}' "$D/results.tsv" | median)
echo "frames: $SIZE x ${FW}x${FH}; mosaic grid $(gdalinfo "$D/ortho.tif" | grep 'Size is')"
printf "median: ours %.2f s, gdalwarp %.2f s, ratio ours/gdalwarp %.2f\n" "$O" "$G" "$(echo "$O / $G" | bc -l)"
grep -o 'registration [0-9.]* s ([0-9.]* s/frame), balancing [0-9.]* s, blending [0-9.]* s ([0-9.]* s/frame)' "$D/ours_log.txt" | tail -1
