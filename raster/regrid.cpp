#include "raster/regrid.hpp"

#include <ogr_spatialref.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "models/errors.hpp"
#include "models/tsan_annotations.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::raster {
namespace {

constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

void transform(OGRCoordinateTransformation& ct, std::vector<double>& x, std::vector<double>& y) {
  transform_points(ct, x.data(), y.data(), x.size());
}

}  // namespace

RegridMethod parse_regrid_method(const std::string& name) {
  if (name == "nearest") return RegridMethod::nearest;
  if (name == "bilinear") return RegridMethod::bilinear;
  if (name == "cubic") return RegridMethod::cubic;
  if (name == "conservative") return RegridMethod::conservative;
  throw ConfigError("unknown regrid method '" + name + "' (nearest, bilinear, cubic, conservative)");
}

Regridder::Regridder(const BandSource& src, const Grid& target, RegridMethod method, int samples)
    : target_(target), path_(src.path), method_(method) {
  DatasetPtr ds = open_raster(src.path);
  if (src.band < 1 || src.band > ds->GetRasterCount())
    throw InputError(src.path + ": has no band " + std::to_string(src.band));
  if (ds->GetGeoTransform(src_gt_.data()) != CE_None || src_gt_[2] != 0 || src_gt_[4] != 0)
    throw InputError(src.path +
                     ": regrid needs a north-up georeferenced raster (no geotransform, or a rotated one)");
  const OGRSpatialReference* srs = ds->GetSpatialRef();
  if (srs == nullptr)
    throw InputError(src.path +
                     ": has no coordinate reference system; add one (gdal_translate -a_srs EPSG:4326)");
  OGRSpatialReference s(*srs);
  s.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  geographic_ = s.IsGeographic();

  const int W = ds->GetRasterXSize(), H = ds->GetRasterYSize();
  lattice_.full_width = W;
  lattice_.full_height = H;
  lattice_.wrap_x = geographic_ && std::fabs(std::fabs(src_gt_[1]) * W - 360.0) < 0.5 * std::fabs(src_gt_[1]);

  // The source pixels the target needs: a 33 × 33 lattice over the target (edges included).
  OGRSpatialReference target_srs;
  target_srs.importFromWkt(target_.crs_wkt.c_str());
  to_src_ = make_inverse_transform(target_srs, s, "regrid of " + src.path);
  if (method_ == RegridMethod::conservative && !geographic_) {  // areas need longitude/latitude
    std::unique_ptr<OGRSpatialReference> geo(s.CloneGeogCS());
    to_lonlat_ = make_transform(target_srs, *geo, "regrid of " + src.path);
  }
  OGRCoordinateTransformation& ct = *to_src_;
  std::vector<double> x, y;
  constexpr int kProbe = 33;
  for (int j = 0; j < kProbe; ++j)
    for (int i = 0; i < kProbe; ++i) {
      const auto p = target_.to_world(double(target_.width) * i / (kProbe - 1),
                                      double(target_.height) * j / (kProbe - 1));
      x.push_back(p[0]);
      y.push_back(p[1]);
    }
  transform(ct, x, y);
  const double centre_lon = src_gt_[0] + src_gt_[1] * W / 2.0;
  double cmin = INFINITY, cmax = -INFINITY, rmin = INFINITY, rmax = -INFINITY;
  for (std::size_t k = 0; k < x.size(); ++k) {
    if (!std::isfinite(x[k])) continue;
    if (geographic_) x[k] += 360.0 * std::round((centre_lon - x[k]) / 360.0);
    const double px = (x[k] - src_gt_[0]) / src_gt_[1];
    const double py = (y[k] - src_gt_[3]) / src_gt_[5];
    cmin = std::min(cmin, px), cmax = std::max(cmax, px), rmin = std::min(rmin, py),
    rmax = std::max(rmax, py);
  }
  // Source cells per target cell side, measured on the middle target cell: sets the sub-sampling.
  double cells = 1;
  {
    std::vector<double> cx, cy;
    for (const auto& [dc, dr] : {std::pair{0.0, 0.0}, {1.0, 0.0}, {0.0, 1.0}}) {
      const auto p = target_.to_world(target_.width / 2 + dc, target_.height / 2 + dr);
      cx.push_back(p[0]);
      cy.push_back(p[1]);
    }
    transform(ct, cx, cy);
    auto step = [&](int k) {
      double dx = cx[std::size_t(k)] - cx[0];
      if (geographic_) dx -= 360.0 * std::round(dx / 360.0);
      return std::hypot(dx / src_gt_[1], (cy[std::size_t(k)] - cy[0]) / src_gt_[5]);
    };
    if (std::isfinite(step(1) + step(2))) cells = std::max(step(1), step(2));
  }
  samples_ = samples > 0 ? samples : std::clamp(int(std::ceil(4 * cells)), 2, 32);
  if (method_ != RegridMethod::conservative) samples_ = 1;

  if (!std::isfinite(cmin) || !std::isfinite(rmin))
    throw InputError(src.path +
                     ": the analysis grid cannot be transformed to the source's CRS (nothing to regrid)");
  constexpr int kPad = 3;  // cubic reaches two cells beyond the one containing the point
  cmin = std::clamp(cmin, -1e9, 1e9), cmax = std::clamp(cmax, -1e9, 1e9);
  rmin = std::clamp(rmin, -1e9, 1e9), rmax = std::clamp(rmax, -1e9, 1e9);
  int c0 = 0, c1 = W, r0 = std::max(0, int(std::floor(rmin)) - kPad),
      r1 = std::min(H, int(std::ceil(rmax)) + kPad);
  const bool crosses_seam = lattice_.wrap_x && (cmin < kPad || cmax > W - kPad || cmax - cmin > W / 2.0);
  if (!crosses_seam) {
    c0 = std::max(0, int(std::floor(cmin)) - kPad);
    c1 = std::min(W, int(std::ceil(cmax)) + kPad);
  }
  if (c0 >= c1 || r0 >= r1)
    throw InputError(src.path + ": does not cover the analysis grid (nothing to regrid)");
  lattice_.col0 = c0;
  lattice_.row0 = r0;
  lattice_.width = c1 - c0;
  lattice_.height = r1 - r0;
  if (lattice_.wrap_x && lattice_.width != W) lattice_.wrap_x = false;  // cropped: no seam inside the window

  lattice_.values.assign(std::size_t(lattice_.width) * std::size_t(lattice_.height), 0.0f);
  GDALRasterBand* band = ds->GetRasterBand(src.band);
  ErrorTrap trap;
  check_cpl(band->RasterIO(GF_Read, c0, r0, lattice_.width, lattice_.height, lattice_.values.data(),
                           lattice_.width, lattice_.height, GDT_Float32, 0, 0, nullptr),
            trap, src.path, "reading band " + std::to_string(src.band), true);
  int has = 0;
  const double nd = band->GetNoDataValue(&has);
  double scale = band->GetScale(), offset = band->GetOffset();
  offset = offset * src.scale + src.offset;
  scale *= src.scale;
  for (float& v : lattice_.values) {
    if (has && !std::isnan(nd) && double(v) == nd)
      v = std::numeric_limits<float>::quiet_NaN();
    else
      v = float(double(v) * scale + offset);
  }
}

void Regridder::regrid(const Window& w, float* out) const {
  const double centre_lon = src_gt_[0] + src_gt_[1] * lattice_.full_width / 2.0;
  auto to_px = [&](double sx) {
    if (geographic_) sx += 360.0 * std::round((centre_lon - sx) / 360.0);  // the source's own longitude range
    return (sx - src_gt_[0]) / src_gt_[1];
  };
  auto to_py = [&](double sy) { return (sy - src_gt_[3]) / src_gt_[5]; };
  // Interpolated source coordinates stay within 1e-6 of a source pixel of PROJ's.
  const double tol_x = 1e-6 * std::fabs(src_gt_[1]), tol_y = 1e-6 * std::fabs(src_gt_[5]);
  const auto& gt = target_.geotransform;
  const std::size_t width = std::size_t(w.width);

  const models::tsan::ForkJoin fork_join;  // TSan marks (models/tsan_annotations.hpp)
  if (method_ != RegridMethod::conservative) {
    tbb::parallel_for(tbb::blocked_range<int>(0, w.height, 8), fork_join.wrap([&](const tbb::blocked_range<int>& rows) {
      TransformPtr ct = clone_transform(*to_src_);
      LineTransformer line(*ct, tol_x, tol_y);
      std::vector<double> x(width), y(width);
      for (int r = rows.begin(); r < rows.end(); ++r) {
        const auto p = target_.to_world(w.x + 0.5, w.y + r + 0.5);
        line.transform(p[0], p[1], gt[1], gt[4], width, x.data(), y.data());
        float* o = out + std::size_t(r) * width;
        for (std::size_t c = 0; c < width; ++c) {
          const double px = to_px(x[c]), py = to_py(y[c]);
          double v = 0;
          switch (method_) {
            case RegridMethod::nearest:
              v = models::sample_nearest(lattice_, px, py);
              break;
            case RegridMethod::bilinear:
              v = models::sample_bilinear(lattice_, px, py);
              break;
            default:
              v = models::sample_cubic(lattice_, px, py);
              break;
          }
          o[c] = float(v);
        }
      }
    }));
    fork_join.joined();
    return;
  }

  // Conservative: each target cell split into n × n sub-cells; a sub-cell takes the source value at
  // its centre, weighted by its area on the sphere. The cell's value is the area-weighted mean, so
  // Σ value × cell area over the region equals the source's integral to the sampling accuracy.
  const int n = samples_;
  const std::size_t cols = width * std::size_t(n) + 1, rows = std::size_t(n) + 1;
  tbb::parallel_for(tbb::blocked_range<int>(0, w.height, 4), fork_join.wrap([&](const tbb::blocked_range<int>& chunk) {
    TransformPtr ct = clone_transform(*to_src_);
    TransformPtr ll = to_lonlat_ ? clone_transform(*to_lonlat_) : nullptr;
    LineTransformer line(*ct, tol_x, tol_y);
    std::unique_ptr<LineTransformer> line_ll =
        ll ? std::make_unique<LineTransformer>(*ll, 1e-9, 1e-9) : nullptr;
    // Vertex lines j = 0..n of the sub-cells of one target row; line n of a row is line 0 of the next.
    std::vector<double> x(cols * rows), y(x.size()), lon(ll ? x.size() : 0), lat(lon.size()), sin_lat(x.size());
    const std::vector<double>& vlon = ll ? lon : x;
    const std::vector<double>& vlat = ll ? lat : y;
    auto vertex_line = [&](int r, std::size_t j) {
      const auto p = target_.to_world(w.x, w.y + r + double(j) / n);
      line.transform(p[0], p[1], gt[1] / n, gt[4] / n, cols, &x[j * cols], &y[j * cols]);
      if (line_ll) line_ll->transform(p[0], p[1], gt[1] / n, gt[4] / n, cols, &lon[j * cols], &lat[j * cols]);
      constexpr double deg = 3.14159265358979323846 / 180.0;
      for (std::size_t i = j * cols; i < (j + 1) * cols; ++i) sin_lat[i] = std::sin(vlat[i] * deg);
    };
    for (int r = chunk.begin(); r < chunk.end(); ++r) {
      if (r == chunk.begin()) {
        vertex_line(r, 0);
      } else {
        std::copy(x.end() - std::ptrdiff_t(cols), x.end(), x.begin());
        std::copy(y.end() - std::ptrdiff_t(cols), y.end(), y.begin());
        std::copy(sin_lat.end() - std::ptrdiff_t(cols), sin_lat.end(), sin_lat.begin());
        if (ll) {
          std::copy(lon.end() - std::ptrdiff_t(cols), lon.end(), lon.begin());
          std::copy(lat.end() - std::ptrdiff_t(cols), lat.end(), lat.begin());
        }
      }
      for (std::size_t j = 1; j < rows; ++j) vertex_line(r, j);
      for (std::size_t c = 0; c < width; ++c) {
        double sw = 0, swv = 0;
        for (int b = 0; b < n; ++b)
          for (int a = 0; a < n; ++a) {
            const std::size_t i = c * std::size_t(n) + std::size_t(a), j = std::size_t(b);
            const std::size_t k[4] = {j * cols + i, j * cols + i + 1, (j + 1) * cols + i + 1,
                                      (j + 1) * cols + i};
            double qlon[4], qlat[4], sx = 0, sy = 0;  // qlat: sin(latitude)
            for (int q = 0; q < 4; ++q) {
              qlon[q] = vlon[k[q]];
              qlat[q] = sin_lat[k[q]];
              double xq = x[k[q]];
              if (geographic_ && q > 0)
                xq += 360.0 * std::round((x[k[0]] - xq) / 360.0);  // same side of a seam
              sx += xq;
              sy += y[k[q]];
            }
            if (!std::isfinite(sx + sy + qlon[0] + qlon[1] + qlon[2] + qlon[3])) continue;
            const double v = models::sample_nearest(lattice_, to_px(sx / 4), to_py(sy / 4));
            if (!std::isfinite(v)) continue;
            const double area = models::lonlat_quad_area_sin(qlon, qlat);
            sw += area;
            swv += area * v;
          }
        out[std::size_t(r) * width + c] = sw > 0 ? float(swv / sw) : kNaNf;
      }
    }
  }));
  fork_join.joined();
}

}  // namespace qinling::raster
