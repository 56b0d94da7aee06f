// Shared by the fuzz targets: a private scratch folder and writing the fuzzer's bytes to a file,
// for parsers whose entry point takes a path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qinling::fuzz {

// A folder created once per process under $TMPDIR (or /tmp) and removed at exit.
const std::string& scratch_dir();
// Writes `size` bytes to scratch_dir()/name and returns the full path.
std::string write_file(const std::string& name, const std::uint8_t* data, std::size_t size);

}  // namespace qinling::fuzz
