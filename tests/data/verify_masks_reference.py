#!/usr/bin/python3
"""Per-mask verification reference for met.verify `masks` / `cells`, with numpy and OGR only.

usage: verify_masks_reference.py polygons DIR
         masks.geojson in fc.tif's CRS: three disjoint polygons (field `name`: north, core, rest) that together
         cover the grid and more (core: an irregular polygon with a hole; north: a band minus core; rest:
         a box minus both, so it has a hole of its own), made with OGR's Difference
       verify_masks_reference.py compare DIR MASKS IDFIELD THRESHOLDS WINDOWS GRID.json STATIONS.json
         GRID.json: met.verify mask_json of fc.b1 (forecast) against fc.b2 (observation) with fss_windows;
         STATIONS.json: mask_json of fc (one band per lead) against obs.csv per lead (verify_reference.py make).
         The reference: a cell belongs to the first polygon of MASKS (a GeoJSON/GeoPackage in fc.tif's CRS)
         containing its centre, a station to the first containing it (OGR Contains); the sums per mask and lead
         by numpy, FSS by brute-force window slices. Prints SUMDIFF (largest relative difference of a partial
         sum), COUNTS (1 when every count equals), ROWS (rows compared), FSSDIFF (largest |FSS sum difference|)
"""
import json
import sys

import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()


def grid(d):
    ds = gdal.Open(f"{d}/fc.tif")
    return ds, ds.GetGeoTransform(), ds.GetProjection()


def polygons(d):
    ds, gt, wkt = grid(d)
    w, h = ds.RasterXSize * gt[1], ds.RasterYSize * -gt[5]
    x0, y1 = gt[0], gt[3]

    def poly(pts, hole=None):
        p = ogr.Geometry(ogr.wkbPolygon)
        for ring_pts in [pts] + ([hole] if hole else []):
            r = ogr.Geometry(ogr.wkbLinearRing)
            for u, v in ring_pts + [ring_pts[0]]:
                r.AddPoint_2D(x0 + u * w + 111.1, y1 - v * h - 77.7)  # off the cell centres and edges
            p.AddGeometry(r)
        return p

    core = poly([(0.2, 0.3), (0.55, 0.17), (0.8, 0.45), (0.62, 0.83), (0.27, 0.71)],
                [(0.4, 0.42), (0.55, 0.4), (0.5, 0.58)])
    north = poly([(-0.1, -0.1), (1.1, -0.1), (1.1, 0.37), (-0.1, 0.29)]).Difference(core)
    rest = poly([(-0.2, -0.2), (1.2, -0.2), (1.2, 1.2), (-0.2, 1.2)]).Difference(core.Union(north))
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    out = ogr.GetDriverByName("GeoJSON").CreateDataSource(f"{d}/masks.geojson")
    layer = out.CreateLayer("masks", srs, ogr.wkbUnknown)
    layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    for name, g in (("north", north), ("core", core), ("rest", rest)):
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetField("name", name)
        f.SetGeometry(g)
        layer.CreateFeature(f)
    out = None


def read_masks(path, id_field):
    ds = ogr.Open(path)
    layer = ds.GetLayer(0)
    return [(f.GetField(id_field) if id_field else str(f.GetFID()), f.GetGeometryRef().Clone()) for f in layer]


def locate(masks, xs, ys):
    out = np.full(len(xs), -1)
    env = [g.GetEnvelope() for _, g in masks]
    for i, (x, y) in enumerate(zip(xs, ys)):
        p = ogr.Geometry(ogr.wkbPoint)
        p.AddPoint_2D(float(x), float(y))
        for m, (_, g) in enumerate(masks):
            e = env[m]
            if e[0] <= x <= e[1] and e[2] <= y <= e[3] and g.Contains(p):
                out[i] = m
                break
    return out


def sums(f, o, thresholds):
    keep = ~np.isnan(f) & ~np.isnan(o)
    f, o = f[keep].astype(float), o[keep].astype(float)
    e = f - o
    s = {"n": len(e), "within_1": int((np.abs(e) <= 1).sum()), "within_2": int((np.abs(e) <= 2).sum()),
         "f": f.sum(), "o": o.sum(), "e": e.sum(), "abs_e": np.abs(e).sum(), "e2": (e * e).sum(),
         "f2": (f * f).sum(), "o2": (o * o).sum(), "fo": (f * o).sum()}
    cat = []
    for t in thresholds:
        fe, oe = f >= t, o >= t
        cat.append({"hits": int((fe & oe).sum()), "misses": int((~fe & oe).sum()),
                    "false_alarms": int((fe & ~oe).sum()), "correct_negatives": int((~fe & ~oe).sum())})
    return s, cat


def fss_by_mask(f, o, label, nmasks, t, n):
    valid = ~np.isnan(f) & ~np.isnan(o)
    fe, oe = valid & (f >= t), valid & (o >= t)
    hgt, wid = f.shape
    h = n // 2
    out = [[0, 0.0, 0.0, 0.0] for _ in range(nmasks)]
    for y in range(hgt):
        for x in range(wid):
            if not valid[y, x] or label[y, x] < 0:
                continue
            sl = (slice(max(0, y - h), min(hgt, y + h + 1)), slice(max(0, x - h), min(wid, x + h + 1)))
            c = valid[sl].sum()
            pf, po = fe[sl].sum() / c, oe[sl].sum() / c
            r = out[label[y, x]]
            r[0] += 1
            r[1] += (pf - po) ** 2
            r[2] += pf * pf
            r[3] += po * po
    return out


class Diff:
    def __init__(self):
        self.worst, self.counts, self.rows, self.fss = 0.0, True, 0, 0.0

    def row(self, ref_s, ref_c, ours):
        self.rows += 1
        o = ours["continuous"]["sums"]
        for k, v in ref_s.items():
            if k in ("n", "within_1", "within_2"):
                self.counts = self.counts and o[k] == v
            else:
                self.worst = max(self.worst, abs(o[k] - v) / max(1.0, abs(v)))
        for rc, oc in zip(ref_c, ours["categorical"]):
            self.counts = self.counts and all(rc[k] == oc[k] for k in rc)
        self.counts = self.counts and len(ref_c) == len(ours["categorical"])


def compare(d, masks_path, id_field, thresholds, windows, grid_json, stations_json):
    ds, gt, wkt = grid(d)
    masks = read_masks(masks_path, id_field)
    ids = [m[0] for m in masks]
    wid, hgt = ds.RasterXSize, ds.RasterYSize
    cx = gt[0] + (np.arange(wid) + 0.5) * gt[1]
    cy = gt[3] + (np.arange(hgt) + 0.5) * gt[5]
    xx, yy = np.meshgrid(cx, cy)
    label = locate(masks, xx.ravel(), yy.ravel()).reshape(hgt, wid)
    f = ds.GetRasterBand(1).ReadAsArray().astype(float)
    o = ds.GetRasterBand(2).ReadAsArray().astype(float)
    diff = Diff()

    # Grid to grid: rows of lead null, in mask order, every mask present.
    ours = json.load(open(grid_json))
    rows = {r["mask"]: r for r in ours["rows"] if r["lead"] is None}
    diff.counts = diff.counts and sorted(rows) == sorted(ids) and ours["count"] == len(ids)
    fss_ref = {(t, n): fss_by_mask(f, o, label, len(masks), t, n) for t in thresholds for n in windows}
    for m, name in enumerate(ids):
        s, c = sums(f[label == m], o[label == m], thresholds)
        diff.row(s, c, rows[name])
        for entry in rows[name].get("fss", []):
            r = fss_ref[(entry["threshold"], entry["window"])][m]
            diff.counts = diff.counts and entry["n"] == r[0]
            for k, v in zip(("d2", "f2", "o2"), r[1:]):
                diff.fss = max(diff.fss, abs(entry["sums"][k] - v))
    outside = int((~np.isnan(f) & ~np.isnan(o) & (label < 0)).sum())
    diff.counts = diff.counts and ours["pairs_outside_masks"] == outside

    # Grid to station, per lead and overall.
    raw = np.loadtxt(f"{d}/obs.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3, 4), dtype=float)
    lon, lat, lead, val = raw.T
    srs, g = osr.SpatialReference(), osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    g.ImportFromEPSG(4326)
    for s_ in (srs, g):
        s_.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    loc, inv = np.unique(np.stack([lon, lat], 1), axis=0, return_inverse=True)
    pts = np.array(osr.CoordinateTransformation(g, srs).TransformPoints(loc))
    where = locate(masks, pts[:, 0], pts[:, 1])[inv]
    col = np.floor((pts[:, 0] - gt[0]) / gt[1])[inv]
    row = np.floor((pts[:, 1] - gt[3]) / gt[5])[inv]
    inside = (col >= 0) & (row >= 0) & (col < wid) & (row < hgt)
    fc = np.full(len(val), np.nan)
    for b in range(ds.RasterCount):
        sel = inside & (lead == b + 1)
        fc[sel] = ds.GetRasterBand(b + 1).ReadAsArray()[row[sel].astype(int), col[sel].astype(int)]
    ours = json.load(open(stations_json))
    got = {(r["mask"], r["lead"]): r for r in ours["rows"]}
    diff.counts = diff.counts and len(got) == len(ids) * (ds.RasterCount + 1)
    for m, name in enumerate(ids):
        for b in [None] + list(range(1, ds.RasterCount + 1)):
            sel = inside & (where == m) & (True if b is None else lead == b)
            s, c = sums(fc[sel], val[sel], thresholds)
            diff.row(s, c, got[(name, b)])
    print(f"SUMDIFF {diff.worst:.3e} COUNTS {int(diff.counts)} ROWS {diff.rows} FSSDIFF {diff.fss:.3e}")


def aggregate(masks_json, overall_json):
    m, o = json.load(open(masks_json)), json.load(open(overall_json))
    worst, counts, tables = 0.0, m["pairs_outside_masks"] == 0, 0
    targets = [(None, o)] + [(b["lead"], b) for b in o.get("by_lead", [])]
    for lead, want in targets:
        rows = [r for r in m["rows"] if r["lead"] == lead]
        tables += 1
        for k, v in want["continuous"]["sums"].items():
            total = sum(r["continuous"]["sums"][k] for r in rows)
            if k in ("n", "within_1", "within_2"):
                counts = counts and total == v
            else:
                worst = max(worst, abs(total - v) / max(1.0, abs(v)))
        for i, c in enumerate(want["categorical"]):
            for k in ("hits", "misses", "false_alarms", "correct_negatives"):
                counts = counts and sum(r["categorical"][i][k] for r in rows) == c[k]
        for i, fw in enumerate(want.get("fss", []) if lead is None else []):
            counts = counts and sum(r["fss"][i]["n"] for r in rows) == fw["n"]
            for k in ("d2", "f2", "o2"):
                total = sum(r["fss"][i]["sums"][k] for r in rows)
                worst = max(worst, abs(total - fw["sums"][k]) / max(1.0, abs(fw["sums"][k])))
    print(f"AGGDIFF {worst:.3e} AGGCOUNTS {int(counts)} AGGROWS {tables}")


def leads(per_lead, singles):
    ours = json.load(open(per_lead))
    worst, counts = 0.0, len(ours["by_lead"]) == len(singles)

    def diff(a, b):
        return abs(a - b) / max(1.0, abs(b))

    for entry, path in zip(ours["by_lead"], singles):
        one = json.load(open(path))
        for k, v in one["continuous"]["sums"].items():
            worst = max(worst, diff(entry["continuous"]["sums"][k], v))
        counts = counts and entry["categorical"] == one["categorical"]
        counts = counts and [(f["threshold"], f["window"], f["n"]) for f in entry["fss"]] == \
            [(f["threshold"], f["window"], f["n"]) for f in one["fss"]]
        for a, b in zip(entry["fss"], one["fss"]):
            worst = max(worst, max(diff(a["sums"][k], b["sums"][k]) for k in ("d2", "f2", "o2")))
    for k, v in ours["continuous"]["sums"].items():
        total = sum(e["continuous"]["sums"][k] for e in ours["by_lead"])
        counts = counts and (total == v if k in ("n", "within_1", "within_2") else True)
        worst = max(worst, diff(total, v))
    for i, f in enumerate(ours["fss"]):
        counts = counts and sum(e["fss"][i]["n"] for e in ours["by_lead"]) == f["n"]
        for k in ("d2", "f2", "o2"):
            worst = max(worst, diff(sum(e["fss"][i]["sums"][k] for e in ours["by_lead"]), f["sums"][k]))
    print(f"LEADDIFF {worst:.3e} LEADCOUNTS {int(counts)} LEADS {len(ours['by_lead'])}")


if __name__ == "__main__":
    if sys.argv[1] == "polygons":
        polygons(sys.argv[2])
    elif sys.argv[1] == "aggregate":
        aggregate(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "leads":
        leads(sys.argv[2], sys.argv[3:])
    else:
        compare(sys.argv[2], sys.argv[3], sys.argv[4], [float(t) for t in sys.argv[5].split(",")],
                [int(n) for n in sys.argv[6].split(",")], sys.argv[7], sys.argv[8])
