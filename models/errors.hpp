// The exception types every layer throws; the CLI maps them to exit codes at one boundary.
#pragma once

#include <stdexcept>
#include <string>

namespace qinling {

// Base of all our errors. `exit_code` is what the CLI returns: 2 for bad job/config/input,
// 1 for a failure while processing.
class Error : public std::runtime_error {
 public:
  Error(const std::string& what, int exit_code) : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// The job file or the command line is wrong (unknown key, bad type, cycle...). Exit 2.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& what) : Error(what, 2) {}
};

// An input file is missing, unreadable or corrupt (truncated GeoTIFF...). Exit 2.
class InputError : public Error {
 public:
  explicit InputError(const std::string& what) : Error(what, 2) {}
};

// Processing or writing failed (disk full, GDAL write error...). Exit 1.
class ProcessingError : public Error {
 public:
  explicit ProcessingError(const std::string& what) : Error(what, 1) {}
};

// The user interrupted the run (Ctrl-C). Exit 1, outputs left as they were.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled by the user", 1) {}
};

}  // namespace qinling
