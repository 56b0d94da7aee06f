// ecology.rsei on the sample scene against an independent numpy PCA of the same normalised
// indicators (loadings, explained variance, sign, RSEI values and range; clouds and water left
// out), and the sample scene's thermal band against its documented pattern.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_support.hpp"

using namespace qinling::test;

namespace {

// The numpy reference: indicators computed in float64 from the documented scalings and rounded
// to float32 (as our layers are), masks from QA_PIXEL bits, then np.cov + np.linalg.eigh.
const char* kReference = R"(
import sys, json, numpy as np
from osgeo import gdal
scene, thermal, out_tif, out_json = sys.argv[1:5]
d = gdal.Open(scene); B = lambda i: d.GetRasterBand(i).ReadAsArray().astype(np.float64)
dn = {i: B(i) for i in range(1, 9)}
qa = dn[8].astype(np.int64)
f32 = lambda x: x.astype(np.float32).astype(np.float64)
r = {i: f32(dn[i] * 2.75e-5 - 0.2) for i in range(2, 8)}
bad = ((qa & 0b111011) != 0)
for i in range(2, 8): r[i][(dn[i] == 0) | bad] = np.nan
tds = gdal.Open(thermal); t = tds.GetRasterBand(1).ReadAsArray().astype(np.float64)
kelvin = f32(t * 0.00341802 + 149.0); kelvin[(t == 0) | bad] = np.nan
blue, green, red, nir, sw1, sw2 = r[2], r[3], r[4], r[5], r[6], r[7]
with np.errstate(all='ignore'):
  ndvi = f32((nir - red) / (nir + red))
  wet = f32(0.1511*blue + 0.1973*green + 0.3283*red + 0.3407*nir - 0.7117*sw1 - 0.4559*sw2)
  lst = f32(kelvin - 273.15)
  si = ((sw1 + red) - (nir + blue)) / ((sw1 + red) + (nir + blue))
  x = 2*sw1/(sw1 + nir); y = nir/(nir + red) + green/(green + sw1)
  ndbsi = f32((si + (x - y)/(x + y)) / 2)
  mndwi = f32((green - sw1) / (green + sw1))
ind = [ndvi, wet, lst, ndbsi]
valid = np.isfinite(mndwi) & (mndwi <= 0)
for a in ind: valid &= np.isfinite(a)
X = np.stack([a[valid] for a in ind], axis=1)
lo, hi = X.min(axis=0), X.max(axis=0)
Xn = (X - lo) / (hi - lo)
w, v = np.linalg.eigh(np.cov(Xn, rowvar=False))
order = np.argsort(w)[::-1]; w = w[order]; v = v[:, order]
for k in range(4):
  if v[np.argmax(np.abs(v[:, k])), k] < 0: v[:, k] = -v[:, k]
pc1 = v[:, 0]
sign = -1 if (pc1[0] < 0 and pc1[1] < 0) else 1
s = sign * (Xn @ pc1)
ref = np.full(ndvi.shape, np.nan); ref[valid] = (s - s.min()) / (s.max() - s.min())
J = json.load(open(out_json))
got = np.array([c['loadings'] for c in J['components']])
ev = np.array([c['explained_variance'] for c in J['components']])
o = gdal.Open(out_tif).ReadAsArray().astype(np.float64)
cloud = (qa & (1 << 3)) != 0
water = np.isfinite(mndwi) & (mndwi > 0)
res = {
  'loading_err': float(np.abs(got - v.T).max()),
  'ev_err': float(np.abs(ev - w / w.sum()).max()),
  'sign_ok': int(J['sign'] == sign),
  'valid_err': int(abs(J['valid_pixels'] - int(valid.sum()))),
  'value_err': float(np.nanmax(np.abs(o - ref))),
  'mismatched': int((np.isnan(o) ^ np.isnan(ref)).sum()),
  'min': float(np.nanmin(o)), 'max': float(np.nanmax(o)),
  'cloud_pixels': int(cloud.sum()), 'cloud_finite': int(np.isfinite(o[cloud]).sum()),
  'water_pixels': int(water.sum()), 'water_finite': int(np.isfinite(o[water]).sum()),
  'pc1_greenness': float(pc1[0]), 'ev1': float(w[0] / w.sum()),
}
print(' '.join(f'{k}={v}' for k, v in res.items()))
)";

std::map<std::string, double> parse_pairs(const std::string& text) {
  std::map<std::string, double> m;
  std::istringstream in(text);
  std::string tok;
  while (in >> tok)
    if (auto eq = tok.find('='); eq != std::string::npos)
      m[tok.substr(0, eq)] = std::stod(tok.substr(eq + 1));
  return m;
}

}  // namespace

TEST(Rsei, LoadingsSignAndValuesEqualNumpyPca) {
  const std::string dir_s = sample_scene_dir();
  TempDir dir;
  const std::string scene = dir_s + "/scene_2024-07.tif", thermal = dir_s + "/scene_2024-07_ST_B10.tif";
  write_text(
      dir / "job.yaml",
      "job: rsei\ninputs:\n  s: {path: " + scene +
          ", sensor: landsat89_c2l2, mask: [fill, cloud, dilated_cloud, shadow, snow], extra_bands: "
          "{thermal: " +
          thermal +
          "}}\nsteps:\n  - {id: ndvi, kind: index.ndvi, input: s}\n"
          "  - {id: wet, kind: index.tasseled_cap, input: s}\n  - {id: lst, kind: ecology.lst, input: s}\n"
          "  - {id: ndbsi, kind: index.ndbsi, input: s}\n  - {id: mndwi, kind: index.mndwi, input: s}\n"
          "  - {id: rsei, kind: ecology.rsei, greenness: ndvi, wetness: wet, heat: lst, dryness: ndbsi, "
          "water: mndwi}\noutputs:\n  - {from: rsei, path: rsei.tif}\n");
  const auto r =
      run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  write_text(dir / "ref.py", kReference);
  const auto ref = run_command("/usr/bin/python3 " + (dir / "ref.py") + " " + scene + " " + thermal + " " +
                               (dir / "out/rsei.tif") + " " + (dir / "out/rsei_pca.json"));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const auto m = parse_pairs(ref.output);
  ASSERT_EQ(m.count("loading_err"), 1u) << ref.output;
  EXPECT_LE(m.at("loading_err"), 1e-6) << ref.output;
  EXPECT_LE(m.at("ev_err"), 1e-8) << ref.output;
  EXPECT_EQ(m.at("sign_ok"), 1) << ref.output;
  EXPECT_EQ(m.at("valid_err"), 0) << ref.output;
  EXPECT_LE(m.at("value_err"), 1e-5) << ref.output;
  EXPECT_EQ(m.at("mismatched"), 0) << ref.output;
  EXPECT_EQ(m.at("min"), 0.0);
  EXPECT_EQ(m.at("max"), 1.0);
  EXPECT_GT(m.at("cloud_pixels"), 1000) << "the scene should have clouds to exclude";
  EXPECT_EQ(m.at("cloud_finite"), 0);
  EXPECT_GT(m.at("water_pixels"), 100) << "the scene should have water to exclude";
  EXPECT_EQ(m.at("water_finite"), 0);
  // Greenness is the dominant driver on a forested scene, and PC1 carries most of the variance.
  EXPECT_GT(m.at("ev1"), 0.5) << ref.output;

  // The same job on one thread gives the same bytes (sums merged in window order).
  const auto r1 =
      run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out1") + " --quiet --threads 1");
  ASSERT_EQ(r1.exit_code, 0) << r1.output;
  EXPECT_EQ(read_bytes(dir / "out/rsei_pca.json"), read_bytes(dir / "out1/rsei_pca.json"));
  const auto a = read_band(dir / "out/rsei.tif", 1), b = read_band(dir / "out1/rsei.tif", 1);
  long mismatched = 0;
  EXPECT_EQ(max_abs_diff(a, b, &mismatched), 0.0);
  EXPECT_EQ(mismatched, 0);
}

TEST(Rsei, ThermalBandFollowsTheDocumentedPattern) {
  const std::string d = sample_scene_dir();
  TempDir dir;
  write_text(dir / "check.py", R"(
import sys, numpy as np
from osgeo import gdal
d = sys.argv[1]
dem = gdal.Open(d + '/dem.tif').ReadAsArray().astype(np.float64)
def lst(date):
  ds = gdal.Open(d + f'/scene_{date}_ST_B10.tif'); t = ds.GetRasterBand(1)  # keep the dataset alive
  assert t.DataType == gdal.GDT_UInt16 and t.GetNoDataValue() == 0
  assert abs(t.GetScale() - 0.00341802) < 1e-12 and t.GetOffset() == 149.0
  a = t.ReadAsArray().astype(np.float64); v = a * 0.00341802 + 149.0 - 273.15; v[a == 0] = np.nan
  sds = gdal.Open(d + f'/scene_{date}.tif'); qa = sds.GetRasterBand(8).ReadAsArray().astype(np.int64)
  v[(qa & 0b111011) != 0] = np.nan
  return v
a, b = lst('2023-07'), lst('2024-07')
n = a.shape[0]; yy, xx = np.mgrid[0:n, 0:n] + 0.5
burn = np.hypot(xx - 0.46*n, yy - 0.71*n) <= 0.04*n
ok = np.isfinite(a)
print('corr=%.3f burn_gain=%.2f min=%.1f max=%.1f' % (np.corrcoef(a[ok], dem[ok])[0, 1],
      np.nanmean(b[burn]) - np.nanmean(a[burn]), np.nanmin(a), np.nanmax(a)))
)");
  const auto r = run_command("/usr/bin/python3 " + (dir / "check.py") + " " + d);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto m = parse_pairs(r.output);
  EXPECT_LT(m.at("corr"), -0.7) << r.output;       // cooler with elevation
  EXPECT_GT(m.at("burn_gain"), 10.0) << r.output;  // forest → burn scar: much warmer
  EXPECT_GT(m.at("min"), -10.0) << r.output;       // clear land only: no cold cloud tops left
  EXPECT_LT(m.at("max"), 50.0) << r.output;
}

// No valid pixel (here: every pixel counts as water) gives an all-nodata RSEI with a warning, never
// numbers; fixed ranges are used as given and reported as fixed.
TEST(Rsei, NoValidPixelGivesNodataAndFixedRangesAreKept) {
  const std::string d = sample_scene_dir();
  TempDir dir;
  const auto job = [&](const std::string& extra) {
    return "job: rsei\ninputs:\n  s: {path: " + d +
           "/scene_2024-07.tif, sensor: landsat89_c2l2, mask: [fill, cloud, dilated_cloud, shadow, snow], "
           "extra_bands: {thermal: " +
           d +
           "/scene_2024-07_ST_B10.tif}}\nsteps:\n"
           "  - {id: ndvi, kind: index.ndvi, input: s}\n  - {id: wet, kind: index.tasseled_cap, input: s}\n"
           "  - {id: lst, kind: ecology.lst, input: s}\n  - {id: ndbsi, kind: index.ndbsi, input: s}\n"
           "  - {id: mndwi, kind: index.mndwi, input: s}\n"
           "  - {id: rsei, kind: ecology.rsei, greenness: ndvi, wetness: wet, heat: lst, dryness: ndbsi, "
           "water: mndwi, " +
           extra + "}\noutputs:\n  - {from: rsei, path: rsei.tif}\n";
  };
  write_text(dir / "none.yaml", job("water_threshold: -1.5"));
  const auto r = run_qinling("run " + (dir / "none.yaml") + " --out " + (dir / "none"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("0 valid pixel(s)"), std::string::npos) << r.output;
  for (double v : read_band(dir / "none/rsei.tif", 1)) ASSERT_TRUE(std::isnan(v));
  const auto none = nlohmann::json::parse(read_bytes(dir / "none/rsei_pca.json"));
  EXPECT_EQ(none["valid_pixels"], 0);
  EXPECT_TRUE(none["components"].empty());

  write_text(dir / "fixed.yaml",
             job("greenness_range: [-0.2, 0.9], wetness_range: [-0.3, 0.1], heat_range: [5, 45], "
                 "dryness_range: [-0.6, 0.4]"));
  const auto f = run_qinling("run " + (dir / "fixed.yaml") + " --out " + (dir / "fixed") + " --quiet");
  ASSERT_EQ(f.exit_code, 0) << f.output;
  const auto j = nlohmann::json::parse(read_bytes(dir / "fixed/rsei_pca.json"));
  EXPECT_EQ(j["indicators"]["heat"]["range"][0], 5.0);
  EXPECT_EQ(j["indicators"]["heat"]["range"][1], 45.0);
  EXPECT_EQ(j["indicators"]["greenness"]["range_fixed"], true);
  EXPECT_GT(j["valid_pixels"].get<long>(), 100000);
}
