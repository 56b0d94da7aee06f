// met.verify per polygon mask and per supervision cell (`masks`, `cells`): hand-computed scores on a
// 4 × 2 grid, the sums per mask equal an independent OGR + numpy computation (grid to grid with FSS, and
// grid to station per lead), the masks' sums add up exactly to the overall ones, the GeoPackage layer
// joins the supervision grid by cell ID, the plain outputs do not change, and bad options are job errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>

#include "support/test_support.hpp"

using namespace qinling::test;

namespace {

const std::string kPy = "/usr/bin/python3 ";
const std::string kMasks = kPy + QINLING_SOURCE_DIR + "/tests/data/verify_masks_reference.py ";
const std::string kVerify = kPy + QINLING_SOURCE_DIR + "/tests/data/verify_reference.py ";

// The CSV as rows of column → text (no quoted fields in these tests).
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::istringstream in(read_bytes(path));
  std::string line;
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    std::string cell;
    std::istringstream cells(s);
    while (std::getline(cells, cell, ',')) out.push_back(cell);
    if (!s.empty() && s.back() == ',') out.emplace_back();
    return out;
  };
  while (std::getline(in, line)) {
    if (header.empty()) {
      header = split(line);
      continue;
    }
    const auto cells = split(line);
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(row);
  }
  return rows;
}

const std::map<std::string, std::string>* find_row(
    const std::vector<std::map<std::string, std::string>>& rows, const std::string& id_column,
    const std::string& id, const std::string& lead) {
  for (const auto& r : rows)
    if (r.at(id_column) == id && r.at("lead") == lead) return &r;
  return nullptr;
}

double num(const std::map<std::string, std::string>* row, const std::string& key) {
  if (row == nullptr || !row->count(key) || row->at(key).empty()) return 1e99;
  return std::stod(row->at(key));
}

// A 4 × 2 grid of 0.1° cells from 108°E 34°N: forecast 1…8 row by row; the observation with one gap.
// Masks (lon/lat): west = columns 0–1; east = an L over columns 2–3 of row 0 and column 2 of row 1, so
// the cell of row 1, column 3 lies in no mask.
void make_tiny(const TempDir& dir) {
  const std::string py =
      "import numpy as np\nfrom osgeo import gdal\n"
      "for name, a in (('fc', [[1, 2, 3, 4], [5, 6, 7, 8]]), ('obs', [[0, 2, 5, 4], [5, np.nan, 6, 10]])):\n"
      "    d = gdal.GetDriverByName('GTiff').Create('" +
      dir.path().string() +
      "/' + name + '.tif', 4, 2, 1, "
      "gdal.GDT_Float32)\n"
      "    d.SetGeoTransform([108, 0.1, 0, 34, 0, -0.1]); d.SetProjection('EPSG:4326')\n"
      "    d.GetRasterBand(1).SetNoDataValue(float('nan')); d.GetRasterBand(1).WriteArray(np.array(a))\n"
      "    d = None\n";
  write_text(dir / "make.py", py);
  const auto made = run_command(kPy + (dir / "make.py"));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  write_text(dir / "regions.geojson",
             R"({"type": "FeatureCollection", "features": [
{"type": "Feature", "properties": {"name": "west"}, "geometry": {"type": "Polygon", "coordinates":
  [[[107.9, 33.7], [108.2003, 33.7], [108.2003, 34.1], [107.9, 34.1], [107.9, 33.7]]]}},
{"type": "Feature", "properties": {"name": "east"}, "geometry": {"type": "Polygon", "coordinates":
  [[[108.2003, 33.7], [108.3, 33.7], [108.3, 33.9], [108.5, 33.9], [108.5, 34.1], [108.2003, 34.1],
    [108.2003, 33.7]]]}}]})");
  // Stations: two in west, two in east, one (row 1, column 3) in no mask.
  write_text(dir / "obs.csv",
             "id,lon,lat,value\ns1,108.05,33.95,1.5\ns2,108.15,33.85,4\ns3,108.25,33.95,3\n"
             "s4,108.35,33.85,9\ns5,108.36,33.96,2\n");
}

std::string tiny_job(const std::string& step) {
  return "job: t\ninputs:\n  fc: {path: fc.tif}\n  obs: {path: obs.tif}\n  regions: {path: regions.geojson}\n"
         "steps:\n  - {id: v, kind: met.verify, forecast: fc, " +
         step +
         "}\noutputs:\n  - {from: v, path: m.csv, format: mask_csv}\n  - {from: v, path: m.json, format: "
         "mask_json}\n  - {from: v, path: m.gpkg, format: gpkg}\n  - {from: v, path: v.json, format: json}\n";
}

}  // namespace

TEST(MetVerifyMasks, TinyGridAndStationsEqualHandComputedValues) {
  TempDir dir;
  make_tiny(dir);
  // Grid to grid. west: pairs (1,0) (2,2) (5,5), errors 1 0 0; east: (3,5) (4,4) (7,6), errors −2 0 1;
  // the pair (8,10) is in no mask. Event ≥ 4: west 1 hit 2 correct negatives, east 2 hits 1 miss.
  write_text(dir / "job.yaml",
             tiny_job("observation: obs, masks: regions, mask_id_field: name, thresholds: [4]"));
  auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto rows = read_csv(dir / "m.csv");
  ASSERT_EQ(rows.size(), 2u) << read_bytes(dir / "m.csv");
  auto west = find_row(rows, "name", "west", "all"), east = find_row(rows, "name", "east", "all");
  EXPECT_EQ(num(west, "n"), 3);
  EXPECT_NEAR(num(west, "bias"), 1.0 / 3, 1e-5);
  EXPECT_NEAR(num(west, "mae"), 1.0 / 3, 1e-5);
  EXPECT_NEAR(num(west, "rmse"), std::sqrt(1.0 / 3), 1e-5);
  EXPECT_EQ(num(west, "sum_e2"), 1);
  EXPECT_EQ(num(west, "hits_4"), 1);
  EXPECT_EQ(num(west, "correct_negatives_4"), 2);
  EXPECT_EQ(num(east, "n"), 3);
  EXPECT_NEAR(num(east, "bias"), -1.0 / 3, 1e-5);
  EXPECT_NEAR(num(east, "mae"), 1, 1e-5);
  EXPECT_NEAR(num(east, "rmse"), std::sqrt(5.0 / 3), 1e-5);
  EXPECT_EQ(num(east, "hits_4"), 2);
  EXPECT_EQ(num(east, "misses_4"), 1);
  EXPECT_NEAR(num(east, "pod_4"), 2.0 / 3, 1e-5);
  const std::string json = read_bytes(dir / "m.json");
  EXPECT_NE(json.find("\"pairs\": 7,\n  \"pairs_outside_masks\": 1,"), std::string::npos) << json;
  // The GeoPackage layer: one feature per mask with the overall columns, read back by OGR.
  const auto layer =
      run_command(kPy + "-c \"from osgeo import ogr; d = ogr.Open('" + (dir / "m.gpkg") +
                  "'); l = d.GetLayer('verification'); print(' "
                  "'.join(f'{f[\\\"name\\\"]}:{f[\\\"n\\\"]}:{f[\\\"hits_4\\\"]}' for f in l))\"");
  EXPECT_EQ(layer.output, "west:3:1 east:3:2\n") << layer.output;

  // Grid to station (nearest cell). west: s1 f 1 o 1.5, s2 f 6 o 4 → errors −0.5, 2; east: s3 f 3 o 3,
  // s5 f 4 o 2 → errors 0, 2; s4 (f 8, o 9) is in no mask.
  write_text(dir / "job.yaml",
             tiny_job("stations: obs.csv, masks: regions, mask_id_field: name, thresholds: [4]"));
  r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  rows = read_csv(dir / "m.csv");
  west = find_row(rows, "name", "west", "all"), east = find_row(rows, "name", "east", "all");
  EXPECT_EQ(num(west, "n"), 2);
  EXPECT_NEAR(num(west, "bias"), 0.75, 1e-5);
  EXPECT_NEAR(num(west, "mae"), 1.25, 1e-5);
  EXPECT_NEAR(num(west, "rmse"), std::sqrt(2.125), 1e-5);
  EXPECT_EQ(num(west, "hits_4"), 1);
  EXPECT_EQ(num(west, "correct_negatives_4"), 1);
  EXPECT_EQ(num(east, "n"), 2);
  EXPECT_NEAR(num(east, "bias"), 1, 1e-5);
  EXPECT_NEAR(num(east, "rmse"), std::sqrt(2.0), 1e-5);
  EXPECT_EQ(num(east, "false_alarms_4"), 1);
  EXPECT_EQ(num(east, "correct_negatives_4"), 1);
  EXPECT_NE(read_bytes(dir / "m.json").find("\"pairs\": 5,\n  \"pairs_outside_masks\": 1,"),
            std::string::npos);
  EXPECT_NE(r.output.find("1 of 5 pairs lie in no mask"), std::string::npos) << r.output;
}

namespace {

// 300 stations × 4 leads over 60 × 60 cells of 2.5 km (verify_reference.py make) and three polygons.
void make_data(const TempDir& dir) {
  auto r = run_command(kVerify + "make " + dir.path().string() + " 300 4 60 EPSG:4547 2500 -150000 3800000");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command(kMasks + "polygons " + dir.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

std::string two_jobs(const std::string& by, const std::string& prefix) {
  return "job: m\ninputs:\n  fc: {path: fc.tif}\n  masks: {path: masks.geojson}\nsteps:\n" + prefix +
         "  - {id: g, kind: met.verify, forecast: fc.b1, observation: fc.b2, thresholds: [0.5, 5, 20], "
         "fss_windows: [1, 3, 5], " +
         by +
         "}\n"
         "  - {id: s, kind: met.verify, forecasts: [fc], leads: [1, 2, 3, 4], stations: obs.csv, "
         "thresholds: [0.5, 5, 20], " +
         by +
         "}\n"
         "outputs:\n  - {from: g, path: g.json, format: json}\n  - {from: g, path: g_masks.json, format: "
         "mask_json}\n"
         "  - {from: g, path: g_masks.csv, format: mask_csv}\n  - {from: s, path: s.json, format: json}\n"
         "  - {from: s, path: s_masks.json, format: mask_json}\n  - {from: s, path: s_masks.gpkg, format: "
         "gpkg}\n";
}

void expect_matches_reference(const TempDir& dir, const std::string& masks, const std::string& id_field,
                              int rows) {
  const auto out = run_command(kMasks + "compare " + dir.path().string() + " " + masks + " " + id_field +
                               " 0.5,5,20 1,3,5 " + (dir / "g_masks.json") + " " + (dir / "s_masks.json"));
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_EQ(field(out.output, "COUNTS"), 1) << out.output;
  EXPECT_LT(field(out.output, "SUMDIFF"), 1e-12) << out.output;  // sums stored with 17 digits
  EXPECT_LT(field(out.output, "FSSDIFF"), 1e-9) << out.output;
  EXPECT_EQ(field(out.output, "ROWS"), rows) << out.output;
  // Disjoint masks covering the grid: their sums add up to the overall sums, per lead too.
  for (const char* step : {"g", "s"}) {
    const auto agg = run_command(kMasks + "aggregate " + (dir / (std::string(step) + "_masks.json")) + " " +
                                 (dir / (std::string(step) + ".json")));
    ASSERT_EQ(agg.exit_code, 0) << agg.output;
    EXPECT_EQ(field(agg.output, "AGGCOUNTS"), 1) << step << " " << agg.output;
    EXPECT_LT(field(agg.output, "AGGDIFF"), 1e-12) << step << " " << agg.output;
    EXPECT_EQ(field(agg.output, "AGGROWS"), std::string(step) == "s" ? 5 : 1) << agg.output;
  }
}

}  // namespace

// Three polygons (one with a hole, one around it) covering the grid: every sum per mask equals the
// OGR + numpy reference, for 1 and 2 threads alike; the overall outputs are byte-identical to a run
// without masks.
TEST(MetVerifyMasks, PolygonMasksMatchOgrNumpyAndAddUp) {
  TempDir dir;
  make_data(dir);
  write_text(dir / "job.yaml", two_jobs("masks: masks, mask_id_field: name", ""));
  std::string first;
  for (const char* threads : {"1", "2"}) {
    const auto r = run_qinling("run " + (dir / "job.yaml") + " --force --threads " + threads);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    expect_matches_reference(dir, dir / "masks.geojson", "name", 3 + 3 * 5);
    const std::string bytes = read_bytes(dir / "g_masks.json") + read_bytes(dir / "s_masks.json");
    if (first.empty()) first = bytes;
    EXPECT_EQ(bytes, first) << "thread count changed the per-mask sums";
  }
  const std::string with_g = read_bytes(dir / "g.json"), with_s = read_bytes(dir / "s.json");
  std::string plain = two_jobs("variable: other", "");
  for (const char* per_mask : {"  - {from: g, path: g_masks.json, format: mask_json}\n",
                               "  - {from: g, path: g_masks.csv, format: mask_csv}\n",
                               "  - {from: s, path: s_masks.json, format: mask_json}\n",
                               "  - {from: s, path: s_masks.gpkg, format: gpkg}\n"})
    plain.erase(plain.find(per_mask), std::string(per_mask).size());
  write_text(dir / "job.yaml", plain);
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_bytes(dir / "g.json"), with_g);
  EXPECT_EQ(read_bytes(dir / "s.json"), with_s);
}

// Per supervision cell (grid.build, 10 km cells over the 150 km grid): the sums equal the reference
// computed on the cells the job wrote, and the GeoPackage layer has the same cell IDs.
TEST(MetVerifyMasks, SupervisionCellsMatchReferenceAndJoinByCellId) {
  TempDir dir;
  make_data(dir);
  write_text(dir / "job.yaml",
             two_jobs("cells: grid", "  - {id: grid, kind: grid.build, cell_size: 10000, crs: EPSG:4547}\n") +
                 "  - {from: grid, path: cells.gpkg, format: gpkg}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_matches_reference(dir, dir / "cells.gpkg", "cell_id", 225 + 225 * 5);
  const std::string ids =
      "import sys\nfrom osgeo import ogr\n"
      "da, db = ogr.Open(sys.argv[1]), ogr.Open(sys.argv[2])\n"
      "a = [f['cell_id'] for f in da.GetLayer(0)]\nb = [f['cell_id'] for f in db.GetLayer('verification')]\n"
      "print('SAME', int(a == b), 'CELLS', len(a))\n";
  write_text(dir / "ids.py", ids);
  const auto out =
      run_command(kPy + (dir / "ids.py") + " " + (dir / "cells.gpkg") + " " + (dir / "s_masks.gpkg"));
  EXPECT_EQ(field(out.output, "SAME"), 1) << out.output;
  EXPECT_EQ(field(out.output, "CELLS"), 225) << out.output;
  // The CSV's first column is the cells' ID column, so it joins the supervision table.
  EXPECT_EQ(read_bytes(dir / "g_masks.csv").rfind("cell_id,lead,n,bias,", 0), 0u);
}

TEST(MetVerifyMasks, InconsistentMaskOptionsAreJobErrors) {
  TempDir dir;
  make_tiny(dir);
  const std::pair<std::string, std::string> cases[] = {
      {"observation: obs, masks: regions, cells: regions", "at most one of `cells`"},
      {"observation: obs, mask_id_field: name", "`mask_id_field` goes with `masks`"},
      {"observation: obs, masks: nowhere", "'nowhere' is not a vector input"},
      {"observation: obs, cells: fc", "is not a cell-table step"},
  };
  for (const auto& [step, message] : cases) {
    write_text(dir / "job.yaml", tiny_job(step));
    const auto r = run_qinling("validate " + (dir / "job.yaml"));
    EXPECT_EQ(r.exit_code, 2) << step << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << step << "\n" << r.output;
  }
  // A per-mask output without masks; an id field the polygons do not have.
  write_text(dir / "job.yaml", tiny_job("observation: obs"));
  auto r = run_qinling("run " + (dir / "job.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is a per-mask table; give `cells`"), std::string::npos) << r.output;
  write_text(dir / "job.yaml", tiny_job("observation: obs, masks: regions, mask_id_field: county"));
  r = run_qinling("run " + (dir / "job.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("regions.geojson"), std::string::npos) << r.output;
}

#ifdef QINLING_MPIEXEC
// Under mpirun a step with masks runs on rank 0 alone (its sums are not split between ranks): it must
// not wait in an exchange the other ranks never join, and gives the bytes of a plain run.
TEST(MetVerifyMasks, UnderMpiRankZeroAloneGivesTheSameBytes) {
  TempDir dir;
  make_tiny(dir);
  write_text(dir / "job.yaml",
             tiny_job("observation: obs, masks: regions, mask_id_field: name, thresholds: [4]"));
  auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string one = read_bytes(dir / "m.csv") + read_bytes(dir / "m.json") + read_bytes(dir / "v.json");
  std::string cmd = std::string("timeout 120 ") + QINLING_MPIEXEC + " --oversubscribe --bind-to none -n 2 ";
  if (::geteuid() == 0) cmd += "--allow-run-as-root ";
  r = run_command("QINLING_STORE=none " + cmd + QINLING_BIN + " run " + (dir / "job.yaml") + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;  // 124: a rank waited forever
  EXPECT_EQ(read_bytes(dir / "m.csv") + read_bytes(dir / "m.json") + read_bytes(dir / "v.json"), one);
}
#endif

// Grid to grid per lead (`forecasts` + `observations` + `leads`), with FSS and masks: each lead's sums
// and FSS sums equal a run of that lead alone (whose FSS the brute-force test above checks), the
// overall sums are the leads pooled, and the masks add up per lead. Bad combinations are job errors.
TEST(MetVerifyMasks, GridPerLeadFssEqualsSingleRunsAndPools) {
  TempDir dir;
  make_data(dir);
  std::string job =
      "job: l\ninputs:\n  fc: {path: fc.tif}\n  masks: {path: masks.geojson}\nsteps:\n"
      "  - {id: g, kind: met.verify, forecasts: [fc.b1, fc.b2, fc.b3], observations: [fc.b2, fc.b3, fc.b4], "
      "leads: [6, 12, 18], thresholds: [0.5, 5, 20], fss_windows: [1, 3, 5], masks: masks, mask_id_field: "
      "name}\n";
  std::string outputs =
      "outputs:\n  - {from: g, path: l.json, format: json}\n  - {from: g, path: l.csv, format: csv}\n"
      "  - {from: g, path: l_masks.json, format: mask_json}\n";
  for (int i = 1; i <= 3; ++i) {
    job += "  - {id: g" + std::to_string(i) + ", kind: met.verify, forecast: fc.b" + std::to_string(i) +
           ", observation: fc.b" + std::to_string(i + 1) +
           ", thresholds: [0.5, 5, 20], fss_windows: [1, 3, 5]}\n";
    outputs +=
        "  - {from: g" + std::to_string(i) + ", path: l" + std::to_string(i) + ".json, format: json}\n";
  }
  write_text(dir / "job.yaml", job + outputs);
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto out = run_command(kMasks + "leads " + (dir / "l.json") + " " + (dir / "l1.json") + " " +
                         (dir / "l2.json") + " " + (dir / "l3.json"));
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_EQ(field(out.output, "LEADCOUNTS"), 1) << out.output;
  EXPECT_LT(field(out.output, "LEADDIFF"), 1e-12) << out.output;
  EXPECT_EQ(field(out.output, "LEADS"), 3) << out.output;
  out = run_command(kMasks + "aggregate " + (dir / "l_masks.json") + " " + (dir / "l.json"));
  EXPECT_EQ(field(out.output, "AGGCOUNTS"), 1) << out.output;
  EXPECT_LT(field(out.output, "AGGDIFF"), 1e-12) << out.output;
  EXPECT_EQ(field(out.output, "AGGROWS"), 4) << out.output;
  const std::string csv = read_bytes(dir / "l.csv");
  EXPECT_NE(csv.find("\nall,fss,20,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n18,fss,5,"), std::string::npos) << csv;

  const std::pair<std::string, std::string> cases[] = {
      {"forecast: fc.b1, observations: [fc.b2]", "`observations` go with `forecasts`"},
      {"forecasts: [fc.b1, fc.b2], leads: [1, 2], observations: [fc.b3]", "1 observed layers for 2 forecast"},
      {"forecasts: [fc.b1], leads: [1], observations: [fc.b3], observation: fc.b2",
       "exactly one of `observation`"},
  };
  for (const auto& [step, message] : cases) {
    write_text(
        dir / "job.yaml",
        "job: e\ninputs:\n  fc: {path: fc.tif}\nsteps:\n  - {id: v, kind: met.verify, " + step + "}\n");
    const auto v = run_qinling("validate " + (dir / "job.yaml"));
    EXPECT_EQ(v.exit_code, 2) << step << "\n" << v.output;
    EXPECT_NE(v.output.find(message), std::string::npos) << step << "\n" << v.output;
  }
}
