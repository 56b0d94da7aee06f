#include "raster/gdal_io.hpp"

#include <cpl_conv.h>
#include <gdal_alg.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <mutex>

namespace qinling::raster {

void TransformerFree::operator()(void* t) const noexcept {
  if (t) GDALDestroyTransformer(t);
}

void DatasetCloser::operator()(GDALDataset* ds) const noexcept {
  if (ds != nullptr) GDALClose(GDALDataset::ToHandle(ds));
}

void init_gdal() {
  static std::once_flag once;
  std::call_once(once, [] {
    GDALAllRegister();
    // Outside an ErrorTrap, GDAL messages go to our log instead of raw "ERROR 1:" lines;
    // failures that matter are raised as exceptions by the traps around each call.
    CPLSetErrorHandler([](CPLErr cls, CPLErrorNum, const char* msg) {
      if (cls >= CE_Failure) spdlog::debug("GDAL error: {}", msg ? msg : "");
      else if (cls == CE_Warning) spdlog::debug("GDAL warning: {}", msg ? msg : "");
    });
    // A bounded block cache keeps memory flat whatever the scene size; the engine streams
    // windows itself and does not rely on GDAL caching whole rasters.
    if (CPLGetConfigOption("GDAL_CACHEMAX", nullptr) == nullptr) GDALSetCacheMax64(256ll << 20);
  });
}

ErrorTrap::ErrorTrap() { CPLPushErrorHandlerEx(&ErrorTrap::handler, this); }
ErrorTrap::~ErrorTrap() { CPLPopErrorHandler(); }

void CPL_STDCALL ErrorTrap::handler(CPLErr cls, CPLErrorNum, const char* msg) {
  auto* self = static_cast<ErrorTrap*>(CPLGetErrorHandlerUserData());
  if (cls >= CE_Failure) {
    if (self != nullptr) self->errors_.emplace_back(msg ? msg : "unknown GDAL error");
  } else if (cls == CE_Warning) {
    spdlog::debug("GDAL warning: {}", msg ? msg : "");
  }
}

std::string ErrorTrap::message() const {
  std::string out;
  for (const auto& e : errors_) {
    if (!out.empty()) out += "; ";
    out += e;
  }
  return out;
}

void ErrorTrap::check(const std::string& path, const std::string& what, bool input) const {
  if (!failed()) return;
  const std::string text = path + ": " + what + " failed: " + message();
  if (input) throw InputError(text);
  throw ProcessingError(text);
}

void check_cpl(CPLErr err, const ErrorTrap& trap, const std::string& path, const std::string& what,
               bool input) {
  trap.check(path, what, input);
  if (err == CE_None) return;
  const std::string last = CPLGetLastErrorMsg();
  const std::string text = path + ": " + what + " failed" + (last.empty() ? "" : ": " + last);
  if (input) throw InputError(text);
  throw ProcessingError(text);
}

DatasetPtr open_raster(const std::string& path) {
  init_gdal();
  const bool is_gdal_path = path.rfind("/vsi", 0) == 0 || path.find(':') != std::string::npos;
  if (!is_gdal_path && !std::filesystem::exists(path))
    throw InputError(path + ": no such file (check the path; relative paths are relative to the job file)");
  ErrorTrap trap;
  DatasetPtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  if (!ds) {
    throw InputError(path + ": cannot open as a raster" + (trap.failed() ? ": " + trap.message() : ""));
  }
  trap.check(path, "opening", true);
  if (ds->GetRasterCount() == 0) throw InputError(path + ": has no raster bands");
  return ds;
}

}  // namespace qinling::raster
