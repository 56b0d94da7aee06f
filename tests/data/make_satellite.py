#!/usr/bin/python3
"""Small HDF5 satellite files in the published layouts, and the independent geolocation reference.

usage: make_satellite.py make DIR
         3B-HHR.MS.MRG.3IMERG.20260701-S060000-E062959.0360.V07B.HDF5
             GPM IMERG half-hourly layout: /Grid/precipitation and /Grid/randomError stored
             (time, lon, lat) (DimensionNames attribute "time,lon,lat"), /Grid/lon, /Grid/lat
             (centres, latitude south first), units "mm/hr", _FillValue -9999.9; a 0.1 deg subset
             over 100..116E 28..40N with precipitation = 0.5 (lon - 100) + 2 (lat - 28).
         FY4A-_AGRI--_N_REGC_1047E_L1-_FDI-_MULT_NOM_20260701060000_20260701061459_4000M_V0001.HDF
             FY-4A AGRI L1 4 km layout: root attributes NOMCenterLon, NOMSatHeight (m above the
             surface), dEA (km), dObRecFlat, Begin/End Line/Pixel Number (0-based full-disk line and
             column of the first/last row/column); NOMChannel01 (uint16) holds each pixel's full-disk
             column number and NOMChannel02 its line number; FillValue 65535; a CALChannel LUT.
       make_satellite.py agri TIF_COLUMNS TIF_LINES
         For every cell centre of the outputs (lon/lat grids), the full-disk column and line from the
         CGMS LRIT/HRIT Global Specification (4.4.3.2) formulas with FY-4's COFF/LOFF/CFAC/LFAC;
         prints how many cells differ from nint(column), nint(line) (ignoring cells within 1e-3 of a
         tie) and how many are NaN.
"""
import sys

import numpy as np
IMERG = "3B-HHR.MS.MRG.3IMERG.20260701-S060000-E062959.0360.V07B.HDF5"
AGRI = "FY4A-_AGRI--_N_REGC_1047E_L1-_FDI-_MULT_NOM_20260701060000_20260701061459_4000M_V0001.HDF"
SUB_LON, H_SURFACE, A, INV_F = 104.7, 35786000.0, 6378137.0, 298.257223563
COFF = LOFF = 1373.5
CFAC = LFAC = 10233137.0


def cgms_column_line(lon, lat):
    b = A * (1 - 1 / INV_F)
    lon, lat = np.radians(lon), np.radians(lat)
    c_lat = np.arctan((b * b) / (A * A) * np.tan(lat))
    e2 = (A * A - b * b) / (A * A)
    r_l = b / np.sqrt(1 - e2 * np.cos(c_lat) ** 2)
    r1 = (H_SURFACE + A) - r_l * np.cos(c_lat) * np.cos(lon - np.radians(SUB_LON))
    r2 = -r_l * np.cos(c_lat) * np.sin(lon - np.radians(SUB_LON))
    r3 = r_l * np.sin(c_lat)
    rn = np.sqrt(r1 * r1 + r2 * r2 + r3 * r3)
    x = np.degrees(np.arctan(-r2 / r1))
    y = np.degrees(np.arcsin(-r3 / rn))
    return COFF + x * 2.0 ** -16 * CFAC, LOFF + y * 2.0 ** -16 * LFAC


def make(out):
    import h5py  # not with osgeo in one process: their HDF5 libraries may differ
    lon = 100.05 + 0.1 * np.arange(160)
    lat = 28.05 + 0.1 * np.arange(120)
    p = 0.5 * (lon[:, None] - 100) + 2 * (lat[None, :] - 28)  # (lon, lat)
    with h5py.File(out + "/" + IMERG, "w") as f:
        g = f.create_group("Grid")
        g["lon"] = lon.astype("f4")
        g["lat"] = lat.astype("f4")
        g["time"] = np.array([1782885600], dtype="i4")
        for name, data in (("precipitation", p), ("randomError", p * 0.1)):
            d = g.create_dataset(name, data=data[None, :, :].astype("f4"))
            d.attrs["DimensionNames"] = np.bytes_("time,lon,lat")
            d.attrs["units"] = np.bytes_("mm/hr")
            d.attrs["_FillValue"] = np.float32(-9999.9)
    c, l = cgms_column_line(np.array([102.0, 114.0]), np.array([38.0, 28.0]))
    c0, c1 = int(c[0]) - 5, int(c[1]) + 5
    l0, l1 = int(l[0]) - 5, int(l[1]) + 5
    with h5py.File(out + "/" + AGRI, "w") as f:
        f.attrs["NOMCenterLon"] = np.float32(SUB_LON)
        f.attrs["NOMSatHeight"] = np.float64(H_SURFACE)
        f.attrs["dEA"] = np.float32(A / 1000)
        f.attrs["dObRecFlat"] = np.float64(INV_F)
        f.attrs["Begin Line Number"] = np.int16(l0)
        f.attrs["End Line Number"] = np.int16(l1)
        f.attrs["Begin Pixel Number"] = np.int16(c0)
        f.attrs["End Pixel Number"] = np.int16(c1)
        cols, lines = np.meshgrid(np.arange(c0, c1 + 1), np.arange(l0, l1 + 1))
        for name, data in (("NOMChannel01", cols), ("NOMChannel02", lines)):
            d = f.create_dataset(name, data=data.astype("u2"))
            d.attrs["FillValue"] = np.uint16(65535)
            d.attrs["valid_range"] = np.array([0, 4095], dtype="u2")
        f["CALChannel01"] = np.linspace(0, 1, 4096).astype("f4")
        # A table shorter than the lines in the image: the later lines are past its end (nodata).
        f["CALChannel02"] = (250 + 0.01 * np.arange((l0 + l1) // 2)).astype("f4")


def agri(tif_columns, tif_lines):
    from osgeo import gdal
    gdal.UseExceptions()
    ds = gdal.Open(tif_columns)
    gt = ds.GetGeoTransform()
    cols = ds.GetRasterBand(1).ReadAsArray().astype(float)
    lds = gdal.Open(tif_lines)  # kept: a band outliving its dataset crashes
    lines = lds.GetRasterBand(1).ReadAsArray().astype(float)
    r, k = np.mgrid[0:cols.shape[0], 0:cols.shape[1]]
    lon = gt[0] + (k + 0.5) * gt[1]
    lat = gt[3] + (r + 0.5) * gt[5]
    c, l = cgms_column_line(lon, lat)
    tie = (np.abs(c - np.floor(c) - 0.5) < 1e-3) | (np.abs(l - np.floor(l) - 0.5) < 1e-3)
    bad = ((cols != np.floor(c + 0.5)) | (lines != np.floor(l + 0.5))) & ~tie
    print("CELLS %d MISMATCH %d NAN %d" % (cols.size, int(bad.sum()), int(np.isnan(cols).sum())))


def calibrated(agri_file, counts_tif, calibrated_tif, channel):
    """Compares a calibrated raster with the CALChannel table looked up at each cell's count
    (counts past the table's end must be nodata)."""
    import h5py
    from osgeo import gdal
    gdal.UseExceptions()
    with h5py.File(agri_file, "r") as f:
        table = f["CALChannel%02d" % int(channel)][:]
    cds = gdal.Open(counts_tif)
    counts = cds.GetRasterBand(1).ReadAsArray().astype(float)
    kds = gdal.Open(calibrated_tif)
    got = kds.GetRasterBand(1).ReadAsArray()
    past = counts >= len(table)
    want = np.where(past, np.nan, table[np.minimum(counts, len(table) - 1).astype(int)])
    same = (got == want.astype("f4")) | (np.isnan(got) & np.isnan(want))
    print("CELLS %d WRONG %d PAST %d NAN %d" % (got.size, int((~same).sum()), int(past.sum()),
                                              int(np.isnan(got).sum())))


if __name__ == "__main__":
    {"make": make, "agri": agri, "calibrated": calibrated}[sys.argv[1]](*sys.argv[2:])
