// Fuzz target: the station CSV reader of the met.* steps (comma or semicolon separated, quotes,
// BOM, missing markers, ranges). Bad tables must end in InputError, never a crash.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "models/errors.hpp"
#include "pipeline/steps/met_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = qinling::fuzz::write_file("stations.csv", data, size);
  namespace steps = qinling::pipeline::steps;
  try {
    const bool need_elevation = size > 0 && (data[0] & 1);
    const auto t =
        steps::read_stations(path, steps::StationColumns{}, need_elevation, -50, 60, {"-9999", "M"});
    if (t.lon.size() != t.size() || t.lat.size() != t.size() || t.value.size() != t.size() ||
        t.elevation.size() != t.size() || t.size() + t.missing + t.out_of_range != t.rows)
      __builtin_trap();  // the counts must add up
  } catch (const qinling::InputError&) {
  }
  return 0;
}
