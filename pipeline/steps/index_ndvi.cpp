// index.ndvi: NDVI = (NIR - Red) / (NIR + Red) from two named bands of one input.
#include "models/indices.hpp"
#include "pipeline/steps/builtin.hpp"

namespace qinling::pipeline::steps {
namespace {

class NdviStep final : public Step {
 public:
  void declare(OptionBinder& b) override {
    b.required("input", &input_, "name of the input whose bands are read")
        .optional("red", &red_, "band name of red in that input")
        .optional("nir", &nir_, "band name of near infrared in that input");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    require_input_band(ctx, diag, line, kp, input_, red_, "red");
    require_input_band(ctx, diag, line, kp, input_, nir_, "nir");
  }

  std::vector<std::string> needs() const override { return {band_key(input_, red_), band_key(input_, nir_)}; }

  void compute(const std::vector<const float*>& in, float* out, std::size_t n) const override {
    models::ndvi(in[0], in[1], out, n);
  }

 private:
  std::string input_, red_ = "red", nir_ = "nir";
};

}  // namespace

StepKind ndvi_kind() {
  return {"index.ndvi", "Normalised Difference Vegetation Index",
          "NDVI = (nir - red) / (nir + red) (Rouse et al. 1974), float32 in [-1, 1]. "
          "Nodata (NaN) where either band is nodata or nir + red = 0.",
          [] { return std::make_unique<NdviStep>(); }};
}

}  // namespace qinling::pipeline::steps
