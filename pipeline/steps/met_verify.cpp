// met.verify: a forecast layer against an observed layer (grid to grid) or against station
// observations (grid to station, nearest cell): continuous scores, the CMA temperature accuracy
// and contingency-table scores per threshold, written as CSV and JSON with the partial sums.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <tuple>

#include "models/errors.hpp"
#include "models/tsan_annotations.hpp"
#include "models/verification.hpp"
#include "pipeline/job_spec.hpp"
#include "pipeline/mpi_world.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/cell_steps.hpp"
#include "pipeline/steps/met_common.hpp"
#include "pipeline/steps/met_verify_exchange.hpp"
#include "pipeline/steps/met_verify_masks.hpp"
#include "pipeline/steps/met_verify_report.hpp"
#include "pipeline/steps/met_verify_stations.hpp"
#include "pipeline/steps/met_verify_tables.hpp"
#include "vector/supervision_grid.hpp"
#include "vector/table_writer.hpp"

namespace qinling::pipeline::steps {
namespace {

using Sums = models::ScoreSums;

class VerifyStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override {
    return {"csv", "json", "html", "mask_csv", "mask_json", "gpkg", "geojson"};
  }

  void declare(OptionBinder& b) override {
    b.optional("forecast", &forecast_, "the forecast layer (input or step); or `forecasts` with `leads`")
        .optional("forecasts", &forecasts_,
                  "one forecast layer per lead time (a multi-band input alone: all its bands in order)")
        .optional("leads", &leads_, "the lead time (hours) of each of `forecasts`, matched to `lead_column`")
        .choice("sample", &sample_, {"nearest", "bilinear"},
                "stations: the forecast at a station: the cell containing it, or bilinear between the four "
                "nearest cell centres")
        .optional("lead_column", &lead_column_, "stations with `forecasts`: the column of each row's lead time (hours)")
        .optional("observation", &observation_, "the observed layer (grid to grid); or give `stations`")
        .optional("observations", &observations_,
                  "grid to grid with `forecasts`: one observed layer per lead (a multi-band input alone: all its "
                  "bands in order)");
    declare_station_options(b, &stations_, &cols_, &range_, &missing_, false);
    b.choice("variable", &variable_, {"other", "temperature", "precipitation"},
             "temperature adds the ±1/±2 °C accuracy; precipitation defaults thresholds to GB/T 28592 grades")
        .optional("thresholds", &thresholds_, "event thresholds (value >= threshold), e.g. [0.1, 10, 25, 50, 100]")
        .optional("fss_windows", &fss_windows_,
                  "grid to grid: fractions skill score at each threshold for these square windows (odd cell "
                  "counts), e.g. [1, 3, 5, 9]")
        .optional("cells", &cells_,
                  "scores also per supervision cell: the cell-table step (grid.build, grid.load…); outputs "
                  "mask_csv, mask_json, gpkg, geojson")
        .optional("masks", &masks_, "scores also per polygon of this vector input (counties, reserves…)")
        .optional("mask_id_field", &mask_id_field_,
                  "with `masks`: the field naming each polygon (unique); default cell_id, id or ID, else the FID");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    fc_ = resolve_layer(ctx, diag, line, kp, "forecast", forecast_);
    validate_leads(ctx, diag, line, kp);
    if (grid() == !stations_.empty() || (!observation_.empty() && !observations_.empty()))
      diag.error(line, kp,
                 "give exactly one of `observation` (a layer), `observations` (one layer per lead) and "
                 "`stations` (a CSV)");
    if (!observation_.empty()) obs_ = resolve_layer(ctx, diag, line, kp, "observation", observation_);
    validate_observations(ctx, diag, line, kp);
    if (!stations_.empty()) path_ = resolve_path(ctx.base_dir, stations_);
    if (thresholds_.empty() && variable_ == "precipitation") thresholds_ = models::kCmaPrecipitationThresholds;
    validate_fss(diag, line, kp);
    if (!cells_.empty() && !masks_.empty())
      diag.error(line, kp, "give at most one of `cells` (a cell-table step) and `masks` (a vector input)");
    require_table_step(ctx, diag, line, kp, cells_, "cells", id);
    require_vector_input(ctx, diag, line, kp, masks_, "masks");
    if (!mask_id_field_.empty() && masks_.empty())
      diag.error(line, kp + ".mask_id_field", "`mask_id_field` goes with `masks` (a vector input)");
    if (range_.size() != 0 && (range_.size() != 2 || !(range_[0] <= range_[1])))
      diag.error(line, kp + ".valid_range", "expected [min, max] with min <= max");
  }

  std::vector<std::string> needs() const override {
    std::vector<std::string> n;
    for (const auto& f : fcs_)
      if (f.is_step) n.push_back(f.key);
    if (obs_.is_step) n.push_back(obs_.key);
    for (const auto& o : obss_)
      if (o.is_step) n.push_back(o.key);
    if (!cells_.empty()) n.push_back(cells_);
    return n;
  }

  void produce(ProductContext& ctx) override {
    Sums total = empty_sums();
    const std::unique_ptr<MaskLabeller> labeller = load_masks(ctx);
    const bool split = distributed() && mpi::size() > 1;  // else this rank does everything alone
    raster::GridReader reader(ctx.grid);
    std::string notes;
    if (!stations_.empty()) {
      const double lo = range_.size() == 2 ? range_[0] : -INFINITY, hi = range_.size() == 2 ? range_[1] : INFINITY;
      const StationTable t = read_stations(path_, cols_, false, lo, hi, missing_);
      std::vector<raster::BandSource> fsrcs;
      for (const auto& f : fcs_) fsrcs.push_back(layer_source(f, ctx));
      StationVerification v =
          verify_stations(t, ctx.grid, fsrcs, leads_, thresholds_, sample_ == "bilinear", labeller.get());
      if (labeller) {
        mask_.overall = merge_mask_parts(v.per_lead_mask, labeller->size());  // lead order
        if (!leads_.empty()) mask_.per_lead = std::move(v.per_lead_mask);
      }
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
      for (std::size_t li = 0; li < fcs_.size(); ++li) {
        MaskSums m;
        const Sums lead = grid_sums(ctx, reader, fcs_[li], obs_of(li), labeller.get(), split, &m);
        if (leads_.empty()) {
          total = lead, mask_.overall = std::move(m);
          continue;
        }
        total.merge(lead);  // lead order
        by_lead_.push_back(lead);
        mask_.per_lead.push_back(std::move(m));
      }
      if (!leads_.empty() && labeller) mask_.overall = merge_mask_parts(mask_.per_lead, labeller->size());
    }
    if (split) {  // rank 0's totals are the result on every rank
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
      std::vector<std::int32_t> labels;
      if (labeller) labels = label_grid(*labeller, ctx.grid);
      for (std::size_t li = 0; li < fcs_.size(); ++li) {
        const raster::BandSource fsrc = layer_source(fcs_[li], ctx), osrc = layer_source(obs_of(li), ctx);
        std::vector<float> f(std::size_t(ctx.grid.width) * std::size_t(ctx.grid.height)), o(f.size());
        const raster::Window all{0, 0, ctx.grid.width, ctx.grid.height};
        reader.read(fsrc, all, f.data());
        reader.read(osrc, all, o.data());
        std::vector<MaskFss> mf;
        auto lead = fss_in_parallel(f, o, ctx.grid.width, ctx.grid.height, thresholds_, fss_windows_,
                                    labeller ? labels.data() : nullptr, &mf, labeller ? labeller->size() : 0);
        if (leads_.empty()) {
          fss_ = std::move(lead), mask_.fss = std::move(mf);
          continue;
        }
        if (li == 0) fss_ = lead, mask_.fss = mf;  // then pooled over the leads, in lead order
        for (std::size_t k = 0; li > 0 && k < lead.size(); ++k) {
          fss_[k].merge(lead[k]);
          if (labeller) mask_.fss[k] = merge_mask_parts({mask_.fss[k], mf[k]}, labeller->size());
        }
        fss_by_lead_.push_back(std::move(lead));
      }
    }
    const models::ContinuousScores cs = models::continuous_scores(total.cont);
    spdlog::info("{}: {} pairs, bias {:.4f}, MAE {:.4f}, RMSE {:.4f}, r {:.4f}", id, cs.n, cs.bias, cs.mae, cs.rmse,
                 cs.correlation);
    if (cs.n == 0) spdlog::warn("{}: no forecast/observation pair has both values; scores are empty", id);
    if (labeller) write_mask_outputs(ctx, total);
    for (const auto& o : ctx.outputs) {
      if (o.format == "html")
        vector::write_text_atomic(o.path, report_html(total, cs, reader, ctx));
      else if (o.format == "csv" || o.format == "json")
        vector::write_text_atomic(o.path, o.format == "json" ? verify_json(tables(), total, cs, notes)
                                                             : verify_csv(tables(), total, cs));
    }
    ctx.results[id] = total.cont;
  }

 public:
  // Grid to grid, every rank sums its windows; station pairs are few and stay on rank 0.
  // Per-mask sums are not exchanged between ranks: with `cells`/`masks` rank 0 does all.
  bool distributed() const override { return grid() && cells_.empty() && masks_.empty(); }

 private:
  bool grid() const { return !observation_.empty() || !observations_.empty(); }
  const LayerRef& obs_of(std::size_t lead) const { return observations_.empty() ? obs_ : obss_.at(lead); }

  // The sums of one forecast/observation pair of layers, window by window (TBB); under MPI (`split`)
  // each rank sums its share of the windows and rank 0 gets them all. Merged in window order: the
  // same sums for any thread or rank count. With masks, `per_mask` gets the sums per mask too.
  Sums grid_sums(const ProductContext& ctx, raster::GridReader& reader, const LayerRef& fc, const LayerRef& ob,
                 const MaskLabeller* labeller, bool split, MaskSums* per_mask_out) {
    const auto windows = raster::plan_windows(ctx.grid.width, ctx.grid.height, 512, 512, std::int64_t(512) * 4096);
    std::vector<std::int64_t> weights;  // under MPI each rank sums its share of the windows (by pixels)
    for (const auto& w : windows) weights.push_back(w.pixels());
    std::size_t first = 0, last = windows.size();
    if (split) std::tie(first, last) = mpi::contiguous_share(weights, mpi::rank(), mpi::size());
    std::vector<Sums> per(windows.size(), empty_sums());
    std::vector<MaskSums> per_mask(labeller ? windows.size() : 0);
    const auto sum_windows = [&] {
      const raster::BandSource fsrc = layer_source(fc, ctx), osrc = layer_source(ob, ctx);
      for (const auto& path : {fsrc.path, osrc.path})
        if (added_.insert(path).second) reader.add_file(path, raster::describe_raster(path), "bilinear");
      const models::tsan::ForkJoin tsan_loop;  // TSan marks (models/tsan_annotations.hpp)
      tbb::parallel_for(tbb::blocked_range<std::size_t>(first, last), tsan_loop.each([&](std::size_t i) {
        std::vector<float> f(std::size_t(windows[i].pixels())), o(f.size());
        reader.read(fsrc, windows[i], f.data());
        reader.read(osrc, windows[i], o.data());
        for (std::size_t k = 0; k < f.size(); ++k) per[i].add(f[k], o[k]);
        if (!labeller) return;
        std::vector<std::int32_t> label(f.size());
        labeller->label(windows[i], label.data());
        MaskAccumulator acc(thresholds_);
        for (std::size_t k = 0; k < f.size(); ++k) acc.add(label[k], f[k], o[k]);
        per_mask[i] = acc.finish();
      }));
      tsan_loop.joined();
    };
    if (split)
      mpi::collective(sum_windows);  // what fails on one rank fails on all before the exchange
    else
      sum_windows();
    if (split) gather_window_sums(per, first, last);
    Sums total = empty_sums();
    for (const auto& s : per) total.merge(s);  // window order: the same sums for any thread count
    if (labeller) *per_mask_out = merge_mask_parts(per_mask, labeller->size());  // window order
    return total;
  }

  void validate_observations(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) {
    obss_.clear();
    for (const auto& name : observations_) {
      if (ctx.is_input(name) && ctx.input_bands.at(name).size() > 1) {  // all bands, in order
        for (const auto& b : ctx.input_bands.at(name))
          obss_.push_back(resolve_layer(ctx, diag, line, kp, "observations", name + "." + b));
      } else {
        obss_.push_back(resolve_layer(ctx, diag, line, kp, "observations", name));
      }
    }
    if (observations_.empty()) return;
    if (forecasts_.empty())
      diag.error(line, kp + ".observations", "`observations` go with `forecasts` and `leads` (one layer per lead)");
    else if (obss_.size() != fcs_.size())
      diag.error(line, kp + ".observations",
                 fmt::format("{} observed layers for {} forecast layers; give one per lead", obss_.size(),
                             fcs_.size()));
  }

  VerifyTables tables() const { return {id, variable_, leads_, by_lead_, fss_, fss_by_lead_}; }

  Sums empty_sums() const {
    Sums s;
    for (double t : thresholds_) s.cat.push_back(models::Contingency{t});
    return s;
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
  std::vector<std::vector<models::FssSums>> fss_by_lead_;  // grid to grid with leads
  std::vector<std::string> observations_;
  std::vector<LayerRef> obss_;  // the observation of each lead (with `observations`)
  std::set<std::string> added_;  // files given to the reader
  std::string cells_, masks_, mask_id_field_;
  vector::CellTable mask_table_;  // the cells or polygons (with `cells` / `masks`)
  MaskTable mask_;                // their sums

  // The cells or polygons of `cells` / `masks` on the analysis grid; null without them. Per-mask
  // outputs asked for without either are a job error, raised before any work.
  std::unique_ptr<MaskLabeller> load_masks(const ProductContext& ctx) {
    for (const auto& o : ctx.outputs)
      if (cells_.empty() && masks_.empty() && o.format != "csv" && o.format != "json" && o.format != "html")
        throw ConfigError(fmt::format("{}: output {} (format {}) is a per-mask table; give `cells` (a cell-table "
                                      "step) or `masks` (a vector input) to the step",
                                      id, o.path, o.format));
    if (cells_.empty() && masks_.empty()) return nullptr;
    if (!cells_.empty()) {
      mask_table_ = *table_result(ctx, cells_, id);
      mask_.source = "cells: " + cells_;
    } else {
      mask_table_ = vector::load_grid(ctx.vector_inputs.at(masks_), mask_id_field_, ctx.grid.crs_wkt);
      mask_.source = "masks: " + masks_;
    }
    mask_table_.columns.clear();
    mask_.masks = &mask_table_;
    return std::make_unique<MaskLabeller>(mask_table_, ctx.grid);
  }

  void write_mask_outputs(const ProductContext& ctx, const Sums& total) {
    mask_.step_id = id;
    mask_.variable = variable_;
    mask_.thresholds = thresholds_;
    mask_.leads = leads_;
    mask_.fss_windows = fss_windows_;
    mask_.pairs_total = total.cont.n;
    mask_.pairs_outside = total.cont.n;
    for (const auto& [m, s] : mask_.overall) mask_.pairs_outside -= s.cont.n;
    spdlog::info("{}: scores per mask over {} {}", id, mask_table_.size(), mask_.source);
    if (mask_.pairs_outside > 0)
      spdlog::warn("{}: {} of {} pairs lie in no mask of {}; the per-mask sums add up to the rest", id,
                   mask_.pairs_outside, mask_.pairs_total, mask_.source);
    for (const auto& o : ctx.outputs) {
      if (o.format == "mask_csv") write_streamed(o.path, [&](std::ostream& out) { mask_csv(mask_, out); });
      if (o.format == "mask_json") write_streamed(o.path, [&](std::ostream& out) { mask_json(mask_, out); });
      if (o.format == "gpkg" || o.format == "geojson") {
        vector::TableWriteOptions options;
        options.layer = "verification";
        for (const auto& kv : o.options) options.layer_options.push_back(kv);
        vector::write_table(mask_layer(mask_), o.path, o.format, options);
      }
    }
  }

  void validate_fss(Diagnostics& diag, int line, const std::string& kp) {
    if (fss_windows_.empty()) return;
    if (!grid())
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
    if (stations_.empty() && observations_.empty())
      diag.error(line, kp + ".forecasts",
                 "per-lead verification needs `stations` with a lead column, or `observations` (one observed "
                 "layer per lead)");
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
      "lead; grid to grid per lead: `forecasts`, `leads` and `observations` (one observed layer per lead). "
      "Grid to grid, `fss_windows` adds the fractions skill score (Roberts & Lean 2008) per threshold "
      "and odd square window (edge windows clipped to the grid, only valid cells counted) with its partial sums "
      "(per lead too). "
      "Output format html: a self-contained report with the tables, plots (scores by lead, by threshold, a "
      "performance diagram, FSS by window) and grid to grid a map of the bias. Per supervision cell "
      "(`cells`: a cell-table step) or polygon (`masks`: a vector input, `mask_id_field`): a cell goes to "
      "the first mask containing its centre, a station to the first containing it; outputs mask_csv and "
      "mask_json (scores and partial sums per mask and lead, and FSS per mask) and gpkg/geojson (the masks "
      "with their overall scores as columns, joinable by ID).",
      [] { return std::make_unique<VerifyStep>(); }};
}

}  // namespace qinling::pipeline::steps
