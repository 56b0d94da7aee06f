// RAII over GDAL: owning dataset handles and a scoped error trap that turns GDAL errors into
// exceptions naming the file.
#pragma once

#include <gdal_priv.h>

#include <memory>
#include <string>
#include <vector>

#include "models/errors.hpp"

namespace qinling::raster {

struct DatasetCloser {
  void operator()(GDALDataset* ds) const noexcept;
};
// The only owning handle to a GDAL dataset we use: move-only, closes on destruction.
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

// A GDAL transformer (GDALCreateGenImgProjTransformer2 and friends), destroyed with
// GDALDestroyTransformer.
struct TransformerFree {
  void operator()(void* t) const noexcept;
};
using TransformerPtr = std::unique_ptr<void, TransformerFree>;

// Registers GDAL drivers and sets process-wide defaults once; safe to call repeatedly.
void init_gdal();

// Collects GDAL errors raised on this thread while it lives (GDAL's handler stack is per thread).
// GDAL reports some failures (a truncated GeoTIFF's missing tiles) only through this channel,
// so every read and write is wrapped in a trap and `check()`ed.
class ErrorTrap {
 public:
  ErrorTrap();
  ~ErrorTrap();
  ErrorTrap(const ErrorTrap&) = delete;
  ErrorTrap& operator=(const ErrorTrap&) = delete;

  bool failed() const { return !errors_.empty(); }
  std::string message() const;
  // Throws InputError (when `input`) or ProcessingError naming `path` if GDAL reported an error.
  void check(const std::string& path, const std::string& what, bool input) const;

 private:
  static void CPL_STDCALL handler(CPLErr cls, CPLErrorNum no, const char* msg);
  std::vector<std::string> errors_;
};

// Opens a raster read-only; throws InputError naming the path when it is missing or unreadable.
DatasetPtr open_raster(const std::string& path);

// Throws InputError/ProcessingError with GDAL's last message when `err` is not CE_None.
void check_cpl(CPLErr err, const ErrorTrap& trap, const std::string& path, const std::string& what,
               bool input);

}  // namespace qinling::raster
