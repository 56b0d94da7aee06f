// raster.calc: a user expression over named bands and earlier step results (muparser).
#include <tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <map>

#include "models/errors.hpp"
#include "pipeline/steps/builtin.hpp"
#include "raster/expression.hpp"

namespace qinling::pipeline::steps {
namespace {

class CalcStep final : public Step {
 public:
  void declare(OptionBinder& b) override {
    b.required("input", &inputs_, "inputs and/or step ids whose values the expression uses")
        .required("expression", &expression_,
                  "muparser expression, e.g. (nir - red) / (nir + red); bands are named by their band name, "
                  "or input_band when two inputs share a name; step results by their id");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    // variable name → key of its per-window values
    std::map<std::string, std::string> vars;
    std::map<std::string, int> short_count;
    for (const auto& in : inputs_) {
      if (ctx.is_input(in)) {
        for (const auto& b : ctx.input_bands.at(in)) {
          vars[in + "_" + b] = band_key(in, b);
          ++short_count[b];
        }
      } else if (ctx.is_step(in)) {
        if (in == id) diag.error(line, kp + ".input", "a step cannot read its own result");
        vars[in] = in;
      } else {
        diag.error(line, kp + ".input", "'" + in + "' is neither an input nor a step id");
      }
    }
    for (const auto& in : inputs_)
      if (ctx.is_input(in))
        for (const auto& b : ctx.input_bands.at(in))
          if (short_count[b] == 1 && !vars.count(b)) vars[b] = band_key(in, b);
    for (const auto& in : inputs_)
      if (ctx.unresolved_inputs.count(in)) return;  // its bands are unknown; the file error says why
    if (expression_.empty()) return;
    std::vector<std::string> names;
    for (const auto& [name, key] : vars) names.push_back(name);
    try {
      raster::Expression probe(expression_, names);
      needs_.clear();
      variables_ = probe.used();
      for (const auto& v : variables_) needs_.push_back(vars.at(v));
    } catch (const ConfigError& e) {
      diag.error(line, kp + ".expression", e.what());
    }
  }

  std::vector<std::string> needs() const override { return needs_; }

  void compute(const std::vector<const float*>& in, float* out, std::size_t n) const override {
    auto& expr = exprs_.local();
    if (!expr) expr = std::make_unique<raster::Expression>(expression_, variables_);
    expr->evaluate(in, out, n);
  }

 private:
  std::vector<std::string> inputs_;
  std::string expression_;
  std::vector<std::string> variables_, needs_;
  mutable tbb::enumerable_thread_specific<std::unique_ptr<raster::Expression>> exprs_;
};

}  // namespace

StepKind calc_kind() {
  return {"raster.calc", "Band math with a user expression",
          "Evaluates a muparser expression per pixel (float64 arithmetic, float32 result). Operators + - * / ^, "
          "comparisons, ?: and functions such as sqrt, abs, min, max, log, exp. Any nodata operand, a division "
          "by zero or any non-finite result gives nodata (NaN).",
          [] { return std::make_unique<CalcStep>(); }};
}

}  // namespace qinling::pipeline::steps
