// composite.*: per-pixel temporal composites of one band over several scenes, skipping masked
// (nodata) observations: median, mean, max, clear-observation count, and max-NDVI.
#include <algorithm>
#include <cmath>

#include "models/indices.hpp"
#include "pipeline/steps/builtin.hpp"

namespace qinling::pipeline::steps {
namespace {

enum class Reducer { median, mean, max, count, max_ndvi };

class CompositeStep final : public Step {
 public:
  explicit CompositeStep(Reducer r) : reducer_(r) {}

  void declare(OptionBinder& b) override {
    b.required("input", &inputs_, "the scenes (inputs) to composite, e.g. [jun, jul, aug]")
        .optional("band", &band_, "band name to composite");
    if (reducer_ == Reducer::max_ndvi) b.optional("red", &red_, "band name of red").optional("nir", &nir_, "band name of nir");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    if (inputs_.size() < 2) diag.error(line, kp + ".input", "a composite needs at least two scenes");
    for (const auto& in : inputs_) {
      require_input_band(ctx, diag, line, kp, in, band_, "band");
      if (reducer_ == Reducer::max_ndvi) {
        require_input_band(ctx, diag, line, kp, in, red_, "red");
        require_input_band(ctx, diag, line, kp, in, nir_, "nir");
      }
    }
  }

  std::vector<std::string> needs() const override {
    std::vector<std::string> keys;
    for (const auto& in : inputs_) keys.push_back(band_key(in, band_));
    if (reducer_ == Reducer::max_ndvi)
      for (const auto& in : inputs_) {
        keys.push_back(band_key(in, red_));
        keys.push_back(band_key(in, nir_));
      }
    return keys;
  }

  void compute(const std::vector<const float*>& in, float* out, std::size_t n) const override {
    const std::size_t k = inputs_.size();
    std::vector<float> values(k);
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t m = 0;
      double sum = 0;
      float best = NAN, best_ndvi = -INFINITY;
      for (std::size_t j = 0; j < k; ++j) {
        const float v = in[j][i];
        if (std::isnan(v)) continue;
        values[m++] = v;
        sum += v;
        if (reducer_ == Reducer::max_ndvi) {
          const float nd = models::ndvi(in[k + 2 * j][i], in[k + 2 * j + 1][i]);
          if (nd > best_ndvi) best_ndvi = nd, best = v;  // first scene wins ties: deterministic
        }
      }
      switch (reducer_) {
        case Reducer::count: out[i] = float(m); break;
        case Reducer::mean: out[i] = m ? float(sum / double(m)) : NAN; break;
        case Reducer::max: out[i] = m ? *std::max_element(values.begin(), values.begin() + long(m)) : NAN; break;
        case Reducer::max_ndvi: out[i] = best; break;
        case Reducer::median: {
          if (m == 0) {
            out[i] = NAN;
            break;
          }
          std::sort(values.begin(), values.begin() + long(m));
          out[i] = m % 2 ? values[m / 2] : float((double(values[m / 2 - 1]) + values[m / 2]) / 2.0);
          break;
        }
      }
    }
  }

 private:
  Reducer reducer_;
  std::vector<std::string> inputs_;
  std::string band_ = "nir", red_ = "red", nir_ = "nir";
};

StepKind composite_kind(const char* kind, const char* summary, const char* doc, Reducer r) {
  return {kind, summary, doc, [r] { return std::make_unique<CompositeStep>(r); }};
}

}  // namespace

void add_composite_kinds(StepRegistry& registry) {
  registry.add(composite_kind("composite.median", "Per-pixel median over scenes",
                              "Median of `band` over the valid (unmasked) observations; the mean of the two middle "
                              "values for an even count.",
                              Reducer::median));
  registry.add(composite_kind("composite.mean", "Per-pixel mean over scenes", "Mean of the valid observations.",
                              Reducer::mean));
  registry.add(composite_kind("composite.max", "Per-pixel maximum over scenes", "Maximum of the valid observations.",
                              Reducer::max));
  registry.add(composite_kind("composite.count", "Clear-observation count",
                              "Number of scenes where `band` is valid (not nodata, not masked); 0 where none.",
                              Reducer::count));
  registry.add(composite_kind("composite.max_ndvi", "Max-NDVI composite",
                              "`band` taken from the scene with the highest NDVI at each pixel (Holben 1986).",
                              Reducer::max_ndvi));
}

}  // namespace qinling::pipeline::steps
