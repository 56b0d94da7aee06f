// The bad-input catalogue of issue 10 (docs/RELIABILITY.md), cases not already in
// test_bad_input.cpp / test_job_validation.cpp: each bad file or job gives exit 2 and a message
// naming the file or key, the earlier output stays byte-identical, and no temporary file is left.
// Inputs that are legal but odd (all nodata, NaN/Inf) must run and give nodata where undefined.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

namespace {

const char* kPy = "/usr/bin/python3";  // Debian's, with osgeo

struct Catalogue : ::testing::Test {
  TempDir dir;
  std::string crop;  // 64x64 corner of the sample scene, all 8 bands
  std::string earlier;

  void SetUp() override {
    const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
    crop = dir / "crop.tif";
    ASSERT_EQ(run_command("gdal_translate -q -srcwin 0 0 64 64 " + scene + " " + crop).exit_code, 0);
    write_text(dir / "good.yaml", job(crop));
    const auto r =
        run_qinling("run " + (dir / "good.yaml") + " --out " + (dir / "out") + " --quiet --store none");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    earlier = read_bytes(dir / "out/ndvi.tif");
  }
  // An NDVI job on `path` (red 4, nir 5 unless `input` says otherwise); `extra` goes before inputs.
  static std::string job(const std::string& path, const std::string& input = "bands: {red: 4, nir: 5}",
                         const std::string& extra = "",
                         const std::string& step = "index.ndvi, input: scene") {
    return "job: catalogue\n" + extra + "inputs:\n  scene: {path: " + path + ", " + input +
           "}\nsteps:\n  - {id: ndvi, kind: " + step +
           "}\noutputs:\n  - {from: ndvi, path: ndvi.tif, format: cog}\n";
  }
  qinling::test::CommandResult run(const std::string& yaml, const std::string& flags = "") {
    write_text(dir / "bad.yaml", yaml);
    return run_qinling("run " + (dir / "bad.yaml") + " --out " + (dir / "out") + " --store none " + flags);
  }
  // Exit 2, every needle in the message, the earlier output untouched, nothing temporary left.
  void expect_rejected(const std::string& yaml, const std::vector<std::string>& needles) {
    const auto r = run(yaml);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    for (const auto& n : needles)
      EXPECT_NE(r.output.find(n), std::string::npos) << "message does not name '" << n << "':\n" << r.output;
    EXPECT_TRUE(read_bytes(dir / "out/ndvi.tif") == earlier) << "the earlier output changed";
    for (const auto& e : fs::directory_iterator(dir / "out")) {
      const std::string name = e.path().filename().string();
      EXPECT_TRUE(name.find(".partial") == std::string::npos && name.find(".staging") == std::string::npos &&
                  name.find(".qinling-work") == std::string::npos)
          << "left " << e.path();
    }
  }
  void python(const std::string& code) {
    write_text(dir / "make.py",
               "from osgeo import gdal, osr\nimport numpy as np\ngdal.UseExceptions()\n" + code);
    const auto r = run_command(std::string(kPy) + " " + (dir / "make.py"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  // Overwrites `n` bytes at `offset` (negative: from the middle) with `byte`.
  void damage(const std::string& from, const std::string& to, long offset, std::size_t n, char byte) {
    std::string b = read_bytes(from);
    const std::size_t at = offset < 0 ? b.size() / 2 : std::size_t(offset);
    ASSERT_LT(at + n, b.size());
    for (std::size_t i = 0; i < n; ++i) b[at + i] = byte;
    write_text(to, b);
  }
};

}  // namespace

// --- rasters ---------------------------------------------------------------------------------

TEST_F(Catalogue, HeaderTruncated) {
  write_text(dir / "head.tif", read_bytes(crop).substr(0, 100));
  expect_rejected(job(dir / "head.tif"), {"head.tif", "cannot open"});
}

TEST_F(Catalogue, CorruptedHeader) {
  // The first IFD offset (bytes 4-7) pointing far past the end of the file.
  damage(crop, dir / "hdr.tif", 4, 4, '\x7f');
  expect_rejected(job(dir / "hdr.tif"), {"hdr.tif"});
}

TEST_F(Catalogue, CorruptedCompressedData) {
  // A DEFLATE tile stream overwritten in the middle: zlib reports it, the run must not go on.
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  ASSERT_EQ(run_command("gdal_translate -q -b 4 -b 5 -co COMPRESS=DEFLATE -co TILED=YES " + scene + " " +
                        (dir / "defl.tif"))
                .exit_code,
            0);
  damage(dir / "defl.tif", dir / "data.tif", -1, 4096, '\x5a');
  expect_rejected(job(dir / "data.tif", "bands: {red: 1, nir: 2}"), {"data.tif", "corrupt"});
}

TEST_F(Catalogue, HeaderClaimingAMillionByAMillionPixels) {
  // A hand-made TIFF: 10^6 x 10^6 UInt16 in one strip that is not there, georeferenced in EPSG:4547.
  python(R"(import struct
W = H = 1000000
scale = struct.pack('<3d', 30, 30, 0); tie = struct.pack('<6d', 0, 0, 0, 580000, 3760000, 0)
keys = struct.pack('<16H', 1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 4547)
tags = [(256, 4, 1, W), (257, 4, 1, H), (258, 3, 1, 16), (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, 0),
        (277, 3, 1, 1), (278, 4, 1, H), (279, 4, 1, 0xFFFFFFF0), (33550, 12, 3, 0), (33922, 12, 6, 0), (34735, 3, 16, 0)]
arrays = 8 + 2 + 12 * len(tags) + 4
offs = {33550: arrays, 33922: arrays + 24, 34735: arrays + 72, 273: arrays + 104}
out = b'II*\x00' + struct.pack('<IH', 8, len(tags))
for tag, typ, n, v in tags:
    v = offs.get(tag, v)
    out += struct.pack('<HHIHH', tag, typ, n, v, 0) if typ == 3 and n == 1 else struct.pack('<HHII', tag, typ, n, v)
open(')" +
         (dir / "huge.tif") + R"(', 'wb').write(out + struct.pack('<I', 0) + scale + tie + keys + bytes(64))
)");
  expect_rejected(job(dir / "huge.tif", "bands: {red: 1, nir: 1}"), {"1000000 x 1000000", "huge.tif"});
}

TEST_F(Catalogue, ZeroSizeFile) {
  write_text(dir / "empty.tif", "");
  expect_rejected(job(dir / "empty.tif"), {"empty.tif"});
}

TEST_F(Catalogue, WrongBandCountForTheSensorProfile) {
  ASSERT_EQ(run_command("gdal_translate -q -b 1 -b 2 -b 3 " + crop + " " + (dir / "three.tif")).exit_code, 0);
  expect_rejected(job(dir / "three.tif", "sensor: landsat89_c2l2"), {"three.tif has 3", "stack of 8 bands"});
}

TEST_F(Catalogue, NoCrs) {
  python("d = gdal.Translate('" + (dir / "nocrs.tif") + "', '" + crop +
         "')\nd.SetProjection('')\nd = None\n");
  ASSERT_EQ(run_command("gdalsrsinfo " + (dir / "nocrs.tif") + " 2>&1 | grep -c PROJCRS").output.substr(0, 1),
            "0");
  expect_rejected(job(dir / "nocrs.tif"), {"nocrs.tif", "no coordinate reference system"});
}

TEST_F(Catalogue, CrsThatDoesNotOverlapTheGrid) {
  // The same coordinates declared in UTM 49N (central meridian 111°E instead of 108°E): some
  // 300 km east of the grid over the scene.
  python("d = gdal.Translate('" + (dir / "far.tif") + "', '" + crop +
         "')\ns = osr.SpatialReference()\n"
         "s.ImportFromEPSG(32649)\nd.SetSpatialRef(s)\nd = None\n");
  const auto gt = run_command(std::string(kPy) + " -c \"from osgeo import gdal; g = gdal.Open('" + crop +
                              "').GetGeoTransform(); print(g[0], g[3] - 1920, g[0] + 1920, g[3])\"");
  ASSERT_EQ(gt.exit_code, 0);
  std::istringstream in(gt.output);
  std::string x0, y0, x1, y1;
  in >> x0 >> y0 >> x1 >> y1;
  expect_rejected(job(dir / "far.tif", "bands: {red: 4, nir: 5}",
                      "grid: {crs: \"EPSG:4547\", resolution: 30, extent: [" + x0 + ", " + y0 + ", " + x1 +
                          ", " + y1 + "]}\n"),
                  {"far.tif", "does not overlap"});
}

TEST_F(Catalogue, AllNodataRunsAndGivesNodata) {
  python("d = gdal.Translate('" + (dir / "nd.tif") + "', '" + crop +
         "', noData=0)\n"
         "for b in range(1, 9): d.GetRasterBand(b).Fill(0)\nd = None\n");
  const auto r = run(job(dir / "nd.tif"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (double v : read_band(dir / "out/ndvi.tif", 1)) ASSERT_TRUE(std::isnan(v)) << v;
  // Not silent: a warning names the file and says why the output is empty.
  EXPECT_NE(r.output.find(dir / "nd.tif" + ": no valid pixel under the analysis grid"), std::string::npos)
      << r.output;
  // The same job on the good crop says nothing of the kind.
  const auto good = run(job(crop), "--force");
  ASSERT_EQ(good.exit_code, 0) << good.output;
  EXPECT_EQ(good.output.find("no valid pixel"), std::string::npos) << good.output;
}

TEST_F(Catalogue, NanAndInfinityBecomeNodata) {
  // Float reflectance: NaN, +Inf, -Inf and a finite pixel in the NIR band.
  python("d = gdal.GetDriverByName('GTiff').Create('" + (dir / "f.tif") +
         "', 4, 1, 2, gdal.GDT_Float32)\n"
         "src = gdal.Open('" +
         crop +
         "')\nd.SetGeoTransform(src.GetGeoTransform())\nd.SetProjection(src.GetProjection())\n"
         "d.GetRasterBand(1).WriteArray(np.array([[0.1, 0.1, 0.1, 0.1]], dtype=np.float32))\n"
         "d.GetRasterBand(2).WriteArray(np.array([[np.nan, np.inf, -np.inf, 0.5]], dtype=np.float32))\nd = "
         "None\n");
  const auto r = run(job(dir / "f.tif", "bands: {red: 1, nir: 2}"), "--quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto v = read_band(dir / "out/ndvi.tif", 1);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1]) && std::isnan(v[2])) << v[0] << " " << v[1] << " " << v[2];
  EXPECT_NEAR(v[3], (0.5 - 0.1) / (0.5 + 0.1), 1e-6);
}

TEST_F(Catalogue, GribMessageWithoutAGrid) {
  // "GRIB", edition 2, a length, then no sections at all before the end marker.
  write_text(dir / "g.grib2", std::string("GRIB\0\0\0\x02\0\0\0\0\0\0\0\x18", 16) + "7777");
  expect_rejected(
      job(dir / "g.grib2", "select: {element: TMP}", "", "raster.calc, input: scene, expression: value"),
      {"g.grib2"});
}

TEST_F(Catalogue, Hdf5FileWithoutTheDataset) {
  const auto r =
      run_command(std::string(kPy) + " -c \"import h5py, numpy as np; f = h5py.File('" + (dir / "w.h5") +
                  "', 'w'); f['t2m'] = np.zeros((4, 4), 'f4'); f['rh'] = np.ones((4, 4), 'f4')\"");
  if (r.exit_code != 0) GTEST_SKIP() << "python3-h5py is not installed: " << r.output;
  expect_rejected(job(dir / "w.h5", "select: {variable: precipitation}", "",
                      "raster.calc, input: scene, expression: value"),
                  {"w.h5", "precipitation"});
}

TEST_F(Catalogue, JpegThatIsReallyText) {
  write_text(dir / "photo.jpg", "<html>404 Not Found</html>\n");
  expect_rejected(job(dir / "photo.jpg"), {"photo.jpg"});
}

// --- vectors and tables ------------------------------------------------------------------------

namespace {
// A supervision-grid job on the crop: cells of 600 m over `region`.
std::string grid_job(const std::string& crop, const std::string& region) {
  return "job: catalogue\ninputs:\n  scene: {path: " + crop +
         ", bands: {red: 4, nir: 5}}\n  region: {path: " + region +
         "}\nsteps:\n  - {id: ndvi, kind: index.ndvi, input: scene}\n"
         "  - {id: grid, kind: grid.build, crs: \"EPSG:4547\", cell_size: 600, region: region}\n"
         "  - {id: stats, kind: zonal.stats, input: ndvi, zones: grid, stats: [mean, count]}\n"
         "outputs:\n  - {from: stats, path: cells.csv, format: csv}\n";
}
// A polygon ring as GeoJSON, in lon/lat, over the sample scene's corner.
std::string feature_collection(const std::string& geometry) {
  return R"({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "z"}, "geometry": )" +
         geometry + "}]}";
}
}  // namespace

TEST_F(Catalogue, GeoJsonThatIsNotJson) {
  write_text(dir / "region.geojson", "{\"type\": \"FeatureCollection\", \"features\": [ {oops");
  expect_rejected(grid_job(crop, dir / "region.geojson"), {"region.geojson"});
}

TEST_F(Catalogue, EmptyGeometry) {
  write_text(dir / "region.geojson", feature_collection(R"({"type": "Polygon", "coordinates": []})"));
  expect_rejected(grid_job(crop, dir / "region.geojson"), {"region.geojson"});
}

TEST_F(Catalogue, SelfIntersectingPolygonIsRepairedOrRejected) {
  // A bow tie over the crop: either made valid (the run succeeds and the cells are finite) or
  // rejected with the file named — never a crash or GEOS exception text.
  const auto c =
      run_command(std::string(kPy) + " -c \"from osgeo import gdal, osr; d = gdal.Open('" + crop +
                  "'); g = d.GetGeoTransform(); s = osr.SpatialReference(); s.ImportFromEPSG(4326); "
                  "s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER); t = osr.SpatialReference(); "
                  "t.ImportFromEPSG(4547); t.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER); "
                  "ct = osr.CoordinateTransformation(t, s); "
                  "p = [ct.TransformPoint(g[0] + a * 1920, g[3] - b * 1920)[:2] for a, b in "
                  "((0,0),(1,1),(1,0),(0,1),(0,0))]; "
                  "print(','.join('[%.7f,%.7f]' % q for q in p))\"");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  write_text(dir / "region.geojson", feature_collection(R"({"type": "Polygon", "coordinates": [[)" +
                                                        c.output.substr(0, c.output.size() - 1) + "]]}"));
  write_text(dir / "bowtie.yaml", grid_job(crop, dir / "region.geojson"));
  const auto r =
      run_qinling("run " + (dir / "bowtie.yaml") + " --out " + (dir / "bt") + " --store none --quiet");
  if (r.exit_code == 0) {
    EXPECT_TRUE(fs::exists(dir / "bt/cells.csv"));
  } else {
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("region.geojson"), std::string::npos) << r.output;
  }
  EXPECT_EQ(r.output.find("unexpected failure"), std::string::npos) << r.output;
}

namespace {
std::string station_job(const std::string& crop, const std::string& csv) {
  return "job: catalogue\ninputs:\n  scene: {path: " + crop +
         ", bands: {red: 4, nir: 5}}\nsteps:\n"
         "  - {id: ndvi, kind: met.interpolate_stations, stations: " +
         csv +
         "}\n"
         "outputs:\n  - {from: ndvi, path: ndvi.tif}\n";
}
}  // namespace

TEST_F(Catalogue, CsvWithRaggedRows) {
  write_text(dir / "st.csv", "id,lon,lat,value\nA,108.9,34.0,12.5\nB,108.8,33.9\nC,108.7,34.1,11,extra\n");
  expect_rejected(station_job(crop, dir / "st.csv"), {"st.csv:3", "3 fields where the header has 4"});
}

TEST_F(Catalogue, CsvWithDecimalCommas) {
  write_text(dir / "st.csv", "id;lon;lat;value\nA;108,9;34,0;12,5\n");
  expect_rejected(station_job(crop, dir / "st.csv"), {"st.csv:2", "column 'lon'", "'108,9' is not a number"});
}

TEST_F(Catalogue, CsvWithNonUtf8Text) {
  // GBK station names: the names are only labels, the numbers must still be read (and nothing
  // may choke on the bytes later, e.g. when writing JSON records).
  write_text(dir / "st.csv",
             "id,lon,lat,value\n\xCE\xF7\xB0\xB2,108.9,34.0,12.5\n\xBA\xBA\xD6\xD0,108.8,33.9,11\n");
  write_text(dir / "gbk.yaml", station_job(crop, dir / "st.csv"));
  const auto r =
      run_qinling("run " + (dir / "gbk.yaml") + " --out " + (dir / "gbk") + " --store none --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "gbk/ndvi.tif"));
  write_text(dir / "st2.csv",
             "\xD5\xBE,lon,lat,value\nA,108.9,34.0,\xCE\xF7\n");  // GBK header and a GBK value
  expect_rejected(station_job(crop, dir / "st2.csv"), {"st2.csv", "column 'value'"});
}

TEST_F(Catalogue, NonUtf8JobText) {
  // A job name in GBK: YAML is UTF-8 (and names go into JSON records), so the line is named.
  expect_rejected(
      "job: c\ninputs:\n  scene: {path: " + crop +
          ", bands: {red: 4, nir: 5}}\nsteps:\n"
          "  - {id: ndvi, kind: index.ndvi, input: scene}\noutputs:\n  - {from: ndvi, path: ndvi.tif}\n"
          "# \xC7\xD8\xC1\xEB\n",
      {"bad.yaml:8", "not UTF-8"});
  // UTF-8 Chinese is fine.
  const auto r =
      run("job: \xE7\xA7\xA6\xE5\xB2\xAD\ninputs:\n  scene: {path: " + crop +
              ", bands: {red: 4, nir: 5}}\nsteps:\n  - {id: ndvi, kind: index.ndvi, input: scene}\noutputs:\n"
              "  - {from: ndvi, path: utf8.tif}\n",
          "--quiet");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// --- job files -----------------------------------------------------------------------------------

TEST_F(Catalogue, DuplicateStepIds) {
  expect_rejected("job: c\ninputs:\n  scene: {path: " + crop +
                      ", bands: {red: 4, nir: 5}}\nsteps:\n"
                      "  - {id: ndvi, kind: index.ndvi, input: scene}\n  - {id: ndvi, kind: index.ndwi, "
                      "input: scene, green: b3}\n"
                      "outputs:\n  - {from: ndvi, path: ndvi.tif}\n",
                  {"bad.yaml", "duplicate step id 'ndvi'"});
}

TEST_F(Catalogue, ReferencesToMissingSteps) {
  expect_rejected("job: c\ninputs:\n  scene: {path: " + crop +
                      ", bands: {red: 4, nir: 5}}\nsteps:\n"
                      "  - {id: ndvi, kind: raster.calc, input: [scene, ghost], expression: \"ghost * 2\"}\n"
                      "outputs:\n  - {from: phantom, path: ndvi.tif}\n",
                  {"bad.yaml:5", "ghost", "bad.yaml:7", "'phantom' is not a step id"});
}

TEST_F(Catalogue, OutputPathsEscapingTheOutputFolder) {
  for (const std::string& p :
       std::vector<std::string>{"../escaped.tif", "sub/../../escaped.tif", dir / "escaped.tif"}) {
    SCOPED_TRACE(p);
    expect_rejected(
        "job: c\ninputs:\n  scene: {path: " + crop +
            ", bands: {red: 4, nir: 5}}\nsteps:\n"
            "  - {id: ndvi, kind: index.ndvi, input: scene}\noutputs:\n  - {from: ndvi, path: \"" +
            p + "\"}\n",
        {"bad.yaml:7", "outputs[0].path", "leaves the output folder"});
    EXPECT_FALSE(fs::exists(dir / "escaped.tif"));
  }
}

// Found by the rules fuzzer: a list or a mapping used as a key is valid YAML that none of our readers
// expects; it is a located job error (exit 2), not an "unexpected failure".
TEST_F(Catalogue, ListOrMappingUsedAsAKey) {
  expect_rejected(job(crop, "bands: {red: 4, nir: 5}", "{a: 1}: 2\n"), {"bad.yaml:2", "plain name"});
  expect_rejected("job: catalogue\ninputs:\n  [scene]: {path: " + crop +
                      "}\nsteps: []\noutputs:\n  - {from: ndvi, path: ndvi.tif, format: cog}\n",
                  {"bad.yaml:3", "plain name"});
}
