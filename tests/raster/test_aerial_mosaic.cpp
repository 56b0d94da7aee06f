// Aerial frames of the sample data (raster/aerial_sample.hpp: known corners, gains, wrong world
// files, one EXIF-only frame): registration accuracy against the truth, gain compensation over the
// true overlaps, seams against the interior, and ExG/VARI layers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "raster/aerial_blend.hpp"
#include "raster/aerial_place.hpp"
#include "raster/aerial_sample.hpp"
#include "raster/source.hpp"
#include "support/test_support.hpp"

using namespace qinling::raster;
using namespace qinling::test;

namespace {

struct Sample {
  std::string dir;
  Grid grid;
  nlohmann::json truth;
  std::vector<std::string> frames;
  ReferenceBands reference;
};

const Sample& sample() {
  static const Sample s = [] {
    Sample x;
    x.dir = sample_scene_dir() + "/aerial";
    x.grid = describe_raster(x.dir + "/ortho_reference.tif").grid;
    std::ifstream(x.dir + "/truth.json") >> x.truth;
    for (const auto& f : x.truth["frames"]) x.frames.push_back(x.dir + "/" + f["file"].get<std::string>());
    for (int b = 1; b <= 3; ++b) x.reference.emplace_back(x.dir + "/ortho_reference.tif", b);
    return x;
  }();
  return s;
}

PlaceOptions options(const std::string& detector) {
  PlaceOptions o;
  o.default_crs_wkt = sample().grid.crs_wkt;
  o.registration.detector = detector;
  o.camera.sensor_width_mm = kAerialSensorWidthMm;
  o.camera.flight_height_m = sample().truth["camera"]["flight_height_m"].get<double>();
  return o;
}

// RMS distance (grid = ortho pixels) of the placed frame corners from the true corners.
double corner_rmse(const std::vector<PlacedFrame>& frames, double* worst = nullptr) {
  double ss = 0, w = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto& tc = sample().truth["frames"][i]["corners_px"];
    const double us[4] = {0, kAerialFrameWidth, kAerialFrameWidth, 0},
                 vs[4] = {0, 0, kAerialFrameHeight, kAerialFrameHeight};
    for (int k = 0; k < 4; ++k) {
      const auto p = apply_homography(frames[i].to_grid, us[k], vs[k]);
      const double d2 =
          std::pow(p[0] - tc[k][0].get<double>(), 2) + std::pow(p[1] - tc[k][1].get<double>(), 2);
      ss += d2;
      w = std::max(w, std::sqrt(d2));
    }
  }
  if (worst) *worst = w;
  return std::sqrt(ss / (4.0 * frames.size()));
}

class AerialRegistration : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST(AerialPlacement, GeoreferencesAreTensOfPixelsOff) {
  // The premise of the registration tests: world files and EXIF put frames 15-40 px away.
  PlaceOptions o = options("orb");
  o.register_frames = false;
  const auto frames = place_frames(sample().frames, sample().grid, {}, o);
  for (const auto& f : frames) EXPECT_EQ(f.status, "georeferenced") << f.path << ": " << f.note;
  EXPECT_EQ(frames.back().source, "exif");
  EXPECT_GT(corner_rmse(frames), 15.0);
}

TEST_P(AerialRegistration, CornersWithinOnePixelOfTheTruth) {
  const auto frames = place_frames(sample().frames, sample().grid, sample().reference, options(GetParam()));
  for (const auto& f : frames) {
    EXPECT_EQ(f.status, "registered") << f.path << ": " << f.note;
    EXPECT_GE(f.inliers, 50) << f.path;
    EXPECT_LT(f.residual_px, 1.5) << f.path;
  }
  double worst = 0;
  const double rmse = corner_rmse(frames, &worst);
  std::printf("%s: corner RMSE %.3f px, worst corner %.3f px\n", GetParam().c_str(), rmse, worst);
  EXPECT_LE(rmse, 1.0);
  EXPECT_LE(worst, 2.0);
}

INSTANTIATE_TEST_SUITE_P(Detectors, AerialRegistration, ::testing::Values("orb", "akaze"));

TEST(AerialRegistration, WithoutReferenceFramesAgreeWithEachOther) {
  // Relative registration: the block may be shifted (it follows the mean georeference error), but
  // corner errors must be nearly the same shift for every frame.
  const auto frames = place_frames(sample().frames, sample().grid, {}, options("orb"));
  std::vector<double> dx, dy;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].status != "registered" && frames[i].status != "anchor") continue;
    const auto& tc = sample().truth["frames"][i]["corners_px"];
    const auto p = apply_homography(frames[i].to_grid, 0, 0);
    dx.push_back(p[0] - tc[0][0].get<double>());
    dy.push_back(p[1] - tc[0][1].get<double>());
  }
  // The anchor and the frames chained to it (the sample's small forward overlaps leave some out;
  // chained errors grow with the distance from the anchor: no global adjustment yet).
  ASSERT_GE(dx.size(), 3u);
  for (std::size_t k = 1; k < dx.size(); ++k) {
    EXPECT_NEAR(dx[k], dx[0], 6.0);
    EXPECT_NEAR(dy[k], dy[0], 6.0);
  }
}

namespace {

// Mean of each channel of frame i over ortho pixels `pts`, sampled through the true geometry.
std::array<double, 3> true_overlap_mean(std::size_t i, const cv::Mat& rgb,
                                        const std::vector<cv::Point2d>& pts) {
  const auto& t = sample().truth["frames"][i];
  const double a = t["angle_deg"].get<double>() * M_PI / 180, s = t["scale"].get<double>();
  const double cx = t["centre_px"][0].get<double>(), cy = t["centre_px"][1].get<double>();
  std::array<double, 3> sum{};
  for (const auto& p : pts) {
    // Inverse of: ortho = centre + s R (u - w/2, v - h/2).
    const double dx = (p.x - cx) / s, dy = (p.y - cy) / s;
    const double u = std::cos(a) * dx + std::sin(a) * dy + kAerialFrameWidth / 2.0;
    const double v = -std::sin(a) * dx + std::cos(a) * dy + kAerialFrameHeight / 2.0;
    const auto px = rgb.at<cv::Vec3b>(int(v), int(u));
    for (int c = 0; c < 3; ++c) sum[std::size_t(c)] += px[c];
  }
  for (auto& v : sum) v /= double(pts.size());
  return sum;
}

bool inside_frame(std::size_t i, double x, double y, double margin) {
  const auto& t = sample().truth["frames"][i];
  const double a = t["angle_deg"].get<double>() * M_PI / 180, s = t["scale"].get<double>();
  const double dx = (x - t["centre_px"][0].get<double>()) / s, dy = (y - t["centre_px"][1].get<double>()) / s;
  const double u = std::cos(a) * dx + std::sin(a) * dy, v = -std::sin(a) * dx + std::cos(a) * dy;
  return std::abs(u) < kAerialFrameWidth / 2.0 - margin && std::abs(v) < kAerialFrameHeight / 2.0 - margin;
}

}  // namespace

TEST(AerialBalance, OverlapBrightnessDiffersLessThanTwoPercent) {
  const auto frames = place_frames(sample().frames, sample().grid, sample().reference, options("orb"));
  std::vector<cv::Mat> rgb;
  for (const auto& f : frames) rgb.push_back(read_frame_pixels(f.path, 1.0).rgb);
  int pairs = 0;
  double worst_before = 0, worst_after = 0;
  for (std::size_t i = 0; i < frames.size(); ++i)
    for (std::size_t j = i + 1; j < frames.size(); ++j) {
      std::vector<cv::Point2d> pts;  // the true overlap, 3 px inside both frames
      for (int y = 0; y < kAerialOrthoHeight; y += 2)
        for (int x = 0; x < kAerialOrthoWidth; x += 2)
          if (inside_frame(i, x + 0.5, y + 0.5, 3) && inside_frame(j, x + 0.5, y + 0.5, 3))
            pts.emplace_back(x + 0.5, y + 0.5);
      if (pts.size() < 500) continue;
      ++pairs;
      const auto mi = true_overlap_mean(i, rgb[i], pts), mj = true_overlap_mean(j, rgb[j], pts);
      for (std::size_t c = 0; c < 3; ++c) {
        worst_before = std::max(worst_before, std::abs(mi[c] / mj[c] - 1));
        worst_after =
            std::max(worst_after, std::abs(frames[i].gain[c] * mi[c] / (frames[j].gain[c] * mj[c]) - 1));
      }
    }
  std::printf("overlap brightness difference: before %.4f, after gains %.4f (%d pairs)\n", worst_before,
              worst_after, pairs);
  EXPECT_GE(pairs, 7);
  EXPECT_GT(worst_before, 0.10);  // the synthetic frames differ by up to 25 % in brightness
  EXPECT_LT(worst_after, 0.02);
}

namespace {

// Mean gradient magnitude of the grey mosaic at the given pixels, relative to the truth ortho's.
double relative_gradient(const cv::Mat& mosaic_grey, const cv::Mat& truth_grey,
                         const std::vector<cv::Point>& pts) {
  cv::Mat gx, gy, tx, ty;
  cv::Sobel(mosaic_grey, gx, CV_32F, 1, 0);
  cv::Sobel(mosaic_grey, gy, CV_32F, 0, 1);
  cv::Sobel(truth_grey, tx, CV_32F, 1, 0);
  cv::Sobel(truth_grey, ty, CV_32F, 0, 1);
  double m = 0, t = 0;
  for (const auto& p : pts) {
    m += std::hypot(gx.at<float>(p), gy.at<float>(p));
    t += std::hypot(tx.at<float>(p), ty.at<float>(p));
  }
  return m / t;
}

cv::Mat grey_of(const std::string& path, int bands_offset = 0) {
  cv::Mat g(kAerialOrthoHeight, kAerialOrthoWidth, CV_32F, cv::Scalar(0));
  for (int b = 1; b <= 3; ++b) {
    const auto v = read_band(path, b + bands_offset);
    for (std::size_t i = 0; i < v.size(); ++i)
      g.at<float>(int(i / kAerialOrthoWidth), int(i % kAerialOrthoWidth)) += float(v[i] / 3);
  }
  return g;
}

// Seam score: gradient at frame edges inside another frame's footprint, over the interior's.
double seam_score(const std::string& mosaic) {
  const cv::Mat m = grey_of(mosaic), t = grey_of(sample().dir + "/ortho_reference.tif");
  std::vector<cv::Point> seam, interior;
  const auto n = sample().frames.size();
  for (int y = 2; y < kAerialOrthoHeight - 2; ++y)
    for (int x = 2; x < kAerialOrthoWidth - 2; ++x) {
      int covering = 0;
      bool on_edge = false;
      for (std::size_t i = 0; i < n; ++i) {
        const bool in = inside_frame(i, x + 0.5, y + 0.5, 0);
        covering += in;
        if (in && !inside_frame(i, x + 0.5, y + 0.5, 1.5)) on_edge = true;
      }
      if (on_edge && covering >= 2)
        seam.emplace_back(x, y);
      else if (covering == 1 && !on_edge)
        interior.emplace_back(x, y);
    }
  return relative_gradient(m, t, seam) / relative_gradient(m, t, interior);
}

}  // namespace

TEST(AerialBlend, SeamsLookLikeTheInteriorAndIndicesAreWritten) {
  TempDir tmp;
  const auto frames = place_frames(sample().frames, sample().grid, sample().reference, options("orb"));
  BlendTargets targets;
  targets.rgba.push_back({tmp / "mosaic.tif", "cog", {}});
  targets.exg = tmp / "exg.tif";
  targets.vari = tmp / "vari.tif";
  blend_mosaic(sample().grid, frames, targets, {}, {});
  const double blended = seam_score(tmp / "mosaic.tif");
  // The same frames without gains and with near-hard seams: steps at frame edges.
  auto raw = frames;
  for (auto& f : raw) f.gain = {1, 1, 1};
  BlendTargets hard;
  hard.rgba.push_back({tmp / "hard.tif", "gtiff", {}});
  BlendOptions sharp;
  sharp.feather_power = 0.05;
  blend_mosaic(sample().grid, raw, hard, sharp, {});
  const double stepped = seam_score(tmp / "hard.tif");
  std::printf(
      "seam score (seam/interior gradient ratio vs truth): blended %.3f, hard seams without gains %.3f\n",
      blended, stepped);
  EXPECT_LT(std::abs(blended - 1.0), 0.15) << "seam/interior gradient ratio " << blended;
  EXPECT_GT(stepped, blended + 0.15) << "hard seams " << stepped << " vs blended " << blended;

  // ExG/VARI: the formulas at a covered pixel, NaN outside every footprint.
  int w = 0, h = 0;
  const auto r = read_band(tmp / "mosaic.tif", 1, &w, &h), g = read_band(tmp / "mosaic.tif", 2),
             b = read_band(tmp / "mosaic.tif", 3), a = read_band(tmp / "mosaic.tif", 4);
  const auto exg = read_band(tmp / "exg.tif", 1), vari = read_band(tmp / "vari.tif", 1);
  const std::size_t centre = std::size_t(h / 2) * std::size_t(w) + std::size_t(w / 2);
  ASSERT_EQ(a[centre], 255);
  // The mosaic is rounded to bytes; the indices come from the unrounded blend.
  EXPECT_NEAR(exg[centre], (2 * g[centre] - r[centre] - b[centre]) / (r[centre] + g[centre] + b[centre]),
              0.01);
  EXPECT_NEAR(vari[centre], (g[centre] - r[centre]) / (g[centre] + r[centre] - b[centre]), 0.05);
  EXPECT_EQ(a[0], 0);
  EXPECT_TRUE(std::isnan(exg[0]));
}
