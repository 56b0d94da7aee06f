// Georeferencing HDF5 satellite products that GDAL opens without coordinates: GPM IMERG grids
// stored (time, lon, lat) and FengYun-4 AGRI L1 full-disk/regional images in the geostationary
// projection described by the file's own attributes.
#pragma once

#include <array>
#include <optional>
#include <string>

namespace qinling::raster {

// The geostationary grid of an AGRI image, from its attributes (see agri_geotransform for the
// pixel convention).
struct AgriGeometry {
  double sub_lon = 104.7;                // NOMCenterLon (degrees)
  double height = 35786000;              // satellite height above the equator's surface (m)
  double a = 6378137, b = 6356752.3142;  // ellipsoid (dEA, dObRecFlat)
  double coff = 1373.5, loff = 1373.5, cfac = 10233137, lfac = 10233137;
  double first_line = 0, first_column = 0;  // Begin Line/Pixel Number: full-disk line/column of row/column 0
  std::string proj4() const;                // +proj=geos … +sweep=y
  // GDAL geotransform in projection metres. Convention (CGMS LRIT/HRIT Global Specification,
  // §4.4.3.2, with FY-4's line and column numbers counted from 0): the centre of full-disk column c
  // is at scan angle x = (c − COFF) · 2^16 / CFAC degrees, of line l at y = (l − LOFF) · 2^16 / LFAC
  // degrees (y positive to the south); projection metres are angle (rad) × height, so array
  // column j spans [first_column + j − 0.5, first_column + j + 0.5) around its centre.
  std::array<double, 6> geotransform() const;
};

// When `path` (a GDAL name, e.g. HDF5:"f.HDF"://NOMChannel12) is an HDF5 band GDAL reads without
// georeferencing but that we recognise — an AGRI image (the file has NOMCenterLon) or a grid whose
// DimensionNames put lon before lat (IMERG) — returns the name of an in-memory dataset with the
// band georeferenced (and, for IMERG, transposed to rows of latitude, north up). nullopt otherwise.
// Throws InputError naming the file when its attributes are inconsistent.
// With `calibrate` an AGRI band reads physical values: each count through the file's CALChannelNN
// table (the lookup index is the count; counts past the table's end and FillValue are nodata);
// InputError when the table is missing.
std::optional<std::string> georeference_hdf5_band(const std::string& path, int band, bool calibrate = false);

// The units of a calibrated AGRI channel (GDAL name ending in NOMChannelNN): "1" (reflectance)
// for channels 1–6, "K" (brightness temperature) for 7–14.
std::string agri_calibrated_units(const std::string& path);

// The AGRI geometry from a dataset's metadata (GDAL's names: NOMCenterLon, Begin_Line_Number…),
// the image width/height and the file name (its _4000M_ token gives the resolution when the file
// states no COFF/CFAC).
AgriGeometry agri_geometry(const std::string& path, int width, int height);

}  // namespace qinling::raster
