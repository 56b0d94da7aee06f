// The RSEI indicators that are not plain indices: index.tasseled_cap (tasseled-cap components with
// the coefficients of the input's sensor profile) and ecology.lst (thermal band → °C).
#include <algorithm>
#include <cmath>

#include "models/errors.hpp"
#include "pipeline/sensor_profile.hpp"
#include "pipeline/steps/builtin.hpp"

namespace qinling::pipeline::steps {
namespace {

class TasseledCapStep final : public Step {
 public:
  void declare(OptionBinder& b) override {
    b.required("input", &input_, "input with a `sensor:` profile that has tasseled_cap coefficients")
        .choice("component", &component_, {"wetness", "brightness", "greenness"}, "tasseled-cap component");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    if (ctx.unresolved_inputs.count(input_)) return;
    if (!ctx.is_input(input_)) {
      diag.error(line, kp + ".input", "'" + input_ + "' is not a raster input of the job");
      return;
    }
    auto it = ctx.input_sensors.find(input_);
    if (it == ctx.input_sensors.end()) {
      diag.error(line, kp + ".input",
                 "input '" + input_ +
                     "' has no `sensor:` profile; the tasseled-cap coefficients "
                     "come from it (e.g. sensor: landsat89_c2l2)");
      return;
    }
    SensorProfile profile;
    try {
      profile = load_sensor_profile(it->second, ctx.base_dir);
    } catch (const Error& e) {
      diag.error(line, kp + ".input", e.what());
      return;
    }
    auto c = profile.tasseled_cap.find(component_);
    if (c == profile.tasseled_cap.end()) {
      diag.error(line, kp + ".component",
                 "sensor profile '" + profile.name + "' (" + profile.file + ") has no tasseled_cap." +
                     component_ + " coefficients");
      return;
    }
    source_ = profile.tasseled_cap_source;
    const auto& have = ctx.input_bands.at(input_);
    std::string missing;
    for (const auto& [band, coef] : c->second) {
      bands_.push_back(band);
      coefs_.push_back(coef);
      if (std::find(have.begin(), have.end(), band) == have.end())
        missing += (missing.empty() ? "" : ", ") + band;
    }
    if (!missing.empty())
      diag.error(line, kp + ".input",
                 "the tasseled-cap " + component_ + " of profile '" + profile.name + "' (" + source_ +
                     ") needs band(s) input '" + input_ + "' lacks: " + missing + "; add them under inputs." +
                     input_ + ".extra_bands (one file per band)");
  }

  std::vector<std::string> needs() const override {
    std::vector<std::string> keys;
    for (const auto& b : bands_) keys.push_back(band_key(input_, b));
    return keys;
  }

  void compute(const std::vector<const float*>& in, float* out, std::size_t n) const override {
    for (std::size_t i = 0; i < n; ++i) {
      double s = 0;
      for (std::size_t k = 0; k < coefs_.size(); ++k) s += coefs_[k] * double(in[k][i]);  // NaN propagates
      out[i] = float(s);
    }
  }

 private:
  std::string input_, component_ = "wetness", source_;
  std::vector<std::string> bands_;
  std::vector<double> coefs_;
};

class LstStep final : public Step {
 public:
  void declare(OptionBinder& b) override {
    b.required("input", &input_, "input holding the thermal band")
        .optional("band", &band_, "band name of the surface temperature")
        .choice("units", &units_, {"kelvin", "celsius"}, "units of that band after the profile's scaling");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    require_input_band(ctx, diag, line, kp, input_, band_, "band");
  }

  std::vector<std::string> needs() const override { return {band_key(input_, band_)}; }

  void compute(const std::vector<const float*>& in, float* out, std::size_t n) const override {
    const double shift = units_ == "kelvin" ? -273.15 : 0.0;
    for (std::size_t i = 0; i < n; ++i) out[i] = float(double(in[0][i]) + shift);
  }

 private:
  std::string input_, band_ = "thermal", units_ = "kelvin";
};

}  // namespace

void add_rsei_input_kinds(StepRegistry& registry) {
  registry.add(
      {"index.tasseled_cap", "Tasseled-cap component (RSEI wetness)",
       "Sum of coefficient × reflectance over the bands listed under `tasseled_cap.<component>` in the "
       "input's sensor profile (Landsat 8/9: Baig et al. 2014; TM/ETM+: Crist 1985; Sentinel-2: Nedkov "
       "2017). Nodata where any band is nodata.",
       [] { return std::make_unique<TasseledCapStep>(); }});
  registry.add({"ecology.lst", "Land surface temperature in °C",
                "The thermal band in °C: Landsat C2 ST_B10/ST_B6 is surface temperature in kelvin after the "
                "profile's scaling (DN × 0.00341802 + 149.0), so LST = value - 273.15. Add the band with "
                "`extra_bands: {thermal: ..._ST_B10.TIF}` on the input.",
                [] { return std::make_unique<LstStep>(); }});
}

}  // namespace qinling::pipeline::steps
