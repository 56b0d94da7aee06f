#!/usr/bin/python3
"""Grid-to-grid data for met.verify's fractions skill score and report, and independent checks.

usage: verify_fss_reference.py make DIR
         fc.tif, obs.tif: 61 x 47 cells of 1 km (EPSG:32649), rain-like fields with scattered NaNs (different
         cells in each) and a NaN block at an edge
       verify_fss_reference.py fss DIR THRESHOLDS WINDOWS OURS.json   (comma separated)
         brute force with numpy (every window offset shifted over the grid, cells outside not counted):
         prints COUNTS (1 when every n is equal), MAXDIFF (largest relative difference of the sums
         d2/f2/o2, stored with 17 digits), FSSDIFF (of FSS, 6 significant digits in the JSON), PAIRS
         (threshold/window pairs compared)
       verify_fss_reference.py report OURS.html OURS.json
         parses the page with html.parser: WELLFORMED (1 when every element is closed in order), SVGS,
         PLOTS (1 when the plots are exactly thresholds/performance/fss, plus leads when the JSON has
         by_lead), POINTS, EXPECTED_POINTS and POINTDIFF (performance-diagram points against POD and
         the success ratio computed from the JSON's counts), CELLS and CELLDIFF (table cells against
         the JSON), PNG (1 when the bias map decodes as an RGBA PNG)
"""
import base64
import json
import sys
from html.parser import HTMLParser

import numpy as np
from osgeo import gdal

gdal.UseExceptions()


def make(d):
    rng = np.random.default_rng(11)
    h, w = 47, 61
    r, c = np.mgrid[0:h, 0:w].astype(float)
    obs = 40 * np.maximum(0, np.sin(c / 9) * np.cos(r / 7)) ** 2 + rng.gamma(0.6, 3, (h, w))
    fc = 40 * np.maximum(0, np.sin((c - 3) / 9) * np.cos((r + 2) / 7)) ** 2 + rng.gamma(0.6, 3, (h, w))
    obs[rng.random((h, w)) < 0.05] = np.nan
    fc[rng.random((h, w)) < 0.05] = np.nan
    fc[:6, 50:] = np.nan
    for name, a in (("fc", fc), ("obs", obs)):
        ds = gdal.GetDriverByName("GTiff").Create(f"{d}/{name}.tif", w, h, 1, gdal.GDT_Float32)
        ds.SetGeoTransform([500000, 1000, 0, 3800000, 0, -1000])
        ds.SetProjection("EPSG:32649")
        ds.GetRasterBand(1).SetNoDataValue(float("nan"))
        ds.GetRasterBand(1).WriteArray(a.astype(np.float32))
        ds = None


def read(path):
    ds = gdal.Open(path)
    return ds.GetRasterBand(1).ReadAsArray().astype(np.float64)


def box_count(mask, n):
    """For every cell, the number of True cells of mask in the n x n window centred on it (inside the grid)."""
    h, w = mask.shape
    k = n // 2
    padded = np.zeros((h + 2 * k, w + 2 * k))
    padded[k:k + h, k:k + w] = mask
    out = np.zeros((h, w))
    for dy in range(n):
        for dx in range(n):
            out += padded[dy:dy + h, dx:dx + w]
    return out


def fss(d, thresholds, windows, ours):
    f, o = read(f"{d}/fc.tif"), read(f"{d}/obs.tif")
    valid = ~np.isnan(f) & ~np.isnan(o)
    got = {(e["threshold"], e["window"]): e for e in json.load(open(ours))["fss"]}
    counts_ok, maxdiff, fssdiff, pairs = 1, 0.0, 0.0, 0
    for t in thresholds:
        for n in windows:
            cells = box_count(valid, n)[valid]
            pf = box_count(valid & (f >= t), n)[valid] / cells
            po = box_count(valid & (o >= t), n)[valid] / cells
            ref = {"d2": np.sum((pf - po) ** 2), "f2": np.sum(pf ** 2), "o2": np.sum(po ** 2)}
            e = got[(t, n)]
            if e["n"] != int(valid.sum()):
                counts_ok = 0
            for k, v in ref.items():
                maxdiff = max(maxdiff, abs(e["sums"][k] - v) / max(1.0, abs(v)))
            score = 1 - ref["d2"] / (ref["f2"] + ref["o2"])
            fssdiff = max(fssdiff, abs(e["fss"] - score))
            pairs += 1
    print("COUNTS", counts_ok)
    print("MAXDIFF", maxdiff)
    print("FSSDIFF", fssdiff)
    print("PAIRS", pairs)


VOID = {"meta", "img", "br", "hr", "link", "input"}


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.bad, self.plots, self.points, self.cells, self.png = [], 0, [], [], [], None
        self.row = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.plots.append(a.get("data-plot"))
        if tag == "circle" and a.get("class") == "point":
            self.points.append(a)
        if tag == "tr":
            self.row = a
        if tag == "td" and "data-key" in a:
            self.cells.append([dict(self.row), a["data-key"], ""])
            self.in_cell = True
        if tag == "img" and a.get("id") == "bias-map":
            self.png = base64.b64decode(a["src"].split("base64,", 1)[1])
        if tag not in VOID:
            self.stack.append((tag, self.cells[-1] if tag == "td" and "data-key" in a else None))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1][0] != tag:
            self.bad += 1
            return
        self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == "td" and self.stack[-1][1] is not None:
            self.stack[-1][1][2] += data


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


def report(html_path, json_path):
    p = Page()
    p.feed(open(html_path, encoding="utf-8").read())
    p.close()
    js = json.load(open(json_path))
    print("WELLFORMED", int(p.bad == 0 and not p.stack))
    print("SVGS", len(p.plots))
    want = (["leads"] if "by_lead" in js else []) + ["thresholds", "performance"] + (["fss"] if "fss" in js else [])
    print("PLOTS", int(p.plots == want))
    cats = {c["threshold"]: c for c in js["categorical"]}
    diff = 0.0
    for pt in p.points:
        c = cats[float(pt["data-threshold"])]
        # POD = hits / (hits + misses), success ratio = hits / (hits + false alarms), from the exact counts.
        pod = c["hits"] / (c["hits"] + c["misses"])
        sr = c["hits"] / (c["hits"] + c["false_alarms"])
        diff = max(diff, abs(float(pt["data-pod"]) - pod), abs(float(pt["data-sr"]) - sr))
    print("POINTS", len(p.points))
    print("EXPECTED_POINTS", sum(1 for c in js["categorical"] if c["pod"] is not None and c["far"] is not None))
    print("POINTDIFF", diff)
    # Every table cell against the JSON: continuous (overall and by lead), categorical, FSS.
    fss = {(e["threshold"], e["window"]): e for e in js.get("fss", [])}
    leads = {float(e["lead"]): e for e in js.get("by_lead", [])}
    bad, n = 0, 0
    for row, key, text in p.cells:
        value = float(text) if text.strip() else None
        if "data-window" in row:
            ref = fss[(float(row["data-threshold"]), int(row["data-window"]))][key]
        elif "data-threshold" in row:
            ref = cats[float(row["data-threshold"])][key]
        else:
            lead = row["data-lead"]
            src = js if lead == "all" else leads[float(lead)]
            ref = src["continuous"][key]
        n += 1
        if not close(value, ref):
            bad += 1
            print("MISMATCH", row, key, text, ref)
    print("CELLS", n)
    print("CELLDIFF", bad)
    ok = 0
    if p.png is not None and p.png[:8] == b"\x89PNG\r\n\x1a\n":
        gdal.FileFromMemBuffer("/vsimem/bias.png", p.png)
        ds = gdal.Open("/vsimem/bias.png")
        ok = int(ds.RasterCount == 4 and ds.RasterXSize > 0)
        ds = None
    print("PNG", ok)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2])
    elif cmd == "fss":
        fss(sys.argv[2], [float(t) for t in sys.argv[3].split(",")], [int(n) for n in sys.argv[4].split(",")],
            sys.argv[5])
    elif cmd == "report":
        report(sys.argv[2], sys.argv[3])
