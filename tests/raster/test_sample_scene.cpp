// The synthetic sample scene against its documented layout (raster/sample_scene.hpp): grid, band
// layout, QA bits, clouds and fill, the three known changes, the GeoJSON files, determinism.
// Expected values come from the documented fractions and Landsat C2 conventions, not from the
// generator's own helpers.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "models/errors.hpp"
#include "pipeline/sample_data.hpp"
#include "raster/gdal_io.hpp"
#include "raster/sample_scene.hpp"
#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;
using qinling::pipeline::generate_sample_data;
using qinling::pipeline::SampleDataOptions;

namespace {

constexpr int kN = 600;  // two 512-row windows
const char* const kFiles[] = {"dem.tif",           "scene_2023-07.tif", "scene_2023-07_ST_B10.tif",
                              "scene_2024-07.tif", "scene_2024-07_ST_B10.tif", "boundary.geojson",
                              "protected_zones.geojson", "truth.json"};

// Raw band values (no nodata replacement), row-major.
std::vector<double> raw_band(const std::string& path, int band) {
  GDALAllRegister();
  qinling::raster::DatasetPtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  if (!ds) throw std::runtime_error("cannot open " + path);
  auto* b = ds->GetRasterBand(band);
  std::vector<double> v(std::size_t(b->GetXSize()) * b->GetYSize());
  if (b->RasterIO(GF_Read, 0, 0, b->GetXSize(), b->GetYSize(), v.data(), b->GetXSize(), b->GetYSize(),
                  GDT_Float64, 0, 0, nullptr) != CE_None)
    throw std::runtime_error("cannot read " + path);
  return v;
}

// One date: reflectance of SR bands 1..7 (documented C2 scaling) and the QA word.
struct Date {
  std::array<std::vector<double>, 8> dn;
  std::vector<int> qa;
  double refl(int band, std::size_t i) const { return dn[band - 1][i] * 0.0000275 - 0.2; }
  double nd(int a, int b, std::size_t i) const {
    return (refl(a, i) - refl(b, i)) / (refl(a, i) + refl(b, i));
  }
  double ndvi(std::size_t i) const { return nd(5, 4, i); }
};

Date load_date(const std::string& path) {
  Date d;
  for (int b = 1; b <= 8; ++b) d.dn[b - 1] = raw_band(path, b);
  d.qa.assign(d.dn[7].begin(), d.dn[7].end());
  return d;
}

std::size_t at(int col, int row) { return std::size_t(row) * kN + col; }
bool in_disc(int col, int row, double cu, double cv, double r) {
  return std::hypot(col + 0.5 - cu * kN, row + 0.5 - cv * kN) <= r * kN;
}
bool in_clearing(int col, int row) {
  return col >= int(0.60 * kN) && col < int(0.65 * kN) && row >= int(0.40 * kN) && row < int(0.44 * kN);
}
bool near_a_change(int col, int row, double margin) {
  const double m = margin / kN;
  return in_disc(col, row, 0.46, 0.71, 0.04 + m) || in_disc(col, row, 0.78, 0.33, 0.035 + m) ||
         (col >= 0.60 * kN - margin && col < 0.65 * kN + margin && row >= 0.40 * kN - margin &&
          row < 0.44 * kN + margin);
}

class SampleSceneFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    SampleDataOptions o;
    o.dir = (*dir_) / "scene";
    o.size = kN;
    result_ = new qinling::pipeline::SampleDataResult(generate_sample_data(o, {}));
    dates_[0] = new Date(load_date(path("scene_2023-07.tif")));
    dates_[1] = new Date(load_date(path("scene_2024-07.tif")));
    std::ifstream f(path("truth.json"));
    truth_ = new nlohmann::json(nlohmann::json::parse(f));
  }
  static void TearDownTestSuite() {
    delete truth_;
    for (auto*& d : dates_) delete d;
    delete result_;
    delete dir_;
  }
  static std::string path(const std::string& name) { return (*dir_) / ("scene/" + name); }

  static inline TempDir* dir_ = nullptr;
  static inline qinling::pipeline::SampleDataResult* result_ = nullptr;
  static inline std::array<Date*, 2> dates_{};
  static inline nlohmann::json* truth_ = nullptr;
};

TEST_F(SampleSceneFiles, WritesTheDocumentedFilesAndNothingElse) {
  // The scene's files first; the aerial frames (in aerial/) follow and are tested elsewhere.
  ASSERT_GE(result_->files.size(), std::size(kFiles));
  for (std::size_t i = 0; i < std::size(kFiles); ++i) {
    EXPECT_EQ(result_->files[i], fs::absolute(path(kFiles[i])).lexically_normal().string());
    EXPECT_TRUE(fs::is_regular_file(result_->files[i])) << result_->files[i];
  }
  int entries = 0;
  for (const auto& e : fs::directory_iterator(path(""))) entries += e.is_regular_file();
  EXPECT_EQ(entries, int(std::size(kFiles))) << "temporary files were left behind";
}

TEST_F(SampleSceneFiles, GridIsEpsg4547CentredOnTheQinlingPoint) {
  qinling::raster::DatasetPtr ds(GDALDataset::Open(path("dem.tif").c_str(), GDAL_OF_RASTER));
  ASSERT_TRUE(ds);
  const OGRSpatialReference* srs = ds->GetSpatialRef();
  ASSERT_NE(srs, nullptr);
  EXPECT_STREQ(srs->GetAuthorityCode(nullptr), "4547");
  double gt[6];
  ASSERT_EQ(ds->GetGeoTransform(gt), CE_None);
  EXPECT_EQ(gt[1], 30.0);
  EXPECT_EQ(gt[5], -30.0);
  EXPECT_EQ(gt[2], 0.0);
  EXPECT_EQ(std::fmod(gt[0], 30.0), 0.0);
  EXPECT_EQ(std::fmod(gt[3], 30.0), 0.0);
  OGRSpatialReference from(*srs), wgs84;
  wgs84.importFromEPSG(4326);
  from.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(&from, &wgs84));
  double x = gt[0] + kN / 2.0 * gt[1], y = gt[3] + kN / 2.0 * gt[5];
  ASSERT_TRUE(ct->Transform(1, &x, &y));
  EXPECT_NEAR(x, 108.9, 0.01);
  EXPECT_NEAR(y, 33.9, 0.01);
  for (const char* scene : {"scene_2023-07.tif", "scene_2024-07.tif"}) {
    qinling::raster::DatasetPtr s(GDALDataset::Open(path(scene).c_str(), GDAL_OF_RASTER));
    double sgt[6];
    s->GetGeoTransform(sgt);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(sgt[i], gt[i]) << scene;
  }
}

TEST_F(SampleSceneFiles, BandsFollowTheLandsatC2Level2Layout) {
  qinling::raster::DatasetPtr ds(GDALDataset::Open(path("scene_2024-07.tif").c_str(), GDAL_OF_RASTER));
  ASSERT_EQ(ds->GetRasterCount(), 8);
  EXPECT_STREQ(ds->GetMetadataItem("INTERLEAVE", "IMAGE_STRUCTURE"), "BAND");
  EXPECT_STREQ(ds->GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE"), "DEFLATE");
  EXPECT_STREQ(ds->GetMetadataItem("PREDICTOR", "IMAGE_STRUCTURE"), "2");
  for (int b = 1; b <= 8; ++b) {
    auto* band = ds->GetRasterBand(b);
    EXPECT_EQ(band->GetRasterDataType(), GDT_UInt16);
    int bw = 0, bh = 0, has_nd = 0;
    band->GetBlockSize(&bw, &bh);
    EXPECT_EQ(bw, 512);
    EXPECT_EQ(bh, 512);
    EXPECT_EQ(band->GetNoDataValue(&has_nd), 0.0);  // one value per GeoTIFF; QA is never 0
    EXPECT_TRUE(has_nd);
    if (b < 8) {
      EXPECT_EQ(std::string(band->GetDescription()), "SR_B" + std::to_string(b));
      EXPECT_DOUBLE_EQ(band->GetScale(), 0.0000275);
      EXPECT_DOUBLE_EQ(band->GetOffset(), -0.2);
    } else {
      EXPECT_STREQ(band->GetDescription(), "QA_PIXEL");
    }
  }
  qinling::raster::DatasetPtr dem(GDALDataset::Open(path("dem.tif").c_str(), GDAL_OF_RASTER));
  EXPECT_EQ(dem->GetRasterBand(1)->GetRasterDataType(), GDT_Float32);
  EXPECT_EQ(dem->GetRasterBand(1)->GetNoDataValue(), -9999.0);
  EXPECT_STREQ(dem->GetMetadataItem("PREDICTOR", "IMAGE_STRUCTURE"), "3");
}

TEST_F(SampleSceneFiles, DemHasALowNorthPlainAndEastWestRidges) {
  const auto z = raw_band(path("dem.tif"), 1);
  double lo = 1e9, hi = -1e9, north = 0, middle = 0, dx = 0, dy = 0;
  for (double v : z) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_GE(lo, 400.0);
  EXPECT_LE(hi, 3000.0);
  for (int r = 0; r < kN / 20; ++r)
    for (int c = 0; c < kN; ++c) north += z[at(c, r)];
  for (int r = kN * 9 / 20; r < kN * 11 / 20; ++r)
    for (int c = 0; c < kN; ++c) middle += z[at(c, r)];
  EXPECT_LT(north / (kN / 20 * kN), 700.0) << "the Guanzhong plain should be low";
  EXPECT_GT(middle / (kN / 10 * kN), 1500.0) << "the main range should be high";
  // E–W ridges: elevation changes faster going north–south than going east–west.
  for (int r = kN * 35 / 100; r < kN * 95 / 100; ++r)
    for (int c = 0; c + 1 < kN; ++c)
      dx += std::abs(z[at(c + 1, r)] - z[at(c, r)]), dy += std::abs(z[at(c, r + 1)] - z[at(c, r)]);
  EXPECT_LT(dx, 0.5 * dy);
}

TEST_F(SampleSceneFiles, ClearingLowersNdviWhileUnchangedVegetationStays) {
  const Date &a = *dates_[0], &b = *dates_[1];
  double before = 0, after = 0;
  int n = 0;
  for (int r = 0; r < kN; ++r)
    for (int c = 0; c < kN; ++c)
      if (in_clearing(c, r)) before += a.ndvi(at(c, r)), after += b.ndvi(at(c, r)), ++n;
  ASSERT_EQ(n, 30 * 24);
  EXPECT_GT(before / n, 0.7) << "forest before";
  EXPECT_LT(after / n, 0.3) << "bare soil after";
  EXPECT_GT((before - after) / n, 0.3);
  // Vegetation far from the changes, clear and unshadowed on both dates, keeps its NDVI.
  double sum = 0;
  long count = 0;
  for (int r = 0; r < kN; ++r)
    for (int c = 0; c < kN; ++c) {
      const auto i = at(c, r);
      const bool clear = (a.qa[i] & 0x5f) == 0x40 && (b.qa[i] & 0x5f) == 0x40;
      if (clear && !near_a_change(c, r, 40) && a.ndvi(i) > 0.65) sum += b.ndvi(i) - a.ndvi(i), ++count;
    }
  EXPECT_GT(count, 50000);
  EXPECT_LT(std::abs(sum / count), 0.02);
}

TEST_F(SampleSceneFiles, BurnScarLowersNbrAndReservoirRaisesNdwi) {
  const Date &a = *dates_[0], &b = *dates_[1];
  double nbr0 = 0, nbr1 = 0, ndwi0 = 0, ndwi1 = 0;
  int burn = 0, water = 0;
  for (int r = 0; r < kN; ++r)
    for (int c = 0; c < kN; ++c) {
      const auto i = at(c, r);
      if (in_disc(c, r, 0.46, 0.71, 0.04)) nbr0 += a.nd(5, 7, i), nbr1 += b.nd(5, 7, i), ++burn;
      if (in_disc(c, r, 0.78, 0.33, 0.035)) {
        ndwi0 += a.nd(3, 5, i), ndwi1 += b.nd(3, 5, i), ++water;
        EXPECT_TRUE(b.qa[i] & 0x80) << "reservoir pixel without the water bit";
        EXPECT_FALSE(a.qa[i] & 0x80);
        EXPECT_LT(b.refl(5, i), 0.06) << "water is dark in the NIR";
      }
    }
  ASSERT_GT(burn, 1500);
  ASSERT_GT(water, 1000);
  EXPECT_GT(nbr0 / burn, 0.4);
  EXPECT_LT(nbr1 / burn, -0.1);
  EXPECT_LT(ndwi0 / water, -0.3);
  EXPECT_GT(ndwi1 / water, 0.3);
}

TEST_F(SampleSceneFiles, ChangesAreNeverUnderCloudShadowOrFill) {
  for (const Date* d : dates_)
    for (int r = 0; r < kN; ++r)
      for (int c = 0; c < kN; ++c)
        if (near_a_change(c, r, 0)) {
          ASSERT_EQ(d->qa[at(c, r)] & 0x1b, 0) << "at " << c << "," << r;
        }
}

TEST_F(SampleSceneFiles, CloudsAreBrightWithDarkShadowsToTheWestNorthWest) {
  std::vector<int> cloud_sets[2];
  for (int k = 0; k < 2; ++k) {
    const Date& d = *dates_[k];
    const auto is_cloud = [&](double c, double r) {
      return c >= 0 && r >= 0 && c < kN && r < kN && d.qa[at(int(c), int(r))] != 1 &&
             (d.qa[at(int(c), int(r))] & 8);
    };
    double shadow_nir = 0, clear_nir = 0, clear_blue = 0;
    long clouds = 0, shadows = 0, clear = 0, rings = 0, cloud_to_ese = 0, cloud_to_wnw = 0;
    for (int r = 0; r < kN; ++r)
      for (int c = 0; c < kN; ++c) {
        const auto i = at(c, r);
        const int q = d.qa[i];
        if (q == 1) continue;  // fill
        EXPECT_EQ(bool(q & 0x40), !(q & 0x0a)) << "clear bit must mean no cloud and no dilated cloud";
        rings += (q & 0x02) != 0;
        if (q & 0x08) {
          EXPECT_GT(d.refl(2, i), 0.25) << "a cloud must be bright in the blue band";
          ++clouds;
          cloud_sets[k].push_back(int(i));
        } else if (q & 0x10) {
          ++shadows, shadow_nir += d.refl(5, i);
          // The sun is in the east-south-east, so the cloud casting a shadow lies that way.
          for (int s = 1; s < 80; ++s)
            if (is_cloud(c + 0.5 + 0.866 * s, r + 0.5 + 0.5 * s)) {
              ++cloud_to_ese;
              break;
            }
          for (int s = 1; s < 80; ++s)
            if (is_cloud(c + 0.5 - 0.866 * s, r + 0.5 - 0.5 * s)) {
              ++cloud_to_wnw;
              break;
            }
        } else if (q == 21824) {
          ++clear, clear_nir += d.refl(5, i), clear_blue += d.refl(2, i);
        }
      }
    ASSERT_GT(clouds, 1000);
    ASSERT_GT(shadows, 500);
    EXPECT_GT(rings, 100);
    EXPECT_LT(clear_blue / clear, 0.1);
    EXPECT_LT(shadow_nir / shadows, 0.5 * clear_nir / clear);
    EXPECT_GT(cloud_to_ese, shadows * 8 / 10);
    EXPECT_GT(cloud_to_ese, 3 * cloud_to_wnw);
  }
  std::vector<int> both;
  std::set_intersection(cloud_sets[0].begin(), cloud_sets[0].end(), cloud_sets[1].begin(),
                        cloud_sets[1].end(), std::back_inserter(both));
  EXPECT_LT(both.size(), cloud_sets[0].size() / 2) << "clouds should move between dates";
}

TEST_F(SampleSceneFiles, FillIsACornerTriangleWithZeroReflectance) {
  for (int k = 0; k < 2; ++k) {
    const Date& d = *dates_[k];
    long fill = 0;
    for (int r = 0; r < kN; ++r)
      for (int c = 0; c < kN; ++c) {
        const auto i = at(c, r);
        const bool expected = k == 0 ? (kN - 1 - c + r) < 0.12 * kN : (c + kN - 1 - r) < 0.10 * kN;
        ASSERT_EQ(d.qa[i] == 1, expected) << "date " << k << " at " << c << "," << r;
        for (int b = 0; b < 7; ++b) ASSERT_EQ(d.dn[b][i] == 0, expected);
        fill += expected;
      }
    EXPECT_EQ((*truth_)["dates"][k == 0 ? "2023-07" : "2024-07"]["qa_counts"]["fill"].get<long>(), fill);
  }
  // Fill reads as nodata through GDAL.
  const auto red = read_band(path("scene_2023-07.tif"), 4);
  EXPECT_TRUE(std::isnan(red[at(kN - 1, 0)]));
  EXPECT_FALSE(std::isnan(red[at(0, kN - 1)]));
}

TEST_F(SampleSceneFiles, TruthJsonDescribesTheScene) {
  const auto& t = *truth_;
  EXPECT_EQ(t["grid"]["crs"], "EPSG:4547");
  EXPECT_EQ(t["grid"]["width"], kN);
  EXPECT_EQ(t["seed"], 42);
  ASSERT_EQ(t["changes"].size(), 3u);
  const auto& clearing = t["changes"][0];
  EXPECT_EQ(clearing["kind"], "forest_clearing");
  EXPECT_EQ(clearing["window"]["x"], 360);
  EXPECT_EQ(clearing["window"]["y"], 240);
  EXPECT_EQ(clearing["pixel_count"], 720);
  EXPECT_EQ(clearing["protected_zone_id"], 2);
  int burn = 0, reservoir = 0;
  for (int r = 0; r < kN; ++r)
    for (int c = 0; c < kN; ++c)
      burn += in_disc(c, r, 0.46, 0.71, 0.04), reservoir += in_disc(c, r, 0.78, 0.33, 0.035);
  EXPECT_EQ(t["changes"][1]["kind"], "burn_scar");
  EXPECT_EQ(t["changes"][1]["pixel_count"], burn);
  EXPECT_EQ(t["changes"][1]["protected_zone_id"], 3);
  EXPECT_EQ(t["changes"][2]["kind"], "new_reservoir");
  EXPECT_EQ(t["changes"][2]["pixel_count"], reservoir);
  EXPECT_TRUE(t["changes"][2]["protected_zone_id"].is_null());
  const auto& bbox = clearing["bbox"];  // world box of the clearing window
  const double x0 = t["grid"]["geotransform"][0], y0 = t["grid"]["geotransform"][3];
  EXPECT_DOUBLE_EQ(bbox[0].get<double>(), x0 + 360 * 30.0);
  EXPECT_DOUBLE_EQ(bbox[3].get<double>(), y0 - 240 * 30.0);
  for (int k = 0; k < 2; ++k) {
    long cloud = 0, shadow = 0;
    for (int q : dates_[k]->qa) cloud += (q != 1 && (q & 8)), shadow += (q != 1 && (q & 16));
    const auto& counts = t["dates"][k == 0 ? "2023-07" : "2024-07"]["qa_counts"];
    EXPECT_EQ(counts["cloud"].get<long>(), cloud);
    EXPECT_EQ(counts["cloud_shadow"].get<long>(), shadow);
  }
}

TEST_F(SampleSceneFiles, GeoJsonHasTheBoundaryAndProtectedZones) {
  qinling::raster::DatasetPtr b(GDALDataset::Open(path("boundary.geojson").c_str(), GDAL_OF_VECTOR));
  ASSERT_TRUE(b);
  ASSERT_EQ(b->GetLayer(0)->GetFeatureCount(), 1);
  std::unique_ptr<OGRFeature> region(b->GetLayer(0)->GetNextFeature());
  const OGRGeometry* boundary = region->GetGeometryRef();
  ASSERT_EQ(wkbFlatten(boundary->getGeometryType()), wkbPolygon);
  qinling::raster::DatasetPtr z(GDALDataset::Open(path("protected_zones.geojson").c_str(), GDAL_OF_VECTOR));
  ASSERT_TRUE(z);
  OGRLayer* layer = z->GetLayer(0);
  const OGRFeatureDefn* def = layer->GetLayerDefn();
  ASSERT_GE(def->GetFieldIndex("zone_id"), 0);
  EXPECT_EQ(def->GetFieldDefn(def->GetFieldIndex("zone_id"))->GetType(), OFTInteger);
  EXPECT_EQ(def->GetFieldDefn(def->GetFieldIndex("name"))->GetType(), OFTString);
  EXPECT_EQ(def->GetFieldDefn(def->GetFieldIndex("level"))->GetType(), OFTString);
  std::set<std::string> names;
  std::set<int> ids;
  const auto& c = (*truth_)["changes"][0]["centre_lonlat"];
  OGRPoint clearing(c[0].get<double>(), c[1].get<double>());
  for (auto& f : *layer) {
    names.insert(f->GetFieldAsString("name"));
    ids.insert(f->GetFieldAsInteger("zone_id"));
    EXPECT_TRUE(std::string(f->GetFieldAsString("level")) == "national" ||
                std::string(f->GetFieldAsString("level")) == "provincial");
    const OGRGeometry* g = f->GetGeometryRef();
    OGREnvelope e;
    g->getEnvelope(&e);
    EXPECT_NEAR((e.MinX + e.MaxX) / 2, 108.9, 0.1) << "lon/lat order, near the scene";
    EXPECT_NEAR((e.MinY + e.MaxY) / 2, 33.9, 0.1);
    EXPECT_TRUE(g->Within(boundary)) << f->GetFieldAsString("name");
    EXPECT_EQ(g->Contains(&clearing), f->GetFieldAsInteger("zone_id") == 2) << f->GetFieldAsString("name");
  }
  EXPECT_EQ(names, (std::set<std::string>{"Taibaishan", "Foping", "Changqing", "Huangbaiyuan"}));
  EXPECT_EQ(ids, (std::set<int>{1, 2, 3, 4}));
}

TEST(SampleData, SameBytesForOneAndTwoThreadsAndNewBytesForANewSeed) {
  TempDir dir;
  SampleDataOptions o;
  o.size = kN;
  o.seed = 5;
  for (int threads : {1, 2}) {
    o.dir = dir / ("t" + std::to_string(threads));
    o.threads = threads;
    generate_sample_data(o, {});
  }
  o.dir = dir / "other";
  o.seed = 6;
  generate_sample_data(o, {});
  for (const char* f : kFiles) {
    const std::string one = read_bytes(dir / ("t1/" + std::string(f)));
    ASSERT_GT(one.size(), 100u) << f;
    EXPECT_TRUE(one == read_bytes(dir / ("t2/" + std::string(f)))) << f << " differs between 1 and 2 threads";
    EXPECT_FALSE(one == read_bytes(dir / ("other/" + std::string(f)))) << f << " ignores the seed";
  }
}

TEST(SampleData, PixelsDoNotDependOnTheWindow) {
  const qinling::raster::SampleScene scene(kN, 9);
  const qinling::raster::Window big{0, 0, kN, 300}, small{123, 77, 211, 150};
  std::vector<std::uint16_t> a(8 * big.pixels()), b(8 * small.pixels());
  scene.fill_scene(1, big, a.data());
  scene.fill_scene(1, small, b.data());
  std::vector<float> da(big.pixels()), db(small.pixels());
  scene.fill_dem(big, da.data());
  scene.fill_dem(small, db.data());
  for (int band = 0; band < 8; ++band)
    for (int r = 0; r < small.height; ++r)
      for (int c = 0; c < small.width; ++c) {
        const auto ia = std::size_t(band) * big.pixels() + std::size_t(r + small.y) * big.width + c + small.x;
        const auto ib = std::size_t(band) * small.pixels() + std::size_t(r) * small.width + c;
        ASSERT_EQ(a[ia], b[ib]) << "band " << band + 1 << " at " << c + small.x << "," << r + small.y;
        if (band == 0) {
          ASSERT_EQ(da[ia], db[ib]);
        }
      }
}

TEST(SampleData, RejectsBadOptions) {
  TempDir dir;
  const auto attempt = [&](auto change) {
    SampleDataOptions o;
    o.dir = dir / "x";
    o.size = 64;
    change(o);
    generate_sample_data(o, {});
  };
  EXPECT_THROW(attempt([](SampleDataOptions& o) { o.size = 63; }), qinling::ConfigError);
  EXPECT_THROW(attempt([](SampleDataOptions& o) { o.size = 100001; }), qinling::ConfigError);
  EXPECT_THROW(attempt([](SampleDataOptions& o) { o.compress = "LZW"; }), qinling::ConfigError);
  EXPECT_THROW(attempt([](SampleDataOptions& o) { o.threads = -1; }), qinling::ConfigError);
  EXPECT_THROW(attempt([](SampleDataOptions& o) { o.dir.clear(); }), qinling::ConfigError);
  write_text(dir / "file", "x");
  EXPECT_THROW(attempt([&](SampleDataOptions& o) { o.dir = dir / "file/sub"; }), qinling::ProcessingError);
  EXPECT_NO_THROW(attempt([](SampleDataOptions& o) { o.compress = "zstd"; }));
}

TEST(SampleData, CancelledRunLeavesTheFolderAsItWas) {
  TempDir dir;
  SampleDataOptions o;
  o.dir = dir / "s";
  o.size = 200;
  std::vector<double> seen;
  generate_sample_data(o, [&](double f) { seen.push_back(f); });
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), 1.0);
  const std::string before = read_bytes(dir / "s/scene_2024-07.tif");
  o.seed = 99;
  EXPECT_THROW(generate_sample_data(o,
                                    [](double f) {
                                      if (f > 0.5) throw qinling::Cancelled();
                                    }),
               qinling::Cancelled);
  EXPECT_TRUE(before == read_bytes(dir / "s/scene_2024-07.tif"));
  for (const auto& e : fs::directory_iterator(dir / "s"))
    EXPECT_NE(e.path().filename().string()[0], '.') << "left behind: " << e.path();
}

TEST(SampleData, CompressionChangesBytesButNotValues) {
  TempDir dir;
  SampleDataOptions o;
  o.size = 128;
  for (const char* c : {"DEFLATE", "ZSTD", "NONE"}) {
    o.dir = dir / c;
    o.compress = c;
    generate_sample_data(o, {});
    qinling::raster::DatasetPtr ds(
        GDALDataset::Open((dir / (std::string(c) + "/scene_2023-07.tif")).c_str(), GDAL_OF_RASTER));
    const char* got = ds->GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE");
    EXPECT_EQ(std::string(got ? got : "NONE"), c);
  }
  for (const char* c : {"ZSTD", "NONE"})
    for (int b : {1, 5, 8}) {
      EXPECT_EQ(raw_band(dir / "DEFLATE/scene_2023-07.tif", b),
                raw_band(dir / (std::string(c) + "/scene_2023-07.tif"), b));
    }
}

TEST(SampleData, CommandLineWritesTheSameScene) {
  TempDir dir;
  const auto bad = run_qinling("sample-data " + (dir / "bad") + " --size 10 --quiet");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  const auto r = run_qinling("sample-data " + (dir / "cli") +
                             " --size 128 --seed 7 --compress ZSTD --threads 1 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  SampleDataOptions o;
  o.dir = dir / "lib";
  o.size = 128;
  o.seed = 7;
  o.compress = "ZSTD";
  generate_sample_data(o, {});
  for (const char* f : kFiles)
    EXPECT_TRUE(read_bytes(dir / ("cli/" + std::string(f))) == read_bytes(dir / ("lib/" + std::string(f))))
        << f;
}

}  // namespace
