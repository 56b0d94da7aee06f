// The step interface: a step declares typed options, resolves what it reads without I/O, and
// computes one float band per window; the registry lists every step kind for `qinling steps`.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/diagnostics.hpp"

namespace qinling::pipeline {

// One documented option of a step kind.
struct OptionDoc {
  std::string key, type, doc, default_value;
  bool required = false;
};

// Binds YAML keys to typed members. In documentation mode it only records the options; in parse
// mode it reads them, reports type errors, and `finish()` reports keys no option consumed.
class OptionBinder {
 public:
  explicit OptionBinder(std::vector<OptionDoc>* docs) : docs_(docs) {}
  explicit OptionBinder(MapReader* reader) : reader_(reader) {}

  OptionBinder& required(const std::string& key, std::string* target, const std::string& doc);
  OptionBinder& optional(const std::string& key, std::string* target, const std::string& doc);
  OptionBinder& required(const std::string& key, std::vector<std::string>* target, const std::string& doc);
  OptionBinder& optional(const std::string& key, double* target, const std::string& doc);
  // The value must be one of `choices`.
  OptionBinder& choice(const std::string& key, std::string* target, const std::vector<std::string>& choices,
                       const std::string& doc);

 private:
  void record(const std::string& key, const std::string& type, const std::string& doc, const std::string& def,
              bool req);
  std::vector<OptionDoc>* docs_ = nullptr;
  MapReader* reader_ = nullptr;
};

// What a step may look at while validating: the names that exist in the job (no I/O).
struct ValidationContext {
  // input name → its band names (empty when the bands are only known after opening the file)
  std::map<std::string, std::vector<std::string>> input_bands;
  std::vector<std::string> step_ids;  // every step of the job
  bool is_input(const std::string& n) const { return input_bands.count(n) != 0; }
  bool is_step(const std::string& n) const;
};

// Keys of per-window values: "input.band" for an input band, the step id for a step's result.
std::string band_key(const std::string& input, const std::string& band);

class Step {
 public:
  virtual ~Step() = default;
  // Binds the step's options (also used, with a documentation binder, by `qinling steps`).
  virtual void declare(OptionBinder& binder) = 0;
  // Cross-field rules and name resolution, without I/O. Report problems with `diag.error`.
  virtual void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& key_path) = 0;
  // The keys this step reads, in the order `compute` receives them. Valid after validate().
  virtual std::vector<std::string> needs() const = 0;
  // Computes `n` output values from the needed inputs. Called concurrently from several threads.
  virtual void compute(const std::vector<const float*>& in, float* out, std::size_t n) const = 0;

  std::string id;
};

struct StepKind {
  std::string kind, summary, doc;
  std::function<std::unique_ptr<Step>()> make;
};

class StepRegistry {
 public:
  void add(StepKind kind);
  const StepKind* find(const std::string& kind) const;
  const std::vector<StepKind>& kinds() const { return kinds_; }
  std::vector<std::string> names() const;

 private:
  std::vector<StepKind> kinds_;
};

// Fills a registry with every built-in step (explicit, no static-initialisation tricks).
void register_builtin_steps(StepRegistry& registry);
// The process-wide registry with the built-in steps.
const StepRegistry& builtin_steps();

}  // namespace qinling::pipeline
