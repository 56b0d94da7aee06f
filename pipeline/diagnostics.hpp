// Collects every problem found in a job before anything runs, each naming file, line and key.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace qinling::pipeline {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }
  // "job.yaml:12: steps[0].input: unknown input 'scen' (known: scene, l8)"
  void error(const YAML::Node& where, const std::string& key_path, const std::string& message);
  void error(int line, const std::string& key_path, const std::string& message);
  void error(const std::string& message);
  bool empty() const { return messages_.empty(); }
  const std::vector<std::string>& messages() const { return messages_; }
  // Throws ConfigError listing every message when there are any.
  void throw_if_any() const;

 private:
  std::string file_;
  std::vector<std::string> messages_;
};

// 1-based line of a node (0 when unknown).
int line_of(const YAML::Node& node);

// Reads a YAML map key by key, consuming what it reads, so that `finish()` can report every key
// nobody asked for — a misspelled key is an error, never silently ignored.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, Diagnostics& diag);
  bool ok() const { return ok_; }
  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  Diagnostics& diagnostics() { return diag_; }
  // Returns the value node and marks the key used; an undefined node when absent.
  YAML::Node take(const std::string& key);
  bool has(const std::string& key) const;
  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  // Typed getters: report a type error and leave `out` unchanged on mismatch. Return true if present.
  bool get(const std::string& key, std::string& out, bool required);
  bool get(const std::string& key, double& out, bool required);
  bool get(const std::string& key, int& out, bool required);
  bool get(const std::string& key, bool& out, bool required);
  // Accepts a scalar or a list of scalars.
  bool get(const std::string& key, std::vector<std::string>& out, bool required);
  // Reports keys never taken.
  void finish();

 private:
  YAML::Node node_;
  std::string path_;
  Diagnostics& diag_;
  std::vector<std::string> taken_;
  bool ok_ = true;
};

}  // namespace qinling::pipeline
