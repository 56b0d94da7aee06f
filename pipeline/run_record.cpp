#include "pipeline/run_record.hpp"

#include <openssl/evp.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "models/errors.hpp"
#include "pipeline/stac_item.hpp"
#include "pipeline/utf8.hpp"

#ifndef QINLING_VERSION
#define QINLING_VERSION "0.0.0"
#endif

namespace qinling::pipeline {
namespace fs = std::filesystem;

const char* program_version() { return QINLING_VERSION; }

namespace {

struct EvpCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~EvpCtx() { EVP_MD_CTX_free(ctx); }
};

class Sha256 {
 public:
  Sha256() {
    if (ctx_.ctx == nullptr || EVP_DigestInit_ex(ctx_.ctx, EVP_sha256(), nullptr) != 1)
      throw ProcessingError("SHA-256 is not available (OpenSSL)");
  }
  void update(const void* p, std::size_t n) { EVP_DigestUpdate(ctx_.ctx, p, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.ctx, md, &n);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) out += {digits[md[i] >> 4], digits[md[i] & 15]};
    return out;
  }

 private:
  EvpCtx ctx_;
};

// Copies every log line of the run into the store, so `qinling logs RUN` shows what the user saw.
class StoreSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  StoreSink(JobStore& store, std::int64_t run_id) : store_(store), run_id_(run_id) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    try {
      store_.add_log(run_id_, std::string(spdlog::level::to_string_view(msg.level).data()),
                     std::string(msg.payload.data(), msg.payload.size()));
    } catch (const std::exception&) {  // a busy store must not break the run; the line is lost
    }
  }
  void flush_() override {}

 private:
  JobStore& store_;
  std::int64_t run_id_;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// The job's name for a file that did not plan: its `job:` value when the text gives one in
// UTF-8, else the file name (the store's rows end up in JSON, which holds UTF-8 only).
std::string job_name_of(const std::string& job_file, const std::string& content) {
  std::string name;
  try {
    const YAML::Node root = YAML::Load(content);
    if (root.IsMap() && root["job"] && root["job"].IsScalar()) name = root["job"].as<std::string>();
  } catch (const std::exception&) {  // not YAML: the file name below
  }
  if (name.empty() || first_non_utf8_line(name) != 0) name = fs::path(job_file).stem().string();
  if (first_non_utf8_line(name) != 0) name = "(job file not UTF-8)";
  return name;
}

}  // namespace

void record_planning_failure(const std::string& job_file, const RecordOptions& options, int exit_code,
                             const std::string& message) {
  const std::string path = default_store_path(options.store);
  if (path == "none") return;
  try {
    JobStore store(path);
    std::int64_t run_id = options.run_id;
    if (run_id > 0) {
      if (!store.run(run_id)) throw ProcessingError("run " + std::to_string(run_id) + " is not in the store");
    } else {
      std::error_code ec;
      const std::string file = fs::absolute(job_file, ec).lexically_normal().string();
      const std::string content = read_file(job_file);
      const std::string name = job_name_of(job_file, content);
      const auto known = store.job(name);
      // A stored job keeps its file: a broken edit run by hand must not replace what a schedule runs.
      const std::int64_t job_id =
          known && known->name == name ? known->id : store.upsert_job(name, file, content, sha256_text(content));
      run_id = store.create_run(job_id, "running", JobStore::now(), "run");
    }
    store.add_log(run_id, "error", message);
    store.finish_run(run_id, "failed", exit_code, message);
  } catch (const std::exception& e) {
    spdlog::warn("job store unavailable, the failed run is not recorded: {}", e.what());
  }
}

std::string sha256_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ProcessingError("cannot read " + path + " to checksum it");
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (f) {
    f.read(buf.data(), std::streamsize(buf.size()));
    h.update(buf.data(), std::size_t(f.gcount()));
  }
  return h.hex();
}

std::string sha256_text(const std::string& text) {
  Sha256 h;
  h.update(text.data(), text.size());
  return h.hex();
}

std::string run_fingerprint(const Plan& plan) {
  std::string key = std::string("qinling ") + program_version() + "\njob " +
                    sha256_text(read_file(plan.job.file)) + "\nout " + plan.out_dir + "\n";
  std::set<std::string> files;
  for (const auto& [path, info] : plan.files) files.insert(path);
  for (const auto& [name, path] : plan.vector_inputs) files.insert(path);
  for (const auto& [name, frames] : plan.frame_inputs) files.insert(frames.begin(), frames.end());
  for (const auto& in : plan.job.inputs) {
    if (!in.path.empty()) files.insert(in.path);
    for (const auto& b : in.bands) files.insert(b.path);
  }
  for (const auto& f : files) key += "input " + file_identity(f) + "\n";
  for (const auto& [id, k] : step_keys(plan)) key += "step " + id + " " + k + "\n";
  return sha256_text(key);
}

RunRecorder::RunRecorder(const Plan& plan, const RecordOptions& options) : plan_(plan), options_(options) {
  started_ = JobStore::now();
  fingerprint_ = run_fingerprint(plan);
  const std::string path = default_store_path(options.store);
  if (path == "none") return;
  try {
    store_ = std::make_unique<JobStore>(path);
    const std::string content = read_file(plan.job.file);
    if (options.run_id > 0) {
      const auto r = store_->run(options.run_id);
      if (!r) throw ProcessingError("run " + std::to_string(options.run_id) + " is not in the store");
      run_id_ = r->id, job_id_ = r->job_id;
      if (const auto j = store_->job_by_id(job_id_); j && j->hash != sha256_text(content))
        store_->add_log(run_id_, "warning",
                        "the job file " + plan.job.file + " changed since it was submitted");
    } else {
      job_id_ = store_->upsert_job(plan.job.name, plan.job.file, content, sha256_text(content));
      run_id_ = store_->create_run(job_id_, "running", started_, "run");
    }
    store_->mark_running(run_id_, fingerprint_);
    auto sink = std::make_shared<StoreSink>(*store_, run_id_);
    spdlog::default_logger()->sinks().push_back(sink);
    sink_ = sink;
    store_->add_log(run_id_, "info",
                    "run " + std::to_string(run_id_) + " of job '" + plan.job.name + "' started (pid " +
                        std::to_string(::getpid()) + ")");
  } catch (const std::exception& e) {
    spdlog::warn("job store unavailable, this run is not recorded: {}", e.what());
    store_.reset();
    run_id_ = 0;
  }
}

RunRecorder::~RunRecorder() {
  if (!sink_) return;
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(
      std::remove(sinks.begin(), sinks.end(),
                  std::static_pointer_cast<spdlog::sinks::sink>(std::static_pointer_cast<StoreSink>(sink_))),
      sinks.end());
}

void RunRecorder::guard(const char* what, const std::function<void()>& f) {
  if (!store_) return;
  try {
    f();
  } catch (const std::exception& e) {
    spdlog::warn("job store: could not record {}: {}", what, e.what());
  }
}

std::optional<RunRow> RunRecorder::unchanged_since() {
  if (!store_ || options_.force) return std::nullopt;
  try {
    auto earlier = store_->last_success(job_id_, fingerprint_);
    if (!earlier || earlier->id == run_id_) return std::nullopt;
    const auto outs = store_->outputs(earlier->id);
    if (outs.size() != plan_.outputs.size()) return std::nullopt;
    for (const auto& o : outs) {
      std::error_code ec;
      const bool is_dir = fs::is_directory(o.path, ec);
      if (o.sha256.empty() || !fs::exists(o.path, ec) || (!is_dir && std::int64_t(fs::file_size(o.path, ec)) != o.size))
        return std::nullopt;
      if (content_checksum(o.path) != o.sha256) {
        spdlog::info("{} changed since run {}; recomputing", o.path, earlier->id);
        return std::nullopt;
      }
    }
    return earlier;
  } catch (const std::exception& e) {
    spdlog::warn("job store: cannot check for an unchanged earlier run: {}", e.what());
    return std::nullopt;
  }
}

void RunRecorder::skipped(const RunRow& earlier) {
  guard("the skipped run", [&] {
    for (const auto& o : store_->outputs(earlier.id)) store_->add_output(run_id_, o);
    store_->set_report(run_id_, store_->report(earlier.id));
    for (auto st : store_->step_states(earlier.id)) {
      if (st.state == "computed") st.from_run = earlier.id;
      st.run_id = run_id_, st.state = st.state == "unused" ? "unused" : "cached";
      store_->add_step_state(st);
    }
    store_->finish_run(
        run_id_, "succeeded", 0,
        "unchanged since run " + std::to_string(earlier.id) + ": no raster work, outputs verified");
  });
}

StepCacheLookup RunRecorder::step_lookup() {
  return [this](const std::string& id, const std::string& key,
                const std::vector<std::string>& paths) -> std::optional<StepCacheHit> {
    if (!store_) return std::nullopt;
    try {
      const std::set<std::string> want(paths.begin(), paths.end());
      for (const auto& st : store_->steps_with_key(key)) {
        StepCacheHit hit;
        hit.run_id = st.state == "cached" && st.from_run > 0 ? st.from_run : st.run_id;
        std::set<std::string> have;
        bool ok = true;
        for (const auto& o : nlohmann::json::parse(st.outputs_json)) {
          CachedOutput c{o.at("path").get<std::string>(), o.at("sha256").get<std::string>(),
                         o.at("size").get<std::int64_t>()};
          have.insert(c.path);
          std::error_code ec;
          const bool is_dir = fs::is_directory(c.path, ec);
          if (c.sha256.empty() || !fs::exists(c.path, ec) || (!is_dir && std::int64_t(fs::file_size(c.path, ec)) != c.size)) {
            ok = false;
            break;
          }
          auto v = verified_.find(c.path);
          if (v == verified_.end()) v = verified_.emplace(c.path, content_checksum(c.path)).first;
          if (v->second != c.sha256) {
            spdlog::info("{} changed since run {}; step '{}' is recomputed", c.path, hit.run_id, id);
            ok = false;
            break;
          }
          hit.outputs.push_back(std::move(c));
        }
        if (ok && have == want) return hit;
      }
    } catch (const std::exception& e) {
      spdlog::warn("job store: cannot look up earlier results of step '{}': {}", id, e.what());
    }
    return std::nullopt;
  };
}

void RunRecorder::succeeded(const RunReport& report, const RunOptions& options) {
  (void)options;
  std::vector<OutputRow> rows;
  for (const auto& o : report.outputs) {
    OutputRow row{o.path, "", 0};
    std::error_code ec;
    if (fs::exists(o.path, ec)) {
      row.sha256 = content_checksum(o.path);
      row.size = fs::is_regular_file(o.path, ec) ? std::int64_t(fs::file_size(o.path)) : 0;
    }
    if (o.format == "cog" || o.format == "gtiff") {
      StacContext ctx{plan_, o.format, row.sha256, row.size, started_, run_id_};
      write_stac_item(o.path, ctx);
    }
    rows.push_back(row);
  }
  std::vector<StepStateRow> states;
  if (decisions_ != nullptr) {
    for (const auto& sd : decisions_->steps) {
      StepStateRow st{run_id_, sd.id, sd.key, sd.state == "cached" ? "cached" : sd.state, sd.from_run, "[]"};
      nlohmann::json outs = nlohmann::json::array();
      if (sd.rewrites_outputs) {
        for (const auto& r : rows)
          if (std::find(sd.outputs.begin(), sd.outputs.end(), r.path) != sd.outputs.end())
            outs.push_back({{"path", r.path}, {"sha256", r.sha256}, {"size", r.size}});
      } else {
        for (const auto& c : sd.cached) {
          outs.push_back({{"path", c.path}, {"sha256", c.sha256}, {"size", c.size}});
          rows.push_back({c.path, c.sha256, c.size});
        }
      }
      st.outputs_json = outs.dump();
      states.push_back(std::move(st));
    }
  }
  outputs_ = rows;
  guard("the outputs", [&] {
    JobStore::Transaction tx(*store_);
    for (const auto& r : rows) store_->add_output(run_id_, r);
    for (const auto& st : states) store_->add_step_state(st);
    tx.commit();
    char msg[96];
    std::snprintf(msg, sizeof msg, "%zu output(s) in %.1f s (%zu windows)", rows.size(), report.seconds,
                  report.windows);
    store_->finish_run(run_id_, "succeeded", 0, msg);
  });
}

void RunRecorder::report_written(const std::string& path) {
  guard("the report", [&] { store_->set_report(run_id_, path); });
}

void RunRecorder::failed(int exit_code, const std::string& message) {
  guard("the failure", [&] { store_->finish_run(run_id_, "failed", exit_code, message); });
}

}  // namespace qinling::pipeline
