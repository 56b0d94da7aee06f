#include "pipeline/steps/cell_steps.hpp"

#include <spdlog/spdlog.h>

#include "models/errors.hpp"

namespace qinling::pipeline::steps {

std::vector<std::string> table_formats() { return {"gpkg", "csv", "geojson"}; }

void require_table_step(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp,
                        const std::string& id, const std::string& role, const std::string& self) {
  if (id.empty()) return;
  if (id == self) {
    diag.error(line, kp + "." + role, "a step cannot read its own result");
  } else if (!ctx.is_product(id)) {
    std::string known;
    for (const auto& p : ctx.product_ids)
      if (p != self) known += (known.empty() ? "" : ", ") + p;
    diag.error(line, kp + "." + role,
               "'" + id + "' is not a cell-table step (grid.build, grid.load, zonal.stats, zones.overlay…)" +
                   (known.empty() ? "" : "; product steps: " + known));
  }
}

void require_vector_input(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp,
                          const std::string& name, const std::string& role) {
  if (name.empty() || ctx.is_vector_input(name) || ctx.unresolved_inputs.count(name)) return;  // else reported
  std::string known;
  for (const auto& [n, path] : ctx.vector_inputs) known += (known.empty() ? "" : ", ") + n;
  diag.error(line, kp + "." + role,
             "'" + name + "' is not a vector input (give it under inputs: as {path: file.geojson})" +
                 (known.empty() ? "" : "; vector inputs: " + known));
}

TablePtr table_result(const ProductContext& ctx, const std::string& id, const std::string& reader) {
  auto it = ctx.results.find(id);
  const TablePtr* t = it == ctx.results.end() ? nullptr : std::any_cast<TablePtr>(&it->second);
  if (t == nullptr || !*t)
    throw ProcessingError("step '" + reader + "': step '" + id + "' produced no cell table");
  return *t;
}

std::vector<std::pair<std::string, std::string>> parse_renames(const std::vector<std::string>& items,
                                                               Diagnostics& diag, int line,
                                                               const std::string& kp) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      diag.error(line, kp + ".rename", "'" + item + "' should be old=new, e.g. mean=平均变化");
      continue;
    }
    out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return out;
}

std::vector<ProductOutput> write_table_outputs(const ProductContext& ctx, const vector::CellTable& table,
                                               const vector::TableWriteOptions& options) {
  std::vector<ProductOutput> rest;
  for (const auto& o : ctx.outputs) {
    if (o.format == "gpkg" || o.format == "csv" || o.format == "geojson") {
      vector::TableWriteOptions with_layer = options;
      for (const auto& kv : o.options) with_layer.layer_options.push_back(kv);
      vector::write_table(table, o.path, o.format, with_layer);
      spdlog::info("wrote {} ({} cells)", o.path, table.size());
    } else {
      rest.push_back(o);
    }
  }
  return rest;
}

}  // namespace qinling::pipeline::steps
