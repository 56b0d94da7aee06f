#include "pipeline/mosaic.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

#include "raster/source.hpp"

namespace qinling::pipeline {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// The mosaic bands the window read (those whose first scene band is present).
std::vector<std::string> read_bands(const MosaicInput& m,
                                    const std::map<std::string, std::vector<float>>& values) {
  std::vector<std::string> out;
  for (const auto& b : m.bands)
    if (values.count(band_key(m.scenes.front(), b))) out.push_back(b);
  return out;
}

}  // namespace

void plan_mosaics(Plan& plan, Diagnostics& diag, ValidationContext& ctx) {
  for (const auto& in : plan.job.inputs) {
    if (in.scenes.empty()) continue;
    MosaicInput m;
    m.name = in.name;
    m.rule = in.mosaic;
    bool resolved = true;
    for (const auto& s : plan.job.inputs)
      if (s.scene_of == in.name) {
        m.scenes.push_back(s.name);
        m.files.push_back(s.path);
      }
    if (m.scenes.empty()) continue;
    const std::string kp = "inputs." + in.name + ".scenes";
    for (std::size_t i = 0; i < m.scenes.size(); ++i) {
      const std::string& s = m.scenes[i];
      if (plan.vector_inputs.count(s)) {
        diag.error(in.line, kp + "[" + std::to_string(i) + "]", m.files[i] + " is not a raster scene");
        plan.vector_inputs.erase(s);
        ctx.vector_inputs.erase(s);
        resolved = false;
      }
      if (ctx.unresolved_inputs.count(s)) resolved = false;
    }
    const std::vector<std::string> names = ctx.input_bands[m.scenes.front()];
    if (resolved)
      for (std::size_t i = 1; i < m.scenes.size(); ++i) {
        const auto& other = ctx.input_bands[m.scenes[i]];
        if (other != names)
          diag.error(in.line, kp + "[" + std::to_string(i) + "]",
                     m.files[i] + " has bands (" + join(other) + ") but " + m.files[0] + " has (" +
                         join(names) +
                         "); every scene of a mosaic needs the same bands: same sensor and band count");
      }
    ctx.input_bands[m.name] = names;
    if (!resolved) ctx.unresolved_inputs.insert(m.name);
    if (auto s = ctx.input_sensors.find(m.scenes.front()); s != ctx.input_sensors.end())
      ctx.input_sensors[m.name] = s->second;
    for (const auto& b : names)
      if (auto f = ctx.band_files.find(band_key(m.scenes.front(), b)); f != ctx.band_files.end())
        ctx.band_files[band_key(m.name, b)] = f->second;
    m.bands = names;
    const std::string prefix = m.scenes.front() + ".";
    for (const auto& mask : plan.masks)
      if (mask.qa_key.rfind(prefix, 0) == 0) m.qa_band = mask.qa_key.substr(prefix.size());
    m.order.resize(m.scenes.size());
    std::iota(m.order.begin(), m.order.end(), 0);
    plan.mosaics.push_back(std::move(m));
  }
}

void rank_mosaic_scenes(Plan& plan) {
  for (auto& m : plan.mosaics) {
    if (m.rule != "best_quality" || m.bands.empty()) continue;
    raster::GridReader reader(plan.grid);
    const auto windows =
        raster::plan_windows(plan.grid.width, plan.grid.height, 256, 256, std::int64_t(1) << 22);
    std::vector<float> buf;
    m.clear_fraction.assign(m.scenes.size(), 0.0);
    for (std::size_t i = 0; i < m.scenes.size(); ++i) {
      // The quality band with its mask when the mosaic is masked, else the first other band.
      const InputMask* mask = nullptr;
      for (const auto& mk : plan.masks)
        if (mk.qa_key == band_key(m.scenes[i], m.qa_band)) mask = &mk;
      std::string band = m.bands.front();
      if (mask)
        band = m.qa_band;
      else
        for (const auto& b : m.bands)
          if (b != m.qa_band) {
            band = b;
            break;
          }
      const raster::BandSource& src = plan.band_sources.at(band_key(m.scenes[i], band));
      reader.add_file(src.path, plan.files.at(src.path), plan.file_resampling.at(src.path));
      std::int64_t clear = 0;
      for (const auto& w : windows) {
        buf.resize(std::size_t(w.pixels()));
        reader.read(src, w, buf.data());
        for (float v : buf)
          if (!std::isnan(v) && !(mask && mask->mask.masked(std::uint32_t(v)))) ++clear;
      }
      m.clear_fraction[i] = double(clear) / (double(plan.grid.width) * double(plan.grid.height));
    }
    std::stable_sort(m.order.begin(), m.order.end(),
                     [&](int a, int b) { return m.clear_fraction[a] > m.clear_fraction[b]; });
    std::string text;
    for (int i : m.order)
      text += (text.empty() ? "" : ", ") + m.files[i] + " " + std::to_string(m.clear_fraction[i]);
    spdlog::info("mosaic '{}' (best_quality): scenes by clear fraction: {}", m.name, text);
    if (m.clear_fraction[std::size_t(m.order.front())] == 0.0)
      spdlog::warn("mosaic '{}': no scene has a clear pixel on the analysis grid; its bands are all nodata",
                   m.name);
  }
}

void expand_mosaic_needs(const Plan& plan, std::set<std::string>& want) {
  for (const auto& m : plan.mosaics) {
    std::vector<std::string> wanted;
    for (const auto& b : m.bands)
      if (want.count(band_key(m.name, b))) wanted.push_back(b);
    for (const auto& s : m.scenes)
      for (const auto& b : wanted) want.insert(band_key(s, b));
  }
}

void compose_mosaics(const Plan& plan, std::map<std::string, std::vector<float>>& values, std::size_t n) {
  for (const auto& m : plan.mosaics) {
    const std::vector<std::string> bands = read_bands(m, values);
    if (bands.empty()) continue;
    std::vector<std::string> checked;
    for (const auto& b : bands)
      if (b != m.qa_band) checked.push_back(b);
    if (checked.empty()) checked = bands;
    // Per pixel, the index of the scene that gives it (or -1).
    std::vector<int> pick(n, -1);
    std::vector<const float*> check(checked.size());
    std::vector<char> open(n, 1);  // pixels still without a scene
    for (int s : m.order) {
      for (std::size_t k = 0; k < checked.size(); ++k)
        check[k] = values.at(band_key(m.scenes[s], checked[k])).data();
      for (std::size_t i = 0; i < n; ++i) {
        if (!open[i]) continue;
        bool valid = true;
        for (const float* c : check) valid = valid && !std::isnan(c[i]);
        if (valid) {
          pick[i] = s;
          open[i] = 0;
        }
      }
    }
    for (const auto& b : bands) {
      std::vector<float>& out = values[band_key(m.name, b)];
      out.resize(n);
      std::vector<const float*> src(m.scenes.size());
      for (std::size_t s = 0; s < m.scenes.size(); ++s) src[s] = values.at(band_key(m.scenes[s], b)).data();
      for (std::size_t i = 0; i < n; ++i) out[i] = pick[i] < 0 ? NAN : src[std::size_t(pick[i])][i];
    }
  }
}

}  // namespace qinling::pipeline
