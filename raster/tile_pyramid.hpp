// Builds a tile pyramid in one pass: warps the layer once, row of tiles by row of tiles, onto the
// deepest level's grid, cuts those tiles, and builds every lower level from its four children.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "raster/colour_ramp.hpp"
#include "raster/tile_encode.hpp"
#include "raster/tile_manifest.hpp"
#include "raster/tile_matrix.hpp"
#include "raster/tile_source.hpp"

namespace qinling::raster {

class TileJournal;

// Receives encoded tiles one call at a time (from any of the pyramid's threads, never two at
// once) in a fixed order (rows top to bottom at the deepest level, each parent row as soon as its
// children are done).
class TileSink {
 public:
  virtual ~TileSink() = default;
  virtual void put(int z, int x, int y, const std::string& data) = 0;
  // Incremental runs: whether this sink's previous output holds tile (z, x, y) so that it can be
  // kept as it is, and keeping it (called only after holds() said so).
  virtual bool holds(int /*z*/, int /*x*/, int /*y*/) { return false; }
  virtual void keep(int /*z*/, int /*x*/, int /*y*/) {}
};

// Splitting one pyramid over processes (MPI ranks; the caller supplies the exchange, so raster/
// knows nothing of MPI). The rows of a split level, each with every row below it (a band of
// sub-pyramids), are shared out by `share`; each process renders its bands down to the split
// level, the others write tiles and the split level's pixels to `part_path(part)` on a shared
// folder, and after `wait` part 0 feeds their tiles to its sinks in the one-process order and
// builds the levels above the split: the same tiles and bytes as one process.
struct PyramidSplit {
  int part = 0, parts = 1;
  // [first, last) of the bands (weights: deepest-level tiles of each band) this part renders.
  std::function<std::pair<std::size_t, std::size_t>(const std::vector<std::int64_t>&)> share;
  std::function<std::string(int)> part_path;
  // Every part has written its file or failed (`failure`); then throws on every part if any failed.
  std::function<void(std::exception_ptr)> wait;
};

struct PyramidOptions {
  const TileMatrixSet* tms = nullptr;
  ZoomRange zoom;
  int threads = 1;
  const RampRenderer* ramp = nullptr;  // required for value layers
  TileFormat format = TileFormat::png;
  // Fraction done in [0, 1]; may throw to cancel.
  std::function<void(double)> progress;
  // Optional shaded relief (one band, 0..255, e.g. terrain.hillshade or gdaldem hillshade of a DEM)
  // multiplied into the ramped colours of a value layer: colour * (1 - s + s * shade / 255).
  const TileSource* shade = nullptr;
  double shade_strength = 0.6;
  // Incremental runs: the pixel hashes of the previous render with the same settings. A tile whose
  // hash is unchanged is kept by the sinks (TileSink::keep) instead of drawn and encoded again.
  const TileHashes* previous = nullptr;
  // Resume: tiles an interrupted run drew from the same pixels are taken from the journal, and every
  // tile drawn now is recorded in it. May be null.
  TileJournal* journal = nullptr;
  // Parts other than 0 render no levels above the split and give their sink nothing.
  PyramidSplit split{};
};

struct PyramidResult {
  std::vector<TileRange> ranges;  // per level from zoom.min to zoom.max: the tiles the layer covers
  long long tiles_written = 0, tiles_empty = 0;  // written counts kept tiles too
  long long tiles_kept = 0;                        // unchanged since `previous`, not drawn again
  long long tiles_resumed = 0;                     // taken from the journal of an interrupted run
  std::vector<long long> drawn;  // per level from zoom.min: tiles drawn and encoded now
  TileHashes hashes;             // every tile written or kept: for the next run's `previous`
  // Split runs, on part 0: the tiles (empty ones too) each part rendered, by part.
  std::vector<long long> rendered_per_part;
};

// Deterministic: the same tiles, in the same order, for any thread count.
PyramidResult build_pyramid(const TileSource& source, const Footprint& footprint, const PyramidOptions& options,
                            TileSink& sink);

}  // namespace qinling::raster
