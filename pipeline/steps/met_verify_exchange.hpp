// met.verify's grid-to-grid partial sums exchanged between MPI ranks: per window, as the plain bytes of
// the sums structs (every rank runs the same build), merged on rank 0 in window order.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "models/verification.hpp"

namespace qinling::pipeline::steps {

// The exact sums of windows [first, last), as bytes.
std::string sums_to_bytes(const std::vector<models::ScoreSums>& per, std::size_t first, std::size_t last);
// Fills per[first…] from bytes; returns the index after the last window read.
std::size_t sums_from_bytes(const std::string& bytes, std::vector<models::ScoreSums>& per, std::size_t first);
// Rank 0 receives every rank's window sums, so it merges all windows in window order (no-op on one process).
void gather_window_sums(std::vector<models::ScoreSums>& per, std::size_t first, std::size_t last);

}  // namespace qinling::pipeline::steps
