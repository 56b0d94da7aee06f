// met.interpolate_stations: station observations to the analysis grid by inverse-distance
// weighting, optionally detrended against elevation (fit value on station elevation, IDW the
// residuals, add the trend back on the DEM), with leave-one-out cross-validation RMSE reported.
#include <spdlog/spdlog.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cmath>

#include "models/errors.hpp"
#include "models/meteo.hpp"
#include "models/tsan_annotations.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/job_spec.hpp"
#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/met_common.hpp"
#include "raster/writer.hpp"

namespace qinling::pipeline::steps {
namespace {

class InterpolateStationsStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override { return {"cog", "gtiff", "hdf5"}; }

  void declare(OptionBinder& b) override {
    declare_station_options(b, &stations_, &cols_, &range_, &missing_);
    b.choice("method", &method_, {"idw", "detrended_idw"}, "plain IDW, or IDW of the residuals of a fit on elevation")
        .optional("dem", &dem_, "elevation layer (input or step) for detrended_idw")
        .optional("power", &opt_.power, "IDW distance exponent")
        .optional("max_distance", &max_distance_, "only stations within this distance (grid units, 0: any)")
        .optional("nearest", &nearest_, "only the k nearest stations (0: all)");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    path_ = resolve_path(ctx.base_dir, stations_);
    if (method_ == "detrended_idw" && dem_.empty()) diag.error(line, kp + ".dem", "detrended_idw needs a `dem:`");
    if (!dem_.empty()) dem_ref_ = resolve_layer(ctx, diag, line, kp, "dem", dem_);
    if (range_.size() != 0 && (range_.size() != 2 || !(range_[0] <= range_[1])))
      diag.error(line, kp + ".valid_range", "expected [min, max] with min <= max");
    if (!(opt_.power > 0)) diag.error(line, kp + ".power", "must be > 0");
    if (!(max_distance_ >= 0)) diag.error(line, kp + ".max_distance", "must be >= 0");
    if (!(nearest_ >= 0 && nearest_ == std::floor(nearest_))) diag.error(line, kp + ".nearest", "must be a whole number >= 0");
    opt_.max_distance = max_distance_;
    opt_.nearest = std::size_t(nearest_);
  }

  std::vector<std::string> needs() const override {
    if (dem_ref_.is_step) return {dem_ref_.key};
    return {};
  }

  void produce(ProductContext& ctx) override {
    const bool detrend = method_ == "detrended_idw";
    const double lo = range_.size() == 2 ? range_[0] : -INFINITY, hi = range_.size() == 2 ? range_[1] : INFINITY;
    const StationTable t = read_stations(path_, cols_, detrend, lo, hi, missing_);
    if (t.missing + t.out_of_range > 0)
      spdlog::warn("{}: {} of {} station rows rejected ({} missing, {} outside valid_range) in {}", id,
                   t.missing + t.out_of_range, t.rows, t.missing, t.out_of_range, path_);
    if (t.size() == 0) throw InputError(path_ + ": no usable station row (" + std::to_string(t.rows) + " rows read)");
    std::vector<models::Station> st = project_stations(t, ctx.grid);
    std::size_t outside = 0;
    const raster::BBox bb = ctx.grid.bounds();
    for (const auto& s : st)
      if (!(s.x >= bb.xmin && s.x <= bb.xmax && s.y >= bb.ymin && s.y <= bb.ymax)) ++outside;
    if (outside) spdlog::warn("{}: {} station(s) lie outside the grid (used for interpolation)", id, outside);

    models::LinearFit fit;
    if (detrend) {
      fit = models::fit_line(t.elevation, t.value);
      for (std::size_t i = 0; i < st.size(); ++i) st[i].value = t.value[i] - (fit.intercept + fit.slope * t.elevation[i]);
    }
    const double rmse = loo_rmse(t, st, detrend);
    spdlog::info("{}: {} stations, method {}{}, leave-one-out RMSE {:.4f}", id, st.size(), method_,
                 detrend ? fmt::format(" (trend {:.4f} + {:.6f} × elevation)", fit.intercept, fit.slope) : "", rmse);

    raster::GridReader reader(ctx.grid);
    raster::BandSource dem_src;
    if (!dem_.empty()) {
      dem_src = layer_source(dem_ref_, ctx);
      reader.add_file(dem_src.path, raster::describe_raster(dem_src.path), "bilinear");
    }
    std::vector<std::unique_ptr<raster::AtomicRasterOutput>> outs;
    for (const auto& o : ctx.outputs) {
      outs.push_back(std::make_unique<raster::AtomicRasterOutput>(o.path, o.format, o.options, ctx.grid, 1, GDT_Float32,
                                                                  std::vector<double>{NAN}, ctx.threads));
      auto& w = outs.back()->writer();
      w.set_band_description(1, id);
      w.set_metadata("METHOD", method_);
      w.set_metadata("STATIONS", std::to_string(st.size()));
      w.set_metadata("REJECTED_ROWS", std::to_string(t.missing + t.out_of_range));
      w.set_metadata("LOO_RMSE", fmt::format("{:.6f}", rmse));
      if (detrend) w.set_metadata("TREND", fmt::format("{:.8f} + {:.8f} * elevation", fit.intercept, fit.slope));
    }
    const auto windows = raster::plan_windows(ctx.grid.width, ctx.grid.height, 512, 512, std::int64_t(512) * 4096);
    const std::size_t batch = std::size_t(std::max(1, ctx.threads)) * 2;
    for (std::size_t b = 0; b < windows.size(); b += batch) {
      const std::size_t e = std::min(windows.size(), b + batch);
      std::vector<std::vector<float>> vals(e - b);
      const models::tsan::ForkJoin tsan_loop;  // TSan marks (models/tsan_annotations.hpp)
      tbb::parallel_for(tbb::blocked_range<std::size_t>(b, e), tsan_loop.each([&](std::size_t i) {
        const raster::Window& w = windows[i];
        auto& v = vals[i - b];
        v.assign(std::size_t(w.pixels()), NAN);
        std::vector<float> dem;
        if (!dem_.empty()) {
          dem.resize(v.size());
          reader.read(dem_src, w, dem.data());
        }
        for (int y = 0; y < w.height; ++y)
          for (int x = 0; x < w.width; ++x) {
            const std::size_t k = std::size_t(y) * w.width + x;
            const auto p = ctx.grid.to_world(w.x + x + 0.5, w.y + y + 0.5);
            double val = models::idw(st, p[0], p[1], opt_);
            if (detrend) val += fit.intercept + fit.slope * dem[k];
            v[k] = float(val);
          }
      }));
      tsan_loop.joined();
      for (std::size_t i = b; i < e; ++i)
        for (auto& o : outs) o->writer().write(1, windows[i], vals[i - b].data(), GDT_Float32);
      if (ctx.progress) ctx.progress->update(double(e) / double(windows.size()));
    }
    for (auto& o : outs) o->commit({});
    ctx.results[id] = rmse;
  }

 private:
  // Each station predicted from the others (the trend refitted without it), RMSE over stations.
  double loo_rmse(const StationTable& t, const std::vector<models::Station>& st, bool detrend) const {
    if (st.size() < 2) return NAN;
    double sse = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < st.size(); ++i) {
      std::vector<models::Station> others;
      std::vector<double> ez, ev;
      for (std::size_t j = 0; j < st.size(); ++j)
        if (j != i) {
          others.push_back({st[j].x, st[j].y, t.value[j]});
          ez.push_back(t.elevation[j]);
          ev.push_back(t.value[j]);
        }
      double pred = 0;
      if (detrend) {
        const models::LinearFit f = models::fit_line(ez, ev);
        for (std::size_t j = 0; j < others.size(); ++j) others[j].value = ev[j] - (f.intercept + f.slope * ez[j]);
        pred = models::idw(others, st[i].x, st[i].y, opt_) + f.intercept + f.slope * t.elevation[i];
      } else {
        pred = models::idw(others, st[i].x, st[i].y, opt_);
      }
      if (std::isfinite(pred)) {
        sse += (pred - t.value[i]) * (pred - t.value[i]);
        ++n;
      }
    }
    return n ? std::sqrt(sse / double(n)) : NAN;
  }

  std::string stations_, path_, method_ = "idw", dem_;
  StationColumns cols_;
  std::vector<double> range_;
  std::vector<std::string> missing_;
  double max_distance_ = 0, nearest_ = 0;
  models::IdwOptions opt_;
  LayerRef dem_ref_;
};

}  // namespace

StepKind met_stations_kind() {
  return {"met.interpolate_stations", "Station observations to the grid by IDW or elevation-detrended IDW",
          "Reads a station CSV (columns configurable; rows with missing values or values outside valid_range are "
          "rejected and counted), reprojects the WGS84 stations to the grid and interpolates with inverse-distance "
          "weights 1/d^power (optionally only the nearest k within max_distance). detrended_idw fits value = a + b × "
          "elevation over the stations, interpolates the residuals and adds a + b × DEM. The leave-one-out RMSE is "
          "logged and stored as LOO_RMSE metadata so methods can be compared.",
          [] { return std::make_unique<InterpolateStationsStep>(); }};
}

}  // namespace qinling::pipeline::steps
