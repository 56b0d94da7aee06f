// index.*: spectral indices from named bands of one input; the formulas live in models/indices.hpp.
#include "models/indices.hpp"
#include "pipeline/steps/builtin.hpp"

namespace qinling::pipeline::steps {
namespace {

// One spectral index: the band roles it reads (in kernel argument order) and its kernel.
struct IndexDef {
  const char* kind;
  const char* summary;
  const char* doc;
  std::vector<std::string> roles;
  models::IndexKernel kernel;
};

template <float (*F)(float, float)>
void kernel2(const std::vector<const float*>& in, float* out, std::size_t n) {
  const float *a = in[0], *b = in[1];
  for (std::size_t i = 0; i < n; ++i) out[i] = F(a[i], b[i]);
}

void evi_kernel(const std::vector<const float*>& in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = models::evi(in[0][i], in[1][i], in[2][i]);
}
void savi_kernel(const std::vector<const float*>& in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = models::savi(in[0][i], in[1][i]);
}
void ndbsi_kernel(const std::vector<const float*>& in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = models::ndbsi(in[0][i], in[1][i], in[2][i], in[3][i], in[4][i]);
}
void ndvi_kernel(const std::vector<const float*>& in, float* out, std::size_t n) {
  models::ndvi(in[0], in[1], out, n);
}

const std::vector<IndexDef>& index_defs() {
  static const std::vector<IndexDef> defs{
      {"index.ndvi", "Normalised Difference Vegetation Index",
       "NDVI = (nir - red) / (nir + red) (Rouse et al. 1974), in [-1, 1].", {"red", "nir"}, ndvi_kernel},
      {"index.evi", "Enhanced Vegetation Index",
       "EVI = 2.5 (nir - red) / (nir + 6 red - 7.5 blue + 1) (Huete et al. 2002). Needs surface reflectance "
       "(0-1): use a `sensor:` profile so DN are scaled.",
       {"blue", "red", "nir"}, evi_kernel},
      {"index.savi", "Soil-Adjusted Vegetation Index",
       "SAVI = 1.5 (nir - red) / (nir + red + 0.5) (Huete 1988). Needs surface reflectance.", {"red", "nir"},
       savi_kernel},
      {"index.msavi2", "Modified SAVI (MSAVI2)",
       "MSAVI2 = (2 nir + 1 - sqrt((2 nir + 1)^2 - 8 (nir - red))) / 2 (Qi et al. 1994). Needs surface reflectance.",
       {"red", "nir"}, kernel2<models::msavi2>},
      {"index.ndwi", "Normalised Difference Water Index (McFeeters)",
       "NDWI = (green - nir) / (green + nir) (McFeeters 1996); open water > 0.", {"green", "nir"},
       kernel2<models::ndwi>},
      {"index.mndwi", "Modified NDWI", "MNDWI = (green - swir1) / (green + swir1) (Xu 2006).", {"green", "swir1"},
       kernel2<models::mndwi>},
      {"index.nbr", "Normalised Burn Ratio", "NBR = (nir - swir2) / (nir + swir2) (Key & Benson 2006).",
       {"nir", "swir2"}, kernel2<models::nbr>},
      {"index.ndbi", "Normalised Difference Built-up Index", "NDBI = (swir1 - nir) / (swir1 + nir) (Zha et al. 2003).",
       {"nir", "swir1"}, kernel2<models::ndbi>},
      {"index.ndbsi", "Normalised Difference Bare Soil Index (RSEI dryness)",
       "NDBSI = (SI + IBI) / 2 with the bare-soil index SI and the index-based built-up index IBI (Xu 2013).",
       {"blue", "green", "red", "nir", "swir1"}, ndbsi_kernel},
  };
  return defs;
}

class IndexStep final : public Step {
 public:
  explicit IndexStep(const IndexDef& def) : def_(def), bands_(def.roles) {}

  void declare(OptionBinder& b) override {
    b.required("input", &input_, "name of the input whose bands are read");
    for (std::size_t i = 0; i < def_.roles.size(); ++i)
      b.optional(def_.roles[i], &bands_[i], "band name of " + def_.roles[i] + " in that input");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    for (std::size_t i = 0; i < def_.roles.size(); ++i)
      require_input_band(ctx, diag, line, kp, input_, bands_[i], def_.roles[i]);
  }

  std::vector<std::string> needs() const override {
    std::vector<std::string> keys;
    for (const auto& b : bands_) keys.push_back(band_key(input_, b));
    return keys;
  }

  void compute(const std::vector<const float*>& in, float* out, std::size_t n) const override {
    def_.kernel(in, out, n);
  }

 private:
  const IndexDef& def_;
  std::string input_;
  std::vector<std::string> bands_;
};

}  // namespace

void add_index_kinds(StepRegistry& registry) {
  for (const auto& def : index_defs()) {
    registry.add({def.kind, def.summary,
                  std::string(def.doc) + " Float32; nodata (NaN) where any band is nodata or the formula is undefined.",
                  [&def] { return std::make_unique<IndexStep>(def); }});
  }
}

}  // namespace qinling::pipeline::steps
