#!/usr/bin/env bash
# Installs what is missing, builds, generates the sample scene and runs configs/demo.yaml.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${QINLING_BUILD_DIR:-$ROOT/build}
"$ROOT/scripts/setup.sh"
Q="$BUILD_DIR/qinling"
if [ ! -f "$ROOT/sample/truth.json" ]; then
  "$Q" sample-data "$ROOT/sample"
else
  echo "demo: sample scene already in $ROOT/sample (delete it to regenerate)"
fi
"$Q" run "$ROOT/configs/demo.yaml" --out "$ROOT/out/demo"
cat <<MSG

Demo outputs are in $ROOT/out/demo:
$(ls -1 "$ROOT/out/demo" | sed 's/^/  /')
Look at them:
  gdalinfo -stats $ROOT/out/demo/ndvi.tif
  QGIS: Layer > Add Layer > Add Raster Layer… and pick out/demo/ndvi.tif
        (Properties > Symbology > Singleband pseudocolor, RdYlGn, -0.2…0.9 shows vegetation);
        add sample/protected_zones.geojson on top.
MSG
