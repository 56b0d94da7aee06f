// Block writers: a tiled GeoTIFF written block by block in a fixed order, and outputs that are
// written under a temporary name and renamed only when complete (COG via GDAL's COG driver).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "raster/gdal_io.hpp"
#include "raster/grid.hpp"

namespace qinling::raster {

using CreationOptions = std::map<std::string, std::string>;
// Reports the fraction done of a long GDAL operation; return false to cancel.
using ProgressFn = std::function<bool(double)>;

// Writes whole blocks of a band-interleaved tiled (or striped) GeoTIFF directly, bypassing the
// block cache, so the file layout depends only on the order of `write` calls, never on timing.
class TiledWriter {
 public:
  // `label` names the file in error messages (the final path when writing a temporary file).
  TiledWriter(const std::string& path, const Grid& grid, int bands, GDALDataType type,
              const CreationOptions& options, const std::vector<double>& nodata, const std::string& label = "");
  TiledWriter(TiledWriter&&) = default;
  TiledWriter& operator=(TiledWriter&&) = default;
  ~TiledWriter() = default;

  int block_width() const { return block_w_; }
  int block_height() const { return block_h_; }
  GDALDataset* dataset() { return ds_.get(); }
  // Writes `data` (window.width × window.height values of `data_type`, row-major) into `band`
  // (1-based). The window must start on a block boundary and end on one or at the raster edge.
  void write(int band, const Window& window, const void* data, GDALDataType data_type);
  void set_band_description(int band, const std::string& name);
  void set_metadata(const std::string& key, const std::string& value);
  // Flushes and closes; throws ProcessingError if anything failed.
  void close();

 private:
  std::string path_, label_;
  DatasetPtr ds_;
  GDALDataType type_;
  int block_w_ = 0, block_h_ = 0;
  std::vector<unsigned char> scratch_;
};

// A raster output being produced: the engine writes blocks into `writer()`, then `commit()`
// turns the staging file into the final format under a temporary name and renames it over the
// destination. Until `commit()` returns, the destination is untouched; a destroyed, uncommitted
// output removes its temporary files.
class AtomicRasterOutput {
 public:
  AtomicRasterOutput(const std::string& path, const std::string& format, const CreationOptions& user_options,
                     const Grid& grid, int bands, GDALDataType type, const std::vector<double>& nodata,
                     int threads);
  ~AtomicRasterOutput();
  AtomicRasterOutput(const AtomicRasterOutput&) = delete;
  AtomicRasterOutput& operator=(const AtomicRasterOutput&) = delete;

  TiledWriter& writer() { return writer_; }
  const std::string& path() const { return path_; }
  void commit(const ProgressFn& progress);

 private:
  std::string path_, format_, staging_, final_tmp_;
  CreationOptions cog_options_;
  TiledWriter writer_;
  bool committed_ = false;
};

// A headerless, row-major float32 file holding one band on a grid. Every window has a fixed
// place in it, so windows can be written in any order, by several threads or MPI ranks at once
// (disjoint byte ranges), and a killed run can keep what it wrote (checkpointed resume).
class StagingRaster {
 public:
  // Creates the file (sparse, `grid` size), or with `reuse` opens an existing one, which must
  // have exactly that size. `label` names the output in error messages.
  StagingRaster(const std::string& path, const Grid& grid, bool reuse, const std::string& label);
  ~StagingRaster();
  StagingRaster(StagingRaster&& other) noexcept;
  StagingRaster& operator=(StagingRaster&&) = delete;
  StagingRaster(const StagingRaster&) = delete;
  StagingRaster& operator=(const StagingRaster&) = delete;

  // Writes `w` (row-major, w.width values per row); thread-safe (pwrite).
  void write(const Window& w, const float* data) const;
  // Reads `w` into `out`.
  void read(const Window& w, float* out) const;
  // Makes what was written durable (fdatasync).
  void sync() const;
  const std::string& path() const { return path_; }
  const Grid& grid() const { return grid_; }
  // The staging file as a GDAL dataset (a VRT over the raw file) with the grid's georeferencing,
  // band description `description` and nodata NaN.
  DatasetPtr open(const std::string& description) const;

 private:
  std::string path_, label_;
  Grid grid_;
  int fd_ = -1;
};

// Turns a complete staging raster into `format` ("cog" or "gtiff") at `path`: written under a
// temporary sibling name and renamed over `path` when complete. The bytes equal those of an
// AtomicRasterOutput fed the same values (same drivers, options, metadata and block order).
void publish_staged(const StagingRaster& staging, const std::string& path, const std::string& format,
                    const CreationOptions& user_options, int threads, const std::string& description,
                    const ProgressFn& progress);

// The default creation options of each format (documented in the README), merged with the user's.
CreationOptions default_creation_options(const std::string& format, int threads);

// Removes a file and GDAL's side-cars (.aux.xml, .ovr, .msk) if present; never throws.
void remove_raster_files(const std::string& path) noexcept;

}  // namespace qinling::raster
