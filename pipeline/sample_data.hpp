// `qinling sample-data`: writes the synthetic Qinling sample scene (rasters, GeoJSON, truth.json).
//
// Files, in the order of SampleDataResult::files (layout: raster/sample_scene.hpp and
// vector/sample_vectors.hpp): dem.tif, scene_2023-07.tif, scene_2023-07_ST_B10.tif,
// scene_2024-07.tif, scene_2024-07_ST_B10.tif, boundary.geojson, protected_zones.geojson,
// truth.json. (The ST_B10 thermal files were added later; every other file kept its bytes.) Each is written under a hidden temporary name; all are
// renamed into place only after every one is complete, truth.json last.
//
// truth.json: generator, version, seed, size; grid {crs "EPSG:4547", width, height, pixel_size,
// geotransform, bbox, centre_lonlat}; reflectance {scale, offset}; bands; qa_bits; changes[]
// {kind forest_clearing|burn_scar|new_reservoir, from, to, shape rectangle|circle, window
// {x,y,width,height} (pixel bounding box), centre_px [col,row], radius_px (circles), bbox
// (grid CRS, [xmin,ymin,xmax,ymax]), bbox_lonlat, centre_lonlat, pixel_count, area_m2,
// protected_zone_id (or null)}; dates {"2023-07"|"2024-07": {file, cloud_blobs [{col,row,
// radius}], qa_counts {fill, cloud, dilated_cloud, cloud_shadow, snow, water, clear}}};
// protected_zones [{zone_id, name, level}]. Counts are pixels with that QA bit set (shadow and
// ring counts exclude cloud pixels; fill pixels count only as fill).
// Aerial frames (issue 7) follow in aerial/ (layout: raster/aerial_sample.hpp), written after the
// scene's files are in place, the folder renamed into place when complete.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qinling::pipeline {

struct SampleDataOptions {
  std::string dir;
  int size = 1000;
  std::uint64_t seed = 42;
  std::string compress = "DEFLATE";  // DEFLATE, ZSTD or NONE (any case)
  int threads = 0;                   // 0 = all cores
};

struct SampleDataResult {
  std::vector<std::string> files;  // absolute paths written, in a stable order
};

// Throws ConfigError for bad options (size outside 64..100000, unknown compress, threads < 0)
// and ProcessingError when a file cannot be written. `progress` gets fractions in [0, 1],
// non-decreasing, ending at 1; it may be empty, and an exception it throws cancels the run
// (leaving the folder as it was).
SampleDataResult generate_sample_data(const SampleDataOptions& options,
                                      const std::function<void(double)>& progress);

}  // namespace qinling::pipeline
