// Fuzz target: alert-rule files (pipeline/rules_file) and, on the same bytes, the condition
// grammar (models::Condition::parse), then binding and evaluating what parsed.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "models/alert_rules.hpp"
#include "models/errors.hpp"
#include "pipeline/diagnostics.hpp"
#include "pipeline/rules_file.hpp"

namespace {

const std::vector<std::string> kIndicators = {"mean", "min", "loss_share", "valid_fraction", "count"};

int find_indicator(const std::string& name) {
  for (std::size_t i = 0; i < kIndicators.size(); ++i)
    if (kIndicators[i] == name) return int(i);
  return -1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<double> values = {-0.2, -1, 0.3, 0.7, NAN};
  try {
    auto c = qinling::models::Condition::parse(text);
    c.bind(find_indicator);
    std::string why;
    if (c.holds(values)) c.explain(values, why);
  } catch (const qinling::ConfigError&) {
  }
  const std::string path = qinling::fuzz::write_file("rules.yaml", data, size);
  qinling::pipeline::Diagnostics diag(path);
  auto rules = qinling::pipeline::parse_rules(path, size % 2 ? "zh" : "en", diag);
  if (diag.empty() && rules.bind(find_indicator).empty()) {
    const auto result = rules.evaluate(values);
    (void)rules.label(result.level);
  }
  return 0;
}
