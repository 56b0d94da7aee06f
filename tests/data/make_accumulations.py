#!/usr/bin/python3
"""A GRIB2 file of accumulated precipitation, written with GDAL's GRIB driver, for period totals.

usage: make_accumulations.py OUT_DIR
  apcp.grib2  1 degree grid over 100..116E 28..40N, reference time 2026-07-01T00Z, product
              template 4.0: APCP (0/1/8, kg m-2) accumulated from the start at leads 6, 12 and 24 h,
              total(L) = 0.5 L + (lon - 100) / 10 mm; and PRATE (0/1/7, kg m-2 s-1) = 0.001 at lead 12 h.
"""
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
out = sys.argv[1]
w, h = 16, 12
lon = 100.5 + np.arange(w)
mem = gdal.GetDriverByName("MEM").Create("", w, h, 4, gdal.GDT_Float32)
mem.SetGeoTransform([100, 1, 0, 40, 0, -1])
mem.SetProjection("EPSG:4326")
for b, lead in enumerate((6, 12, 24), start=1):
    mem.GetRasterBand(b).WriteArray(np.broadcast_to(0.5 * lead + (lon[None, :] - 100) / 10, (h, w)).astype(np.float32))
mem.GetRasterBand(4).WriteArray(np.full((h, w), 0.001, dtype=np.float32))
ids = "CENTER=7 SUBCENTER=0 MASTER_TABLE=2 SIGNF_REF_TIME=1 REF_TIME=2026-07-01T00:00:00Z PROD_STATUS=0 TYPE=1"
# Template 4.0: category, number, process, bg, id, cut-off h, min, time unit (1 = h), lead, surface 1 (ground)…
opts = ["DISCIPLINE=0", "IDS=" + ids, "PDS_PDTN=0"]
for b, (number, lead) in enumerate(((8, 6), (8, 12), (8, 24), (7, 12)), start=1):
    opts.append("BAND_%d_PDS_TEMPLATE_ASSEMBLED_VALUES=1 %d 2 0 96 0 0 1 %d 1 0 0 255 0 0" % (b, number, lead))
gdal.GetDriverByName("GRIB").CreateCopy(out + "/apcp.grib2", mem, options=opts)
