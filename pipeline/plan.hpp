// From a parsed job to an executable plan: steps built and validated, names resolved, the
// dependency graph ordered (cycles rejected), files opened once, the analysis grid fixed.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/qa_mask.hpp"
#include "pipeline/job_spec.hpp"
#include "pipeline/step.hpp"
#include "raster/grid.hpp"
#include "raster/source.hpp"

namespace qinling::pipeline {

struct RunOptions {
  std::string out_dir;  // empty: outputs relative to the job file
  int threads = 0;      // 0: all cores
  int memory_mb = 0;    // 0: the job's memory_mb
};

struct PlannedOutput {
  std::string step_id;
  std::string path;  // absolute
  std::string format;
  raster::CreationOptions options;
};

// Pixels of an input to drop: where its quality band matches the mask.
struct InputMask {
  std::string qa_key;                 // band key of the quality band
  std::vector<std::string> band_keys;  // the input's other bands
  models::QaMask mask;
};

// A mosaic input composed per pixel from hidden per-scene inputs (pipeline/mosaic.hpp).
struct MosaicInput {
  std::string name, rule;           // rule: first_valid | best_quality
  std::vector<std::string> scenes;  // hidden input names "<name>[i]", in listed order
  std::vector<std::string> files;   // their files
  std::vector<std::string> bands;   // band names shared by every scene
  std::string qa_band;              // the quality band (empty: none); not part of validity
  std::vector<int> order;           // scene indices in the order they are tried per pixel
  std::vector<double> clear_fraction;  // per scene (best_quality only; else empty)
};

struct Plan {
  JobSpec job;
  raster::Grid grid;
  std::vector<std::unique_ptr<Step>> steps;  // in dependency order
  std::map<std::string, raster::BandSource> band_sources;  // "input.band" → file and band
  std::map<std::string, std::string> file_resampling;      // file → resampling used to warp it
  std::map<std::string, raster::RasterInfo> files;
  std::vector<PlannedOutput> outputs;
  std::map<std::string, std::string> vector_inputs;  // vector input name → file
  std::map<std::string, std::vector<std::string>> frame_inputs;  // frame set name → files, sorted
  std::vector<InputMask> masks;
  std::vector<MosaicInput> mosaics;
  std::string out_dir;  // absolute folder outputs are resolved against
  int memory_mb = 512;
  const Step* step(const std::string& id) const;
};

// Validates everything it can without reading pixels and returns the plan. Throws ConfigError
// listing every problem at once, or InputError for a file that exists but cannot be opened.
Plan make_plan(const std::string& job_file, const RunOptions& options);

}  // namespace qinling::pipeline
