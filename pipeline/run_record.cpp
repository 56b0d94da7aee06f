#include "pipeline/run_record.hpp"

#include <openssl/evp.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "models/errors.hpp"
#include "pipeline/stac_item.hpp"

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

}  // namespace

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
  for (const auto& in : plan.job.inputs) {
    if (!in.path.empty()) files.insert(in.path);
    for (const auto& b : in.bands) files.insert(b.path);
  }
  for (const auto& f : files) {
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    const auto mtime = fs::last_write_time(f, ec).time_since_epoch().count();
    key += "input " + f + " " + std::to_string(ec ? -1 : std::int64_t(size)) + " " + std::to_string(mtime) +
           "\n";
  }
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
      if (o.sha256.empty() || !fs::is_regular_file(o.path, ec) ||
          std::int64_t(fs::file_size(o.path, ec)) != o.size)
        return std::nullopt;
      if (sha256_file(o.path) != o.sha256) {
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
    store_->finish_run(
        run_id_, "succeeded", 0,
        "unchanged since run " + std::to_string(earlier.id) + ": no raster work, outputs verified");
  });
}

void RunRecorder::succeeded(const RunReport& report, const RunOptions& options) {
  (void)options;
  std::vector<OutputRow> rows;
  for (const auto& o : report.outputs) {
    OutputRow row{o.path, "", 0};
    std::error_code ec;
    if (fs::is_regular_file(o.path, ec)) {
      row.sha256 = sha256_file(o.path);
      row.size = std::int64_t(fs::file_size(o.path));
    }
    if (o.format == "cog" || o.format == "gtiff") {
      StacContext ctx{plan_, o.format, row.sha256, row.size, started_, run_id_};
      write_stac_item(o.path, ctx);
    }
    rows.push_back(row);
  }
  guard("the outputs", [&] {
    JobStore::Transaction tx(*store_);
    for (const auto& r : rows) store_->add_output(run_id_, r);
    tx.commit();
    char msg[96];
    std::snprintf(msg, sizeof msg, "%zu output(s) in %.1f s (%zu windows)", rows.size(), report.seconds,
                  report.windows);
    store_->finish_run(run_id_, "succeeded", 0, msg);
  });
}

void RunRecorder::failed(int exit_code, const std::string& message) {
  guard("the failure", [&] { store_->finish_run(run_id_, "failed", exit_code, message); });
}

}  // namespace qinling::pipeline
