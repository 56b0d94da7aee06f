// `qinling sample-data`: writes the synthetic Qinling sample scene (rasters, GeoJSON, truth.json).
//
// Files, in the order of SampleDataResult::files (layout: raster/sample_scene.hpp and
// vector/sample_vectors.hpp): dem.tif, scene_2023-07.tif, scene_2024-07.tif,
// boundary.geojson, protected_zones.geojson, truth.json (grid, seed, changes with windows,
// world boxes and pixel counts, cloud blobs and QA counts per date). Each file is written under
// a hidden temporary name; all are renamed into place only after every one is complete.
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
