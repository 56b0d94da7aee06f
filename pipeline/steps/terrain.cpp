// terrain.slope, terrain.aspect, terrain.hillshade: Horn 3×3 derivatives of an elevation band,
// computed on windows padded by a one-pixel halo so block edges are exact.
#include "models/terrain.hpp"
#include "pipeline/steps/builtin.hpp"

namespace qinling::pipeline::steps {
namespace {

enum class TerrainProduct { slope, aspect, hillshade };

class TerrainStep final : public Step {
 public:
  explicit TerrainStep(TerrainProduct what) : what_(what) {}

  void declare(OptionBinder& b) override {
    b.required("input", &input_, "an input holding elevation, or the id of a step that computes it")
        .optional("band", &band_, "band name of the elevation in that input (default: its only band)");
    if (what_ == TerrainProduct::hillshade)
      b.optional("azimuth", &azimuth_, "direction the light comes from, degrees clockwise from north")
          .optional("altitude", &altitude_, "sun height above the horizon, degrees")
          .optional("z_factor", &z_, "vertical exaggeration");
  }

  void validate(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp) override {
    if (ctx.is_step(input_)) {
      key_ = input_;
      return;
    }
    if (band_.empty() && ctx.is_input(input_)) {
      const auto& bands = ctx.input_bands.at(input_);
      if (bands.size() == 1) band_ = bands.front();
      else if (!bands.empty()) diag.error(line, kp + ".band", "input '" + input_ + "' has several bands; name one");
    }
    require_input_band(ctx, diag, line, kp, input_, band_, "band");
    key_ = band_key(input_, band_);
    if (!(altitude_ >= 0 && altitude_ <= 90)) diag.error(line, kp + ".altitude", "must be between 0 and 90");
  }

  std::vector<std::string> needs() const override { return {key_}; }
  int halo() const override { return 1; }

  void compute_window(const std::vector<const float*>& in, float* out, const Shape& s) const override {
    const float* dem = in[0];
    const int w = s.width, h = s.height;
    float win[9];
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        float& o = out[std::size_t(y) * w + x];
        if (x == 0 || y == 0 || x == w - 1 || y == h - 1) {  // no neighbours here: only the halo
          o = models::kNoDataTerrain;
          continue;
        }
        for (int j = 0; j < 3; ++j)
          for (int i = 0; i < 3; ++i) win[j * 3 + i] = dem[std::size_t(y - 1 + j) * w + (x - 1 + i)];
        switch (what_) {
          case TerrainProduct::slope: o = models::slope_degrees(win, s.res_x, s.res_y); break;
          case TerrainProduct::aspect: o = models::aspect_degrees(win); break;
          case TerrainProduct::hillshade: o = models::hillshade(win, s.res_x, s.res_y, azimuth_, altitude_, z_); break;
        }
      }
    }
  }

 private:
  TerrainProduct what_;
  std::string input_, band_, key_;
  double azimuth_ = 315, altitude_ = 45, z_ = 1;
};

StepKind terrain_kind(const char* kind, const char* summary, const char* doc, TerrainProduct what) {
  return {kind, summary, doc, [what] { return std::make_unique<TerrainStep>(what); }};
}

}  // namespace

void add_terrain_kinds(StepRegistry& registry) {
  registry.add(terrain_kind("terrain.slope", "Slope in degrees (Horn 1981)",
                            "Slope of the elevation surface in degrees, as gdaldem slope. Nodata where any of the 3×3 "
                            "neighbours is nodata and on the outermost pixels of the raster.",
                            TerrainProduct::slope));
  registry.add(terrain_kind("terrain.aspect", "Aspect in degrees from north (Horn 1981)",
                            "Azimuth of the downslope direction, 0–360 clockwise from north, as gdaldem aspect; "
                            "nodata on flat ground and where neighbours are missing.",
                            TerrainProduct::aspect));
  registry.add(terrain_kind("terrain.hillshade", "Shaded relief 1–255",
                            "Illumination of the surface by a sun at azimuth/altitude (gdaldem hillshade's scale, "
                            "1 = in shadow).",
                            TerrainProduct::hillshade));
}

}  // namespace qinling::pipeline::steps
