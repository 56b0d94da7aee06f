#!/usr/bin/python3
"""Per-lead grid-to-station verification data and an independent numpy implementation of the scores.

usage: verify_reference.py make DIR STATIONS LEADS SIZE CRS RES X0 Y0
         fc.tif   LEADS bands (band i = lead i hours), SIZE x SIZE cells of RES in CRS from (X0, Y0) (top left):
                  a precipitation-like forecast that changes with lead time
         obs.csv  id,lon,lat,lead,value: STATIONS stations x LEADS rows (row order: lead-major, shuffled
                  stations), some rows with the value `nan` (missing), a few stations outside the grid
       verify_reference.py compare DIR THRESHOLDS OURS.json
         the same scores against met.verify's JSON: MAXDIFF (largest relative difference of a continuous
         score), COUNTS (1 when every n and contingency count is equal), LEADS (per-lead tables compared)
       verify_reference.py score DIR THRESHOLDS    (comma separated)
         reads fc.tif and obs.csv with numpy only (station -> grid CRS by osr, the cell containing it),
         prints the scores overall and per lead as JSON: n, bias, mae, rmse, correlation, accuracy_1/2,
         and hits/misses/false_alarms/correct_negatives per threshold (event: value >= threshold)
"""
import json
import sys

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()


def make(d, stations, leads, size, crs, res, x0, y0):
    rng = np.random.default_rng(42)
    srs = osr.SpatialReference()
    srs.SetFromUserInput(crs)
    drv = gdal.GetDriverByName("GTiff")
    ds = drv.Create(f"{d}/fc.tif", size, size, leads, gdal.GDT_Float32,
                    ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "INTERLEAVE=BAND"])
    ds.SetGeoTransform([x0, res, 0, y0, 0, -res])
    ds.SetProjection(srs.ExportToWkt())
    r, c = np.mgrid[0:size, 0:size].astype(float)
    for b in range(leads):
        f = 30 * np.maximum(0, np.sin(c / size * 6 + b * 0.3) * np.cos(r / size * 5 - b * 0.2)) ** 2
        ds.GetRasterBand(b + 1).WriteArray(np.round(f, 2).astype(np.float32))
    ds = None
    # Stations: uniformly inside the grid (lon/lat), a few outside.
    g = osr.SpatialReference()
    g.ImportFromEPSG(4326)
    for s in (srs, g):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(srs, g)
    px = rng.uniform(0.01, size - 0.01, stations)
    py = rng.uniform(0.01, size - 0.01, stations)
    px[:3] = [-5, size + 5, size / 2]  # outside the grid
    py[:3] = [size / 2, size / 2, -7]
    pts = np.array(ct.TransformPoints(np.stack([x0 + px * res, y0 - py * res], 1)))
    lon, lat = pts[:, 0], pts[:, 1]
    with open(f"{d}/obs.csv", "w") as out:
        out.write("id,lon,lat,lead,value\n")
        for b in range(leads):
            order = rng.permutation(stations)
            truth = 30 * np.maximum(0, np.sin(px / size * 6 + b * 0.3 + 0.05) * np.cos(py / size * 5 - b * 0.2)) ** 2
            val = np.round(truth + rng.normal(0, 1.5, stations), 2).clip(0)
            miss = rng.random(stations) < 0.01
            lines = [f"s{i},{lon[i]:.7f},{lat[i]:.7f},{b + 1},{'nan' if miss[i] else val[i]}\n" for i in order]
            out.writelines(lines)


def score(d, thresholds):
    ds = gdal.Open(f"{d}/fc.tif")
    gt = ds.GetGeoTransform()
    srs = osr.SpatialReference()
    srs.ImportFromWkt(ds.GetProjection())
    g = osr.SpatialReference()
    g.ImportFromEPSG(4326)
    for s in (srs, g):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    raw = np.loadtxt(f"{d}/obs.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3, 4), dtype=float)
    lon, lat, lead, val = raw.T
    ok = ~np.isnan(val)
    # Each distinct location once (like the pipeline), then the cell containing it.
    loc, inv = np.unique(np.stack([lon, lat], 1), axis=0, return_inverse=True)
    pts = np.array(osr.CoordinateTransformation(g, srs).TransformPoints(loc))
    col = np.floor((pts[:, 0] - gt[0]) / gt[1])[inv]
    row = np.floor((pts[:, 1] - gt[3]) / gt[5])[inv]
    inside = (col >= 0) & (row >= 0) & (col < ds.RasterXSize) & (row < ds.RasterYSize)
    use = ok & inside
    f = np.full(len(val), np.nan)
    for b in range(ds.RasterCount):
        sel = use & (lead == b + 1)
        band = ds.GetRasterBand(b + 1).ReadAsArray()
        f[sel] = band[row[sel].astype(int), col[sel].astype(int)]

    def scores(mask):
        fo, ob = f[mask], val[mask]
        keep = ~np.isnan(fo)
        fo, ob = fo[keep], ob[keep]
        e = fo - ob
        out = {"n": int(len(e)), "bias": e.mean(), "mae": np.abs(e).mean(), "rmse": np.sqrt((e * e).mean()),
               "correlation": np.corrcoef(fo, ob)[0, 1], "accuracy_1": (np.abs(e) <= 1).mean(),
               "accuracy_2": (np.abs(e) <= 2).mean(), "categorical": []}
        for t in thresholds:
            fe, oe = fo >= t, ob >= t
            out["categorical"].append({"threshold": t, "hits": int((fe & oe).sum()), "misses": int((~fe & oe).sum()),
                                       "false_alarms": int((fe & ~oe).sum()),
                                       "correct_negatives": int((~fe & ~oe).sum())})
        return out

    result = {"overall": scores(use), "outside_grid": int((ok & ~inside).sum()), "missing": int((~ok).sum()),
              "by_lead": [dict(lead=b + 1, **scores(use & (lead == b + 1))) for b in range(ds.RasterCount)]}
    return result


def compare(ref, ours):
    worst, counts, leads = 0.0, True, 0
    pairs = [(ref["overall"], ours)] + [(r, o) for r, o in zip(ref["by_lead"], ours.get("by_lead", []))]
    leads = len(pairs) - 1
    counts = leads == len(ref["by_lead"]) and ours["outside_grid"] == ref["outside_grid"] and \
        ours["rejected_missing"] == ref["missing"]
    for r, o in pairs:
        c = o["continuous"]
        counts = counts and c["n"] == r["n"]
        for k in ("bias", "mae", "rmse", "correlation", "accuracy_1", "accuracy_2"):
            if k in c and c[k] is not None:
                worst = max(worst, abs(c[k] - r[k]) / max(1e-12, abs(r[k]), 1e-3))
        for rc, oc in zip(r["categorical"], o["categorical"]):
            counts = counts and all(rc[k] == oc[k] for k in ("hits", "misses", "false_alarms", "correct_negatives"))
    print(f"MAXDIFF {worst:.3e} COUNTS {int(counts)} LEADS {leads}")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], float(sys.argv[7]),
             float(sys.argv[8]), float(sys.argv[9]))
    elif sys.argv[1] == "compare":
        compare(score(sys.argv[2], [float(t) for t in sys.argv[3].split(",")]), json.load(open(sys.argv[4])))
    else:
        print(json.dumps(score(sys.argv[2], [float(t) for t in sys.argv[3].split(",")])))
