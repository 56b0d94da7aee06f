// change.dndvi, change.dnbr: differences of an index between two dates; change.classes: class
// codes from thresholds (e.g. burn severity after Key & Benson 2006).
#include <algorithm>
#include <cmath>

#include "models/indices.hpp"
#include "pipeline/steps/builtin.hpp"

namespace qinling::pipeline::steps {
namespace {

// The index difference between two inputs of the same sensor.
class DifferenceStep final : public Step {
 public:
  // dNDVI = NDVI(after) − NDVI(before); dNBR = NBR(before) − NBR(after) (positive where burned).
  enum class Kind { dndvi, dnbr };
  explicit DifferenceStep(Kind kind) : kind_(kind) {
    if (kind_ == Kind::dnbr) a_ = "nir", b_ = "swir2";
  }

  void declare(OptionBinder& b) override {
    b.required("before", &before_, "input of the earlier date").required("after", &after_, "input of the later date");
    if (kind_ == Kind::dndvi) b.optional("red", &b_, "band name of red").optional("nir", &a_, "band name of nir");
    else b.optional("nir", &a_, "band name of nir").optional("swir2", &b_, "band name of swir2");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    const std::string ra = kind_ == Kind::dndvi ? "nir" : "nir", rb = kind_ == Kind::dndvi ? "red" : "swir2";
    for (const auto* in : {&before_, &after_}) {
      require_input_band(ctx, diag, line, kp, *in, a_, ra);
      require_input_band(ctx, diag, line, kp, *in, b_, rb);
    }
  }

  std::vector<std::string> needs() const override {
    return {band_key(before_, a_), band_key(before_, b_), band_key(after_, a_), band_key(after_, b_)};
  }

  void compute(const std::vector<const float*>& in, float* out, std::size_t n) const override {
    for (std::size_t i = 0; i < n; ++i) {
      const float before = models::normalized_difference(in[0][i], in[1][i]);
      const float after = models::normalized_difference(in[2][i], in[3][i]);
      out[i] = kind_ == Kind::dndvi ? after - before : before - after;
    }
  }

 private:
  Kind kind_;
  std::string before_, after_, a_ = "nir", b_ = "red";
};

// Class codes 0…n from ascending breaks: code k when breaks[k-1] <= v < breaks[k].
class ClassesStep final : public Step {
 public:
  void declare(OptionBinder& b) override {
    b.required("input", &input_, "the step whose values are classified")
        .optional("breaks", &breaks_, "ascending thresholds; n breaks give classes 0…n");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    if (!ctx.is_step(input_)) diag.error(line, kp + ".input", "'" + input_ + "' is not a step id");
    if (breaks_.empty()) diag.error(line, kp + ".breaks", "needs at least one threshold");
    if (!std::is_sorted(breaks_.begin(), breaks_.end()))
      diag.error(line, kp + ".breaks", "thresholds must be in ascending order");
  }

  std::vector<std::string> needs() const override { return {input_}; }

  void compute(const std::vector<const float*>& in, float* out, std::size_t n) const override {
    for (std::size_t i = 0; i < n; ++i) {
      const float v = in[0][i];
      out[i] = std::isnan(v) ? v : float(std::upper_bound(breaks_.begin(), breaks_.end(), double(v)) - breaks_.begin());
    }
  }

 private:
  std::string input_;
  // Key & Benson (2006) dNBR severity: unburned < 0.1 ≤ low < 0.27 ≤ moderate-low < 0.44 ≤
  // moderate-high < 0.66 ≤ high.
  std::vector<double> breaks_{0.1, 0.27, 0.44, 0.66};
};

}  // namespace

void add_change_kinds(StepRegistry& registry) {
  registry.add({"change.dndvi", "NDVI change between two dates",
                "dNDVI = NDVI(after) - NDVI(before); negative where vegetation was lost. Nodata where either date "
                "is nodata (masked clouds included).",
                [] { return std::make_unique<DifferenceStep>(DifferenceStep::Kind::dndvi); }});
  registry.add({"change.dnbr", "Burn severity index dNBR",
                "dNBR = NBR(before) - NBR(after) (Key & Benson 2006); positive where burned.",
                [] { return std::make_unique<DifferenceStep>(DifferenceStep::Kind::dnbr); }});
  registry.add({"change.classes", "Classes from thresholds",
                "Class code k (0…n) where breaks[k-1] <= value < breaks[k]; defaults are the Key & Benson dNBR "
                "severity classes (0 unburned, 1 low, 2 moderate-low, 3 moderate-high, 4 high).",
                [] { return std::make_unique<ClassesStep>(); }});
}

}  // namespace qinling::pipeline::steps
