#!/usr/bin/env bash
# Strong scaling of one job under MPI on this machine: the same job and data with
#   np1_t1   one process, 1 thread                (the base)
#   np2_t1   mpirun -n 2, 1 thread per rank       (MPI only)
#   np1_t2   one process, 2 threads               (oneTBB only)
# alternating, `sync` before each run. Prints medians, speed-up and efficiency over np1_t1, and
# how the last run's time divides: the raster pass ("computing": split over ranks), the COG
# encoding on rank 0 ("finishing"), and the zonal statistics ("stats": split over ranks).
# Usage: scripts/bench-mpi.sh [--size N] [--runs R]   (default N=8000, R=3); also scripts/bench.sh mpi.
# The job (MPI_BENCH_JOB): `supervision` (default: configs/supervision.yaml on the scene of
# `qinling sample-data --size N`: NDVI change, 1 km grid, zonal statistics, alerts, GeoPackage,
# CSV and an alert-level COG) or `raster` (NDVI and a 3x3 slope, two COGs). Not part of CI.
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
export QINLING_STORE=none
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=8000; RUNS=3
bench_args bench-mpi "$@"
command -v mpirun >/dev/null || { echo "bench-mpi: mpirun missing (scripts/setup.sh installs openmpi-bin)" >&2; exit 2; }
Q="${QINLING_BUILD_DIR:-$ROOT/build}/qinling"
[ -x "$Q" ] || { echo "bench-mpi: build qinling first (scripts/setup.sh)" >&2; exit 2; }
D="$ROOT/bench-data/n$SIZE"
W="$ROOT/bench-data/mpi-$SIZE"
mkdir -p "$W"
if [ ! -f "$D/truth.json" ]; then
  echo "bench-mpi: generating the ${SIZE}x${SIZE} scene…"
  "$Q" sample-data "$D" --size "$SIZE" --quiet
fi
JOB="${MPI_BENCH_JOB:-supervision}"
case "$JOB" in
  supervision)
    W="$W-supervision"; mkdir -p "$W"
    MASK="mask: [fill, cloud, dilated_cloud, shadow, snow]"
    cat > "$W/job.yaml" <<YAML
job: bench-mpi-supervision
inputs:
  before: {path: $D/scene_2023-07.tif, sensor: landsat89_c2l2, $MASK}
  after: {path: $D/scene_2024-07.tif, sensor: landsat89_c2l2, $MASK}
  region: {path: $D/boundary.geojson}
  protected: {path: $D/protected_zones.geojson}
steps:
  - {id: ndvi_change, kind: change.dndvi, before: before, after: after}
  - {id: grid, kind: grid.build, crs: "EPSG:4547", cell_size: 1000, region: region}
  - id: stats
    kind: zonal.stats
    input: ndvi_change
    zones: grid
    stats: [mean, min, p10, median, valid_fraction, count, "loss_share=frac_below(-0.2)"]
  - {id: cells, kind: zones.overlay, input: stats, zones: protected}
  - {id: alerts, kind: supervision.alerts, input: cells, rules: $ROOT/configs/rules/vegetation_loss.yaml, language: zh}
outputs:
  - {from: alerts, path: supervision.gpkg, format: gpkg}
  - {from: alerts, path: supervision.csv, format: csv}
  - {from: alerts, path: alert_levels.tif, format: cog}
YAML
    COMPARE="supervision.csv alert_levels.tif" ;;
  raster)
    cat > "$W/job.yaml" <<YAML
job: bench-mpi
inputs:
  scene: {path: $D/scene_2024-07.tif, bands: {red: 4, nir: 5}}
  dem: {path: $D/dem.tif}
steps:
  - {id: ndvi, kind: index.ndvi, input: scene}
  - {id: slope, kind: terrain.slope, input: dem}
outputs:
  - {from: ndvi, path: ndvi.tif, format: cog}
  - {from: slope, path: slope.tif, format: cog}
YAML
    COMPARE="ndvi.tif slope.tif" ;;
  *) echo "bench-mpi: MPI_BENCH_JOB must be supervision or raster" >&2; exit 2 ;;
esac
ROOTFLAG=""; [ "$(id -u)" -eq 0 ] && ROOTFLAG="--allow-run-as-root"
MPI="mpirun $ROOTFLAG --oversubscribe --bind-to none"
declare -A CMD
CMD[np1_t1]="$Q run $W/job.yaml --out $W/np1_t1 --threads 1 2>$W/np1_t1.log"
CMD[np2_t1]="$MPI -n 2 $Q run $W/job.yaml --out $W/np2_t1 --threads 1 2>$W/np2_t1.log"
CMD[np1_t2]="$Q run $W/job.yaml --out $W/np1_t2 --threads 2 2>$W/np1_t2.log"
bench_alternate "$RUNS" "$W/results.tsv" "$W" np1_t1 np2_t1 np1_t2
for f in $COMPARE; do
  cmp -s "$W/np1_t1/$f" "$W/np2_t1/$f" && cmp -s "$W/np1_t1/$f" "$W/np1_t2/$f" \
    || { echo "bench-mpi: $f differs between runs"; exit 1; }
done
median() { awk -v n="$1" '$1==n {print $3}' "$W/results.tsv" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
phase() { grep -o "$2: done in [0-9.]* s" "$W/$1.log" | awk '{s+=$(NF-1)} END {printf "%.1f", s}'; }
T1=$(median np1_t1); T2=$(median np2_t1); T12=$(median np1_t2)
echo
# Split over ranks: computing, stats (zonal). Serial on rank 0: publishing (COG/GeoTIFF encoding
# of outputs and work layers) and the other products (grid, overlay, alerts and their COG).
printf "%-8s %8s  %s\n" config median "last run (s): computing | publishing | stats | other products"
for c in np1_t1 np2_t1 np1_t2; do
  pub=$(awk -v a="$(phase $c 'finishing')" -v b="$(phase $c 'work layer')" 'BEGIN {printf "%.1f", a + b}')
  other=$(for p in grid cells alerts; do phase $c "$p"; echo; done | awk '{s+=$1} END {printf "%.1f", s}')
  printf "%-8s %7.2fs  %s | %s | %s | %s\n" "$c" "$(median $c)" "$(phase $c 'computing')" "$pub" \
    "$(phase $c 'stats')" "$other"
done
awk -v a="$T1" -v b="$T2" -v c="$T12" 'BEGIN {
  printf "MPI 2 ranks x 1 thread: speed-up %.2f, efficiency %.0f%%\n", a / b, 100 * a / b / 2;
  printf "1 rank x 2 threads:     speed-up %.2f, efficiency %.0f%%\n", a / c, 100 * a / c / 2 }'
echo "outputs byte-identical across the three configurations"
