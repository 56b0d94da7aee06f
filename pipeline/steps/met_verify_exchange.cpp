#include "pipeline/steps/met_verify_exchange.hpp"

#include <cstring>
#include <type_traits>

#include "models/errors.hpp"
#include "pipeline/mpi_world.hpp"

namespace qinling::pipeline::steps {

// The exact sums of windows [first, last), as bytes (plain structs, the same build on every rank).
std::string sums_to_bytes(const std::vector<models::ScoreSums>& per, std::size_t first, std::size_t last) {
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
std::size_t sums_from_bytes(const std::string& bytes, std::vector<models::ScoreSums>& per,
                            std::size_t first) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  std::size_t i = first;
  for (; p < end; ++i) {
    const std::size_t need =
        sizeof(models::ContinuousSums) + per.at(i).cat.size() * sizeof(models::Contingency);
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
void gather_window_sums(std::vector<models::ScoreSums>& per, std::size_t first, std::size_t last) {
  if (mpi::size() <= 1) return;
  auto parts = mpi::gather_to_root(sums_to_bytes(per, first, last));
  std::size_t at = 0;
  for (const auto& bytes : parts) at = sums_from_bytes(bytes, per, at);
}

}  // namespace qinling::pipeline::steps
