// Placing aerial frames on the analysis grid: georeference, feature-based co-registration
// against a reference layer (or the frames already placed), and gain compensation over overlaps.
#pragma once

#include <array>
#include <functional>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "raster/aerial_frames.hpp"
#include "raster/aerial_register.hpp"
#include "raster/grid.hpp"
#include "raster/source.hpp"

namespace qinling::raster {

struct PlaceOptions {
  RegistrationOptions registration;
  CameraModel camera;
  std::string default_crs_wkt;     // for frames with a world file and no .prj
  bool register_frames = true;     // false: keep the georeference
  bool drop_unregistered = false;  // false: a frame that cannot be registered is placed by its georeference
  bool balance = true;             // gain compensation
  int threads = 1;
};

// What happened to one frame; written to the footprint layer.
struct PlacedFrame {
  std::string path;
  std::string status;  // registered | georeferenced | anchor | dropped
  std::string source;  // geotiff | exif (empty when the frame could not be read)
  std::string note;    // why it was dropped or not registered
  int width = 0, height = 0;
  int matches = 0, inliers = 0;
  double residual_px = NAN;
  double shift_px = NAN;  // how far registration moved the frame's centre from its georeference
  cv::Matx33d to_grid = cv::Matx33d::eye();  // frame pixels → grid pixels (final)
  double read_scale = 1;                     // frames are read at this scale for blending
  std::array<double, 3> gain{1, 1, 1};       // per channel (R, G, B)
  bool used() const { return status != "dropped"; }
};

struct PlaceTimings {
  double register_s = 0, balance_s = 0;
};

// The reference: bands of rasters read on the analysis grid and averaged into one grey layer.
using ReferenceBands = std::vector<BandSource>;

// Places every frame (in the order given). Bad frames (unreadable, no georeference, outside the
// grid) are returned as dropped with a note and logged as warnings naming the frame.
std::vector<PlacedFrame> place_frames(const std::vector<std::string>& paths, const Grid& grid,
                                      const ReferenceBands& reference, const PlaceOptions& options,
                                      PlaceTimings* timings = nullptr);

// The frame's footprint bounding box on the grid (grid pixels, not clipped).
cv::Rect2d frame_bounds(const cv::Matx33d& to_grid, int width, int height);

}  // namespace qinling::raster
