// User expressions over named bands (`(nir - red) / (nir + red)`), compiled once with muparser
// and evaluated per block; NaN in or a non-finite result gives NaN (nodata).
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace qinling::raster {

class Expression {
 public:
  // Parses `text` allowing only `variables`; throws ConfigError describing the problem
  // (unknown name, syntax error with its position).
  Expression(const std::string& text, const std::vector<std::string>& variables);
  ~Expression();
  Expression(const Expression&) = delete;
  Expression& operator=(const Expression&) = delete;

  // The variables the expression actually uses, in the order given to the constructor.
  const std::vector<std::string>& used() const { return used_; }
  // out[i] = f(inputs[k][i]...) where inputs follow `used()`. Not thread-safe: one per thread.
  void evaluate(const std::vector<const float*>& inputs, float* out, std::size_t n);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> used_;
};

}  // namespace qinling::raster
