// Co-registration of aerial frames on the analysis grid with OpenCV features: ORB or AKAZE
// keypoints, ratio-test matching restricted to a search radius around the georeferenced
// position, and a RANSAC fit (similarity, affine or homography) of frame pixels to grid pixels.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace qinling::raster {

struct RegistrationOptions {
  std::string detector = "orb";  // orb | akaze
  std::string model = "affine";  // similarity | affine | homography
  int max_features = 4000;
  double ratio = 0.8;      // Lowe's ratio test
  double search_px = 100;  // how far (grid pixels) the georeference may be off
  double ransac_px = 2.0;  // inlier threshold (grid pixels)
  int min_inliers = 15;
};

// Keypoints with descriptors; `grid` holds their positions on the analysis grid (for a frame:
// predicted from its current placement), `frame` their positions in the frame's own pixels.
struct FeatureSet {
  std::vector<cv::Point2f> frame, grid;
  cv::Mat descriptors;
  void append(const FeatureSet& other);
  // The features whose grid position lies inside `box` (grid pixels).
  FeatureSet inside(const cv::Rect2d& box) const;
};

// Detects features in an 8-bit grey image (pixel corner coordinates, so a keypoint at index
// (x, y) is at (x + 0.5, y + 0.5)) and maps them to the grid with `to_grid`. `mask` may be empty.
FeatureSet detect_features(const cv::Mat& grey, const cv::Mat& mask, const cv::Matx33d& to_grid,
                           const RegistrationOptions& options);

struct Registration {
  bool ok = false;
  cv::Matx33d to_grid = cv::Matx33d::eye();  // frame pixels → grid pixels
  int matches = 0, inliers = 0;
  double residual_px = NAN;  // RMS distance of the inliers to the fitted model, grid pixels
  std::string note;          // why it failed
};

// Fits the frame's features to the target's (both with grid positions): candidates must lie
// within `search_px` of each other on the grid, pass the ratio test, then RANSAC. `prior` is the
// placement the frame's grid positions came from; a fit far from it is rejected.
Registration register_features(const FeatureSet& frame, const FeatureSet& target, const cv::Matx33d& prior,
                               const cv::Size& frame_size, const RegistrationOptions& options);

}  // namespace qinling::raster
