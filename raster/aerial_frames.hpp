// Aerial photo frames: where a frame lies on the analysis grid (GeoTIFF tags, a world file with a
// .prj, or EXIF GPS plus camera parameters for nadir photos) and its pixels as 8-bit RGB.
#pragma once

#include <array>
#include <opencv2/core.hpp>
#include <string>

#include "raster/grid.hpp"

namespace qinling::raster {

// Camera parameters for frames georeferenced by EXIF GPS only (0 or NaN: unknown).
struct CameraModel {
  double focal_mm = 0;         // 0: the EXIF FocalLength
  double sensor_width_mm = 0;  // the sensor side along the image width
  double flight_height_m = 0;  // above ground
  double heading_deg = NAN;    // azimuth of the image top; NaN: EXIF GPSImgDirection, else 0
};

// A frame's placement before registration.
struct FrameGeoref {
  std::string path;
  int width = 0, height = 0, bands = 0;
  std::string source;  // "geotiff" (tags or world file) or "exif"
  // Frame pixel corner coordinates (u right, v down, (0,0) the top-left corner) → analysis grid
  // pixel corner coordinates. A homography, exact for affine georeferences.
  cv::Matx33d to_grid;
};

// Reads a frame's georeference (headers and EXIF only, no pixels). A frame without a CRS uses
// the .prj beside it, else `default_crs_wkt`. Throws InputError naming the frame when it cannot
// be opened or has no georeference at all.
FrameGeoref read_frame_georef(const std::string& path, const Grid& grid, const CameraModel& camera,
                              const std::string& default_crs_wkt);

// A frame's pixels: 8-bit RGB (CV_8UC3) and a validity mask (CV_8U, 0 = invalid; empty when
// every pixel is valid). `scale` <= 1 reads a reduced copy (area-averaged) of
// round(width*scale) × round(height*scale) pixels. Throws InputError naming the frame when it
// cannot be decoded (a truncated or corrupt JPEG).
struct FramePixels {
  cv::Mat rgb, mask;
};
FramePixels read_frame_pixels(const std::string& path, double scale);

// The grid pixel coordinates of frame pixel corner coordinates (u, v).
std::array<double, 2> apply_homography(const cv::Matx33d& h, double u, double v);

}  // namespace qinling::raster
