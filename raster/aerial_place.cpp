#include "raster/aerial_place.hpp"

#include <spdlog/spdlog.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <opencv2/imgproc.hpp>

#include "models/aerial_radiometry.hpp"
#include "models/errors.hpp"
#include "models/tsan_annotations.hpp"

namespace qinling::raster {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A small copy of a placed frame on a coarse grid (grid pixels / k), for overlap statistics.
struct Thumb {
  cv::Rect box;  // thumb pixels
  cv::Mat rgb, mask;
};

cv::Matx33d scale_matrix(double sx, double sy) { return cv::Matx33d(sx, 0, 0, 0, sy, 0, 0, 0, 1); }
cv::Matx33d shift_matrix(double dx, double dy) { return cv::Matx33d(1, 0, dx, 0, 1, dy, 0, 0, 1); }

// Size of a frame pixel in grid pixels (square root of the Jacobian at the centre).
double pixel_size_on_grid(const cv::Matx33d& h, int w, int ht) {
  const auto a = apply_homography(h, w / 2.0, ht / 2.0), b = apply_homography(h, w / 2.0 + 1, ht / 2.0),
             c = apply_homography(h, w / 2.0, ht / 2.0 + 1);
  return std::sqrt(std::abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])));
}

// The reference over `win` as 8-bit grey, stretched between its 1st and 99th percentiles.
cv::Mat reference_patch(GridReader& reader, const ReferenceBands& bands, const Window& win, cv::Mat& valid) {
  const std::size_t n = std::size_t(win.pixels());
  std::vector<float> sum(n, 0.f), buf(n);
  for (const auto& b : bands) {
    reader.read(b, win, buf.data());
    for (std::size_t i = 0; i < n; ++i) sum[i] += buf[i];
  }
  std::vector<float> sorted;
  for (float v : sum)
    if (std::isfinite(v)) sorted.push_back(v);
  cv::Mat grey(win.height, win.width, CV_8U, cv::Scalar(0));
  valid = cv::Mat(win.height, win.width, CV_8U, cv::Scalar(0));
  if (sorted.size() < 16) return grey;
  const auto pct = [&](double p) {
    auto it = sorted.begin() + std::ptrdiff_t(p * double(sorted.size() - 1));
    std::nth_element(sorted.begin(), it, sorted.end());
    return double(*it);
  };
  const double lo = pct(0.01), hi = std::max(pct(0.99), lo + 1e-6);
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(sum[i])) continue;
    grey.data[i] = cv::saturate_cast<std::uint8_t>((sum[i] - lo) * 255.0 / (hi - lo));
    valid.data[i] = 255;
  }
  return grey;
}

Thumb make_thumb(const FramePixels& px, const cv::Matx33d& to_grid_scaled, double k) {
  Thumb t;
  const cv::Matx33d to_thumb = scale_matrix(1 / k, 1 / k) * to_grid_scaled;
  const cv::Rect2d b = frame_bounds(to_thumb, px.rgb.cols, px.rgb.rows);
  t.box = cv::Rect(int(std::floor(b.x)), int(std::floor(b.y)),
                   int(std::ceil(b.x + b.width)) - int(std::floor(b.x)),
                   int(std::ceil(b.y + b.height)) - int(std::floor(b.y)));
  // Pre-shrink with area averaging so the warp does not alias, then warp (pixel-centre convention).
  const double f = std::min(1.0, 1.5 / pixel_size_on_grid(to_thumb, px.rgb.cols, px.rgb.rows));
  cv::Mat small, small_mask;
  const cv::Size ss(std::max(1, int(std::lround(px.rgb.cols * f))),
                    std::max(1, int(std::lround(px.rgb.rows * f))));
  cv::resize(px.rgb, small, ss, 0, 0, cv::INTER_AREA);
  cv::Mat mask = px.mask.empty() ? cv::Mat(px.rgb.size(), CV_8U, cv::Scalar(255)) : px.mask;
  cv::resize(mask, small_mask, ss, 0, 0, cv::INTER_NEAREST);
  const cv::Matx33d m = shift_matrix(-t.box.x - 0.5, -t.box.y - 0.5) * to_thumb *
                        scale_matrix(double(px.rgb.cols) / ss.width, double(px.rgb.rows) / ss.height) *
                        shift_matrix(0.5, 0.5);
  cv::warpPerspective(small, t.rgb, cv::Mat(m), t.box.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  cv::warpPerspective(small_mask, t.mask, cv::Mat(m), t.box.size(), cv::INTER_NEAREST, cv::BORDER_CONSTANT);
  cv::erode(t.mask, t.mask, cv::Mat(), cv::Point(-1, -1), 2);  // edge pixels mix with the black border
  return t;
}

// Gains from the mean of every pair of thumbnails over the pixels both cover.
void balance(std::vector<PlacedFrame>& frames, const std::vector<Thumb>& thumbs) {
  std::array<std::vector<models::OverlapMeans>, 3> overlaps;
  for (std::size_t i = 0; i < frames.size(); ++i)
    for (std::size_t j = i + 1; j < frames.size(); ++j) {
      if (!frames[i].used() || !frames[j].used()) continue;
      const cv::Rect common = thumbs[i].box & thumbs[j].box;
      if (common.area() == 0) continue;
      std::array<double, 3> si{}, sj{};
      double n = 0;
      for (int y = common.y; y < common.y + common.height; ++y)
        for (int x = common.x; x < common.x + common.width; ++x) {
          const int yi = y - thumbs[i].box.y, xi = x - thumbs[i].box.x, yj = y - thumbs[j].box.y,
                    xj = x - thumbs[j].box.x;
          if (!thumbs[i].mask.at<std::uint8_t>(yi, xi) || !thumbs[j].mask.at<std::uint8_t>(yj, xj)) continue;
          const auto a = thumbs[i].rgb.at<cv::Vec3b>(yi, xi), b = thumbs[j].rgb.at<cv::Vec3b>(yj, xj);
          for (int c = 0; c < 3; ++c) {
            si[std::size_t(c)] += a[c];
            sj[std::size_t(c)] += b[c];
          }
          n += 1;
        }
      if (n < 16) continue;
      for (std::size_t c = 0; c < 3; ++c) overlaps[c].push_back({i, j, si[c] / n, sj[c] / n, n});
    }
  for (std::size_t c = 0; c < 3; ++c) {
    const auto g = models::solve_gains(frames.size(), overlaps[c]);
    for (std::size_t i = 0; i < frames.size(); ++i) frames[i].gain[c] = g[i];
  }
}

}  // namespace

cv::Rect2d frame_bounds(const cv::Matx33d& to_grid, int width, int height) {
  double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
  const double us[4] = {0, double(width), double(width), 0}, vs[4] = {0, 0, double(height), double(height)};
  for (int i = 0; i < 4; ++i) {
    const auto p = apply_homography(to_grid, us[i], vs[i]);
    x0 = std::min(x0, p[0]);
    y0 = std::min(y0, p[1]);
    x1 = std::max(x1, p[0]);
    y1 = std::max(y1, p[1]);
  }
  return {x0, y0, x1 - x0, y1 - y0};
}

std::vector<PlacedFrame> place_frames(const std::vector<std::string>& paths, const Grid& grid,
                                      const ReferenceBands& reference, const PlaceOptions& options,
                                      PlaceTimings* timings) {
  const auto t0 = Clock::now();
  std::vector<PlacedFrame> frames(paths.size());
  std::vector<FrameGeoref> geo(paths.size());
  const cv::Rect2d grid_box(0, 0, grid.width, grid.height);
  std::vector<double> widths;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    PlacedFrame& f = frames[i];
    f.path = paths[i];
    try {
      geo[i] = read_frame_georef(paths[i], grid, options.camera, options.default_crs_wkt);
      f.source = geo[i].source;
      f.width = geo[i].width;
      f.height = geo[i].height;
      f.to_grid = geo[i].to_grid;
      f.status = "georeferenced";
      const cv::Rect2d b = frame_bounds(f.to_grid, f.width, f.height);
      if ((b & grid_box).area() <= 0) {
        f.status = "dropped";
        f.note = "the frame lies outside the analysis grid (check its world file/CRS, or the grid extent)";
      } else {
        widths.push_back(b.width);
      }
    } catch (const Error& e) {
      f.status = "dropped";
      f.note = e.what();
    }
  }
  std::sort(widths.begin(), widths.end());
  const double k = widths.empty() ? 1.0 : std::max(1.0, widths[widths.size() / 2] / 128.0);
  std::vector<Thumb> thumbs(paths.size());
  GridReader ref_reader(grid);
  for (const auto& b : reference) ref_reader.add_file(b.path, describe_raster(b.path), "bilinear");
  FeatureSet placed;  // without a reference: the features of the frames placed so far (grid positions final)
  std::mutex placed_mutex;
  bool have_anchor = false;

  auto place_one = [&](std::size_t i) {
    PlacedFrame& f = frames[i];
    if (!f.used()) return;
    FramePixels px;
    try {
      f.read_scale = std::min(1.0, 1.0 / pixel_size_on_grid(f.to_grid, f.width, f.height));
      px = read_frame_pixels(f.path, f.read_scale);
    } catch (const Error& e) {
      f.status = "dropped";
      f.note = e.what();
      return;
    }
    const cv::Matx33d to_scaled = scale_matrix(double(px.rgb.cols) / f.width, double(px.rgb.rows) / f.height);
    const cv::Matx33d prior = f.to_grid * to_scaled.inv();
    if (options.register_frames) {
      cv::Mat grey;
      cv::cvtColor(px.rgb, grey, cv::COLOR_RGB2GRAY);
      const FeatureSet feats = detect_features(grey, px.mask, prior, options.registration);
      const cv::Rect2d b = frame_bounds(prior, px.rgb.cols, px.rgb.rows);
      const double m = options.registration.search_px;
      const cv::Rect2d search(b.x - m, b.y - m, b.width + 2 * m, b.height + 2 * m);
      FeatureSet target;
      if (!reference.empty()) {
        const cv::Rect2d clip = search & grid_box;
        const Window win{int(std::floor(clip.x)), int(std::floor(clip.y)),
                         int(std::ceil(clip.x + clip.width)) - int(std::floor(clip.x)),
                         int(std::ceil(clip.y + clip.height)) - int(std::floor(clip.y))};
        cv::Mat valid;
        const cv::Mat patch = reference_patch(ref_reader, reference, win, valid);
        target = detect_features(patch, valid, shift_matrix(win.x, win.y), options.registration);
      } else {
        std::lock_guard lock(placed_mutex);
        target = placed.inside(search);
      }
      Registration r;
      if (reference.empty() && !have_anchor) {
        f.status = "anchor";  // the first frame placed by its georeference; the others follow it
      } else {
        r = register_features(feats, target, prior, px.rgb.size(), options.registration);
        f.matches = r.matches;
        f.inliers = r.inliers;
        f.residual_px = r.residual_px;
      }
      const cv::Matx33d fitted = r.ok ? r.to_grid : prior;
      if (r.ok) {
        f.status = "registered";
        const auto a = apply_homography(prior, px.rgb.cols / 2.0, px.rgb.rows / 2.0);
        const auto c = apply_homography(fitted, px.rgb.cols / 2.0, px.rgb.rows / 2.0);
        f.shift_px = std::hypot(c[0] - a[0], c[1] - a[1]);
        f.to_grid = fitted * to_scaled;
      } else if (f.status != "anchor") {
        f.note = "not registered: " + r.note;
        if (options.drop_unregistered) {
          f.status = "dropped";
          return;
        }
      }
      // Only frames placed by features (or the anchor) may guide the next ones: a frame left at its
      // own georeference would pull its neighbours towards its error.
      if (reference.empty() && (r.ok || f.status == "anchor")) {
        FeatureSet mine = feats;
        for (std::size_t p = 0; p < mine.frame.size(); ++p) {
          const auto g = apply_homography(fitted, mine.frame[p].x, mine.frame[p].y);
          mine.grid[p] = cv::Point2f(float(g[0]), float(g[1]));
        }
        std::lock_guard lock(placed_mutex);
        placed.append(mine);
        have_anchor = true;
      }
    }
    if (options.balance) thumbs[i] = make_thumb(px, f.to_grid * to_scaled.inv(), k);
  };
  if (!reference.empty() || !options.register_frames) {
    // Frames are independent of each other: place them in parallel (results do not depend on order).
    const models::tsan::ForkJoin fork_join;  // TSan marks (models/tsan_annotations.hpp)
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, frames.size()), fork_join.each(place_one),
                      tbb::simple_partitioner());
    fork_join.joined();
  } else {
    for (std::size_t i = 0; i < frames.size(); ++i) place_one(i);
  }
  if (reference.empty() && options.register_frames) {
    // Relative registration follows the anchor's georeference error; shift the block by the mean
    // difference between georeferenced and registered centres, which averages the frames' errors.
    double dx = 0, dy = 0, n = 0;
    for (std::size_t i = 0; i < frames.size(); ++i)
      if (frames[i].status == "registered" || frames[i].status == "anchor") {
        const auto g = apply_homography(geo[i].to_grid, geo[i].width / 2.0, geo[i].height / 2.0);
        const auto r = apply_homography(frames[i].to_grid, geo[i].width / 2.0, geo[i].height / 2.0);
        dx += g[0] - r[0];
        dy += g[1] - r[1];
        n += 1;
      }
    if (n > 1)
      for (auto& f : frames)
        if (f.status == "registered" || f.status == "anchor")
          f.to_grid = shift_matrix(dx / n, dy / n) * f.to_grid;
  }
  for (const auto& f : frames) {
    if (f.status == "dropped")
      spdlog::warn("{}: dropped: {}", f.path, f.note);
    else if (!f.note.empty())
      spdlog::warn("{}: placed by its georeference ({})", f.path, f.note);
  }
  if (timings) timings->register_s = seconds_since(t0);
  const auto t1 = Clock::now();
  if (options.balance) balance(frames, thumbs);
  if (timings) timings->balance_s = seconds_since(t1);
  return frames;
}

}  // namespace qinling::raster
