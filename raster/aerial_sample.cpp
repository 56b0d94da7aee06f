#include "raster/aerial_sample.hpp"

#include <cpl_conv.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <exiv2/exiv2.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "models/errors.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::raster {
namespace fs = std::filesystem;
namespace {

struct FrameTruth {
  double cx, cy, angle_deg, scale, gain, err_x, err_y;  // centre and error in ortho pixels
};
// Two flight lines of three frames, ~30 % side and forward overlap; frame 6 is EXIF-only.
constexpr std::array<FrameTruth, 6> kFrames = {{{300, 320, 3, 1.00, 0.88, 25, -18},
                                                {600, 310, -4, 1.04, 1.10, -30, 12},
                                                {900, 330, 6, 0.97, 0.95, 18, 27},
                                                {310, 560, -2, 1.02, 1.07, -22, -25},
                                                {610, 570, 5, 0.98, 0.92, 35, 10},
                                                {905, 555, -3, 1.00, 1.05, 20, -15}}};

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}
double unit(std::uint64_t h) { return double(h >> 11) / double(1ULL << 53); }

// The scene's true colour at ortho resolution plus small features (roofs, field strips, trees)
// that give aerial-scale texture; a pure function of the scene and the seed.
cv::Mat render_ortho(const std::string& scene_file, std::uint64_t seed, std::array<double, 6>& gt,
                     std::string& wkt) {
  DatasetPtr ds = open_raster(scene_file);
  const int n = ds->GetRasterXSize();
  const int ww = std::min(200, n), wh = ww * 3 / 4;
  const int x0 = (n - ww) / 2, y0 = (ds->GetRasterYSize() - wh) / 2;
  double sgt[6];
  ds->GetGeoTransform(sgt);
  const double res = sgt[1] * ww / kAerialOrthoWidth;
  gt = {sgt[0] + x0 * sgt[1], res, 0, sgt[3] + y0 * sgt[5], 0, -res};
  wkt = ds->GetProjectionRef();
  cv::Mat rgb(kAerialOrthoHeight, kAerialOrthoWidth, CV_8UC3);
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.eResampleAlg = GRIORA_Bilinear;
  std::vector<float> buf(std::size_t(kAerialOrthoWidth) * kAerialOrthoHeight);
  const int bands[3] = {4, 3, 2};
  for (int c = 0; c < 3; ++c) {
    ErrorTrap trap;
    check_cpl(ds->GetRasterBand(bands[c])->RasterIO(GF_Read, x0, y0, ww, wh, buf.data(), kAerialOrthoWidth,
                                                    kAerialOrthoHeight, GDT_Float32, 0, 0, &extra),
              trap, scene_file, "reading the scene for the aerial sample", true);
    for (int y = 0; y < kAerialOrthoHeight; ++y)
      for (int x = 0; x < kAerialOrthoWidth; ++x) {
        const double refl = std::max(0.0, buf[std::size_t(y) * kAerialOrthoWidth + x] * 0.0000275 - 0.2);
        rgb.at<cv::Vec3b>(y, x)[c] = cv::saturate_cast<std::uint8_t>(40 + 215 * std::pow(refl / 0.4, 0.6));
      }
  }
  // Features: rectangles of 3–14 px with their own colour, one per ~300 px².
  const int count = kAerialOrthoWidth * kAerialOrthoHeight / 300;
  for (int k = 0; k < count; ++k) {
    const std::uint64_t h = mix(seed * 1000003ULL + std::uint64_t(k));
    const int x = int(unit(mix(h + 1)) * kAerialOrthoWidth), y = int(unit(mix(h + 2)) * kAerialOrthoHeight);
    const int w = 3 + int(unit(mix(h + 3)) * 12), ht = 3 + int(unit(mix(h + 4)) * 12);
    const double f = 0.55 + 0.9 * unit(mix(h + 5));
    const cv::Rect r = cv::Rect(x, y, w, ht) & cv::Rect(0, 0, kAerialOrthoWidth, kAerialOrthoHeight);
    for (int yy = r.y; yy < r.y + r.height; ++yy)
      for (int xx = r.x; xx < r.x + r.width; ++xx) {
        auto& p = rgb.at<cv::Vec3b>(yy, xx);
        for (int c = 0; c < 3; ++c) p[c] = cv::saturate_cast<std::uint8_t>(p[c] * f + (c == 1 ? 6 : 0));
      }
  }
  cv::GaussianBlur(rgb, rgb, cv::Size(3, 3), 0.6);  // optics: no perfectly sharp edges
  return rgb;
}

void write_gtiff(const std::string& path, const cv::Mat& rgb, const std::array<double, 6>& gt,
                 const std::string& wkt) {
  GDALDriver* drv = GetGDALDriverManager()->GetDriverByName("GTiff");
  const char* opts[] = {"TILED=YES", "COMPRESS=DEFLATE", "PHOTOMETRIC=RGB", nullptr};
  ErrorTrap trap;
  DatasetPtr ds(drv->Create(path.c_str(), rgb.cols, rgb.rows, 3, GDT_Byte, const_cast<char**>(opts)));
  if (!ds) throw ProcessingError(path + ": cannot create: " + trap.message());
  double g[6] = {gt[0], gt[1], gt[2], gt[3], gt[4], gt[5]};
  ds->SetGeoTransform(g);
  ds->SetProjection(wkt.c_str());
  std::vector<std::uint8_t> plane(std::size_t(rgb.total()));
  for (int c = 0; c < 3; ++c) {
    for (std::size_t i = 0; i < plane.size(); ++i) plane[i] = rgb.data[3 * i + std::size_t(c)];
    check_cpl(ds->GetRasterBand(c + 1)->RasterIO(GF_Write, 0, 0, rgb.cols, rgb.rows, plane.data(), rgb.cols,
                                                 rgb.rows, GDT_Byte, 0, 0, nullptr),
              trap, path, "writing", false);
  }
}

void write_jpeg(const std::string& path, const cv::Mat& rgb) {
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDriver* jpeg = GetGDALDriverManager()->GetDriverByName("JPEG");
  ErrorTrap trap;
  DatasetPtr src(mem->Create("", rgb.cols, rgb.rows, 3, GDT_Byte, nullptr));
  std::vector<std::uint8_t> plane(std::size_t(rgb.total()));
  for (int c = 0; c < 3; ++c) {
    for (std::size_t i = 0; i < plane.size(); ++i) plane[i] = rgb.data[3 * i + std::size_t(c)];
    check_cpl(src->GetRasterBand(c + 1)->RasterIO(GF_Write, 0, 0, rgb.cols, rgb.rows, plane.data(), rgb.cols,
                                                  rgb.rows, GDT_Byte, 0, 0, nullptr),
              trap, path, "writing", false);
  }
  CPLConfigOptionSetter no_pam("GDAL_PAM_ENABLED", "NO", true);
  const char* opts[] = {"QUALITY=92", nullptr};
  DatasetPtr out(
      jpeg->CreateCopy(path.c_str(), src.get(), FALSE, const_cast<char**>(opts), nullptr, nullptr));
  if (!out) throw ProcessingError(path + ": cannot write the JPEG: " + trap.message());
}

// A rational "num/den" with `den` fixed, as exiv2 parses it for URational tags.
std::string rational(double v, int den) {
  return std::to_string(std::llround(v * den)) + "/" + std::to_string(den);
}

void write_exif(const std::string& path, double lon, double lat, double heading) {
  auto image = Exiv2::ImageFactory::open(path);
  image->readMetadata();
  Exiv2::ExifData& exif = image->exifData();
  const auto dms = [](double d) {
    d = std::abs(d);
    const double deg = std::floor(d), min = std::floor((d - deg) * 60), sec = ((d - deg) * 60 - min) * 60;
    return rational(deg, 1) + " " + rational(min, 1) + " " + rational(sec, 1000000);
  };
  exif["Exif.GPSInfo.GPSLatitudeRef"] = lat < 0 ? "S" : "N";
  exif["Exif.GPSInfo.GPSLatitude"] = dms(lat);
  exif["Exif.GPSInfo.GPSLongitudeRef"] = lon < 0 ? "W" : "E";
  exif["Exif.GPSInfo.GPSLongitude"] = dms(lon);
  exif["Exif.GPSInfo.GPSImgDirectionRef"] = "T";
  exif["Exif.GPSInfo.GPSImgDirection"] = rational(std::fmod(heading + 360.0, 360.0), 100);
  exif["Exif.Photo.FocalLength"] = rational(kAerialFocalMm, 10);
  image->writeMetadata();
}

}  // namespace

std::vector<std::string> write_aerial_sample(const std::string& dir, const std::string& scene_file,
                                             std::uint64_t seed) {
  init_gdal();
  const fs::path final_dir(dir);
  const fs::path tmp = final_dir.parent_path() /
                       ("." + final_dir.filename().string() + ".partial-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  std::array<double, 6> gt{};
  std::string wkt;
  const cv::Mat ortho = render_ortho(scene_file, seed, gt, wkt);
  write_gtiff((tmp / "ortho_reference.tif").string(), ortho, gt, wkt);
  std::vector<std::string> names = {"ortho_reference.tif"};
  OGRSpatialReference srs;
  srs.importFromWkt(wkt.c_str());
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  char* esri = nullptr;
  const char* esri_opts[] = {"FORMAT=WKT1_ESRI", nullptr};
  srs.exportToWkt(&esri, esri_opts);
  const std::string prj = esri ? esri : wkt;
  CPLFree(esri);
  OGRSpatialReference wgs84;
  wgs84.SetWellKnownGeogCS("WGS84");
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<OGRCoordinateTransformation> to_wgs84(OGRCreateCoordinateTransformation(&srs, &wgs84));
  const double res = gt[1];
  const int w = kAerialFrameWidth, h = kAerialFrameHeight;
  nlohmann::json truth = {{"generator", "qinling sample-data (aerial)"},
                          {"seed", seed},
                          {"ortho", "ortho_reference.tif"},
                          {"ortho_size", {kAerialOrthoWidth, kAerialOrthoHeight}},
                          {"ortho_geotransform", gt},
                          {"frame_size", {w, h}},
                          {"camera",
                           {{"focal_mm", kAerialFocalMm},
                            {"sensor_width_mm", kAerialSensorWidthMm},
                            {"flight_height_m", 500.0 * res}}}};
  for (std::size_t i = 0; i < kFrames.size(); ++i) {
    const FrameTruth& t = kFrames[i];
    const double a = t.angle_deg * M_PI / 180.0, ca = std::cos(a) * t.scale, sa = std::sin(a) * t.scale;
    // Frame corner coords (u, v) → ortho corner coords: centre + s R (u - w/2, v - h/2).
    const auto to_ortho = [&](double u, double v, double cx, double cy) {
      return std::array<double, 2>{cx + ca * (u - w / 2.0) - sa * (v - h / 2.0),
                                   cy + sa * (u - w / 2.0) + ca * (v - h / 2.0)};
    };
    // warpAffine maps frame pixel indices to ortho indices (centres at integers).
    const auto o0 = to_ortho(0.5, 0.5, t.cx, t.cy);
    const cv::Matx23d m(ca, -sa, o0[0] - 0.5, sa, ca, o0[1] - 0.5);
    cv::Mat frame;
    cv::warpAffine(ortho, frame, cv::Mat(m), cv::Size(w, h), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP);
    cv::Mat noise(frame.size(), CV_32FC3);
    cv::RNG rng(seed * 7919 + i);
    rng.fill(noise, cv::RNG::NORMAL, 0.0, 2.0);
    cv::Mat f32;
    frame.convertTo(f32, CV_32FC3, t.gain);
    f32 += noise;
    f32.convertTo(frame, CV_8UC3);
    char name[32];
    std::snprintf(name, sizeof name, "frame_%02zu.jpg", i + 1);
    const fs::path jpg = tmp / name;
    write_jpeg(jpg.string(), frame);
    names.push_back(name);
    nlohmann::json corners = nlohmann::json::array(), corners_world = nlohmann::json::array();
    for (const auto& [u, v] : {std::pair{0, 0}, std::pair{w, 0}, std::pair{w, h}, std::pair{0, h}}) {
      const auto p = to_ortho(u, v, t.cx, t.cy);
      corners.push_back({p[0], p[1]});
      corners_world.push_back({gt[0] + p[0] * res, gt[3] - p[1] * res});
    }
    const double ex = t.cx + t.err_x, ey = t.cy + t.err_y;  // the georeference's (wrong) centre
    const bool exif_only = i + 1 == kFrames.size();
    if (!exif_only) {
      // World file: pixel-centre of the top-left pixel and the affine terms (A D B E C F order).
      const auto c0 = to_ortho(0.5, 0.5, ex, ey);
      std::ofstream wf(fs::path(jpg).replace_extension(".jgw"));
      wf.precision(12);
      wf << res * ca << '\n'
         << -res * sa << '\n'
         << -res * sa << '\n'
         << -res * ca << '\n'
         << gt[0] + c0[0] * res << '\n'
         << gt[3] - c0[1] * res << '\n';
      std::ofstream(fs::path(jpg).replace_extension(".prj")) << prj;
      names.push_back(fs::path(jpg).replace_extension(".jgw").filename().string());
      names.push_back(fs::path(jpg).replace_extension(".prj").filename().string());
    } else {
      double lon = gt[0] + ex * res, lat = gt[3] - ey * res;
      if (!to_wgs84 || !to_wgs84->Transform(1, &lon, &lat))
        throw ProcessingError("aerial sample: cannot compute EXIF GPS");
      write_exif(jpg.string(), lon, lat, t.angle_deg);
    }
    truth["frames"].push_back({{"file", name},
                               {"georef", exif_only ? "exif" : "world_file"},
                               {"centre_px", {t.cx, t.cy}},
                               {"angle_deg", t.angle_deg},
                               {"scale", t.scale},
                               {"gain", t.gain},
                               {"noise_sigma", 2.0},
                               {"georef_error_px", {t.err_x, t.err_y}},
                               {"corners_px", corners},
                               {"corners_world", corners_world}});
  }
  std::ofstream(tmp / "truth.json") << truth.dump(2) << '\n';
  names.push_back("truth.json");
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec)
    throw ProcessingError(final_dir.string() + ": cannot move the aerial sample into place: " + ec.message());
  std::vector<std::string> files;
  for (const auto& n : names) files.push_back((final_dir / n).string());
  return files;
}

}  // namespace qinling::raster
