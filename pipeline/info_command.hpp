// `qinling info FILE`: what a weather file or station table holds, in the terms `select:` and the
// met steps use (variables, levels, valid/reference times and leads per band; CSV columns and ranges).
#pragma once

#include <string>

namespace qinling::pipeline {

// Prints to stdout. `all_bands`: one line per band even for long files (else the first 24 per
// variable and a summary). Throws InputError when the file cannot be read.
int command_info(const std::string& path, bool all_bands);

}  // namespace qinling::pipeline
