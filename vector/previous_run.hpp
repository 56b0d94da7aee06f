// The table an earlier run wrote (GeoPackage, GeoJSON, CSV…), read back by cell ID so that alert
// rules can compare indicators with the previous run of the same job.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

namespace qinling::vector {

struct PreviousTable {
  std::unordered_map<std::string, std::size_t> row_of;  // cell ID → row
  std::vector<std::vector<double>> columns;             // per requested field (NaN: null / absent)
  std::vector<std::string> missing;                     // requested fields the file does not have
};

// Reads `fields` (numbers) of layer `layer` (or the first layer) by the ID in `id_field`.
// Throws InputError naming the file when it cannot be read or has no `id_field`.
PreviousTable read_previous(const std::string& path, const std::string& layer, const std::string& id_field,
                            const std::vector<std::string>& fields);

}  // namespace qinling::vector
