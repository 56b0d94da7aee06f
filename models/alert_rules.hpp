// Alert rules for the supervision grid: ordered levels, conditions on per-cell indicators
// ("loss_share >= 0.25 and mean < -0.1"), a minimum data quality, and a reason per alert.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace qinling::models {

enum class CompareOp { less, less_equal, greater, greater_equal, equal, not_equal };

// A condition: a comparison `indicator op value`, or all/any of sub-conditions, or a negation.
// Grammar: expr := and_expr ('or' and_expr)* ; and_expr := unary ('and' unary)* ;
//          unary := 'not' unary | '(' expr ')' | NAME OP NUMBER ; OP := < <= > >= == !=
// (`&&`, `||` and `!` are accepted too). A comparison with a missing (NaN) indicator is false.
struct Condition {
  enum class Kind { compare, all, any, negate } kind = Kind::compare;
  std::string indicator;
  CompareOp op = CompareOp::less;
  double value = 0;
  int index = -1;  // position of `indicator` in the values passed to `holds`, set by bind()
  std::vector<Condition> children;

  // Parses `text`; throws ConfigError "at character N: …" on a syntax error.
  static Condition parse(const std::string& text);
  // Every indicator name the condition reads, in order of appearance.
  void indicators(std::vector<std::string>& out) const;
  // Resolves names to indices; `find` returns -1 for an unknown name. Returns the unknown names.
  std::vector<std::string> bind(const std::function<int(const std::string&)>& find);
  bool holds(std::span<const double> values) const;
  // "loss_share = 0.42 ≥ 0.25; mean = -0.31 < -0.1": the comparisons that make it true.
  void explain(std::span<const double> values, std::string& out) const;
};

std::string op_text(CompareOp op);

struct AlertRule {
  int level = 0;  // index into AlertRules::levels
  Condition when;
  std::string reason;  // optional text put before the explanation
  int line = 0;        // where it was defined (for messages)
};

// Outcome codes besides the level indices 0..n-1.
inline constexpr int kNoAlert = -1, kInsufficientData = -2;

struct AlertResult {
  int level = kNoAlert;
  std::string reason;
};

struct AlertRules {
  std::vector<std::string> levels;  // lowest first, e.g. blue, yellow, orange, red
  std::vector<std::string> labels;  // same order as levels: what outputs show
  std::string none_label = "none", insufficient_label = "insufficient_data";
  std::unique_ptr<Condition> quality;  // a cell failing it gets kInsufficientData
  std::vector<AlertRule> rules;

  // Binds every condition; returns the unknown indicator names (each once).
  std::vector<std::string> bind(const std::function<int(const std::string&)>& find);
  // The highest level whose rule holds (quality first), with a human-readable reason.
  AlertResult evaluate(std::span<const double> values) const;
  const std::string& label(int level) const;
};

}  // namespace qinling::models
