// met.verify: a forecast layer against an observed layer (grid to grid) or against station
// observations (grid to station, nearest cell): continuous scores, the CMA temperature accuracy
// and contingency-table scores per threshold, written as CSV and JSON with the partial sums.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <tbb/parallel_for.h>

#include <cmath>

#include "models/errors.hpp"
#include "models/verification.hpp"
#include "pipeline/job_spec.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/met_common.hpp"
#include "vector/table_writer.hpp"

namespace qinling::pipeline::steps {
namespace {

struct Sums {
  models::ContinuousSums cont;
  std::vector<models::Contingency> cat;
  void add(double f, double o) {
    cont.add(f, o);
    for (auto& c : cat) c.add(f, o);
  }
  void merge(const Sums& s) {
    cont.merge(s.cont);
    for (std::size_t i = 0; i < cat.size(); ++i) cat[i].merge(s.cat[i]);
  }
};

std::string num(double v, bool json) {
  if (!std::isfinite(v)) return json ? "null" : "";
  return fmt::format("{:.6g}", v);
}

class VerifyStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override { return {"csv", "json"}; }

  void declare(OptionBinder& b) override {
    b.required("forecast", &forecast_, "the forecast layer (input or step)")
        .optional("observation", &observation_, "the observed layer (grid to grid); or give `stations`");
    declare_station_options(b, &stations_, &cols_, &range_, &missing_, false);
    b.choice("variable", &variable_, {"other", "temperature", "precipitation"},
             "temperature adds the ±1/±2 °C accuracy; precipitation defaults thresholds to GB/T 28592 grades")
        .optional("thresholds", &thresholds_, "event thresholds (value >= threshold), e.g. [0.1, 10, 25, 50, 100]");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    fc_ = resolve_layer(ctx, diag, line, kp, "forecast", forecast_);
    if (observation_.empty() == stations_.empty())
      diag.error(line, kp, "give exactly one of `observation` (a layer) and `stations` (a CSV)");
    if (!observation_.empty()) obs_ = resolve_layer(ctx, diag, line, kp, "observation", observation_);
    if (!stations_.empty()) path_ = resolve_path(ctx.base_dir, stations_);
    if (thresholds_.empty() && variable_ == "precipitation") thresholds_ = models::kCmaPrecipitationThresholds;
    if (range_.size() != 0 && (range_.size() != 2 || !(range_[0] <= range_[1])))
      diag.error(line, kp + ".valid_range", "expected [min, max] with min <= max");
  }

  std::vector<std::string> needs() const override {
    std::vector<std::string> n;
    if (fc_.is_step) n.push_back(fc_.key);
    if (obs_.is_step) n.push_back(obs_.key);
    return n;
  }

  void produce(ProductContext& ctx) override {
    Sums total = empty_sums();
    raster::GridReader reader(ctx.grid);
    const raster::BandSource fsrc = layer_source(fc_, ctx);
    reader.add_file(fsrc.path, raster::describe_raster(fsrc.path), "bilinear");
    std::string notes;
    if (!stations_.empty()) {
      const double lo = range_.size() == 2 ? range_[0] : -INFINITY, hi = range_.size() == 2 ? range_[1] : INFINITY;
      const StationTable t = read_stations(path_, cols_, false, lo, hi, missing_);
      const auto st = project_stations(t, ctx.grid);
      std::size_t outside = 0;
      for (const auto& s : st) {
        const auto px = ctx.grid.to_pixel(s.x, s.y);
        const double c = std::floor(px[0]), r = std::floor(px[1]);
        if (!(c >= 0 && r >= 0 && c < ctx.grid.width && r < ctx.grid.height)) {
          ++outside;
          continue;
        }
        float f = NAN;
        reader.read(fsrc, raster::Window{int(c), int(r), 1, 1}, &f);
        total.add(f, s.value);
      }
      notes = fmt::format("\"station_rows\": {}, \"rejected_missing\": {}, \"rejected_range\": {}, \"outside_grid\": {}",
                          t.rows, t.missing, t.out_of_range, outside);
      if (t.missing + t.out_of_range + outside > 0)
        spdlog::warn("{}: of {} station rows, {} rejected as missing, {} outside valid_range, {} outside the grid", id,
                     t.rows, t.missing, t.out_of_range, outside);
    } else {
      const raster::BandSource osrc = layer_source(obs_, ctx);
      if (osrc.path != fsrc.path) reader.add_file(osrc.path, raster::describe_raster(osrc.path), "bilinear");
      const auto windows = raster::plan_windows(ctx.grid.width, ctx.grid.height, 512, 512, std::int64_t(512) * 4096);
      std::vector<Sums> per(windows.size(), empty_sums());
      tbb::parallel_for(std::size_t(0), windows.size(), [&](std::size_t i) {
        std::vector<float> f(std::size_t(windows[i].pixels())), o(f.size());
        reader.read(fsrc, windows[i], f.data());
        reader.read(osrc, windows[i], o.data());
        for (std::size_t k = 0; k < f.size(); ++k) per[i].add(f[k], o[k]);
      });
      for (const auto& s : per) total.merge(s);  // window order: the same sums for any thread count
    }
    const models::ContinuousScores cs = models::continuous_scores(total.cont);
    spdlog::info("{}: {} pairs, bias {:.4f}, MAE {:.4f}, RMSE {:.4f}, r {:.4f}", id, cs.n, cs.bias, cs.mae, cs.rmse,
                 cs.correlation);
    if (cs.n == 0) spdlog::warn("{}: no forecast/observation pair has both values; scores are empty", id);
    for (const auto& o : ctx.outputs)
      vector::write_text_atomic(o.path, o.format == "json" ? to_json(total, cs, notes) : to_csv(total, cs));
    ctx.results[id] = total.cont;
  }

 private:
  Sums empty_sums() const {
    Sums s;
    for (double t : thresholds_) s.cat.push_back(models::Contingency{t});
    return s;
  }

  std::string to_csv(const Sums& s, const models::ContinuousScores& c) const {
    const bool temp = variable_ == "temperature";
    std::string out =
        "score_type,threshold,n,bias,mae,rmse,correlation,accuracy_1,accuracy_2,hits,misses,false_alarms,"
        "correct_negatives,pod,far,ts,ets,frequency_bias,accuracy\n";
    out += fmt::format("continuous,,{},{},{},{},{},{},{},,,,,,,,,,\n", c.n, num(c.bias, false), num(c.mae, false),
                       num(c.rmse, false), num(c.correlation, false), temp ? num(c.accuracy1, false) : "",
                       temp ? num(c.accuracy2, false) : "");
    for (const auto& t : s.cat) {
      const auto k = models::categorical_scores(t);
      out += fmt::format("categorical,{},{},,,,,,,{},{},{},{},{},{},{},{},{},{}\n", num(t.threshold, false), t.total(),
                         t.hits, t.misses, t.false_alarms, t.correct_negatives, num(k.pod, false), num(k.far, false),
                         num(k.csi, false), num(k.ets, false), num(k.frequency_bias, false), num(k.accuracy, false));
    }
    return out;
  }

  std::string to_json(const Sums& s, const models::ContinuousScores& c, const std::string& notes) const {
    const auto& p = s.cont;
    std::string out = fmt::format("{{\n  \"step\": \"{}\",\n  \"variable\": \"{}\",\n", id, variable_);
    if (!notes.empty()) out += "  " + notes + ",\n";
    out += fmt::format(
        "  \"continuous\": {{\"n\": {}, \"bias\": {}, \"mae\": {}, \"rmse\": {}, \"correlation\": {}, "
        "\"accuracy_1\": {}, \"accuracy_2\": {},\n    \"sums\": {{\"n\": {}, \"within_1\": {}, \"within_2\": {}, "
        "\"f\": {:.17g}, \"o\": {:.17g}, \"e\": {:.17g}, \"abs_e\": {:.17g}, \"e2\": {:.17g}, \"f2\": {:.17g}, "
        "\"o2\": {:.17g}, \"fo\": {:.17g}}}}},\n  \"categorical\": [",
        c.n, num(c.bias, true), num(c.mae, true), num(c.rmse, true), num(c.correlation, true), num(c.accuracy1, true),
        num(c.accuracy2, true), p.n, p.within1, p.within2, p.sum_f, p.sum_o, p.sum_e, p.sum_abs_e, p.sum_e2, p.sum_f2,
        p.sum_o2, p.sum_fo);
    for (std::size_t i = 0; i < s.cat.size(); ++i) {
      const auto& t = s.cat[i];
      const auto k = models::categorical_scores(t);
      out += fmt::format(
          "{}\n    {{\"threshold\": {}, \"hits\": {}, \"misses\": {}, \"false_alarms\": {}, \"correct_negatives\": {}, "
          "\"pod\": {}, \"far\": {}, \"ts\": {}, \"ets\": {}, \"frequency_bias\": {}, \"accuracy\": {}}}",
          i ? "," : "", num(t.threshold, true), t.hits, t.misses, t.false_alarms, t.correct_negatives, num(k.pod, true),
          num(k.far, true), num(k.csi, true), num(k.ets, true), num(k.frequency_bias, true), num(k.accuracy, true));
    }
    out += s.cat.empty() ? "]\n}\n" : "\n  ]\n}\n";
    return out;
  }

  std::string forecast_, observation_, stations_, path_, variable_ = "other";
  StationColumns cols_;
  std::vector<double> range_, thresholds_;
  std::vector<std::string> missing_;
  LayerRef fc_, obs_;
};

}  // namespace

StepKind met_verify_kind() {
  return {"met.verify", "Forecast verification: bias, MAE, RMSE, r, CMA accuracy, POD/FAR/TS/ETS",
          "Pairs a forecast layer with an observed layer (every cell where both are valid) or with station "
          "observations (the cell containing each station; stations outside the grid are counted and skipped). "
          "Continuous scores: bias = mean(F-O), MAE, RMSE, Pearson r; for temperature the share of |F-O| <= 1 and "
          "<= 2 (CMA accuracy). Categorical scores per threshold (event: value >= threshold; precipitation "
          "defaults to the GB/T 28592-2012 grades 0.1, 10, 25, 50, 100, 250 mm): hits, misses, false alarms, "
          "correct negatives, POD, FAR, TS (CSI), ETS, frequency bias and accuracy. JSON also stores the partial "
          "sums so runs can be pooled exactly.",
          [] { return std::make_unique<VerifyStep>(); }};
}

}  // namespace qinling::pipeline::steps
