#include "raster/tile_rows.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

#include "models/tsan_annotations.hpp"

namespace qinling::raster {

SourceTransform::SourceTransform(GDALDataset* src, const std::string& tile_crs_wkt, const std::string& path) {
  ErrorTrap trap;
  double gt[6];
  const OGRSpatialReference* src_srs = src->GetSpatialRef();
  if (src->GetGeoTransform(gt) != CE_None || !src_srs || !GDALInvGeoTransform(gt, inv_gt_))
    throw ProcessingError(path + ": has no invertible geotransform and CRS; tiles need both");
  OGRSpatialReference from(*src_srs), to;
  from.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  if (to.importFromWkt(tile_crs_wkt.c_str()) != OGRERR_NONE)
    throw ProcessingError(path + ": the tile CRS is not valid WKT");
  to.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  // GDAL's GenImgProj transformer restricts the operation search to the layer's lon/lat extent
  // (its area of interest); do the same so that the operation, and GDAL's cache key, are the same.
  OGRCoordinateTransformationOptions options;
  std::unique_ptr<OGRSpatialReference> geog(from.CloneGeogCS());
  if (geog) {
    geog->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::unique_ptr<OGRCoordinateTransformation> to_geog(
        OGRCreateCoordinateTransformation(&from, geog.get()));
    const double w = src->GetRasterXSize(), h = src->GetRasterYSize();
    double west = 0, south = 0, east = 0, north = 0;
    if (to_geog && to_geog->TransformBounds(gt[0], gt[3] + h * gt[5], gt[0] + w * gt[1], gt[3], &west, &south,
                                            &east, &north, 21))
      options.SetAreaOfInterest(west, south, east, north);
  }
  std::unique_ptr<OGRCoordinateTransformation> forward(
      OGRCreateCoordinateTransformation(&from, &to, options));
  if (forward) ct_.reset(forward->GetInverse());
  if (!ct_) throw ProcessingError(path + ": cannot be transformed to the tile CRS (" + trap.message() + ")");
}

SourceTransform::SourceTransform(const SourceTransform& other) : ct_(other.ct_->Clone()) {
  std::copy(std::begin(other.inv_gt_), std::end(other.inv_gt_), inv_gt_);
  if (!ct_) throw ProcessingError("cannot copy a coordinate transformation");
}

SourceTransform::~SourceTransform() = default;

void SourceTransform::to_source(int n, double* x, double* y, int* ok) {
  ct_->Transform(n, x, y, nullptr, nullptr, ok);
  for (int i = 0; i < n; ++i) {
    if (!ok[i]) continue;
    // The same expression as GDALApplyGeoTransform, so the coordinates are GDAL's to the bit.
    const double px = inv_gt_[0] + x[i] * inv_gt_[1] + y[i] * inv_gt_[2];
    const double py = inv_gt_[3] + x[i] * inv_gt_[4] + y[i] * inv_gt_[5];
    x[i] = px;
    y[i] = py;
  }
}

SourceRows::SourceRows(const TileSource& src, std::size_t max_bytes) : src_(src), max_bytes_(max_bytes) {
  DatasetPtr ds = open_raster(src.path);
  GDALRasterBand* band = ds->GetRasterBand(1);
  width_ = ds->GetRasterXSize();
  height_ = ds->GetRasterYSize();
  band->GetBlockSize(&block_w_, &block_h_);
  block_w_ = std::max(1, block_w_);
  // Rows are held in chunks of whole blocks, at least 256 rows (striped files have 1-row blocks).
  tiff_block_h_ = std::max(1, block_h_);
  block_h_ = tiff_block_h_ * std::max(1, 256 / tiff_block_h_);
  nodata_ = band->GetNoDataValue(&has_nodata_);
  direct_ = ds->GetDriver() && std::string(ds->GetDriver()->GetDescription()) == "GTiff" &&
            ds->GetRasterCount() == 1 && band->GetRasterDataType() == GDT_Float32;
  handles_.local().ds = std::move(ds);
}

bool SourceRows::cover(int y0, int y1) {
  y0 = std::clamp(y0, 0, height_);
  y1 = std::clamp(y1, y0, height_);
  const int b0 = y0 / block_h_, b1 = y1 > y0 ? (y1 - 1) / block_h_ + 1 : b0;
  if (std::size_t(b1 - b0) * block_h_ * std::size_t(width_) * sizeof(float) > max_bytes_) {
    blocks_.clear();
    spare_.clear();
    first_ = last_ = 0;
    return false;
  }
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    if (it->first >= b0 && it->first < b1) {
      ++it;
      continue;
    }
    spare_.push_back(std::move(it->second));  // reused: no new pages to fault in and zero
    it = blocks_.erase(it);
  }
  std::vector<int> missing;
  for (int b = b0; b < b1; ++b)
    if (!blocks_.count(b)) missing.push_back(b);
  if (!missing.empty()) read_block_rows(missing);
  first_ = b0 * block_h_;
  last_ = std::min(height_, b1 * block_h_);
  return true;
}

bool SourceRows::read_direct(Handle& hd, int bx, int y0, int w, int h, float* out) {
  if (!direct_) return false;
  ErrorTrap quiet;  // anything unusual: GDAL reads the block instead and reports what is wrong
  if (!hd.direct_tried) {
    hd.direct_tried = true;
    hd.direct = DirectTiffTiles::open(src_.path);
    if (hd.direct && (hd.direct->tile_width() != block_w_ || hd.direct->tile_height() != tiff_block_h_))
      hd.direct.reset();
  }
  if (!hd.direct) return false;
  for (int y = y0; y < y0 + h; y += tiff_block_h_)
    if (!hd.direct->read(bx, y / tiff_block_h_, w, std::min(tiff_block_h_, y0 + h - y),
                         out + std::size_t(y - y0) * width_, std::size_t(width_)))
      return false;
  return !quiet.failed();
}

void SourceRows::read_block_rows(const std::vector<int>& missing) {
  for (int b : missing) {
    std::vector<float>& rows = blocks_[b];
    if (!spare_.empty()) {
      rows = std::move(spare_.back());
      spare_.pop_back();
    }
    rows.resize(std::size_t(std::min(block_h_, height_ - b * block_h_)) *
                width_);  // every float is read below
  }
  const int block_cols = (width_ + block_w_ - 1) / block_w_;
  const models::tsan::ForkJoin fork_join;  // TSan marks (models/tsan_annotations.hpp)
  // One task per block: the blocks of a block row are decoded in parallel, each exactly once.
  tbb::parallel_for(
      tbb::blocked_range<int>(0, int(missing.size()) * block_cols), fork_join.each([&](int task) {
        Handle& hd = handles_.local();
        if (!hd.ds) hd.ds = open_raster(src_.path);
        GDALRasterBand* band = hd.ds->GetRasterBand(1);
        const int by = missing[std::size_t(task / block_cols)], bx = task % block_cols;
        const int x0 = bx * block_w_, y0 = by * block_h_;
        const int w = std::min(block_w_, width_ - x0), h = std::min(block_h_, height_ - y0);
        float* out = blocks_.at(by).data() + x0;
        if (!read_direct(hd, bx, y0, w, h, out)) {
          ErrorTrap trap;
          const CPLErr err = band->RasterIO(GF_Read, x0, y0, w, h, out, w, h, GDT_Float32, sizeof(float),
                                            std::int64_t(width_) * sizeof(float), nullptr);
          check_cpl(err, trap, src_.path, "reading for tiles", true);
          // Each block is read once: keeping it in GDAL's cache would only take memory.
          for (int ty = y0 / tiff_block_h_; ty * tiff_block_h_ < y0 + h; ++ty)
            band->FlushBlock(bx, ty, FALSE);
        }
        if (has_nodata_ && !std::isnan(nodata_))
          for (int y = 0; y < h; ++y)
            for (float* v = out + std::size_t(y) * width_; v != out + std::size_t(y) * width_ + w; ++v)
              if (*v == float(nodata_)) *v = NAN;
      }));
  fork_join.joined();
}

}  // namespace qinling::raster
