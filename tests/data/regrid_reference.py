#!/usr/bin/python3
"""Source fields and independent references for the met.regrid tests (numpy + GDAL only).

usage: regrid_reference.py make DIR
         smooth.tif     0.25 deg, 100..116E 28..40N, f = 10 + 3 sin(lon*0.7 rad/deg) + 2 cos(lat*0.9) (Float32)
         global360.tif  0.5 deg global, longitudes 0..360 (origin 0), g(lon, lat) below
         global180.tif  the same field with longitudes -180..180
         rain360.tif    0.25 deg global 0..360 precipitation (mm): an elliptic blob around 108E 33.6N,
                        zero elsewhere; nodata -9999 over the first row (never used)
       regrid_reference.py analytic TIF          max |out - g(lon, lat)| at cell centres, NaN count
       regrid_reference.py total SOURCE TIF      the source total (sum of value x cell area on the sphere,
                                                 area = R^2 dlon (sin lat2 - sin lat1)) and the output total
                                                 (value x the target cell's area on the sphere, from its four
                                                 corners transformed by osr, Chamberlain & Duquette's formula)
       regrid_reference.py compare A B           max |A - B| and the number of cells differing by > 1e-4
"""
import sys

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()
R = 6371007.181


def g(lon, lat):
    return 5 + 2 * np.sin(np.radians(lon) * 2) + np.cos(np.radians(lat) * 3) + 0.5 * np.cos(np.radians(lon))


def write(path, a, gt, nodata=None):
    d = gdal.GetDriverByName("GTiff").Create(path, a.shape[1], a.shape[0], 1, gdal.GDT_Float32)
    d.SetGeoTransform(gt)
    d.SetProjection("EPSG:4326")
    if nodata is not None:
        d.GetRasterBand(1).SetNoDataValue(nodata)
    d.GetRasterBand(1).WriteArray(a.astype(np.float32))


def centres(x0, dx, n):
    return x0 + (np.arange(n) + 0.5) * dx


def make(out):
    lon = centres(100, 0.25, 64)
    lat = centres(40, -0.25, 48)
    f = 10 + 3 * np.sin(lon[None, :] * 0.7) + 2 * np.cos(lat[:, None] * 0.9)
    write(out + "/smooth.tif", f, [100, 0.25, 0, 40, 0, -0.25])
    lon = centres(0, 0.5, 720)
    lat = centres(90, -0.5, 360)
    write(out + "/global360.tif", g(lon[None, :], lat[:, None]), [0, 0.5, 0, 90, 0, -0.5])
    lon180 = centres(-180, 0.5, 720)
    write(out + "/global180.tif", g(lon180[None, :], lat[:, None]), [-180, 0.5, 0, 90, 0, -0.5])
    lon = centres(0, 0.25, 1440)
    lat = centres(90, -0.25, 720)
    q = ((lon[None, :] - 108) / 1.5) ** 2 + ((lat[:, None] - 33.6) / 1.0) ** 2
    rain = 30 * np.maximum(0, 1 - q)
    rain[0, :] = -9999
    write(out + "/rain360.tif", rain, [0, 0.25, 0, 90, 0, -0.25], nodata=-9999)


def read(path):
    ds = gdal.Open(path)
    b = ds.GetRasterBand(1)
    a = b.ReadAsArray().astype(float)
    nd = b.GetNoDataValue()
    if nd is not None:
        a[a == nd] = np.nan
    return ds, a


def lonlat_of(ds, col, row):
    gt = ds.GetGeoTransform()
    x = gt[0] + col * gt[1]
    y = gt[3] + row * gt[5]
    s = osr.SpatialReference()
    s.ImportFromWkt(ds.GetProjection())
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    w = osr.SpatialReference()
    w.ImportFromEPSG(4326)
    w.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    pts = np.array(osr.CoordinateTransformation(s, w).TransformPoints(np.stack([x.ravel(), y.ravel()], 1)))
    return pts[:, 0].reshape(x.shape), pts[:, 1].reshape(x.shape)


def analytic(path):
    ds, a = read(path)
    r, c = np.mgrid[0:a.shape[0], 0:a.shape[1]]
    lon, lat = lonlat_of(ds, c + 0.5, r + 0.5)
    print("MAXDIFF %.9g NAN %d" % (np.nanmax(np.abs(a - g(lon, lat))), int(np.isnan(a).sum())))


def total(source, path):
    sds, s = read(source)
    gt = sds.GetGeoTransform()
    lat_edges = np.radians(gt[3] + np.arange(s.shape[0] + 1) * gt[5])
    band = R * R * np.radians(abs(gt[1])) * np.abs(np.sin(lat_edges[:-1]) - np.sin(lat_edges[1:]))
    src_total = np.nansum(s * band[:, None])
    ds, a = read(path)
    r, c = np.mgrid[0:a.shape[0] + 1, 0:a.shape[1] + 1]
    lon, lat = lonlat_of(ds, c, r)
    lon, lat = np.radians(lon), np.radians(lat)
    # Corners in order (r,c) (r,c+1) (r+1,c+1) (r+1,c): area = R^2/2 |sum dlon (2 + sin lat1 + sin lat2)|.
    ring = [(slice(0, -1), slice(0, -1)), (slice(0, -1), slice(1, None)), (slice(1, None), slice(1, None)),
            (slice(1, None), slice(0, -1))]
    acc = np.zeros(a.shape)
    for k in range(4):
        p, q = ring[k], ring[(k + 1) % 4]
        acc += (lon[q] - lon[p]) * (2 + np.sin(lat[p]) + np.sin(lat[q]))
    area = np.abs(acc) * R * R / 2
    out_total = np.nansum(a * area)
    print("SOURCE %.9g OUTPUT %.9g RELERR %.9g NAN %d" % (src_total, out_total, out_total / src_total - 1,
                                                           int(np.isnan(a).sum())))


def compare(pa, pb):
    _, a = read(pa)
    _, b = read(pb)
    d = np.abs(a - b)
    both_nan = np.isnan(a) & np.isnan(b)
    d[both_nan] = 0
    print("MAXDIFF %.9g OVER %d NANMISMATCH %d" % (np.nanmax(d), int((d > 1e-4).sum()),
                                                   int((np.isnan(a) != np.isnan(b)).sum())))


if __name__ == "__main__":
    {"make": make, "analytic": analytic, "total": total, "compare": compare}[sys.argv[1]](*sys.argv[2:])
