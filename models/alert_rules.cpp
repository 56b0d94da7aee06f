#include "models/alert_rules.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "models/errors.hpp"

namespace qinling::models {

namespace {

// A small recursive-descent parser over the condition text.
class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  Condition parse() {
    Condition c = parse_or();
    skip_space();
    if (pos_ != s_.size()) fail("unexpected '" + s_.substr(pos_, 12) + "'");
    return c;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ConfigError("at character " + std::to_string(pos_ + 1) + " of \"" + s_ + "\": " + what);
  }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  // Consumes a keyword or symbol when it comes next (keywords must end at a non-name character).
  bool accept(const std::string& token) {
    skip_space();
    if (s_.compare(pos_, token.size(), token) != 0) return false;
    const std::size_t end = pos_ + token.size();
    if (std::isalpha(static_cast<unsigned char>(token[0])) && end < s_.size() &&
        (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_'))
      return false;
    pos_ = end;
    return true;
  }
  Condition group(Condition::Kind kind, Condition first) {
    Condition g;
    g.kind = kind;
    g.children.push_back(std::move(first));
    return g;
  }
  Condition parse_or() {
    Condition left = parse_and();
    if (!(accept("or") || accept("||"))) return left;
    Condition g = group(Condition::Kind::any, std::move(left));
    do g.children.push_back(parse_and());
    while (accept("or") || accept("||"));
    return g;
  }
  Condition parse_and() {
    Condition left = parse_unary();
    if (!(accept("and") || accept("&&"))) return left;
    Condition g = group(Condition::Kind::all, std::move(left));
    do g.children.push_back(parse_unary());
    while (accept("and") || accept("&&"));
    return g;
  }
  Condition parse_unary() {
    if (accept("not") || (peek_bang() && accept("!"))) {
      Condition n;
      n.kind = Condition::Kind::negate;
      n.children.push_back(parse_unary());
      return n;
    }
    if (accept("(")) {
      Condition c = parse_or();
      if (!accept(")")) fail("expected ')'");
      return c;
    }
    return parse_compare();
  }
  bool peek_bang() {
    skip_space();
    return pos_ + 1 < s_.size() ? s_[pos_] == '!' && s_[pos_ + 1] != '='
                                : pos_ < s_.size() && s_[pos_] == '!';
  }
  Condition parse_compare() {
    skip_space();
    const std::size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' ||
                                static_cast<unsigned char>(s_[pos_]) >= 0x80))
      ++pos_;
    if (pos_ == start) fail("expected an indicator name");
    Condition c;
    c.indicator = s_.substr(start, pos_ - start);
    if (std::isdigit(static_cast<unsigned char>(c.indicator[0]))) {
      pos_ = start;
      fail("expected an indicator name before the number");
    }
    static const std::pair<const char*, CompareOp> ops[] = {
        {"<=", CompareOp::less_equal}, {">=", CompareOp::greater_equal}, {"==", CompareOp::equal},
        {"!=", CompareOp::not_equal},  {"<", CompareOp::less},           {">", CompareOp::greater}};
    bool found = false;
    for (const auto& [text, op] : ops)
      if (accept(text)) {
        c.op = op;
        found = true;
        break;
      }
    if (!found) fail("expected one of < <= > >= == != after '" + c.indicator + "'");
    skip_space();
    const char* begin = s_.c_str() + pos_;
    char* end = nullptr;
    c.value = std::strtod(begin, &end);
    if (end == begin || !std::isfinite(c.value))
      fail("expected a number after '" + c.indicator + " " + op_text(c.op) + "'");
    pos_ += std::size_t(end - begin);
    return c;
  }

  const std::string& s_;
  std::size_t pos_ = 0;
};

bool compare(double v, CompareOp op, double t) {
  switch (op) {
    case CompareOp::less:
      return v < t;
    case CompareOp::less_equal:
      return v <= t;
    case CompareOp::greater:
      return v > t;
    case CompareOp::greater_equal:
      return v >= t;
    case CompareOp::equal:
      return v == t;
    case CompareOp::not_equal:
      return v == v && v != t;
  }
  return false;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

std::string op_text(CompareOp op) {
  switch (op) {
    case CompareOp::less:
      return "<";
    case CompareOp::less_equal:
      return "<=";
    case CompareOp::greater:
      return ">";
    case CompareOp::greater_equal:
      return ">=";
    case CompareOp::equal:
      return "==";
    case CompareOp::not_equal:
      return "!=";
  }
  return "?";
}

Condition Condition::parse(const std::string& text) { return Parser(text).parse(); }

void Condition::indicators(std::vector<std::string>& out) const {
  if (kind == Kind::compare) out.push_back(indicator);
  for (const auto& c : children) c.indicators(out);
}

std::vector<std::string> Condition::bind(const std::function<int(const std::string&)>& find) {
  std::vector<std::string> unknown;
  if (kind == Kind::compare) {
    index = find(indicator);
    if (index < 0) unknown.push_back(indicator);
  }
  for (auto& c : children)
    for (auto& u : c.bind(find)) unknown.push_back(std::move(u));
  return unknown;
}

bool Condition::holds(std::span<const double> values) const {
  switch (kind) {
    case Kind::compare:
      return index >= 0 && std::size_t(index) < values.size() && compare(values[index], op, value);
    case Kind::all:
      return std::all_of(children.begin(), children.end(),
                         [&](const Condition& c) { return c.holds(values); });
    case Kind::any:
      return std::any_of(children.begin(), children.end(),
                         [&](const Condition& c) { return c.holds(values); });
    case Kind::negate:
      return !children.front().holds(values);
  }
  return false;
}

void Condition::explain(std::span<const double> values, std::string& out) const {
  switch (kind) {
    case Kind::compare:
      if (!out.empty()) out += "; ";
      out += indicator + " = " + (index >= 0 ? number(values[index]) : "?") + " " + op_text(op) + " " +
             number(value);
      return;
    case Kind::all:
      for (const auto& c : children) c.explain(values, out);
      return;
    case Kind::any:
      for (const auto& c : children)
        if (c.holds(values)) {
          c.explain(values, out);
          return;
        }
      return;
    case Kind::negate:
      if (!out.empty()) out += "; ";
      out += "not (";
      {
        std::string inner;
        children.front().explain(values, inner);
        out += inner + ")";
      }
      return;
  }
}

std::vector<std::string> AlertRules::bind(const std::function<int(const std::string&)>& find) {
  std::vector<std::string> unknown;
  auto collect = [&](Condition& c) {
    for (auto& u : c.bind(find))
      if (std::find(unknown.begin(), unknown.end(), u) == unknown.end()) unknown.push_back(u);
  };
  if (quality) collect(*quality);
  for (auto& r : rules) collect(r.when);
  return unknown;
}

AlertResult AlertRules::evaluate(std::span<const double> values) const {
  AlertResult result;
  if (quality && !quality->holds(values)) {
    result.level = kInsufficientData;
    // Show every quality comparison with its value, so the officer sees what was missing.
    std::string shown;
    std::function<void(const Condition&)> walk = [&](const Condition& c) {
      if (c.kind == Condition::Kind::compare) {
        if (!shown.empty()) shown += "; ";
        shown += c.indicator + " = " + (c.index >= 0 ? number(values[c.index]) : "?") + ", needs " +
                 op_text(c.op) + " " + number(c.value);
      }
      for (const auto& ch : c.children) walk(ch);
    };
    walk(*quality);
    result.reason = "insufficient data: " + shown;
    return result;
  }
  const AlertRule* best = nullptr;
  for (const auto& r : rules)
    if ((best == nullptr || r.level > best->level) && r.when.holds(values)) best = &r;
  if (best == nullptr) return result;
  result.level = best->level;
  std::string why;
  best->when.explain(values, why);
  result.reason = best->reason.empty() ? why : best->reason + " (" + why + ")";
  return result;
}

const std::string& AlertRules::label(int level) const {
  if (level == kInsufficientData) return insufficient_label;
  if (level < 0 || std::size_t(level) >= labels.size()) return none_label;
  return labels[level];
}

}  // namespace qinling::models
