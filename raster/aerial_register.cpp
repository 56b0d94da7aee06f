#include "raster/aerial_register.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>

#include "models/errors.hpp"
#include "raster/aerial_frames.hpp"

namespace qinling::raster {

void FeatureSet::append(const FeatureSet& other) {
  frame.insert(frame.end(), other.frame.begin(), other.frame.end());
  grid.insert(grid.end(), other.grid.begin(), other.grid.end());
  if (descriptors.empty())
    descriptors = other.descriptors.clone();
  else if (!other.descriptors.empty())
    cv::vconcat(descriptors, other.descriptors, descriptors);
}

FeatureSet FeatureSet::inside(const cv::Rect2d& box) const {
  FeatureSet out;
  std::vector<int> rows;
  for (std::size_t i = 0; i < grid.size(); ++i)
    if (grid[i].x >= box.x && grid[i].y >= box.y && grid[i].x < box.x + box.width &&
        grid[i].y < box.y + box.height)
      rows.push_back(int(i));
  out.descriptors.create(int(rows.size()), descriptors.cols, descriptors.type());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    out.frame.push_back(frame[std::size_t(rows[k])]);
    out.grid.push_back(grid[std::size_t(rows[k])]);
    descriptors.row(rows[k]).copyTo(out.descriptors.row(int(k)));
  }
  return out;
}

FeatureSet detect_features(const cv::Mat& grey, const cv::Mat& mask, const cv::Matx33d& to_grid,
                           const RegistrationOptions& options) {
  cv::Ptr<cv::Feature2D> detector;
  if (options.detector == "akaze") {
    detector = cv::AKAZE::create(cv::AKAZE::DESCRIPTOR_MLDB, 0, 3, 0.0005f);
  } else {
    // FAST threshold 10 (not 20): aerial texture is low-contrast once balanced and smoothed.
    detector = cv::ORB::create(options.max_features, 1.2f, 8, 31, 0, 2, cv::ORB::HARRIS_SCORE, 31, 10);
  }
  std::vector<cv::KeyPoint> kps;
  FeatureSet fs;
  detector->detectAndCompute(grey, mask, kps, fs.descriptors);
  if (options.detector == "akaze" && int(kps.size()) > options.max_features) {
    // Keep the strongest responses (deterministic order: by response, then position).
    std::vector<int> idx(kps.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = int(i);
    std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) {
      return kps[std::size_t(a)].response > kps[std::size_t(b)].response;
    });
    idx.resize(std::size_t(options.max_features));
    std::sort(idx.begin(), idx.end());
    std::vector<cv::KeyPoint> kept;
    cv::Mat desc(int(idx.size()), fs.descriptors.cols, fs.descriptors.type());
    for (std::size_t k = 0; k < idx.size(); ++k) {
      kept.push_back(kps[std::size_t(idx[k])]);
      fs.descriptors.row(idx[k]).copyTo(desc.row(int(k)));
    }
    kps = std::move(kept);
    fs.descriptors = desc;
  }
  for (const auto& k : kps) {
    const cv::Point2f p(k.pt.x + 0.5f, k.pt.y + 0.5f);
    const auto g = apply_homography(to_grid, p.x, p.y);
    fs.frame.push_back(p);
    fs.grid.emplace_back(float(g[0]), float(g[1]));
  }
  return fs;
}

Registration register_features(const FeatureSet& frame, const FeatureSet& target, const cv::Matx33d& prior,
                               const cv::Size& frame_size, const RegistrationOptions& options) {
  Registration r;
  if (frame.grid.size() < 4 || target.grid.size() < 4) {
    r.note = "too few features (" + std::to_string(frame.grid.size()) + " in the frame, " +
             std::to_string(target.grid.size()) + " in the reference)";
    return r;
  }
  // Only pairs that the georeference allows: within search_px on the grid.
  cv::Mat allowed(int(frame.grid.size()), int(target.grid.size()), CV_8U, cv::Scalar(0));
  const double s2 = options.search_px * options.search_px;
  for (int i = 0; i < allowed.rows; ++i) {
    auto* row = allowed.ptr<std::uint8_t>(i);
    const cv::Point2f a = frame.grid[std::size_t(i)];
    for (int j = 0; j < allowed.cols; ++j) {
      const cv::Point2f d = target.grid[std::size_t(j)] - a;
      if (double(d.x) * d.x + double(d.y) * d.y <= s2) row[j] = 1;
    }
  }
  cv::BFMatcher matcher(cv::NORM_HAMMING);
  std::vector<std::vector<cv::DMatch>> knn;
  matcher.knnMatch(frame.descriptors, target.descriptors, knn, 2, allowed);
  std::vector<cv::Point2f> src, dst;
  for (const auto& m : knn) {
    if (m.empty()) continue;
    if (m.size() == 2 && !(m[0].distance < options.ratio * m[1].distance)) continue;
    src.push_back(frame.frame[std::size_t(m[0].queryIdx)]);
    dst.push_back(target.grid[std::size_t(m[0].trainIdx)]);
  }
  r.matches = int(src.size());
  if (r.matches < options.min_inliers) {
    r.note = "only " + std::to_string(r.matches) + " matches pass the ratio test within " +
             std::to_string(int(options.search_px)) + " px of the georeference";
    return r;
  }
  std::vector<std::uint8_t> inl;
  cv::Mat model;
  if (options.model == "homography") {
    model = cv::findHomography(src, dst, cv::RANSAC, options.ransac_px, inl, 4000, 0.999);
  } else if (options.model == "similarity") {
    model = cv::estimateAffinePartial2D(src, dst, inl, cv::RANSAC, options.ransac_px, 4000, 0.999, 20);
  } else {
    model = cv::estimateAffine2D(src, dst, inl, cv::RANSAC, options.ransac_px, 4000, 0.999, 20);
  }
  if (model.empty()) {
    r.note =
        "RANSAC found no consistent " + options.model + " among " + std::to_string(r.matches) + " matches";
    return r;
  }
  cv::Matx33d h = cv::Matx33d::eye();
  for (int y = 0; y < model.rows; ++y)
    for (int x = 0; x < 3; ++x) h(y, x) = model.at<double>(y, x);
  double ss = 0;
  for (std::size_t k = 0; k < inl.size(); ++k) {
    if (!inl[k]) continue;
    ++r.inliers;
    const auto p = apply_homography(h, src[k].x, src[k].y);
    ss += (p[0] - dst[k].x) * (p[0] - dst[k].x) + (p[1] - dst[k].y) * (p[1] - dst[k].y);
  }
  r.residual_px = r.inliers > 0 ? std::sqrt(ss / r.inliers) : NAN;
  // Few inliers among many matches is what a false fit on repeated texture looks like.
  if (r.inliers < options.min_inliers || r.inliers * 4 < r.matches) {
    r.note = "only " + std::to_string(r.inliers) + " RANSAC inliers (min_inliers " +
             std::to_string(options.min_inliers) + ")";
    return r;
  }
  // A fit that moves the frame's centre further than the search radius is a false match.
  const auto c_fit = apply_homography(h, frame_size.width / 2.0, frame_size.height / 2.0);
  const auto c_prior = apply_homography(prior, frame_size.width / 2.0, frame_size.height / 2.0);
  if (std::hypot(c_fit[0] - c_prior[0], c_fit[1] - c_prior[1]) > 1.5 * options.search_px) {
    r.note = "the fit moves the frame further than search_px from its georeference";
    return r;
  }
  r.ok = true;
  r.to_grid = h;
  return r;
}

}  // namespace qinling::raster
