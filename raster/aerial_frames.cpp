#include "raster/aerial_frames.hpp"

#include <cpl_conv.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <cmath>
#include <exiv2/exiv2.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <sstream>

#include "models/errors.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::raster {
namespace fs = std::filesystem;

namespace {

struct CtDeleter {
  void operator()(OGRCoordinateTransformation* ct) const noexcept {
    OGRCoordinateTransformation::DestroyCT(ct);
  }
};

// The frame's CRS: its own, else the .prj beside it, else the default.
OGRSpatialReference frame_crs(GDALDataset& ds, const std::string& path, const std::string& default_wkt) {
  OGRSpatialReference srs;
  if (const OGRSpatialReference* own = ds.GetSpatialRef(); own != nullptr && !own->IsEmpty()) {
    srs = *own;
  } else {
    bool found = false;
    for (const fs::path& prj : {fs::path(path).replace_extension(".prj"), fs::path(path + ".prj")}) {
      std::ifstream in(prj);
      if (!in) continue;
      std::stringstream text;
      text << in.rdbuf();
      if (srs.SetFromUserInput(text.str().c_str()) != OGRERR_NONE)
        throw InputError(prj.string() + ": not a CRS the frame " + path + " can use (expected WKT)");
      found = true;
      break;
    }
    if (!found) srs.importFromWkt(default_wkt.c_str());
  }
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

// World corners (x, y) in `from` → grid pixel corners.
std::array<cv::Point2f, 4> to_grid_pixels(const std::array<std::array<double, 2>, 4>& world,
                                          const OGRSpatialReference& from, const Grid& grid,
                                          const std::string& path) {
  OGRSpatialReference to;
  to.importFromWkt(grid.crs_wkt.c_str());
  to.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::array<double, 4> xs{}, ys{};
  for (int i = 0; i < 4; ++i) {
    xs[i] = world[i][0];
    ys[i] = world[i][1];
  }
  if (!from.IsSame(&to)) {
    std::unique_ptr<OGRCoordinateTransformation, CtDeleter> ct(OGRCreateCoordinateTransformation(&from, &to));
    if (!ct || !ct->Transform(4, xs.data(), ys.data()))
      throw InputError(path + ": cannot transform the frame's corners into the analysis CRS");
  }
  std::array<cv::Point2f, 4> px;
  for (int i = 0; i < 4; ++i) {
    const auto p = grid.to_pixel(xs[i], ys[i]);
    px[i] = cv::Point2f(float(p[0]), float(p[1]));
  }
  return px;
}

cv::Matx33d homography_from_corners(int w, int h, const std::array<cv::Point2f, 4>& dst) {
  const cv::Point2f src[4] = {{0.f, 0.f}, {float(w), 0.f}, {float(w), float(h)}, {0.f, float(h)}};
  const cv::Point2f d[4] = {dst[0], dst[1], dst[2], dst[3]};
  return cv::Matx33d(cv::getPerspectiveTransform(src, d));
}

// Degrees from an EXIF GPS rational triple (degrees, minutes, seconds).
std::optional<double> exif_degrees(const Exiv2::ExifData& exif, const char* key, const char* ref_key,
                                   char negative) {
  const auto it = exif.findKey(Exiv2::ExifKey(key));
  if (it == exif.end() || it->count() < 3) return std::nullopt;
  double deg = it->toFloat(0) + it->toFloat(1) / 60.0 + it->toFloat(2) / 3600.0;
  const auto ref = exif.findKey(Exiv2::ExifKey(ref_key));
  if (ref != exif.end() && !ref->toString().empty() && ref->toString()[0] == negative) deg = -deg;
  return deg;
}

std::optional<double> exif_number(const Exiv2::ExifData& exif, const char* key) {
  const auto it = exif.findKey(Exiv2::ExifKey(key));
  if (it == exif.end() || it->count() < 1) return std::nullopt;
  const double v = it->toFloat(0);
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

// The approximate footprint of a nadir photo from its EXIF GPS position and the camera.
std::array<std::array<double, 2>, 4> exif_footprint(const std::string& path, int w, int h,
                                                    const CameraModel& cam, OGRSpatialReference& wgs84_out,
                                                    const Grid& grid) {
  static std::once_flag quiet;
  std::call_once(quiet, [] { Exiv2::LogMsg::setLevel(Exiv2::LogMsg::mute); });
  Exiv2::ExifData exif;
  try {
    auto image = Exiv2::ImageFactory::open(path);
    image->readMetadata();
    exif = image->exifData();
  } catch (const std::exception& e) {
    throw InputError(
        path + ": no georeference (no world file or GeoTIFF tags) and its EXIF cannot be read: " + e.what());
  }
  const auto lat = exif_degrees(exif, "Exif.GPSInfo.GPSLatitude", "Exif.GPSInfo.GPSLatitudeRef", 'S');
  const auto lon = exif_degrees(exif, "Exif.GPSInfo.GPSLongitude", "Exif.GPSInfo.GPSLongitudeRef", 'W');
  if (!lat || !lon)
    throw InputError(path +
                     ": the frame has no georeference: no GeoTIFF tags, no world file (.jgw/.pgw/.tfw/.wld) "
                     "and no EXIF GPS position; add a world file or drop the frame");
  double focal = cam.focal_mm > 0 ? cam.focal_mm : exif_number(exif, "Exif.Photo.FocalLength").value_or(0);
  if (!(focal > 0) || !(cam.sensor_width_mm > 0) || !(cam.flight_height_m > 0))
    throw InputError(
        path +
        ": georeferenced by EXIF GPS only; its footprint needs the camera: set focal_mm (or EXIF "
        "FocalLength), sensor_width_mm and flight_height_m on the aerial.mosaic step");
  double heading = cam.heading_deg;
  if (std::isnan(heading)) heading = exif_number(exif, "Exif.GPSInfo.GPSImgDirection").value_or(0.0);
  // Ground sample distance of a nadir pinhole camera: sensor width × height / (focal × pixels).
  const double gsd = cam.sensor_width_mm * cam.flight_height_m / (focal * w);
  // The centre in the grid CRS (metres); the footprint is laid out there, north-up rotated by heading.
  OGRSpatialReference grid_srs;
  grid_srs.importFromWkt(grid.crs_wkt.c_str());
  grid_srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  wgs84_out.SetWellKnownGeogCS("WGS84");
  wgs84_out.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  double cx = *lon, cy = *lat;
  std::unique_ptr<OGRCoordinateTransformation, CtDeleter> ct(
      OGRCreateCoordinateTransformation(&wgs84_out, &grid_srs));
  if (!ct || !ct->Transform(1, &cx, &cy))
    throw InputError(path + ": cannot transform its EXIF GPS position into the analysis CRS");
  if (grid_srs.IsGeographic())
    throw InputError(path + ": EXIF footprints need a projected analysis CRS (metres)");
  const double t = heading * M_PI / 180.0;
  // Image right (+u) points to azimuth heading+90°, image down (+v) to heading+180°.
  const double ux = std::cos(t), uy = -std::sin(t), vx = -std::sin(t), vy = -std::cos(t);
  std::array<std::array<double, 2>, 4> corners{};
  const double us[4] = {0, double(w), double(w), 0}, vs[4] = {0, 0, double(h), double(h)};
  for (int i = 0; i < 4; ++i) {
    const double du = (us[i] - w / 2.0) * gsd, dv = (vs[i] - h / 2.0) * gsd;
    corners[i] = {cx + du * ux + dv * vx, cy + du * uy + dv * vy};
  }
  wgs84_out = grid_srs;  // the corners are now in the grid CRS
  return corners;
}

// Collects GDAL warnings on this thread: libjpeg reports a truncated or corrupt stream only as a
// warning ("Premature end of JPEG file") and fills the rest with grey, which must not be mosaicked.
class WarningTrap {
 public:
  WarningTrap() { CPLPushErrorHandlerEx(&WarningTrap::handler, this); }
  ~WarningTrap() { CPLPopErrorHandler(); }
  WarningTrap(const WarningTrap&) = delete;
  WarningTrap& operator=(const WarningTrap&) = delete;
  const std::string& message() const { return message_; }
  void clear() { message_.clear(); }

 private:
  static void CPL_STDCALL handler(CPLErr cls, CPLErrorNum, const char* msg) {
    auto* self = static_cast<WarningTrap*>(CPLGetErrorHandlerUserData());
    if (cls >= CE_Warning && self->message_.empty()) self->message_ = msg ? msg : "unknown problem";
  }
  std::string message_;
};

}  // namespace

std::array<double, 2> apply_homography(const cv::Matx33d& h, double u, double v) {
  const double x = h(0, 0) * u + h(0, 1) * v + h(0, 2);
  const double y = h(1, 0) * u + h(1, 1) * v + h(1, 2);
  const double z = h(2, 0) * u + h(2, 1) * v + h(2, 2);
  return {x / z, y / z};
}

FrameGeoref read_frame_georef(const std::string& path, const Grid& grid, const CameraModel& camera,
                              const std::string& default_crs_wkt) {
  init_gdal();
  DatasetPtr ds;
  {
    ErrorTrap trap;
    ds.reset(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    if (!ds) throw InputError(path + ": cannot open the frame as an image: " + trap.message());
  }
  FrameGeoref f;
  f.path = path;
  f.width = ds->GetRasterXSize();
  f.height = ds->GetRasterYSize();
  f.bands = ds->GetRasterCount();
  if (f.bands < 1) throw InputError(path + ": the frame has no image band");
  double gt[6];
  std::array<std::array<double, 2>, 4> world{};
  OGRSpatialReference srs;
  if (ds->GetGeoTransform(gt) == CE_None && !(gt[0] == 0 && gt[1] == 1 && gt[3] == 0 && gt[5] == 1)) {
    f.source = "geotiff";
    const double us[4] = {0, double(f.width), double(f.width), 0},
                 vs[4] = {0, 0, double(f.height), double(f.height)};
    for (int i = 0; i < 4; ++i)
      world[i] = {gt[0] + us[i] * gt[1] + vs[i] * gt[2], gt[3] + us[i] * gt[4] + vs[i] * gt[5]};
    srs = frame_crs(*ds, path, default_crs_wkt);
  } else {
    f.source = "exif";
    world = exif_footprint(path, f.width, f.height, camera, srs, grid);
  }
  f.to_grid = homography_from_corners(f.width, f.height, to_grid_pixels(world, srs, grid, path));
  return f;
}

FramePixels read_frame_pixels(const std::string& path, double scale) {
  init_gdal();
  WarningTrap trap;
  DatasetPtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  if (!ds) throw InputError(path + ": cannot open the frame as an image: " + trap.message());
  trap.clear();  // only what decoding the pixels reports counts (not, e.g., odd metadata)
  const int w = ds->GetRasterXSize(), h = ds->GetRasterYSize();
  scale = std::min(1.0, scale);
  const int bw = std::max(1, int(std::lround(w * scale))), bh = std::max(1, int(std::lround(h * scale)));
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.eResampleAlg = (bw == w && bh == h) ? GRIORA_NearestNeighbour : GRIORA_Average;
  const int bands = ds->GetRasterCount();
  FramePixels out;
  out.rgb.create(bh, bw, CV_8UC3);
  std::vector<std::uint8_t> plane(std::size_t(bw) * bh);
  for (int c = 0; c < 3; ++c) {
    GDALRasterBand* band = ds->GetRasterBand(std::min(c + 1, bands));
    double lo = 0, hi = 255;
    if (band->GetRasterDataType() != GDT_Byte) {
      // Deeper frames (16-bit) are stretched from their range to 8 bits.
      double mm[2] = {0, 255};
      band->ComputeRasterMinMax(TRUE, mm);
      lo = mm[0];
      hi = mm[1] > mm[0] ? mm[1] : mm[0] + 1;
    }
    std::vector<float> buf(plane.size());
    const CPLErr err = band->RasterIO(GF_Read, 0, 0, w, h, buf.data(), bw, bh, GDT_Float32, 0, 0, &extra);
    if (err != CE_None || !trap.message().empty())
      throw InputError(path + ": cannot decode the frame (corrupt or truncated image?): " + trap.message());
    for (std::size_t i = 0; i < plane.size(); ++i)
      plane[i] = cv::saturate_cast<std::uint8_t>((buf[i] - lo) * 255.0 / (hi - lo));
    for (int r = 0; r < bh; ++r) {
      auto* row = out.rgb.ptr<cv::Vec3b>(r);
      for (int x = 0; x < bw; ++x) row[x][c] = plane[std::size_t(r) * bw + x];
    }
  }
  GDALRasterBand* first = ds->GetRasterBand(1);
  if ((first->GetMaskFlags() & GMF_ALL_VALID) == 0) {
    out.mask.create(bh, bw, CV_8U);
    GDALRasterIOExtraArg nearest;
    INIT_RASTERIO_EXTRA_ARG(nearest);
    if (first->GetMaskBand()->RasterIO(GF_Read, 0, 0, w, h, out.mask.data, bw, bh, GDT_Byte, 0, 0,
                                       &nearest) != CE_None)
      throw InputError(path + ": cannot read the frame's mask: " + trap.message());
  }
  return out;
}

}  // namespace qinling::raster
