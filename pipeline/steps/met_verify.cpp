// met.verify: a forecast layer against an observed layer (grid to grid) or against station
// observations (grid to station, nearest cell): continuous scores, the CMA temperature accuracy
// and contingency-table scores per threshold, written as CSV and JSON with the partial sums.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <type_traits>

#include "models/errors.hpp"
#include "models/tsan_annotations.hpp"
#include "models/verification.hpp"
#include "pipeline/job_spec.hpp"
#include "pipeline/mpi_world.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/met_common.hpp"
#include "pipeline/steps/met_verify_report.hpp"
#include "pipeline/steps/met_verify_stations.hpp"
#include "vector/table_writer.hpp"

namespace qinling::pipeline::steps {
namespace {

using Sums = models::ScoreSums;

std::string num(double v, bool json) {
  if (!std::isfinite(v)) return json ? "null" : "";
  return fmt::format("{:.6g}", v);
}

class VerifyStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override { return {"csv", "json", "html"}; }

  void declare(OptionBinder& b) override {
    b.optional("forecast", &forecast_, "the forecast layer (input or step); or `forecasts` with `leads`")
        .optional("forecasts", &forecasts_,
                  "stations: one forecast layer per lead time (a multi-band input alone: all its bands in order)")
        .optional("leads", &leads_, "the lead time (hours) of each of `forecasts`, matched to `lead_column`")
        .choice("sample", &sample_, {"nearest", "bilinear"},
                "stations: the forecast at a station: the cell containing it, or bilinear between the four "
                "nearest cell centres")
        .optional("lead_column", &lead_column_, "stations with `forecasts`: the column of each row's lead time (hours)")
        .optional("observation", &observation_, "the observed layer (grid to grid); or give `stations`");
    declare_station_options(b, &stations_, &cols_, &range_, &missing_, false);
    b.choice("variable", &variable_, {"other", "temperature", "precipitation"},
             "temperature adds the ±1/±2 °C accuracy; precipitation defaults thresholds to GB/T 28592 grades")
        .optional("thresholds", &thresholds_, "event thresholds (value >= threshold), e.g. [0.1, 10, 25, 50, 100]")
        .optional("fss_windows", &fss_windows_,
                  "grid to grid: fractions skill score at each threshold for these square windows (odd cell "
                  "counts), e.g. [1, 3, 5, 9]");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    fc_ = resolve_layer(ctx, diag, line, kp, "forecast", forecast_);
    validate_leads(ctx, diag, line, kp);
    if (observation_.empty() == stations_.empty())
      diag.error(line, kp, "give exactly one of `observation` (a layer) and `stations` (a CSV)");
    if (!observation_.empty()) obs_ = resolve_layer(ctx, diag, line, kp, "observation", observation_);
    if (!stations_.empty()) path_ = resolve_path(ctx.base_dir, stations_);
    if (thresholds_.empty() && variable_ == "precipitation") thresholds_ = models::kCmaPrecipitationThresholds;
    validate_fss(diag, line, kp);
    if (range_.size() != 0 && (range_.size() != 2 || !(range_[0] <= range_[1])))
      diag.error(line, kp + ".valid_range", "expected [min, max] with min <= max");
  }

  std::vector<std::string> needs() const override {
    std::vector<std::string> n;
    for (const auto& f : fcs_)
      if (f.is_step) n.push_back(f.key);
    if (obs_.is_step) n.push_back(obs_.key);
    return n;
  }

  void produce(ProductContext& ctx) override {
    Sums total = empty_sums();
    raster::GridReader reader(ctx.grid);
    std::string notes;
    if (!stations_.empty()) {
      const double lo = range_.size() == 2 ? range_[0] : -INFINITY, hi = range_.size() == 2 ? range_[1] : INFINITY;
      const StationTable t = read_stations(path_, cols_, false, lo, hi, missing_);
      std::vector<raster::BandSource> fsrcs;
      for (const auto& f : fcs_) fsrcs.push_back(layer_source(f, ctx));
      StationVerification v = verify_stations(t, ctx.grid, fsrcs, leads_, thresholds_, sample_ == "bilinear");
      total = v.total;
      const std::size_t outside = v.outside;
      if (!leads_.empty()) by_lead_ = std::move(v.per_lead);
      notes = fmt::format(
          "\"station_rows\": {}, \"rejected_missing\": {}, \"rejected_range\": {}, \"outside_grid\": {}",
          t.rows, t.missing, t.out_of_range, outside);
      if (!leads_.empty()) {
        notes += fmt::format(", \"unknown_lead\": {}", v.unknown_lead);
        if (v.unknown_lead > 0)
          spdlog::warn("{}: {} station rows have a lead time without a forecast in `leads`", id,
                       v.unknown_lead);
      }
      if (t.missing + t.out_of_range + outside > 0)
        spdlog::warn(
            "{}: of {} station rows, {} rejected as missing, {} outside valid_range, {} outside the grid", id,
            t.rows, t.missing, t.out_of_range, outside);
    } else {
      const auto windows = raster::plan_windows(ctx.grid.width, ctx.grid.height, 512, 512, std::int64_t(512) * 4096);
      // Under MPI each rank sums its share of the windows (balanced by pixels).
      std::vector<std::int64_t> weights;
      for (const auto& w : windows) weights.push_back(w.pixels());
      std::size_t first = 0, last = 0;
      std::tie(first, last) = mpi::contiguous_share(weights, mpi::rank(), mpi::size());
      std::vector<Sums> per(windows.size(), empty_sums());
      mpi::collective([&] {  // what fails on one rank fails on all before the exchange
        const raster::BandSource fsrc = layer_source(fc_, ctx), osrc = layer_source(obs_, ctx);
        reader.add_file(fsrc.path, raster::describe_raster(fsrc.path), "bilinear");
        if (osrc.path != fsrc.path) reader.add_file(osrc.path, raster::describe_raster(osrc.path), "bilinear");
        const models::tsan::ForkJoin tsan_loop;  // TSan marks (models/tsan_annotations.hpp)
        tbb::parallel_for(tbb::blocked_range<std::size_t>(first, last), tsan_loop.each([&](std::size_t i) {
          std::vector<float> f(std::size_t(windows[i].pixels())), o(f.size());
          reader.read(fsrc, windows[i], f.data());
          reader.read(osrc, windows[i], o.data());
          for (std::size_t k = 0; k < f.size(); ++k) per[i].add(f[k], o[k]);
        }));
        tsan_loop.joined();
      });
      gather_window_sums(per, first, last);
      for (const auto& s : per) total.merge(s);  // window order: the same sums for any thread count
    }
    if (mpi::size() > 1 && !observation_.empty()) {  // rank 0's totals are the result on every rank
      std::string bytes = mpi::is_root() ? sums_to_bytes({total}, 0, 1) : std::string();
      mpi::broadcast(bytes);
      std::vector<Sums> one(1, empty_sums());
      sums_from_bytes(bytes, one, 0);
      total = one[0];
    }
    if (!mpi::is_root()) {  // the other ranks of a split grid-to-grid run only lent their windows
      ctx.results[id] = total.cont;
      return;
    }
    // FSS needs neighbourhoods across window edges, so rank 0 computes it from the whole layers.
    if (!fss_windows_.empty()) {
      if (std::int64_t(ctx.grid.width) * ctx.grid.height > std::int64_t(1) << 31)
        throw ProcessingError(fmt::format(
            "{}: the fractions skill score reads whole layers and {} × {} cells are too many; verify on a "
            "coarser grid (`grid:` resolution) or without `fss_windows`",
            id, ctx.grid.width, ctx.grid.height));
      const raster::BandSource fsrc = layer_source(fc_, ctx), osrc = layer_source(obs_, ctx);
      std::vector<float> f(std::size_t(ctx.grid.width) * std::size_t(ctx.grid.height)), o(f.size());
      const raster::Window all{0, 0, ctx.grid.width, ctx.grid.height};
      reader.read(fsrc, all, f.data());
      reader.read(osrc, all, o.data());
      fss_ = fss_in_parallel(f, o, ctx.grid.width, ctx.grid.height);
    }
    const models::ContinuousScores cs = models::continuous_scores(total.cont);
    spdlog::info("{}: {} pairs, bias {:.4f}, MAE {:.4f}, RMSE {:.4f}, r {:.4f}", id, cs.n, cs.bias, cs.mae, cs.rmse,
                 cs.correlation);
    if (cs.n == 0) spdlog::warn("{}: no forecast/observation pair has both values; scores are empty", id);
    for (const auto& o : ctx.outputs) {
      if (o.format == "html")
        vector::write_text_atomic(o.path, report_html(total, cs, reader, ctx));
      else
        vector::write_text_atomic(o.path, o.format == "json" ? to_json(total, cs, notes) : to_csv(total, cs));
    }
    ctx.results[id] = total.cont;
  }

 public:
  // Grid to grid, every rank sums its windows; station pairs are few and stay on rank 0.
  bool distributed() const override { return !observation_.empty(); }

 private:
  // The exact sums of windows [first, last), as bytes (plain structs, the same build on every rank).
  static std::string sums_to_bytes(const std::vector<Sums>& per, std::size_t first, std::size_t last) {
    static_assert(std::is_trivially_copyable_v<models::ContinuousSums> &&
                  std::is_trivially_copyable_v<models::Contingency>);
    std::string out;
    for (std::size_t i = first; i < last; ++i) {
      out.append(reinterpret_cast<const char*>(&per[i].cont), sizeof per[i].cont);
      for (const auto& c : per[i].cat) out.append(reinterpret_cast<const char*>(&c), sizeof c);
    }
    return out;
  }
  // Fills per[first…] from bytes; returns the index after the last window read.
  static std::size_t sums_from_bytes(const std::string& bytes, std::vector<Sums>& per, std::size_t first) {
    const char* p = bytes.data();
    const char* end = p + bytes.size();
    std::size_t i = first;
    for (; p < end; ++i) {
      const std::size_t need = sizeof(models::ContinuousSums) + per.at(i).cat.size() * sizeof(models::Contingency);
      if (std::size_t(end - p) < need) throw ProcessingError("met.verify: truncated partial sums from a rank");
      std::memcpy(&per[i].cont, p, sizeof per[i].cont);
      p += sizeof per[i].cont;
      for (auto& c : per[i].cat) {
        std::memcpy(&c, p, sizeof c);
        p += sizeof c;
      }
    }
    return i;
  }
  // Rank 0 receives every rank's window sums, so it merges all windows in window order.
  static void gather_window_sums(std::vector<Sums>& per, std::size_t first, std::size_t last) {
    if (mpi::size() <= 1) return;
    auto parts = mpi::gather_to_root(sums_to_bytes(per, first, last));
    std::size_t at = 0;
    for (const auto& bytes : parts) at = sums_from_bytes(bytes, per, at);
  }

  Sums empty_sums() const {
    Sums s;
    for (double t : thresholds_) s.cat.push_back(models::Contingency{t});
    return s;
  }

  // Per lead time, the rows get a first column `lead` ("all" for the overall scores).
  std::string to_csv(const Sums& s, const models::ContinuousScores& c) const {
    std::string out = std::string(by_lead_.empty() ? "" : "lead,") +
                      "score_type,threshold,n,bias,mae,rmse,correlation,accuracy_1,accuracy_2,hits,misses,false_alarms,"
                      "correct_negatives,pod,far,ts,ets,frequency_bias,accuracy" +
                      (fss_.empty() ? "\n" : ",window,fss\n");
    out += csv_rows(s, c, by_lead_.empty() ? "" : "all,");
    for (const auto& f : fss_)  // FSS rows (grid to grid has no leads)
      out += fmt::format("fss,{},{},,,,,,,,,,,,,,,,,{},{}\n", num(f.threshold, false), f.n, f.window,
                         num(models::fss(f), false));
    for (std::size_t i = 0; i < by_lead_.size(); ++i)
      out += csv_rows(by_lead_[i], models::continuous_scores(by_lead_[i].cont), num(leads_[i], false) + ",");
    return out;
  }

  std::string csv_rows(const Sums& s, const models::ContinuousScores& c, const std::string& prefix) const {
    const bool temp = variable_ == "temperature";
    std::string out = prefix;
    const std::string tail = fss_.empty() ? "\n" : ",,\n";
    out += fmt::format("continuous,,{},{},{},{},{},{},{},,,,,,,,,,{}", c.n, num(c.bias, false),
                       num(c.mae, false), num(c.rmse, false), num(c.correlation, false),
                       temp ? num(c.accuracy1, false) : "", temp ? num(c.accuracy2, false) : "", tail);
    for (const auto& t : s.cat) {
      const auto k = models::categorical_scores(t);
      out +=
          prefix + fmt::format("categorical,{},{},,,,,,,{},{},{},{},{},{},{},{},{},{}{}",
                               num(t.threshold, false), t.total(), t.hits, t.misses, t.false_alarms,
                               t.correct_negatives, num(k.pod, false), num(k.far, false), num(k.csi, false),
                               num(k.ets, false), num(k.frequency_bias, false), num(k.accuracy, false), tail);
    }
    return out;
  }

  std::string to_json(const Sums& s, const models::ContinuousScores& c, const std::string& notes) const {
    std::string out = fmt::format("{{\n  \"step\": \"{}\",\n  \"variable\": \"{}\",\n", id, variable_);
    if (!notes.empty()) out += "  " + notes + ",\n";
    out += "  " + json_scores(s, c);
    if (!fss_.empty()) {
      out += ",\n  \"fss\": [";
      for (std::size_t i = 0; i < fss_.size(); ++i) {
        const auto& f = fss_[i];
        out += fmt::format(
            "{}\n    {{\"threshold\": {}, \"window\": {}, \"n\": {}, \"fss\": {}, \"sums\": {{\"d2\": {:.17g}, "
            "\"f2\": {:.17g}, \"o2\": {:.17g}}}}}",
            i ? "," : "", num(f.threshold, true), f.window, f.n, num(models::fss(f), true), f.sum_d2, f.sum_f2,
            f.sum_o2);
      }
      out += "\n  ]";
    }
    if (!by_lead_.empty()) {
      out += ",\n  \"by_lead\": [";
      for (std::size_t i = 0; i < by_lead_.size(); ++i)
        out += fmt::format("{}\n  {{\"lead\": {}, {}}}", i ? "," : "", num(leads_[i], true),
                           json_scores(by_lead_[i], models::continuous_scores(by_lead_[i].cont)));
      out += "\n  ]";
    }
    return out + "\n}\n";
  }

  // "continuous": {scores, "sums": {…}}, "categorical": [tables]
  std::string json_scores(const Sums& s, const models::ContinuousScores& c) const {
    const auto& p = s.cont;
    std::string out = fmt::format(
        "\"continuous\": {{\"n\": {}, \"bias\": {}, \"mae\": {}, \"rmse\": {}, \"correlation\": {}, "
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
    out += s.cat.empty() ? "]" : "\n  ]";
    return out;
  }

  std::string forecast_, observation_, stations_, path_, variable_ = "other";
  StationColumns cols_;
  std::vector<double> range_, thresholds_;
  std::vector<std::string> missing_;
  LayerRef fc_, obs_;
  std::vector<std::string> forecasts_;
  std::vector<double> leads_;
  std::string lead_column_ = "lead", sample_ = "nearest";
  std::vector<LayerRef> fcs_;  // the forecast of each lead (or `forecast` alone)
  std::vector<Sums> by_lead_;  // scores per lead time, when `leads` are given
  std::vector<double> fss_windows_;
  std::vector<models::FssSums> fss_;  // threshold-major, when `fss_windows` are given

  // Per threshold the tables, then blocks of 64 rows × windows as TBB tasks, merged in row order:
  // the same sums for any thread count.
  std::vector<models::FssSums> fss_in_parallel(const std::vector<float>& f, const std::vector<float>& o, int width,
                                               int height) const {
    std::vector<models::FssSums> out;
    const int rows = 64, blocks = std::max(1, (height + rows - 1) / rows);
    for (double t : thresholds_) {
      const models::FssTables tables = models::fss_tables(f.data(), o.data(), width, height, t);
      std::vector<models::FssSums> part(fss_windows_.size() * std::size_t(blocks));
      const models::tsan::ForkJoin tsan_loop2;  // TSan marks (models/tsan_annotations.hpp)
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, part.size()), tsan_loop2.each([&](std::size_t i) {
        const int b = int(i % std::size_t(blocks));
        part[i] = models::fss_window_sums(tables, int(fss_windows_[i / std::size_t(blocks)]), b * rows,
                                          std::min(height, (b + 1) * rows));
      }));
      tsan_loop2.joined();
      for (std::size_t w = 0; w < fss_windows_.size(); ++w) {
        models::FssSums s = part[w * std::size_t(blocks)];
        for (int b = 1; b < blocks; ++b) s.merge(part[w * std::size_t(blocks) + std::size_t(b)]);
        out.push_back(s);
      }
    }
    return out;
  }

  void validate_fss(Diagnostics& diag, int line, const std::string& kp) {
    if (fss_windows_.empty()) return;
    if (observation_.empty())
      diag.error(line, kp + ".fss_windows", "the fractions skill score needs an `observation` layer (grid to grid)");
    if (thresholds_.empty())
      diag.error(line, kp + ".fss_windows",
                 "the fractions skill score needs `thresholds` (or variable: precipitation)");
    for (double w : fss_windows_)
      if (!(w >= 1 && w <= 100001 && w == std::floor(w) && int(w) % 2 == 1))
        diag.error(line, kp + ".fss_windows",
                   fmt::format("window {} is not an odd whole number of cells (1, 3, 5, ...)", w));
  }

  // The page with the tables and plots; grid to grid it adds the bias map (read again in strips).
  std::string report_html(const Sums& s, const models::ContinuousScores& c, raster::GridReader& reader,
                          const ProductContext& ctx) const {
    VerifyReport r;
    r.step_id = id;
    r.variable = variable_;
    r.temperature = variable_ == "temperature";
    r.overall = c;
    r.tables = s.cat;
    r.leads = by_lead_.empty() ? std::vector<double>() : leads_;
    for (const auto& l : by_lead_) r.by_lead.push_back(models::continuous_scores(l.cont));
    r.fss = fss_;
    if (!observation_.empty())
      r.bias_png = bias_map_png(reader, layer_source(fc_, ctx), layer_source(obs_, ctx), 320, &r.bias_limit);
    return verify_report_html(r);
  }

  void validate_leads(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) {
    if (forecast_.empty() == forecasts_.empty())
      diag.error(line, kp,
                 "give exactly one of `forecast` (a layer) and `forecasts` (one layer per lead time)");
    fcs_.clear();
    if (!forecast_.empty()) fcs_ = {fc_};
    for (const auto& name : forecasts_) {
      if (ctx.is_input(name) && ctx.input_bands.at(name).size() > 1) {  // all bands, in order
        for (const auto& b : ctx.input_bands.at(name))
          fcs_.push_back(resolve_layer(ctx, diag, line, kp, "forecasts", name + "." + b));
      } else {
        fcs_.push_back(resolve_layer(ctx, diag, line, kp, "forecasts", name));
      }
    }
    if (forecasts_.empty()) {
      if (!leads_.empty())
        diag.error(line, kp + ".leads", "`leads` go with `forecasts` (one layer per lead time)");
      return;
    }
    if (stations_.empty())
      diag.error(line, kp + ".forecasts", "per-lead verification needs `stations` with a lead column");
    if (leads_.size() != fcs_.size())
      diag.error(line, kp + ".leads",
                 fmt::format("{} leads for {} forecast layers; give one lead (hours) per layer",
                             leads_.size(), fcs_.size()));
    cols_.lead = lead_column_;
  }
};

}  // namespace

StepKind met_verify_kind() {
  return {
      "met.verify", "Forecast verification: bias, MAE, RMSE, r, CMA accuracy, POD/FAR/TS/ETS",
      "Pairs a forecast layer with an observed layer (every cell where both are valid) or with station "
      "observations (the cell containing each station; stations outside the grid are counted and skipped). "
      "Continuous scores: bias = mean(F-O), MAE, RMSE, Pearson r; for temperature the share of |F-O| <= 1 "
      "and "
      "<= 2 (CMA accuracy). Categorical scores per threshold (event: value >= threshold; precipitation "
      "defaults to the GB/T 28592-2012 grades 0.1, 10, 25, 50, 100, 250 mm): hits, misses, false alarms, "
      "correct negatives, POD, FAR, TS (CSI), ETS, frequency bias and accuracy. JSON also stores the partial "
      "sums so runs can be pooled exactly. Per lead time against stations: `forecasts` (one layer per lead), "
      "`leads` (hours) and the table's `lead_column`; the CSV and JSON then add the scores and sums of each "
      "lead. Grid to grid, `fss_windows` adds the fractions skill score (Roberts & Lean 2008) per threshold "
      "and odd square window (edge windows clipped to the grid, only valid cells counted) with its partial sums. "
      "Output format html: a self-contained report with the tables, plots (scores by lead, by threshold, a "
      "performance diagram, FSS by window) and grid to grid a map of the bias.",
      [] { return std::make_unique<VerifyStep>(); }};
}

}  // namespace qinling::pipeline::steps
