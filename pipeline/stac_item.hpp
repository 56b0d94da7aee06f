// STAC 1.0 Item JSON written next to each raster output (provenance for catalogue tools and
// QGIS's STAC browser): footprint in WGS84, projection, checksummed asset, software and inputs.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipeline/plan.hpp"

namespace qinling::pipeline {

struct StacContext {
  const Plan& plan;
  std::string format;  // cog or gtiff
  std::string sha256;  // hex; empty: unknown
  std::int64_t size = 0;
  std::int64_t datetime = 0;  // Unix seconds of the run
  std::int64_t run_id = 0;    // 0: not recorded
};

// "out/ndvi.tif" → "out/ndvi.stac.json".
std::string stac_item_path(const std::string& raster_path);

// A Unix time as the RFC 3339 UTC text STAC and the run report use ("2026-07-01T12:00:00Z").
std::string iso_utc(std::int64_t unix_seconds);

// Builds the Item for `raster_path` (read back with GDAL for its grid and CRS).
nlohmann::json make_stac_item(const std::string& raster_path, const StacContext& ctx);

// Writes it to stac_item_path() under a temporary name, renamed when complete.
void write_stac_item(const std::string& raster_path, const StacContext& ctx);

// "<out_dir>/<job>.collection.json": the run's STAC Collection, which every Item links to.
std::string stac_collection_path(const std::string& out_dir, const std::string& job_name);

// Writes the Collection of a run listing the Items of `raster_outputs` that exist (outputs reused
// from earlier runs included), its extent the union of theirs. Returns its path.
std::string write_stac_collection(const Plan& plan, const std::vector<std::string>& raster_outputs,
                                  std::int64_t datetime, std::int64_t run_id);

// Writes `text` to `path` under a temporary name, renamed when complete.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace qinling::pipeline
