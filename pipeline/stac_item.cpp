#include "pipeline/stac_item.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>

#include "models/errors.hpp"
#include "pipeline/run_record.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

std::string iso_utc(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

json yaml_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    json j = json::object();
    for (const auto& kv : n) j[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    json j = json::array();
    for (const auto& v : n) j.push_back(yaml_to_json(v));
    return j;
  }
  if (n.IsScalar()) return n.Scalar();
  return nullptr;
}

struct TransformDeleter {
  void operator()(OGRCoordinateTransformation* t) const { OGRCoordinateTransformation::DestroyCT(t); }
};

// The raster's outline (densified edges, so curved edges after reprojection stay inside) in
// WGS84 longitude/latitude.
json footprint(GDALDataset& ds, const OGRSpatialReference& srs, json& bbox) {
  double gt[6];
  if (ds.GetGeoTransform(gt) != CE_None)
    throw ProcessingError(std::string(ds.GetDescription()) + " has no geotransform");
  OGRSpatialReference wgs84;
  wgs84.importFromEPSG(4326);
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  OGRSpatialReference src(srs);
  src.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<OGRCoordinateTransformation, TransformDeleter> ct(
      OGRCreateCoordinateTransformation(&src, &wgs84));
  if (!ct) throw ProcessingError(std::string(ds.GetDescription()) + ": cannot transform its CRS to WGS84");
  const int w = ds.GetRasterXSize(), h = ds.GetRasterYSize(), n = 16;
  std::vector<double> xs, ys;
  auto edge = [&](double c0, double r0, double c1, double r1) {
    for (int i = 0; i < n; ++i) {
      const double c = c0 + (c1 - c0) * i / n, r = r0 + (r1 - r0) * i / n;
      xs.push_back(gt[0] + c * gt[1] + r * gt[2]);
      ys.push_back(gt[3] + c * gt[4] + r * gt[5]);
    }
  };
  // Counter-clockwise on the map (right-hand rule of RFC 7946) for a north-up raster.
  edge(0, 0, 0, h);
  edge(0, h, w, h);
  edge(w, h, w, 0);
  edge(w, 0, 0, 0);
  if (!ct->Transform(xs.size(), xs.data(), ys.data()))
    throw ProcessingError(std::string(ds.GetDescription()) + ": footprint transform to WGS84 failed");
  json ring = json::array();
  for (std::size_t i = 0; i < xs.size(); ++i) ring.push_back({xs[i], ys[i]});
  ring.push_back(ring.front());
  bbox = {*std::min_element(xs.begin(), xs.end()), *std::min_element(ys.begin(), ys.end()),
          *std::max_element(xs.begin(), xs.end()), *std::max_element(ys.begin(), ys.end())};
  return {{"type", "Polygon"}, {"coordinates", json::array({ring})}};
}

}  // namespace

std::string stac_item_path(const std::string& raster_path) {
  const fs::path p(raster_path);
  return (p.parent_path() / (p.stem().string() + ".stac.json")).string();
}

json make_stac_item(const std::string& raster_path, const StacContext& ctx) {
  auto ds = raster::open_raster(raster_path);
  const OGRSpatialReference* srs = ds->GetSpatialRef();
  if (srs == nullptr) throw ProcessingError(raster_path + " has no CRS; cannot write its STAC item");
  json bbox;
  json geometry = footprint(*ds, *srs, bbox);
  double gt[6];
  ds->GetGeoTransform(gt);

  json props = {{"datetime", iso_utc(ctx.datetime)},
                {"created", iso_utc(ctx.datetime)},
                {"proj:shape", {ds->GetRasterYSize(), ds->GetRasterXSize()}},
                {"proj:transform", {gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]}},
                {"processing:software", {{"qinling", program_version()}}},
                {"processing:lineage", "qinling run of job '" + ctx.plan.job.name + "'"},
                {"qinling:job", ctx.plan.job.name},
                {"qinling:job_file", ctx.plan.job.file}};
  OGRSpatialReference id_srs(*srs);
  id_srs.AutoIdentifyEPSG();
  const char* auth = id_srs.GetAuthorityName(nullptr);
  const char* code = id_srs.GetAuthorityCode(nullptr);
  if (auth != nullptr && code != nullptr && std::string(auth) == "EPSG") {
    props["proj:epsg"] = std::stoi(code);
  } else {
    props["proj:epsg"] = nullptr;
    char* wkt = nullptr;
    const char* opts[] = {"FORMAT=WKT2_2019", nullptr};
    srs->exportToWkt(&wkt, opts);
    props["proj:wkt2"] = wkt ? wkt : "";
    CPLFree(wkt);
  }
  if (ctx.run_id > 0) props["qinling:run"] = ctx.run_id;
  json inputs = json::object();
  for (const auto& in : ctx.plan.job.inputs) {
    json j = json::object();
    if (!in.path.empty()) j["path"] = in.path;
    for (const auto& b : in.bands) j["bands"][b.name] = {{"path", b.path}, {"band", b.band}};
    inputs[in.name] = j;
  }
  props["qinling:inputs"] = inputs;
  json steps = json::array();
  for (const auto& s : ctx.plan.job.steps) steps.push_back(yaml_to_json(s.node));
  props["qinling:steps"] = steps;

  std::string type = "image/tiff; application=geotiff";
  if (ctx.format == "cog") type += "; profile=cloud-optimized";
  json asset = {{"href", "./" + fs::path(raster_path).filename().string()},
                {"type", type},
                {"title", fs::path(raster_path).filename().string()},
                {"roles", {"data"}}};
  if (!ctx.sha256.empty())
    asset["file:checksum"] = "1220" + ctx.sha256;  // multihash: sha2-256 (0x12), 32 bytes
  if (ctx.size > 0) asset["file:size"] = ctx.size;

  // Relative links, so the folder can be moved or served as it is.
  const fs::path folder = fs::absolute(raster_path).parent_path();
  const std::string to_collection =
      fs::path(stac_collection_path(ctx.plan.out_dir, ctx.plan.job.name)).lexically_relative(folder).string();
  const std::string collection_href = to_collection.rfind("../", 0) == 0 ? to_collection : "./" + to_collection;
  json links = json::array(
      {{{"rel", "self"}, {"href", "./" + fs::path(stac_item_path(raster_path)).filename().string()},
        {"type", "application/geo+json"}}});
  for (const char* rel : {"collection", "parent", "root"})
    links.push_back({{"rel", rel}, {"href", collection_href}, {"type", "application/json"}});
  return {
      {"type", "Feature"},
      {"stac_version", "1.0.0"},
      {"stac_extensions",
       {"https://stac-extensions.github.io/projection/v1.1.0/schema.json",
        "https://stac-extensions.github.io/file/v2.1.0/schema.json",
        "https://stac-extensions.github.io/processing/v1.1.0/schema.json"}},
      {"id", ctx.plan.job.name + "-" + fs::path(raster_path).stem().string()},
      {"geometry", geometry},
      {"bbox", bbox},
      {"properties", props},
      {"collection", ctx.plan.job.name},
      {"links", links},
      {"assets", {{"data", asset}}}};
}

void write_stac_item(const std::string& raster_path, const StacContext& ctx) {
  write_file_atomically(stac_item_path(raster_path), make_stac_item(raster_path, ctx).dump(2) + "\n");
}

std::string stac_collection_path(const std::string& out_dir, const std::string& job_name) {
  std::string safe = job_name.empty() ? "job" : job_name;
  for (char& c : safe)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return (fs::path(out_dir) / (safe + ".collection.json")).lexically_normal().string();
}

std::string write_stac_collection(const Plan& plan, const std::vector<std::string>& raster_outputs,
                                  std::int64_t datetime, std::int64_t run_id) {
  const std::string path = stac_collection_path(plan.out_dir, plan.job.name);
  const fs::path folder = fs::path(path).parent_path();
  json links = json::array({{{"rel", "self"}, {"href", "./" + fs::path(path).filename().string()}, {"type", "application/json"}},
                            {{"rel", "root"}, {"href", "./" + fs::path(path).filename().string()}, {"type", "application/json"}}});
  double w = 180, s = 90, e = -180, n = -90;
  std::string first, last;
  for (const auto& r : raster_outputs) {
    const std::string item_path = stac_item_path(r);
    std::ifstream f(item_path);
    if (!f) continue;
    json item;
    try {
      item = json::parse(f);
    } catch (const json::exception&) {
      continue;  // a damaged item is rewritten when its output is recomputed
    }
    const auto& b = item.at("bbox");
    w = std::min(w, b[0].get<double>()), s = std::min(s, b[1].get<double>());
    e = std::max(e, b[2].get<double>()), n = std::max(n, b[3].get<double>());
    const std::string t = item["properties"].value("datetime", "");
    if (first.empty() || t < first) first = t;
    if (last.empty() || t > last) last = t;
    std::string href = fs::path(item_path).lexically_relative(folder).string();
    if (href.rfind("../", 0) != 0) href = "./" + href;
    links.push_back({{"rel", "item"}, {"href", href}, {"type", "application/geo+json"},
                     {"title", item.value("id", fs::path(r).filename().string())}});
  }
  if (first.empty()) first = last = iso_utc(datetime);
  if (w > e) w = -180, s = -90, e = 180, n = 90;  // no item: the whole world, as the spec advises
  json c = {{"type", "Collection"},
            {"stac_version", "1.0.0"},
            {"stac_extensions", json::array({"https://stac-extensions.github.io/processing/v1.1.0/schema.json"})},
            {"id", plan.job.name},
            {"title", "qinling job '" + plan.job.name + "'"},
            {"description", "Outputs of the qinling job '" + plan.job.name + "' (" + plan.job.file +
                                "), as of run " + (run_id > 0 ? std::to_string(run_id) : std::string("(not recorded)")) + "."},
            {"license", "proprietary"},
            {"extent", {{"spatial", {{"bbox", json::array({json::array({w, s, e, n})})}}},
                        {"temporal", {{"interval", json::array({json::array({first, last})})}}}}},
            {"processing:software", {{"qinling", program_version()}}},
            {"qinling:run", run_id},
            {"links", links}};
  write_file_atomically(path, c.dump(2) + "\n");
  return path;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".partial-" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f.flush()) {
      f.close();
      std::error_code ec;
      fs::remove(tmp, ec);
      throw ProcessingError("cannot write " + tmp);
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw ProcessingError("cannot rename " + tmp + " to " + path);
  }
}

}  // namespace qinling::pipeline
