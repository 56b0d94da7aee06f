#include "pipeline/run_report.hpp"

#include <cpl_conv.h>
#include <gdal_utils.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "pipeline/run_record.hpp"
#include "pipeline/stac_item.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class WarningSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (msg.level >= spdlog::level::warn) lines.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}
};

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A step's thread time in the pixel pass, or empty for products and reused steps.
std::string cpu_cell(const json& step) {
  if (!step.contains("cpu_seconds")) return {};
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", step["cpu_seconds"].get<double>());
  return text;
}

// A PNG of band 1 stretched over its (approximate) range, at most 256 pixels wide; nodata is
// transparent. Returns false (and the report says so) when GDAL cannot make it.
bool write_thumbnail(const std::string& raster, const std::string& png) {
  try {
    auto ds = raster::open_raster(raster);
    GDALRasterBandH band = GDALGetRasterBand(ds.get(), 1);
    double minmax[2] = {0, 1};
    if (GDALComputeRasterMinMax(band, TRUE, minmax) != CE_None || !std::isfinite(minmax[0])) return false;
    if (minmax[1] <= minmax[0]) minmax[1] = minmax[0] + 1;
    const int width = std::min(256, GDALGetRasterXSize(ds.get()));
    const std::string w = std::to_string(width), lo = std::to_string(minmax[0]), hi = std::to_string(minmax[1]);
    const char* args[] = {"-of", "PNG", "-b", "1", "-ot", "Byte", "-outsize", w.c_str(), "0", "-r", "average",
                          "-scale", lo.c_str(), hi.c_str(), "1", "255", "-a_nodata", "0", nullptr};
    GDALTranslateOptions* opts = GDALTranslateOptionsNew(const_cast<char**>(args), nullptr);
    const std::string tmp = png + ".partial-" + std::to_string(::getpid()) + ".png";
    // No .aux.xml beside the thumbnail.
    CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", "NO");
    GDALDatasetH out = GDALTranslate(tmp.c_str(), ds.get(), opts, nullptr);
    CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", nullptr);
    GDALTranslateOptionsFree(opts);
    if (out == nullptr) return false;
    GDALClose(out);
    std::error_code ec;
    fs::rename(tmp, png, ec);
    if (ec) fs::remove(tmp, ec);
    return !ec;
  } catch (const std::exception& e) {
    spdlog::debug("no thumbnail for {}: {}", raster, e.what());
    return false;
  }
}

bool is_raster(const std::string& path) {
  const auto ext = fs::path(path).extension().string();
  return ext == ".tif" || ext == ".tiff";
}

}  // namespace

WarningCollector::WarningCollector() {
  auto sink = std::make_shared<WarningSink>();
  spdlog::default_logger()->sinks().push_back(sink);
  sink_ = sink;
}

WarningCollector::~WarningCollector() {
  auto& sinks = spdlog::default_logger()->sinks();
  const auto mine = std::static_pointer_cast<spdlog::sinks::sink>(std::static_pointer_cast<WarningSink>(sink_));
  sinks.erase(std::remove(sinks.begin(), sinks.end(), mine), sinks.end());
}

std::vector<std::string> WarningCollector::lines() const { return std::static_pointer_cast<WarningSink>(sink_)->lines; }

std::string report_path(const std::string& out_dir, const std::string& job_name) {
  std::string p = stac_collection_path(out_dir, job_name);
  return p.substr(0, p.size() - std::string(".collection.json").size()) + ".report.html";
}

std::string write_run_report(const RunSummary& r) {
  const std::string html_path = report_path(r.out_dir, r.job_name);
  const std::string stem = html_path.substr(0, html_path.size() - 5);  // without .html
  const fs::path thumbs = stem;                                          // <job>.report/
  const fs::path folder = fs::path(html_path).parent_path();

  json j = {{"job", r.job_name},       {"job_file", r.job_file}, {"run", r.run_id},
            {"state", r.state},        {"started", iso_utc(r.started)}, {"seconds", r.seconds},
            {"windows", r.windows},    {"program_version", program_version()},
            {"warnings", r.warnings},  {"steps", json::array()}, {"phases", json::array()},
            {"outputs", json::array()}};
  if (!r.collection.empty()) j["stac_collection"] = fs::path(r.collection).lexically_relative(folder).string();
  if (r.decisions != nullptr) {
    for (const auto& s : r.decisions->steps) {
      json st = {{"id", s.id}, {"kind", s.kind}, {"state", s.state}, {"key", s.key}, {"outputs", s.outputs}};
      if (s.from_run > 0) st["from_run"] = s.from_run;
      if (const auto t = r.step_cpu_seconds.find(s.id); t != r.step_cpu_seconds.end()) st["cpu_seconds"] = t->second;
      j["steps"].push_back(st);
    }
    j["computed"] = r.decisions->ids("computed");
    j["cached"] = r.decisions->ids("cached");
  }
  for (const auto& p : r.phases) j["phases"].push_back({{"phase", p.label}, {"seconds", p.seconds}});
  if (!r.step_cpu_seconds.empty()) j["pass_read_cpu_seconds"] = r.pass_read_seconds;
  for (const auto& o : r.outputs) {
    json oj = {{"path", o.path}, {"sha256", o.sha256}, {"size", o.size}};
    std::error_code ec;
    if (is_raster(o.path) && fs::is_regular_file(o.path, ec)) {
      fs::create_directories(thumbs, ec);
      const fs::path png = thumbs / (fs::path(o.path).stem().string() + ".png");
      if (write_thumbnail(o.path, png.string())) oj["thumbnail"] = png.lexically_relative(folder).string();
    }
    j["outputs"].push_back(oj);
  }
  write_file_atomically(stem + ".json", j.dump(2) + "\n");

  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>qinling run " +
                  std::to_string(r.run_id) + " — " + html_escape(r.job_name) +
                  "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
                  "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}img{max-width:256px;"
                  "background:repeating-conic-gradient(#eee 0 25%,#fff 0 50%) 0 0/16px 16px}"
                  ".cached{color:#777}.warn{color:#a60}</style></head><body>\n";
  char line[256];
  std::snprintf(line, sizeof line, "%s, %.1f s, %zu window(s) of raster work", r.state.c_str(), r.seconds, r.windows);
  h += "<h1>Job " + html_escape(r.job_name) + ", run " + (r.run_id > 0 ? std::to_string(r.run_id) : "(not recorded)") +
       "</h1>\n<p>" + html_escape(line) + "; started " + iso_utc(r.started) + "; qinling " + program_version() +
       "; job file <code>" + html_escape(r.job_file) + "</code></p>\n";
  if (!r.collection.empty())
    h += "<p>STAC Collection: <a href=\"" + html_escape(j["stac_collection"].get<std::string>()) + "\">" +
         html_escape(fs::path(r.collection).filename().string()) + "</a></p>\n";
  h += "<h2>Steps</h2>\n<table><tr><th>step</th><th>kind</th><th>state</th><th>thread time in the pixel pass "
       "(s)</th></tr>\n";
  for (const auto& s : j["steps"]) {
    std::string state = s["state"].get<std::string>();
    if (s.contains("from_run")) state += " (from run " + std::to_string(s["from_run"].get<std::int64_t>()) + ")";
    h += "<tr class=\"" + s["state"].get<std::string>() + "\"><td>" + html_escape(s["id"]) + "</td><td>" +
         html_escape(s["kind"]) + "</td><td>" + html_escape(state) + "</td><td>" + cpu_cell(s) + "</td></tr>\n";
  }
  if (j.contains("pass_read_cpu_seconds")) {
    std::snprintf(line, sizeof line, "%.2f", j["pass_read_cpu_seconds"].get<double>());
    h += "<tr><td colspan=\"3\">reading, masking and mosaicking inputs</td><td>" + std::string(line) + "</td></tr>\n";
  }
  h += "</table>\n<h2>Timings</h2>\n<table><tr><th>phase</th><th>seconds</th></tr>\n";
  for (const auto& p : r.phases) {
    std::snprintf(line, sizeof line, "%.2f", p.seconds);
    h += "<tr><td>" + html_escape(p.label) + "</td><td>" + line + "</td></tr>\n";
  }
  h += "</table>\n<h2>Warnings</h2>\n";
  if (r.warnings.empty()) h += "<p>none</p>\n";
  for (const auto& w : r.warnings) h += "<p class=\"warn\">" + html_escape(w) + "</p>\n";
  h += "<h2>Outputs</h2>\n<table><tr><th>output</th><th>size</th><th>SHA-256</th><th>preview</th></tr>\n";
  for (const auto& o : j["outputs"]) {
    const std::string p = o["path"];
    const std::string rel = fs::path(p).lexically_relative(folder).string();
    h += "<tr><td><a href=\"" + html_escape(rel) + "\">" + html_escape(rel) + "</a></td><td>" +
         std::to_string(o["size"].get<std::int64_t>()) + "</td><td><code>" + html_escape(o["sha256"]) +
         "</code></td><td>" +
         (o.contains("thumbnail") ? "<img src=\"" + html_escape(o["thumbnail"]) + "\" alt=\"" + html_escape(rel) + "\">"
                                  : std::string()) +
         "</td></tr>\n";
  }
  h += "</table>\n</body></html>\n";
  write_file_atomically(html_path, h);
  return html_path;
}

}  // namespace qinling::pipeline
