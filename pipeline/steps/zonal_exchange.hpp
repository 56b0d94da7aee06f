// zonal.stats under MPI: the bytes ranks exchange besides the partial accumulators — statistics of
// cells a rank finished itself, and the statistics columns rank 0 sends back to every rank.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/zonal_stats.hpp"
#include "vector/cell_table.hpp"

namespace qinling::pipeline::steps {

// The frac_above/frac_below threshold index of each request (0 for the others).
std::vector<std::size_t> threshold_indices(const std::vector<models::StatRequest>& requests);

// Sets row `c` of the columns [first, first + requests.size()) of `table` from `a`.
void fill_cell(vector::CellTable& table, std::size_t first, std::size_t c, const models::StatsAccumulator& a,
               const std::vector<models::StatRequest>& requests, const std::vector<std::size_t>& thresholds);

// Appends cell `c`'s finished statistics (request order) to `out`.
void put_finished_cell(std::string& out, std::uint32_t c, const models::StatsAccumulator& a,
                       const std::vector<models::StatRequest>& requests,
                       const std::vector<std::size_t>& thresholds);
// Reads cells written by put_finished_cell into the columns from `first` on; marks them in `done`.
void read_finished_cells(const std::string& bytes, vector::CellTable& table, std::size_t first,
                         const std::vector<models::StatRequest>& requests, std::vector<std::uint8_t>& done);

// The columns of `table` from `from` on, and a copy of `cells` with such columns appended.
std::string columns_to_bytes(const vector::CellTable& table, std::size_t from);
std::shared_ptr<vector::CellTable> table_with_columns(const vector::CellTable& cells,
                                                      const std::string& bytes);

}  // namespace qinling::pipeline::steps
