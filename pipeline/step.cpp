#include "pipeline/step.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace qinling::pipeline {

std::string band_key(const std::string& input, const std::string& band) { return input + "." + band; }

bool ValidationContext::is_product(const std::string& n) const {
  return std::find(product_ids.begin(), product_ids.end(), n) != product_ids.end();
}

void Step::compute(const std::vector<const float*>&, float*, std::size_t) const {
  throw std::logic_error("step '" + id + "' is not a per-pixel step");
}

void Step::produce(ProductContext&) { throw std::logic_error("step '" + id + "' is not a product step"); }

bool ValidationContext::is_step(const std::string& n) const {
  return std::find(step_ids.begin(), step_ids.end(), n) != step_ids.end();
}

void OptionBinder::record(const std::string& key, const std::string& type, const std::string& doc,
                          const std::string& def, bool req) {
  if (docs_) docs_->push_back({key, type, doc, def, req});
}

OptionBinder& OptionBinder::required(const std::string& key, std::string* target, const std::string& doc) {
  record(key, "string", doc, "", true);
  if (reader_) reader_->get(key, *target, true);
  return *this;
}

OptionBinder& OptionBinder::optional(const std::string& key, std::string* target, const std::string& doc) {
  record(key, "string", doc, *target, false);
  if (reader_) reader_->get(key, *target, false);
  return *this;
}

OptionBinder& OptionBinder::required(const std::string& key, std::vector<std::string>* target,
                                     const std::string& doc) {
  record(key, "name or list of names", doc, "", true);
  if (reader_) reader_->get(key, *target, true);
  return *this;
}

OptionBinder& OptionBinder::optional(const std::string& key, double* target, const std::string& doc) {
  std::ostringstream def;
  def << *target;
  record(key, "number", doc, def.str(), false);
  if (reader_) reader_->get(key, *target, false);
  return *this;
}

OptionBinder& OptionBinder::optional(const std::string& key, std::vector<std::string>* target,
                                     const std::string& doc) {
  std::string def;
  for (const auto& v : *target) def += (def.empty() ? "" : ", ") + v;
  record(key, "name or list of names", doc, def, false);
  if (reader_) reader_->get(key, *target, false);
  return *this;
}

OptionBinder& OptionBinder::optional(const std::string& key, std::vector<double>* target, const std::string& doc) {
  std::ostringstream def;
  for (std::size_t i = 0; i < target->size(); ++i) def << (i ? ", " : "") << (*target)[i];
  record(key, "list of numbers", doc, def.str(), false);
  if (!reader_ || !reader_->has(key)) return *this;
  const YAML::Node node = reader_->take(key);
  std::vector<double> values;
  bool ok = node.IsSequence();
  for (std::size_t i = 0; ok && i < node.size(); ++i) {
    try {
      values.push_back(node[i].as<double>());
    } catch (const YAML::Exception&) {
      ok = false;
    }
  }
  if (ok) *target = std::move(values);
  else reader_->diagnostics().error(node, reader_->key_path(key), "expected a list of numbers, e.g. [-0.2, 0.9]");
  return *this;
}

OptionBinder& OptionBinder::choice(const std::string& key, std::string* target,
                                   const std::vector<std::string>& choices, const std::string& doc) {
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : "|") + c;
  record(key, list, doc, *target, false);
  if (reader_ && reader_->get(key, *target, false) &&
      std::find(choices.begin(), choices.end(), *target) == choices.end())
    reader_->diagnostics().error(reader_->node()[key], reader_->key_path(key),
                                 "'" + *target + "' is not one of " + list);
  return *this;
}

void StepRegistry::add(StepKind kind) { kinds_.push_back(std::move(kind)); }

const StepKind* StepRegistry::find(const std::string& kind) const {
  for (const auto& k : kinds_)
    if (k.kind == kind) return &k;
  return nullptr;
}

std::vector<std::string> StepRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& k : kinds_) out.push_back(k.kind);
  return out;
}

const StepRegistry& builtin_steps() {
  static const StepRegistry registry = [] {
    StepRegistry r;
    register_builtin_steps(r);
    return r;
  }();
  return registry;
}

}  // namespace qinling::pipeline
