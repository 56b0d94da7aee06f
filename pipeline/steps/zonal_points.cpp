// zonal.points: field observations (patrol fixes, monitoring sites, incidents) counted and
// summarised per supervision cell, so officers see where the field work happened.
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <cmath>

#include "models/errors.hpp"
#include "models/point_summary.hpp"
#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/cell_steps.hpp"
#include "vector/points.hpp"

namespace qinling::pipeline::steps {
namespace {

constexpr int kBeijingOffset = 480;  // minutes east of UTC: device times without a zone are CST

bool to_number(const std::string& s, double& v) {
  std::size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  if (b == std::string::npos) return false;
  const auto r = std::from_chars(s.data() + b, s.data() + e + 1, v);
  return r.ec == std::errc() && r.ptr == s.data() + e + 1 && std::isfinite(v);
}

// "rows 3, 7, 12 and 4 more": the first few rows of a problem, for one warning line.
std::string first_rows(const std::vector<std::pair<long long, std::string>>& items) {
  std::string s;
  const std::size_t shown = std::min<std::size_t>(items.size(), 5);
  for (std::size_t i = 0; i < shown; ++i)
    s += (i ? "; " : "") + std::string("row ") + std::to_string(items[i].first) + ": " + items[i].second;
  if (items.size() > shown) s += "; and " + std::to_string(items.size() - shown) + " more";
  return s;
}

class ZonalPointsStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override { return table_formats(); }

  void declare(OptionBinder& b) override {
    b.required("input", &input_, "vector input with the points (GeoJSON, GeoPackage, Shapefile, or CSV)")
        .required("zones", &zones_, "the cell-table step whose cells receive the points")
        .optional("prefix", &prefix_, "text put before every column name")
        .optional("time_field", &time_field_,
                  "field with the observation time (ISO 8601; no zone = UTC+8) → last_seen, days_since")
        .optional("as_of", &as_of_,
                  "reference time of days_since (YYYY-MM-DD[THH:MM]); default: when the job runs")
        .optional("sum", &sum_fields_, "numeric fields summed per cell (column sum_<field>)")
        .optional("majority", &majority_fields_, "fields whose most frequent value per cell is kept")
        .optional("x_field", &x_field_, "CSV: column with x / longitude")
        .optional("y_field", &y_field_, "CSV: column with y / latitude")
        .optional("crs", &crs_, "CRS of CSV coordinates (or of a layer without one)");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    require_vector_input(ctx, diag, line, kp, input_, "input");
    require_table_step(ctx, diag, line, kp, zones_, "zones", id);
    if (!as_of_.empty()) {
      const auto t = models::parse_timestamp(as_of_, kBeijingOffset);
      if (!t)
        diag.error(line, kp + ".as_of", "'" + as_of_ + "' is not a date (YYYY-MM-DD[THH:MM[:SS]][Z|+08:00])");
      else
        as_of_seconds_ = *t;
    }
    if (!as_of_.empty() && time_field_.empty())
      diag.error(line, kp + ".as_of", "needs time_field (the observation time of each point)");
    if (prefix_ == "<input>_") prefix_ = input_ + "_";
  }

  std::vector<std::string> needs() const override { return {zones_}; }

  void produce(ProductContext& ctx) override {
    const TablePtr cells = table_result(ctx, zones_, id);
    const std::string& path = ctx.vector_inputs.at(input_);
    vector::PointReadOptions opt;
    opt.x_field = x_field_, opt.y_field = y_field_, opt.crs = crs_;
    if (!time_field_.empty()) opt.fields.push_back(time_field_);
    const std::size_t first_sum = opt.fields.size();
    opt.fields.insert(opt.fields.end(), sum_fields_.begin(), sum_fields_.end());
    const std::size_t first_class = opt.fields.size();
    opt.fields.insert(opt.fields.end(), majority_fields_.begin(), majority_fields_.end());
    const vector::PointLayer pts = vector::read_points(path, cells->crs_wkt, opt);
    const std::vector<int> where = vector::locate_points(*cells->shapes, pts.points);

    std::vector<models::PointCellSummary> acc(cells->size());
    std::vector<std::pair<long long, std::string>> bad_times, bad_numbers;
    long long outside = 0;
    for (std::size_t p = 0; p < pts.points.size(); ++p) {
      if (where[p] < 0) {
        ++outside;
        continue;
      }
      auto& a = acc[std::size_t(where[p])];
      ++a.count;
      const auto& v = pts.values[p];
      if (!time_field_.empty()) {
        if (const auto t = models::parse_timestamp(v[0], kBeijingOffset))
          a.add_time(*t);
        else
          bad_times.emplace_back(pts.rows[p], time_field_ + " '" + v[0] + "'");
      }
      for (std::size_t k = 0; k < sum_fields_.size(); ++k) {
        const std::string& s = v[first_sum + k];
        double x = 0;
        if (to_number(s, x))
          a.add_sum(k, x);
        else if (!s.empty())
          bad_numbers.emplace_back(pts.rows[p], sum_fields_[k] + " '" + s + "'");
      }
      for (std::size_t k = 0; k < majority_fields_.size(); ++k)
        if (!v[first_class + k].empty()) a.add_class(k, v[first_class + k]);
    }
    report(path, pts, outside, bad_times, bad_numbers);

    auto table = std::make_shared<vector::CellTable>(*cells);
    auto& count = table->add(prefix_ + "count", vector::Column::Type::integer).numbers;
    for (std::size_t c = 0; c < acc.size(); ++c) count[c] = double(acc[c].count);
    if (!time_field_.empty()) {
      const double now = as_of_.empty() ? double(std::chrono::duration_cast<std::chrono::seconds>(
                                                     std::chrono::system_clock::now().time_since_epoch())
                                                     .count())
                                        : as_of_seconds_;
      auto& last = table->add(prefix_ + "last_seen", vector::Column::Type::text).texts;
      auto& days = table->add(prefix_ + "days_since", vector::Column::Type::real).numbers;
      for (std::size_t c = 0; c < acc.size(); ++c)
        if (acc[c].has_time()) {
          last[c] = models::format_timestamp(acc[c].last, kBeijingOffset);
          days[c] = (now - acc[c].last) / 86400.0;
        }
    }
    for (std::size_t k = 0; k < sum_fields_.size(); ++k) {
      auto& col = table->add(prefix_ + "sum_" + sum_fields_[k], vector::Column::Type::real).numbers;
      for (std::size_t c = 0; c < acc.size(); ++c)
        col[c] = acc[c].count == 0 ? 0.0 : (k < acc[c].sums.size() ? acc[c].sums[k] : NAN);
    }
    for (std::size_t k = 0; k < majority_fields_.size(); ++k) {
      auto& col = table->add(prefix_ + "majority_" + majority_fields_[k], vector::Column::Type::text).texts;
      for (std::size_t c = 0; c < acc.size(); ++c) col[c] = acc[c].majority(k);
    }
    write_table_outputs(ctx, *table, {});
    ctx.results[id] = TablePtr(table);
  }

 private:
  void report(const std::string& path, const vector::PointLayer& pts, long long outside,
              const std::vector<std::pair<long long, std::string>>& bad_times,
              const std::vector<std::pair<long long, std::string>>& bad_numbers) const {
    const long long inside = (long long)pts.points.size() - outside;
    spdlog::info("{}: {} of {} points of {} in the cells ({} outside every cell, {} with bad coordinates)",
                 id, inside, pts.total, path, outside, pts.bad.size());
    if (!pts.bad.empty())
      spdlog::warn("{}: {}: {} rows skipped, bad or missing coordinates: {}", id, path, pts.bad.size(),
                   first_rows(pts.bad));
    if (!bad_times.empty())
      spdlog::warn(
          "{}: {}: {} points counted without a time (unreadable, expected YYYY-MM-DD[ HH:MM[:SS]]): {}", id,
          path, bad_times.size(), first_rows(bad_times));
    if (!bad_numbers.empty())
      spdlog::warn("{}: {}: {} values left out of the sums (not numbers): {}", id, path, bad_numbers.size(),
                   first_rows(bad_numbers));
  }

  std::string input_, zones_, prefix_ = "<input>_", time_field_, as_of_, x_field_ = "lon", y_field_ = "lat",
                              crs_ = "EPSG:4326";
  std::vector<std::string> sum_fields_, majority_fields_;
  double as_of_seconds_ = 0;
};

}  // namespace

StepKind zonal_points_kind() {
  return {"zonal.points", "Field observations (points) counted and summarised per cell",
          "Reads points (GeoJSON, GeoPackage, Shapefile, or CSV with x_field/y_field in `crs`), reprojects "
          "them to the grid CRS and adds per cell: <prefix>count; with time_field, <prefix>last_seen (UTC+8 "
          "text) and <prefix>days_since (days from the last observation to as_of; empty without one, so "
          "rules such as \"patrols_count == 0 or patrols_days_since > 30\" find unpatrolled cells); "
          "<prefix>sum_<field> and <prefix>majority_<field>. Rows with bad coordinates are skipped and "
          "reported; a point on a shared edge counts in one cell only.",
          [] { return std::make_unique<ZonalPointsStep>(); }};
}

}  // namespace qinling::pipeline::steps
