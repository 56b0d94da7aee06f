// supervision.alerts: alert levels per cell from a rules file, with reasons, and a summary JSON.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/errors.hpp"
#include "pipeline/rules_file.hpp"
#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/cell_steps.hpp"
#include "vector/level_raster.hpp"
#include "vector/previous_run.hpp"

namespace qinling::pipeline::steps {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

// Colours of the usual warning levels (blue, yellow, orange, red); purple for other names.
std::array<short, 3> level_colour(const std::string& level) {
  if (level == "blue") return {30, 100, 220};
  if (level == "yellow") return {250, 220, 30};
  if (level == "orange") return {250, 140, 20};
  if (level == "red") return {220, 30, 30};
  if (level == "green") return {40, 170, 60};
  return {120, 60, 160};
}

class AlertsStep final : public Step {
 public:
  StepClass step_class() const override { return StepClass::product; }
  std::vector<std::string> output_formats() const override {
    auto f = table_formats();
    f.push_back("cog");  // the level raster
    return f;
  }

  void declare(OptionBinder& b) override {
    b.required("input", &input_, "the cell-table step with the indicators (zonal.stats, zones.overlay…)")
        .required("rules", &rules_file_,
                  "rules file (YAML), relative to the job file, e.g. rules/vegetation_loss.yaml")
        .choice("language", &language_, {"en", "zh"},
                "level labels: the level names, or Chinese (蓝/黄/橙/红, 数据不足)")
        .optional("level_field", &level_field_, "name of the level column")
        .optional("reason_field", &reason_field_, "name of the reason column")
        .optional("rename", &rename_items_, "output names of columns, as old=new (e.g. mean=平均NDVI变化)")
        .optional("previous", &previous_,
                  "the previous run's table for change rules (prev_X, delta_X = X - prev_X): a path "
                  "relative to the job file, or auto (this step's own gpkg output before it is replaced)");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    require_table_step(ctx, diag, line, kp, input_, "input", id);
    renames_ = parse_renames(rename_items_, diag, line, kp);
    if (rules_file_.empty()) return;
    rules_path_ = fs::path(rules_file_).is_absolute()
                      ? rules_file_
                      : (fs::path(ctx.base_dir) / rules_file_).lexically_normal().string();
#ifdef QINLING_DEFAULT_CONFIG_DIR
    // Like sensor profiles and ramps: a relative name missing beside the job comes from the
    // project's configs/ folder (the shipped rules).
    if (!fs::exists(rules_path_) && fs::path(rules_file_).is_relative()) {
      const fs::path shipped = fs::path(QINLING_DEFAULT_CONFIG_DIR) / rules_file_;
      if (fs::exists(shipped)) rules_path_ = shipped.lexically_normal().string();
    }
#endif
    previous_path_ = previous_.empty() || previous_ == "auto" || fs::path(previous_).is_absolute()
                         ? previous_
                         : (fs::path(ctx.base_dir) / previous_).lexically_normal().string();
    Diagnostics rules_diag(rules_path_);
    rules_ = parse_rules(rules_path_, language_, rules_diag);
    for (const auto& m : rules_diag.messages()) diag.error(line, kp + ".rules", m);
  }

  std::vector<std::string> needs() const override { return {input_}; }

  void produce(ProductContext& ctx) override {
    const TablePtr in = table_result(ctx, input_, id);
    auto table = std::make_shared<vector::CellTable>(*in);
    const std::string previous = add_previous_columns(ctx, *table);
    const auto unknown = rules_.bind([&](const std::string& name) {
      const int i = table->find(name);
      return i >= 0 && table->columns[i].type != vector::Column::Type::text ? i : -1;
    });
    if (!unknown.empty()) {
      std::string cols, names;
      for (const auto& c : table->columns)
        if (c.type != vector::Column::Type::text) cols += (cols.empty() ? "" : ", ") + c.name;
      for (const auto& u : unknown) names += (names.empty() ? "'" : "', '") + u;
      throw ConfigError(rules_path_ + ": indicator(s) " + names + "' are not numeric columns of step '" +
                        input_ + "' (columns: " + cols +
                        "); add them to the zonal.stats `stats:` list or fix the rule");
    }
    const std::size_t n = table->size();
    std::vector<double> row(table->columns.size(), NAN);
    std::vector<int> codes(n);
    std::vector<std::string> labels(n), reasons(n);
    for (std::size_t c = 0; c < n; ++c) {
      for (std::size_t k = 0; k < table->columns.size(); ++k)
        if (table->columns[k].type != vector::Column::Type::text) row[k] = table->columns[k].numbers[c];
      const auto r = rules_.evaluate(row);
      codes[c] = r.level == models::kInsufficientData ? -1 : r.level + 1;
      labels[c] = rules_.label(r.level);
      reasons[c] = r.reason;
    }
    table->add(level_field_, vector::Column::Type::text).texts = labels;
    auto& code_col = table->add(level_field_ + "_code", vector::Column::Type::integer).numbers;
    for (std::size_t c = 0; c < n; ++c) code_col[c] = codes[c];
    table->add(reason_field_, vector::Column::Type::text).texts = std::move(reasons);

    nlohmann::json summary = summarize(*table, codes, labels);
    if (!previous.empty()) summary["previous"] = compare_levels(*table, previous, codes);
    vector::TableWriteOptions options;
    options.layer = "supervision";
    options.rename = renames_;
    for (const auto& o : write_table_outputs(ctx, *table, options)) {
      // The level raster: level_code + 1 per pixel (0 insufficient data, 1 none, 2… the levels).
      std::vector<unsigned char> values(n);
      for (std::size_t c = 0; c < n; ++c) values[c] = static_cast<unsigned char>(codes[c] + 1);
      std::vector<std::array<short, 3>> colours = {{160, 160, 160}, {255, 255, 255}};
      for (const auto& level : rules_.levels) colours.push_back(level_colour(level));
      vector::write_level_cog(*table, values, ctx.grid, colours, o.path);
      spdlog::info("wrote {} (alert levels)", o.path);
    }
    bool wrote_summary = false;
    for (const auto& o : ctx.outputs) {
      if (wrote_summary && o.format != "gpkg") continue;
      const fs::path p(o.path);
      const std::string path = (p.parent_path() / (p.stem().string() + ".summary.json")).string();
      vector::write_text_atomic(path, summary.dump(2) + "\n");
      spdlog::info("wrote {}", path);
      wrote_summary = o.format == "gpkg";
    }
    for (const auto& [label, count] : summary["levels"].items())
      spdlog::info("{}: {} = {} cells", id, label, count.get<long>());
    ctx.results[id] = TablePtr(table);
  }

 private:
  // The output name of table column `name` (after `rename:`), as the previous run wrote it.
  std::string output_name(const std::string& name) const {
    for (const auto& [from, to] : renames_)
      if (from == name) return to;
    return name;
  }

  // With `previous:`, adds prev_X and delta_X (X now − X then) for every X the rules read that
  // way, and prev_<level>_code; all NaN when there is no previous table yet (first run), so change
  // conditions are simply false. Returns the file read, or "".
  std::string add_previous_columns(const ProductContext& ctx, vector::CellTable& table) const {
    if (previous_.empty()) return "";
    std::string path = previous_path_;
    if (previous_ == "auto") {
      for (const auto& o : ctx.outputs)
        if (o.format == "gpkg" && path == "auto") path = o.path;
      if (path == "auto")
        throw ConfigError("step '" + id + "': previous: auto reads this step's own gpkg output from the last "
                          "run, but the job writes none; add {from: " + id + ", format: gpkg} or give a path");
    }
    std::vector<std::string> names;
    auto want = [&](const std::string& n) {
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    };
    const std::string code = level_field_ + "_code";
    want(code);
    std::vector<std::string> used;
    if (rules_.quality) rules_.quality->indicators(used);
    for (const auto& r : rules_.rules) r.when.indicators(used);
    for (const auto& u : used)
      for (const std::string p : {"prev_", "delta_"})
        if (u.rfind(p, 0) == 0 && table.find(u) < 0) {
          const std::string x = u.substr(p.size());
          const int i = table.find(x);
          if (i >= 0 && table.columns[std::size_t(i)].type != vector::Column::Type::text) want(x);
        }
    std::vector<std::string> fields;
    for (const auto& n : names) fields.push_back(output_name(n));
    vector::PreviousTable prev;
    const bool found = fs::exists(path);
    if (found)
      prev = vector::read_previous(path, "supervision", output_name(table.id_column), fields);
    else
      spdlog::warn("{}: no previous run at {} (first run?): change conditions are false this time", id, path);
    for (const auto& m : prev.missing)
      spdlog::warn("{}: {} has no column '{}': prev_/delta_ of it are empty", id, path, m);
    const auto& ids = *table.ids;
    for (std::size_t k = 0; k < names.size(); ++k) {
      auto& p = table.add("prev_" + names[k], vector::Column::Type::real).numbers;
      for (std::size_t c = 0; c < ids.size() && found; ++c) {
        const auto it = prev.row_of.find(ids[c]);
        if (it != prev.row_of.end()) p[c] = prev.columns[k][it->second];
      }
      if (names[k] == code) continue;
      const std::vector<double> before = p;  // `add` below may move the columns
      const std::vector<double> now = table.columns[std::size_t(table.find(names[k]))].numbers;
      auto& d = table.add("delta_" + names[k], vector::Column::Type::real).numbers;
      for (std::size_t c = 0; c < ids.size(); ++c) d[c] = now[c] - before[c];
    }
    if (found) spdlog::info("{}: compared with the previous run in {}", id, path);
    return found ? path : "";
  }

  // level_change (now − then, for cells with a level both times) and its summary.
  nlohmann::json compare_levels(vector::CellTable& table, const std::string& path,
                                const std::vector<int>& codes) const {
    const std::vector<double> before = table.columns[std::size_t(table.find("prev_" + level_field_ + "_code"))].numbers;
    auto& change = table.add(level_field_ + "_change", vector::Column::Type::integer).numbers;
    long rose = 0, fell = 0, same = 0, unknown = 0;
    for (std::size_t c = 0; c < codes.size(); ++c) {
      if (std::isnan(before[c]) || before[c] < 0 || codes[c] < 0) {
        ++unknown;
        continue;
      }
      change[c] = codes[c] - before[c];
      change[c] > 0 ? ++rose : change[c] < 0 ? ++fell : ++same;
    }
    return {{"path", path}, {"level_rose", rose}, {"level_fell", fell}, {"level_unchanged", same},
            {"not_compared", unknown}};
  }

  // Cells per level (insufficient data, none, then the levels in order) overall and per zone.
  nlohmann::json summarize(const vector::CellTable& t, const std::vector<int>& codes,
                           const std::vector<std::string>& labels) const {
    nlohmann::json j;
    j["rules"] = rules_path_;
    j["cells"] = t.size();
    nlohmann::ordered_json levels;
    std::vector<std::string> order{rules_.label(models::kInsufficientData), rules_.label(models::kNoAlert)};
    for (std::size_t i = 0; i < rules_.levels.size(); ++i) order.push_back(rules_.label(int(i)));
    std::map<std::string, long> totals;
    for (const auto& l : labels) ++totals[l];
    for (const auto& l : order) levels[l] = totals[l];
    j["levels"] = nlohmann::json::parse(levels.dump());
    j["level_order"] = order;
    const int zcol = t.find("zone_names");
    nlohmann::json zones = nlohmann::json::object();
    if (zcol >= 0) {
      for (std::size_t c = 0; c < t.size(); ++c)
        for (const auto& z : split(t.columns[zcol].texts[c], ';')) {
          auto& entry = zones[z];
          if (entry.is_null())
            for (const auto& l : order) entry[l] = 0;
          entry[labels[c]] = entry[labels[c]].get<long>() + 1;
        }
    }
    j["zones"] = zones;
    long alerts = 0;
    for (int code : codes) alerts += code > 0;
    j["cells_with_alert"] = alerts;
    return j;
  }

  std::string input_, rules_file_, rules_path_, language_ = "en", level_field_ = "level",
                                                reason_field_ = "reason";
  std::vector<std::string> rename_items_;
  std::string previous_, previous_path_;
  std::vector<std::pair<std::string, std::string>> renames_;
  models::AlertRules rules_;
};

}  // namespace

StepKind supervision_alerts_kind() {
  return {
      "supervision.alerts", "Alert level and reason per cell from a rules file",
      "Evaluates configs/rules/*.yaml: ordered levels (lowest first), `when` conditions on the input's "
      "columns "
      "(< <= > >= == !=, and/or/not, parentheses), a `quality` condition below which a cell gets "
      "insufficient_data instead of an alert, and a reason per rule. Adds level, level_code (-1 insufficient "
      "data, 0 none, 1.. the levels) and reason. Writes <output>.summary.json (cells per level, per zone) "
      "next "
      "to the GeoPackage.",
      [] { return std::make_unique<AlertsStep>(); }};
}

}  // namespace qinling::pipeline::steps
