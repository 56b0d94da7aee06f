#include "raster/expression.hpp"

#include <muParser.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "models/errors.hpp"

namespace qinling::raster {

struct Expression::Impl {
  mu::Parser parser;
  std::vector<double> values;  // one slot per used variable; muparser reads them by address
};

Expression::Expression(const std::string& text, const std::vector<std::string>& variables)
    : impl_(std::make_unique<Impl>()) {
  impl_->values.assign(variables.size(), 0.0);
  try {
    for (size_t i = 0; i < variables.size(); ++i) impl_->parser.DefineVar(variables[i], &impl_->values[i]);
    impl_->parser.SetExpr(text);
    // GetUsedVar parses (throwing on syntax errors) and also lists names nobody defined.
    const auto used = impl_->parser.GetUsedVar();
    for (const auto& [name, ptr] : used)
      if (std::find(variables.begin(), variables.end(), name) == variables.end())
        throw mu::Parser::exception_type("unknown name '" + name + "'");
    for (const auto& v : variables)
      if (used.count(v)) used_.push_back(v);
    impl_->parser.Eval();  // catches errors only found when evaluating (e.g. a missing operand)
  } catch (const mu::Parser::exception_type& e) {
    std::string known;
    for (const auto& v : variables) known += (known.empty() ? "" : ", ") + v;
    const std::string where = e.GetPos() >= 0 ? " (at position " + std::to_string(e.GetPos()) + ")" : "";
    throw ConfigError("expression '" + text + "': " + e.GetMsg() + where + "; known names: " + known);
  }
  // Re-bind only the used variables to consecutive slots so evaluate() copies no more than needed.
  impl_->parser = mu::Parser();
  impl_->values.assign(used_.size(), 0.0);
  for (size_t i = 0; i < used_.size(); ++i) impl_->parser.DefineVar(used_[i], &impl_->values[i]);
  impl_->parser.SetExpr(text);
}

Expression::~Expression() = default;

void Expression::evaluate(const std::vector<const float*>& inputs, float* out, std::size_t n) {
  const size_t k = used_.size();
  double* vals = impl_->values.data();
  for (size_t i = 0; i < n; ++i) {
    bool any_nan = false;
    for (size_t j = 0; j < k; ++j) {
      vals[j] = inputs[j][i];
      any_nan |= std::isnan(vals[j]);
    }
    if (any_nan) {
      out[i] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    const double r = impl_->parser.Eval();
    out[i] = std::isfinite(r) ? float(r) : std::numeric_limits<float>::quiet_NaN();
  }
}

}  // namespace qinling::raster
