// met.downscale_temperature: a coarse temperature field moved to the fine DEM's elevation with a
// lapse rate, T_fine = T_coarse − Γ × (DEM − model orography); all three read on the analysis grid.
#include <cmath>

#include "models/meteo.hpp"
#include "pipeline/steps/builtin.hpp"
#include "pipeline/steps/met_common.hpp"

namespace qinling::pipeline::steps {
namespace {

class DownscaleTemperatureStep final : public Step {
 public:
  void declare(OptionBinder& b) override {
    b.required("temperature", &t_, "coarse temperature: an input (or input.band) or a step id")
        .required("orography", &oro_, "the model's surface height (m) on the same coarse grid")
        .required("dem", &dem_, "the fine elevation model (m)")
        .optional("lapse_rate", &lapse_, "temperature decrease with height, K per km (6.5: standard atmosphere)");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    keys_ = {resolve_layer(ctx, diag, line, kp, "temperature", t_).key,
             resolve_layer(ctx, diag, line, kp, "orography", oro_).key,
             resolve_layer(ctx, diag, line, kp, "dem", dem_).key};
    if (!(std::fabs(lapse_) <= 20)) diag.error(line, kp + ".lapse_rate", "must be within ±20 K/km");
  }

  std::vector<std::string> needs() const override { return keys_; }

  void compute(const std::vector<const float*>& in, float* out, std::size_t n) const override {
    for (std::size_t i = 0; i < n; ++i)
      out[i] = float(models::lapse_adjust(in[0][i], in[1][i], in[2][i], lapse_));
  }

 private:
  std::string t_, oro_, dem_;
  double lapse_ = models::kStandardLapseRate;
  std::vector<std::string> keys_;
};

}  // namespace

StepKind met_downscale_kind() {
  return {"met.downscale_temperature", "Coarse temperature moved to the fine DEM with a lapse rate",
          "T_fine = T_coarse - lapse_rate/1000 × (DEM - orography), with the coarse temperature and model "
          "orography warped onto the analysis grid (their input's resampling, bilinear by default). Units follow "
          "the temperature input (select with units: degC to get °C). NaN where any input is nodata.",
          [] { return std::make_unique<DownscaleTemperatureStep>(); }};
}

}  // namespace qinling::pipeline::steps
