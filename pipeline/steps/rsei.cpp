// ecology.rsei: the Remote Sensing Ecological Index (Xu 2013) from four finished indicator layers:
// water masked, each indicator rescaled to [0, 1], PCA over the valid pixels, RSEI from PC1 with
// the sign rule, rescaled to [0, 1]. Loadings and explained variance go to a JSON beside the output.
#include "models/rsei.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/errors.hpp"
#include "models/tsan_annotations.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/steps/builtin.hpp"
#include "raster/source.hpp"
#include "raster/writer.hpp"
#include "vector/table_writer.hpp"

namespace qinling::pipeline::steps {
namespace {

constexpr int kN = models::kRseiIndicators;
using Bounds = std::array<std::array<double, 2>, kN>;

struct MinMax {
  double lo = INFINITY, hi = -INFINITY;
  void add(double v) { lo = std::min(lo, v), hi = std::max(hi, v); }
  void merge(const MinMax& o) { lo = std::min(lo, o.lo), hi = std::max(hi, o.hi); }
};

// The result handed to other products and written as JSON.
struct RseiResult {
  std::int64_t valid = 0, water = 0;
  Bounds bounds{};
  models::Eigen4 eigen;
  std::array<double, kN> mean{};
  std::array<std::array<double, kN>, kN> covariance{};
  int sign = 1;
  double pc_min = NAN, pc_max = NAN;
};

class RseiStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }

  void declare(OptionBinder& b) override {
    b.required("greenness", &layers_[0], "the NDVI step")
        .required("wetness", &layers_[1], "the tasseled-cap wetness step (index.tasseled_cap)")
        .required("heat", &layers_[2], "the land surface temperature step (ecology.lst)")
        .required("dryness", &layers_[3], "the NDBSI step (index.ndbsi)")
        .optional("water", &water_, "the MNDWI step; pixels with MNDWI > water_threshold are left out")
        .optional("water_threshold", &water_threshold_, "MNDWI above which a pixel is water")
        .optional("greenness_range", &ranges_[0],
                  "fixed [min, max] for rescaling greenness (default: valid pixels)")
        .optional("wetness_range", &ranges_[1], "fixed [min, max] for wetness")
        .optional("heat_range", &ranges_[2], "fixed [min, max] for heat (°C)")
        .optional("dryness_range", &ranges_[3], "fixed [min, max] for dryness");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    for (int k = 0; k < kN; ++k) {
      const std::string key = models::kRseiNames[k];
      if (!ctx.is_step(layers_[k]) || ctx.is_product(layers_[k]))
        diag.error(line, kp + "." + key, "'" + layers_[k] + "' is not a per-pixel step of this job");
      if (!ranges_[k].empty() && (ranges_[k].size() != 2 || !(ranges_[k][0] < ranges_[k][1])))
        diag.error(line, kp + "." + key + "_range", "expected [min, max] with min < max");
    }
    if (!water_.empty() && (!ctx.is_step(water_) || ctx.is_product(water_)))
      diag.error(line, kp + ".water",
                 "'" + water_ + "' is not a per-pixel step of this job (e.g. an index.mndwi step)");
  }

  std::vector<std::string> needs() const override {
    std::vector<std::string> n(layers_.begin(), layers_.end());
    if (!water_.empty()) n.push_back(water_);
    return n;
  }

  void produce(ProductContext& ctx) override;

 private:
  // Reads the layers of window `w`: planes 0..3 the indicators, 4 the water index (if any).
  struct Block {
    std::vector<float> v[kN + 1];
    std::size_t n = 0;
    bool valid(std::size_t i, bool has_water, double thr) const {
      for (int k = 0; k < kN; ++k)
        if (!std::isfinite(v[k][i])) return false;
      return !has_water || (std::isfinite(v[kN][i]) && v[kN][i] <= thr);
    }
  };
  void normalised(const Block& b, std::size_t i, const Bounds& bounds, double* x) const {
    for (int k = 0; k < kN; ++k) x[k] = models::normalise(b.v[k][i], bounds[k][0], bounds[k][1]);
  }
  std::string to_json(const RseiResult& r) const;

  std::array<std::string, kN> layers_;
  std::string water_;
  double water_threshold_ = 0.0;
  std::array<std::vector<double>, kN> ranges_;
};

void RseiStep::produce(ProductContext& ctx) {
  raster::GridReader reader(ctx.grid);
  std::vector<raster::BandSource> srcs;
  for (const auto& layer : needs()) {
    const std::string& path = ctx.rasters.at(layer);
    reader.add_file(path, raster::describe_raster(path), "nearest");
    srcs.emplace_back(path, 1);
  }
  const bool has_water = !water_.empty();
  const auto windows =
      raster::plan_windows(ctx.grid.width, ctx.grid.height, 512, 512, std::int64_t(512) * 2048);
  const auto read = [&](std::size_t i) {
    Block b;
    b.n = std::size_t(windows[i].pixels());
    for (std::size_t k = 0; k < srcs.size(); ++k) {
      b.v[k].resize(b.n);
      reader.read(srcs[k], windows[i], b.v[k].data());
    }
    return b;
  };
  // Per-window partial results merged in window order, so sums never depend on scheduling.
  const auto reduce = [&]<class T>(std::vector<T>& parts, auto&& fn, double from, double to) {
    parts.assign(windows.size(), T{});
    std::atomic<std::size_t> done{0};
    const models::tsan::ForkJoin tsan_loop;  // TSan marks (models/tsan_annotations.hpp)
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, windows.size()), tsan_loop.each([&](std::size_t i) {
      fn(read(i), parts[i]);
      if (ctx.progress) ctx.progress->update(from + (to - from) * double(++done) / double(windows.size()));
    }));
    tsan_loop.joined();
  };

  RseiResult r;
  // Pass 1: the bounds of each indicator over valid pixels (also counts valid and water pixels).
  struct Pass1 {
    std::array<MinMax, kN> mm;
    std::int64_t valid = 0, water = 0;
  };
  std::vector<Pass1> p1;
  reduce(
      p1,
      [&](const Block& b, Pass1& p) {
        for (std::size_t i = 0; i < b.n; ++i) {
          if (!b.valid(i, has_water, water_threshold_)) {
            if (has_water && std::isfinite(b.v[kN][i]) && b.v[kN][i] > water_threshold_) ++p.water;
            continue;
          }
          ++p.valid;
          for (int k = 0; k < kN; ++k) p.mm[k].add(b.v[k][i]);
        }
      },
      0.0, 0.25);
  std::array<MinMax, kN> mm;
  for (const auto& p : p1) {
    r.valid += p.valid, r.water += p.water;
    for (int k = 0; k < kN; ++k) mm[k].merge(p.mm[k]);
  }
  for (int k = 0; k < kN; ++k) {
    r.bounds[k] = ranges_[k].empty() ? std::array<double, 2>{mm[k].lo, mm[k].hi}
                                     : std::array<double, 2>{ranges_[k][0], ranges_[k][1]};
    if (r.valid > 0 && !(r.bounds[k][1] > r.bounds[k][0]))
      throw InputError(id + ": " + models::kRseiNames[k] + " ('" + layers_[k] +
                       "') is constant over the valid pixels (" + fmt::format("{}", r.bounds[k][0]) +
                       "); fix its range with `" + models::kRseiNames[k] + "_range: [min, max]`");
  }

  const bool enough = r.valid >= 2;
  if (!enough) {
    spdlog::warn("{}: {} valid pixel(s) after masking clouds and water; RSEI is all nodata", id, r.valid);
  } else {
    // Pass 2: the covariance of the normalised indicators, then its eigenvectors.
    std::vector<models::Covariance4> p2;
    reduce(
        p2,
        [&](const Block& b, models::Covariance4& c) {
          double x[kN];
          for (std::size_t i = 0; i < b.n; ++i)
            if (b.valid(i, has_water, water_threshold_)) normalised(b, i, r.bounds, x), c.add(x);
        },
        0.25, 0.5);
    models::Covariance4 cov;
    for (const auto& c : p2) cov.merge(c);
    r.covariance = cov.covariance();
    r.mean = cov.mean();
    r.eigen = models::symmetric_eigen(r.covariance);
    bool mixed = false;
    r.sign = models::rsei_sign(r.eigen.vectors[0], &mixed);
    if (mixed)
      spdlog::warn(
          "{}: greenness and wetness load on PC1 with opposite signs ({:.3f}, {:.3f}); PC1 is used as is, "
          "check the loadings before reading RSEI as ecological quality",
          id, r.eigen.vectors[0][0], r.eigen.vectors[0][1]);
    // Pass 3: the range of the signed PC1 score.
    std::vector<MinMax> p3;
    reduce(
        p3,
        [&](const Block& b, MinMax& m) {
          double x[kN];
          for (std::size_t i = 0; i < b.n; ++i) {
            if (!b.valid(i, has_water, water_threshold_)) continue;
            normalised(b, i, r.bounds, x);
            double s = 0;
            for (int k = 0; k < kN; ++k) s += r.eigen.vectors[0][k] * x[k];
            m.add(r.sign * s);
          }
        },
        0.5, 0.75);
    MinMax pc;
    for (const auto& m : p3) pc.merge(m);
    r.pc_min = pc.lo, r.pc_max = pc.hi;
  }
  spdlog::info("{}: {} valid pixels ({} water masked); PC1 explains {:.1f} % of the variance; sign {}", id,
               r.valid, r.water,
               enough ? 100 * r.eigen.values[0] /
                            (r.eigen.values[0] + r.eigen.values[1] + r.eigen.values[2] + r.eigen.values[3])
                      : 0.0,
               r.sign);

  // Pass 4: RSEI, computed in batches in parallel and written in window order.
  std::vector<std::unique_ptr<raster::AtomicRasterOutput>> outs;
  for (const auto& o : ctx.outputs) {
    outs.push_back(std::make_unique<raster::AtomicRasterOutput>(
        o.path, o.format, o.options, ctx.grid, 1, GDT_Float32, std::vector<double>{NAN}, ctx.threads));
    outs.back()->writer().set_band_description(1, id);
    outs.back()->writer().set_metadata("RSEI_SIGN", std::to_string(r.sign));
  }
  const double span = r.pc_max - r.pc_min;
  const std::size_t batch = std::size_t(std::max(1, ctx.threads)) * 2;
  for (std::size_t b0 = 0; b0 < windows.size() && !outs.empty(); b0 += batch) {
    const std::size_t e = std::min(windows.size(), b0 + batch);
    std::vector<std::vector<float>> vals(e - b0);
    const models::tsan::ForkJoin tsan_loop2;  // TSan marks (models/tsan_annotations.hpp)
    tbb::parallel_for(tbb::blocked_range<std::size_t>(b0, e), tsan_loop2.each([&](std::size_t i) {
      const Block b = read(i);
      auto& v = vals[i - b0];
      v.assign(b.n, NAN);
      if (!enough) return;
      double x[kN];
      for (std::size_t j = 0; j < b.n; ++j) {
        if (!b.valid(j, has_water, water_threshold_)) continue;
        normalised(b, j, r.bounds, x);
        double s = 0;
        for (int k = 0; k < kN; ++k) s += r.eigen.vectors[0][k] * x[k];
        v[j] = float(span > 0 ? (r.sign * s - r.pc_min) / span : 0.5);
      }
    }));
    tsan_loop2.joined();
    for (std::size_t i = b0; i < e; ++i)
      for (auto& o : outs) o->writer().write(1, windows[i], vals[i - b0].data(), GDT_Float32);
    if (ctx.progress) ctx.progress->update(0.75 + 0.25 * double(e) / double(windows.size()));
  }
  const std::string json = to_json(r);
  for (auto& o : outs) {
    o->commit({});
    const std::filesystem::path p(o->path());
    vector::write_text_atomic((p.parent_path() / (p.stem().string() + "_pca.json")).string(), json);
  }
  ctx.results[id] = r;
}

std::string RseiStep::to_json(const RseiResult& r) const {
  using J = nlohmann::ordered_json;
  const auto num = [](double v) { return std::isfinite(v) ? J(v) : J(nullptr); };
  J j{{"step", id},
      {"method",
       "Xu 2013: RSEI = rescaled PC1 of [greenness, wetness, heat, dryness], each rescaled to [0, 1]"}};
  j["valid_pixels"] = r.valid;
  j["water_pixels_masked"] = r.water;
  j["water_threshold"] = water_.empty() ? J(nullptr) : J(water_threshold_);
  J ind = J::object();
  const double total = r.eigen.values[0] + r.eigen.values[1] + r.eigen.values[2] + r.eigen.values[3];
  for (int k = 0; k < kN; ++k)
    ind[models::kRseiNames[k]] = {{"step", layers_[k]},
                                  {"range", {num(r.bounds[k][0]), num(r.bounds[k][1])}},
                                  {"range_fixed", !ranges_[k].empty()},
                                  {"mean_normalised", num(r.mean[k])},
                                  {"pc1_loading", r.valid >= 2 ? num(r.eigen.vectors[0][k]) : J(nullptr)}};
  j["indicators"] = ind;
  J comps = J::array();
  for (int c = 0; c < kN && r.valid >= 2; ++c) {
    J load = J::array();
    for (int k = 0; k < kN; ++k) load.push_back(r.eigen.vectors[c][k]);
    comps.push_back({{"eigenvalue", r.eigen.values[c]},
                     {"explained_variance", total > 0 ? J(r.eigen.values[c] / total) : J(nullptr)},
                     {"loadings", load}});
  }
  j["components"] = comps;
  j["sign"] = r.sign;
  j["sign_rule"] =
      "eigenvectors have their largest component positive; RSEI uses -PC1 (i.e. 1 - PC1) only when "
      "greenness and wetness both load negatively";
  j["pc1_range"] = {num(r.pc_min), num(r.pc_max)};
  J cov = J::array();
  for (const auto& row : r.covariance) cov.push_back({num(row[0]), num(row[1]), num(row[2]), num(row[3])});
  j["covariance"] = cov;
  return j.dump(2) + "\n";
}

}  // namespace

StepKind rsei_kind() {
  return {
      "ecology.rsei", "Remote Sensing Ecological Index (Xu 2013)",
      "Masks water (water step > water_threshold) and pixels where any indicator is nodata (clouds), "
      "rescales "
      "greenness, wetness, heat and dryness to [0, 1] (min/max of the valid pixels, or the fixed *_range, "
      "clamped), runs a PCA on their 4x4 covariance (accumulated block by block, merged in a fixed order, "
      "Jacobi "
      "eigen-decomposition) and rescales PC1 (negated only when greenness and wetness both load negatively) "
      "to [0, 1]; high RSEI = good ecological quality. Writes <output>_pca.json beside each output with the "
      "ranges, loadings, eigenvalues, explained variance and the sign.",
      [] { return std::make_unique<RseiStep>(); }};
}

}  // namespace qinling::pipeline::steps
