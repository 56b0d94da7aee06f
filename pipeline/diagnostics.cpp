#include "pipeline/diagnostics.hpp"

#include <algorithm>

#include "models/errors.hpp"

namespace qinling::pipeline {

int line_of(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const auto mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

void Diagnostics::error(const YAML::Node& where, const std::string& key_path, const std::string& message) {
  error(line_of(where), key_path, message);
}

void Diagnostics::error(int line, const std::string& key_path, const std::string& message) {
  std::string m = file_;
  if (line > 0) m += ":" + std::to_string(line);
  m += ": ";
  if (!key_path.empty()) m += key_path + ": ";
  messages_.push_back(m + message);
}

void Diagnostics::error(const std::string& message) { messages_.push_back(file_ + ": " + message); }

void Diagnostics::throw_if_any() const {
  if (messages_.empty()) return;
  std::string text = messages_.size() == 1 ? "the job has a problem:" :
                                             "the job has " + std::to_string(messages_.size()) + " problems:";
  for (const auto& m : messages_) text += "\n  " + m;
  throw ConfigError(text);
}

MapReader::MapReader(const YAML::Node& node, std::string path, Diagnostics& diag)
    : node_(node), path_(std::move(path)), diag_(diag) {
  if (!node_.IsMap()) {
    diag_.error(node_, path_, "expected a mapping of key: value");
    ok_ = false;
  }
}

bool MapReader::has(const std::string& key) const { return ok_ && node_[key].IsDefined(); }

YAML::Node MapReader::take(const std::string& key) {
  if (!ok_) return YAML::Node(YAML::NodeType::Undefined);
  taken_.push_back(key);
  const YAML::Node& cnode = node_;
  return cnode[key];
}

namespace {
template <class T>
bool get_scalar(MapReader& r, const std::string& key, T& out, bool required, const char* type_name) {
  YAML::Node n = r.take(key);
  if (!n.IsDefined() || n.IsNull()) {
    if (required && r.ok()) r.diagnostics().error(r.node(), r.key_path(key), "is required");
    return false;
  }
  try {
    if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "");
    out = n.as<T>();
    return true;
  } catch (const YAML::Exception&) {
    r.diagnostics().error(n, r.key_path(key), std::string("expected ") + type_name);
    return false;
  }
}
}  // namespace

bool MapReader::get(const std::string& key, std::string& out, bool required) {
  return get_scalar(*this, key, out, required, "a string");
}
bool MapReader::get(const std::string& key, double& out, bool required) {
  return get_scalar(*this, key, out, required, "a number");
}
bool MapReader::get(const std::string& key, int& out, bool required) {
  return get_scalar(*this, key, out, required, "an integer");
}
bool MapReader::get(const std::string& key, bool& out, bool required) {
  return get_scalar(*this, key, out, required, "true or false");
}

bool MapReader::get(const std::string& key, std::vector<std::string>& out, bool required) {
  YAML::Node n = take(key);
  if (!n.IsDefined() || n.IsNull()) {
    if (required && ok_) diag_.error(node_, key_path(key), "is required");
    return false;
  }
  std::vector<std::string> values;
  if (n.IsScalar()) {
    values.push_back(n.as<std::string>());
  } else if (n.IsSequence()) {
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        diag_.error(item, key_path(key), "expected a list of names");
        return false;
      }
      values.push_back(item.as<std::string>());
    }
  } else {
    diag_.error(n, key_path(key), "expected a name or a list of names");
    return false;
  }
  out = std::move(values);
  return true;
}

namespace {
// Levenshtein distance, to suggest the key the user probably meant.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

void MapReader::finish() {
  if (!ok_) return;
  std::string allowed;
  for (const auto& k : taken_) allowed += (allowed.empty() ? "" : ", ") + k;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) {  // `{a: 1}: x` or `[a]: x` is valid YAML but never one of our keys
      diag_.error(line_of(kv.first), path_.empty() ? "(top level)" : path_, "a key must be a plain name, not a list or a mapping (allowed here: " +
                                                allowed + ")");
      continue;
    }
    const std::string k = kv.first.as<std::string>();
    if (std::find(taken_.begin(), taken_.end(), k) != taken_.end()) continue;
    std::string hint;
    size_t best = 3;
    for (const auto& t : taken_) {
      const size_t d = edit_distance(k, t);
      if (d < best) {
        best = d;
        hint = " — did you mean '" + t + "'?";
      }
    }
    diag_.error(line_of(kv.first), key_path(k), "unknown key" + hint + " (allowed here: " + allowed + ")");
  }
}

}  // namespace qinling::pipeline
