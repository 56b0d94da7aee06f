#!/usr/bin/python3
"""Writes the small synthetic weather files the meteorology tests read, with GDAL's own writers.

usage: make_weather.py OUT_DIR
  global.grib2  GRIB2, 1 degree global grid with longitudes 0..359 (centres), three messages:
                TMP 2-HTGL ref 2026-07-01T00Z lead 12 h and 24 h, values K = 250 + lon/10 + lat/100
                (lead 24 h: +1 K), and HGT 0-SFC (model orography, m) = 1000 + 10 * lon.
  fields.nc     NetCDF-CF with variables t2m (K) at times 0 h and 6 h after 2026-07-01 00:00
                (value 280 + hour) and tp (m, 0.0125), on a 0.5 degree grid over 100..115E 28..40N.
"""
import sys

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
out = sys.argv[1]

# GRIB2: centres at 0, 1, ..., 359 (the origin half a cell west of 0), as global models do.
w, h = 360, 181
lon = np.arange(w) * 1.0
lat = 90.0 - np.arange(h) * 1.0
mem = gdal.GetDriverByName("MEM").Create("", w, h, 3, gdal.GDT_Float32)
mem.SetGeoTransform([-0.5, 1, 0, 90.5, 0, -1])
mem.SetProjection("EPSG:4326")
base = 250.0 + lon[None, :] / 10.0 + lat[:, None] / 100.0
mem.GetRasterBand(1).WriteArray(base.astype(np.float32))
mem.GetRasterBand(2).WriteArray((base + 1.0).astype(np.float32))
mem.GetRasterBand(3).WriteArray(np.broadcast_to(1000.0 + 10.0 * lon[None, :], (h, w)).astype(np.float32))
ids = "CENTER=7 SUBCENTER=0 MASTER_TABLE=2 SIGNF_REF_TIME=1 REF_TIME=2026-07-01T00:00:00Z PROD_STATUS=0 TYPE=1"
# Product template 4.0: category, number, process, bg, id, hours cut-off, minutes, time unit (1 = h),
# lead, first surface type (103 = height above ground, 1 = ground), scale, value, second surface…
opts = ["DISCIPLINE=0", "IDS=" + ids, "PDS_PDTN=0", "INPUT_UNIT=K",  # temperatures given in K
        "BAND_1_PDS_TEMPLATE_ASSEMBLED_VALUES=0 0 2 0 96 0 0 1 12 103 0 2 255 0 0",
        "BAND_2_PDS_TEMPLATE_ASSEMBLED_VALUES=0 0 2 0 96 0 0 1 24 103 0 2 255 0 0",
        "BAND_3_PDS_TEMPLATE_ASSEMBLED_VALUES=3 5 2 0 96 0 0 1 0 1 0 0 255 0 0"]
gdal.GetDriverByName("GRIB").CreateCopy(out + "/global.grib2", mem, options=opts)

# NetCDF through GDAL's multidimensional API: two variables, t2m with a CF time dimension.
w, h = 30, 24
ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(out + "/fields.nc")
rg = ds.GetRootGroup()
dt = rg.CreateDimension("time", None, None, 2)
dy = rg.CreateDimension("lat", None, None, h)
dx = rg.CreateDimension("lon", None, None, w)
f64 = gdal.ExtendedDataType.Create(gdal.GDT_Float64)
f32 = gdal.ExtendedDataType.Create(gdal.GDT_Float32)
tv = rg.CreateMDArray("time", [dt], f64)
tv.Write(np.array([0.0, 6.0]))
a = tv.CreateAttribute("units", [], gdal.ExtendedDataType.CreateString())
a.Write("hours since 2026-07-01 00:00:00")
yv = rg.CreateMDArray("lat", [dy], f64)
yv.Write(40.0 - 0.25 - 0.5 * np.arange(h))
yv.CreateAttribute("units", [], gdal.ExtendedDataType.CreateString()).Write("degrees_north")
xv = rg.CreateMDArray("lon", [dx], f64)
xv.Write(100.0 + 0.25 + 0.5 * np.arange(w))
xv.CreateAttribute("units", [], gdal.ExtendedDataType.CreateString()).Write("degrees_east")
t2m = rg.CreateMDArray("t2m", [dt, dy, dx], f32)
t2m.Write(np.stack([np.full((h, w), 280.0), np.full((h, w), 286.0)]).astype(np.float32))
t2m.CreateAttribute("units", [], gdal.ExtendedDataType.CreateString()).Write("K")
tp = rg.CreateMDArray("tp", [dy, dx], f32)
tp.Write(np.full((h, w), 0.0125, dtype=np.float32))
tp.CreateAttribute("units", [], gdal.ExtendedDataType.CreateString()).Write("m")
del ds
