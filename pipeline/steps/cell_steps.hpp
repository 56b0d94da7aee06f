// Shared by the supervision-grid steps (grid.build, grid.load, zonal.stats, zones.overlay,
// supervision.alerts): the in-memory cell table they hand each other and writing it out.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pipeline/step.hpp"
#include "vector/cell_table.hpp"
#include "vector/table_writer.hpp"

namespace qinling::pipeline::steps {

// What a cell-table step stores in ProductContext::results.
using TablePtr = std::shared_ptr<const vector::CellTable>;

// The formats every cell-table step can be written as.
std::vector<std::string> table_formats();

// Reports an error unless `id` names a product step of the job (a cell table).
void require_table_step(const ValidationContext& ctx, Diagnostics& diag, int line,
                        const std::string& key_path, const std::string& id, const std::string& role,
                        const std::string& self);

// Reports an error unless `name` is a vector input of the job.
void require_vector_input(const ValidationContext& ctx, Diagnostics& diag, int line,
                          const std::string& key_path, const std::string& name, const std::string& role);

// The cell table stored by step `id`; throws ProcessingError when that step made none.
TablePtr table_result(const ProductContext& ctx, const std::string& id, const std::string& reader);

// Parses `rename: ["old=new", …]`; reports malformed entries.
std::vector<std::pair<std::string, std::string>> parse_renames(const std::vector<std::string>& items,
                                                               Diagnostics& diag, int line,
                                                               const std::string& key_path);

// Writes every gpkg/csv/geojson output of the running step; returns the formats it did not handle.
std::vector<ProductOutput> write_table_outputs(const ProductContext& ctx, const vector::CellTable& table,
                                               const vector::TableWriteOptions& options);

}  // namespace qinling::pipeline::steps
