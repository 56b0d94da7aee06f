#include "raster/writer.hpp"

#include <cpl_string.h>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

namespace qinling::raster {
namespace fs = std::filesystem;

namespace {

CPLStringList to_cpl(const CreationOptions& options) {
  CPLStringList list;
  for (const auto& [k, v] : options) list.SetNameValue(k.c_str(), v.c_str());
  return list;
}

// Sibling temporary name: same directory (so the final rename is atomic), hidden, unique per process.
std::string temp_sibling(const std::string& path, const std::string& tag) {
  const fs::path p(path);
  return (p.parent_path() / ("." + p.stem().string() + "." + tag + "-" + std::to_string(::getpid()) + ".tif"))
      .string();
}

int gdal_progress(double fraction, const char*, void* user) {
  const auto* fn = static_cast<const ProgressFn*>(user);
  return (fn == nullptr || !*fn || (*fn)(fraction)) ? TRUE : FALSE;
}

}  // namespace

TiledWriter::TiledWriter(const std::string& path, const Grid& grid, int bands, GDALDataType type,
                         const CreationOptions& options, const std::vector<double>& nodata, const std::string& label)
    : path_(path), label_(label.empty() ? path : label), type_(type) {
  init_gdal();
  GDALDriver* gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
  ErrorTrap trap;
  CPLStringList opts = to_cpl(options);
  ds_.reset(gtiff->Create(path.c_str(), grid.width, grid.height, bands, type, opts.List()));
  if (!ds_) throw ProcessingError(label_ + ": cannot create the output: " + trap.message());
  auto gt = grid.geotransform;
  ds_->SetGeoTransform(gt.data());
  if (!grid.crs_wkt.empty()) ds_->SetProjection(grid.crs_wkt.c_str());
  for (int b = 1; b <= bands; ++b) {
    if (!nodata.empty()) ds_->GetRasterBand(b)->SetNoDataValue(nodata[std::min<size_t>(b - 1, nodata.size() - 1)]);
  }
  ds_->GetRasterBand(1)->GetBlockSize(&block_w_, &block_h_);
  trap.check(label_, "creating the output", false);
  scratch_.resize(size_t(block_w_) * block_h_ * GDALGetDataTypeSizeBytes(type));
}

void TiledWriter::write(int band, const Window& w, const void* data, GDALDataType data_type) {
  if (w.x % block_w_ != 0 || w.y % block_h_ != 0)
    throw ProcessingError(label_ + ": internal error: window not aligned to the output blocks");
  GDALRasterBand* rb = ds_->GetRasterBand(band);
  const int out_size = GDALGetDataTypeSizeBytes(type_);
  const int in_size = GDALGetDataTypeSizeBytes(data_type);
  const auto* src = static_cast<const unsigned char*>(data);
  double nd = rb->GetNoDataValue();
  ErrorTrap trap;
  for (int by = w.y; by < w.y + w.height; by += block_h_) {
    for (int bx = w.x; bx < w.x + w.width; bx += block_w_) {
      const int cw = std::min(block_w_, w.x + w.width - bx), ch = std::min(block_h_, w.y + w.height - by);
      if (cw < block_w_ || ch < block_h_) {
        // Edge block: pad with nodata (or 0) so the bytes never depend on leftover memory.
        GDALCopyWords64(&nd, GDT_Float64, 0, scratch_.data(), type_, out_size, std::int64_t(block_w_) * block_h_);
      }
      for (int r = 0; r < ch; ++r) {
        const unsigned char* s = src + (size_t(by - w.y + r) * w.width + (bx - w.x)) * in_size;
        GDALCopyWords64(s, data_type, in_size, scratch_.data() + size_t(r) * block_w_ * out_size, type_, out_size,
                        cw);
      }
      check_cpl(rb->WriteBlock(bx / block_w_, by / block_h_, scratch_.data()), trap, label_, "writing",
                false);
    }
  }
}

void TiledWriter::set_band_description(int band, const std::string& name) {
  ds_->GetRasterBand(band)->SetDescription(name.c_str());
}

void TiledWriter::set_metadata(const std::string& key, const std::string& value) {
  ds_->SetMetadataItem(key.c_str(), value.c_str());
}

void TiledWriter::close() {
  if (!ds_) return;
  ErrorTrap trap;
  ds_->FlushCache(true);
  ds_.reset();
  trap.check(label_, "writing", false);
}

CreationOptions default_creation_options(const std::string& format, int threads) {
  const std::string nt = threads > 0 ? std::to_string(threads) : "ALL_CPUS";
  if (format == "cog") {
    // ZSTD level 1 with the floating-point predictor: several times faster to encode than
    // DEFLATE at a similar size for float rasters; QGIS and GDAL >= 2.3 read it. Users who need
    // DEFLATE for old readers set `options: {COMPRESS: DEFLATE}`.
    return {{"COMPRESS", "ZSTD"},  {"LEVEL", "1"},       {"PREDICTOR", "YES"},
            {"BLOCKSIZE", "512"},  {"BIGTIFF", "IF_SAFER"}, {"OVERVIEW_RESAMPLING", "AVERAGE"},
            {"NUM_THREADS", nt}};
  }
  return {{"TILED", "YES"},      {"BLOCKXSIZE", "512"},   {"BLOCKYSIZE", "512"},     {"COMPRESS", "ZSTD"},
          {"ZSTD_LEVEL", "1"},   {"PREDICTOR", "3"},      {"INTERLEAVE", "BAND"},    {"BIGTIFF", "IF_SAFER"},
          {"NUM_THREADS", nt}};
}

void remove_raster_files(const std::string& path) noexcept {
  std::error_code ec;
  for (const char* suffix : {"", ".aux.xml", ".ovr", ".msk"}) fs::remove(path + suffix, ec);
}

AtomicRasterOutput::AtomicRasterOutput(const std::string& path, const std::string& format,
                                       const CreationOptions& user_options, const Grid& grid, int bands,
                                       GDALDataType type, const std::vector<double>& nodata, int threads)
    : path_(path),
      format_(format),
      staging_(format == "cog" ? temp_sibling(path, "staging") : ""),
      final_tmp_(temp_sibling(path, "partial")),
      writer_([&] {
        CreationOptions opts = default_creation_options(format, threads);
        for (const auto& [k, v] : user_options) opts[k] = v;
        if (format == "cog") {
          cog_options_ = opts;
          // The staging file is raw and tiled like the COG so the COG driver copies it
          // block for block; it is read once for overviews and once for the full resolution.
          const std::string bs = opts.count("BLOCKSIZE") ? opts["BLOCKSIZE"] : "512";
          CreationOptions staging{{"TILED", "YES"},      {"BLOCKXSIZE", bs},       {"BLOCKYSIZE", bs},
                                  {"COMPRESS", "NONE"},  {"INTERLEAVE", "BAND"},   {"BIGTIFF", "IF_SAFER"},
                                  {"SPARSE_OK", "FALSE"}};
          return TiledWriter(staging_, grid, bands, type, staging, nodata, path);
        }
        return TiledWriter(final_tmp_, grid, bands, type, opts, nodata, path);
      }()) {}

AtomicRasterOutput::~AtomicRasterOutput() {
  if (committed_) return;
  try {
    writer_.close();
  } catch (...) {
  }
  if (!staging_.empty()) remove_raster_files(staging_);
  remove_raster_files(final_tmp_);
}

void AtomicRasterOutput::commit(const ProgressFn& progress) {
  writer_.close();
  if (format_ == "cog") {
    DatasetPtr src = open_raster(staging_);
    GDALDriver* cog = GetGDALDriverManager()->GetDriverByName("COG");
    CPLStringList opts = to_cpl(cog_options_);
    ErrorTrap trap;
    DatasetPtr out(cog->CreateCopy(final_tmp_.c_str(), src.get(), FALSE, opts.List(), gdal_progress,
                                   const_cast<ProgressFn*>(&progress)));
    if (!out) throw ProcessingError(path_ + ": writing the COG failed: " + trap.message());
    out->FlushCache(true);
    out.reset();
    src.reset();
    trap.check(path_, "writing the COG", false);
    remove_raster_files(staging_);
  }
  std::error_code ec;
  fs::rename(final_tmp_, path_, ec);
  if (ec) throw ProcessingError(path_ + ": cannot move the finished output into place: " + ec.message());
  fs::remove(final_tmp_ + ".aux.xml", ec);
  committed_ = true;
}

namespace {

std::string errno_text() { return std::strerror(errno); }

// pwrite/pread the whole range, retrying short transfers.
template <class Op>
bool transfer_all(Op op, int fd, char* buf, std::size_t n, off_t offset) {
  while (n > 0) {
    const ssize_t done = op(fd, buf, n, offset);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) return false;
    buf += done;
    n -= std::size_t(done);
    offset += done;
  }
  return true;
}

}  // namespace

StagingRaster::StagingRaster(const std::string& path, const Grid& grid, bool reuse, const std::string& label)
    : path_(path), label_(label.empty() ? path : label), grid_(grid) {
  const off_t bytes = off_t(grid.width) * grid.height * off_t(sizeof(float));
  fd_ = ::open(path.c_str(), reuse ? O_RDWR | O_CLOEXEC : O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw ProcessingError(label_ + ": cannot create the staging file " + path + ": " + errno_text());
  struct stat st {};
  if (reuse) {
    if (::fstat(fd_, &st) != 0 || st.st_size != bytes) {
      ::close(fd_);
      fd_ = -1;
      throw ProcessingError(label_ + ": the staging file " + path + " does not match the grid");
    }
  } else if (::ftruncate(fd_, bytes) != 0) {  // sparse: nothing is written until windows arrive
    const std::string why = errno_text();
    ::close(fd_);
    fd_ = -1;
    throw ProcessingError(label_ + ": writing failed: " + why + " (staging file " + path + ")");
  }
}

StagingRaster::~StagingRaster() {
  if (fd_ >= 0) ::close(fd_);
}

StagingRaster::StagingRaster(StagingRaster&& other) noexcept
    : path_(std::move(other.path_)), label_(std::move(other.label_)), grid_(std::move(other.grid_)), fd_(other.fd_) {
  other.fd_ = -1;
}

void StagingRaster::write(const Window& w, const float* data) const {
  const std::size_t row_bytes = std::size_t(w.width) * sizeof(float);
  const auto offset = [&](int r) { return (off_t(w.y + r) * grid_.width + w.x) * off_t(sizeof(float)); };
  const auto op = [](int fd, char* b, std::size_t n, off_t o) { return ::pwrite(fd, b, n, o); };
  // A full-width window is one contiguous range: one call.
  const int rows = w.width == grid_.width ? 1 : w.height;
  const std::size_t bytes = w.width == grid_.width ? row_bytes * std::size_t(w.height) : row_bytes;
  for (int r = 0; r < rows; ++r) {
    auto* src = const_cast<char*>(reinterpret_cast<const char*>(data + std::size_t(r) * w.width));
    if (!transfer_all(op, fd_, src, bytes, offset(r)))
      throw ProcessingError(label_ + ": writing failed: " + errno_text() + " (staging file " + path_ + ")");
  }
}

void StagingRaster::read(const Window& w, float* out) const {
  const std::size_t row_bytes = std::size_t(w.width) * sizeof(float);
  const auto op = [](int fd, char* b, std::size_t n, off_t o) { return ::pread(fd, b, n, o); };
  for (int r = 0; r < w.height; ++r) {
    const off_t offset = (off_t(w.y + r) * grid_.width + w.x) * off_t(sizeof(float));
    if (!transfer_all(op, fd_, reinterpret_cast<char*>(out + std::size_t(r) * w.width), row_bytes, offset))
      throw ProcessingError(label_ + ": cannot read the staging file " + path_ + ": " + errno_text());
  }
}

void StagingRaster::sync() const {
  if (::fdatasync(fd_) != 0)
    throw ProcessingError(label_ + ": writing failed: " + errno_text() + " (staging file " + path_ + ")");
}

DatasetPtr StagingRaster::open(const std::string& description) const {
  init_gdal();
  ErrorTrap trap;
  GDALDriver* vrt = GetGDALDriverManager()->GetDriverByName("VRT");
  DatasetPtr ds(vrt->Create("", grid_.width, grid_.height, 0, GDT_Float32, nullptr));
  if (!ds) throw ProcessingError(label_ + ": cannot read the staging file " + path_ + ": " + trap.message());
  auto gt = grid_.geotransform;
  ds->SetGeoTransform(gt.data());
  if (!grid_.crs_wkt.empty()) ds->SetProjection(grid_.crs_wkt.c_str());
  // What a GeoTIFF reports by default: keeps the COG's metadata equal to one made from a GeoTIFF.
  ds->SetMetadataItem("AREA_OR_POINT", "Area");
  CPLStringList opts;
  opts.SetNameValue("subclass", "VRTRawRasterBand");
  opts.SetNameValue("SourceFilename", path_.c_str());
  opts.SetNameValue("ImageOffset", "0");
  opts.SetNameValue("PixelOffset", "4");
  opts.SetNameValue("LineOffset", std::to_string(std::int64_t(grid_.width) * 4).c_str());
  opts.SetNameValue("ByteOrder", "LSB");
  if (ds->AddBand(GDT_Float32, opts.List()) != CE_None)
    throw ProcessingError(label_ + ": cannot read the staging file " + path_ + ": " + trap.message());
  GDALRasterBand* band = ds->GetRasterBand(1);
  band->SetNoDataValue(NAN);
  band->SetDescription(description.c_str());
  return ds;
}

void publish_staged(const StagingRaster& staging, const std::string& path, const std::string& format,
                    const CreationOptions& user_options, int threads, const std::string& description,
                    const ProgressFn& progress) {
  CreationOptions opts = default_creation_options(format, threads);
  for (const auto& [k, v] : user_options) opts[k] = v;
  const std::string tmp = temp_sibling(path, "partial");
  const Grid& grid = staging.grid();
  try {
    if (format == "cog") {
      DatasetPtr src = staging.open(description);
      GDALDriver* cog = GetGDALDriverManager()->GetDriverByName("COG");
      CPLStringList list = to_cpl(opts);
      ErrorTrap trap;
      DatasetPtr out(cog->CreateCopy(tmp.c_str(), src.get(), FALSE, list.List(), gdal_progress,
                                     const_cast<ProgressFn*>(&progress)));
      if (!out) throw ProcessingError(path + ": writing the COG failed: " + trap.message());
      out->FlushCache(true);
      out.reset();
      trap.check(path, "writing the COG", false);
    } else {
      // The same writer and block order as a direct write, so the bytes are the same.
      TiledWriter writer(tmp, grid, 1, GDT_Float32, opts, {NAN}, path);
      writer.set_band_description(1, description);
      const int strip = writer.block_height();
      std::vector<float> buf(std::size_t(grid.width) * std::size_t(strip));
      for (int y = 0; y < grid.height; y += strip) {
        const Window w{0, y, grid.width, std::min(strip, grid.height - y)};
        staging.read(w, buf.data());
        writer.write(1, w, buf.data(), GDT_Float32);
        if (progress && !progress(double(y + w.height) / grid.height))
          throw ProcessingError(path + ": cancelled");
      }
      writer.close();
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw ProcessingError(path + ": cannot move the finished output into place: " + ec.message());
    fs::remove(tmp + ".aux.xml", ec);
  } catch (...) {
    remove_raster_files(tmp);
    throw;
  }
}

}  // namespace qinling::raster
