#include "pipeline/runner.hpp"

#include <cpl_conv.h>
#include <spdlog/spdlog.h>
#include <tbb/global_control.h>
#include <tbb/parallel_pipeline.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <optional>
#include <atomic>
#include <cmath>
#include <chrono>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "models/errors.hpp"
#include "models/tsan_annotations.hpp"
#include "raster/hdf5_cube.hpp"
#include "raster/source.hpp"
#include "raster/writer.hpp"
#include "pipeline/checkpoint.hpp"
#include "pipeline/mosaic.hpp"
#include "pipeline/mpi_run.hpp"
#include "pipeline/mpi_world.hpp"
#include "pipeline/run_record.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;

namespace {

// The values of one window: every needed input band and step result, as float32 with NaN nodata.
struct WindowValues {
  raster::Window window;  // what is written
  raster::Window padded;  // what is computed: the window grown by the halo (may leave the raster)
  std::map<std::string, std::vector<float>> values;
};

// The steps and input bands the outputs actually need, in dependency order.
struct Needed {
  std::vector<const Step*> steps;
  int halo = 0;  // sum of the focal steps' halos: enough for any chain of them
  std::vector<std::string> input_keys;
  std::vector<std::string> layers;  // pixel steps that must exist as finished rasters
};

Needed find_needed(const Plan& plan) {
  std::set<std::string> want, layers;
  for (const auto& o : plan.outputs) want.insert(o.step_id);
  // Walk backwards through the dependency order so every dependency is marked before it is visited.
  for (auto it = plan.steps.rbegin(); it != plan.steps.rend(); ++it) {
    if (!want.count((*it)->id)) continue;
    for (const auto& k : (*it)->needs()) {
      want.insert(k);
      const Step* dep = plan.step(k);
      if ((*it)->step_class() == StepClass::product && dep && dep->step_class() == StepClass::pixel) layers.insert(k);
    }
  }
  for (const auto& o : plan.outputs)
    if (plan.step(o.step_id)->step_class() == StepClass::pixel && o.format != "hdf5") layers.insert(o.step_id);
  Needed n;
  for (const auto& s : plan.steps) {
    if (!want.count(s->id)) spdlog::warn("step '{}' is not used by any output; skipped", s->id);
    else if (s->step_class() == StepClass::pixel) {
      n.steps.push_back(s.get());
      n.halo += s->halo();
    }
  }
  expand_mosaic_needs(plan, want);  // a mosaic band is composed from its scenes' bands
  for (const auto& m : plan.masks)  // a masked band needs its quality band read too
    for (const auto& k : m.band_keys)
      if (want.count(k)) want.insert(m.qa_key);
  for (const auto& k : want)
    if (plan.band_sources.count(k)) n.input_keys.push_back(k);
  n.layers.assign(layers.begin(), layers.end());
  return n;
}

// A folder for layers that products need but no output asked for; removed at the end.
class WorkDir {
 public:
  // Under MPI every rank names rank 0's folder (split products read its layers); rank 0 removes it.
  explicit WorkDir(const std::string& out_dir)
      : path_((fs::path(out_dir) / (".qinling-work-" + std::to_string(root_pid()))).string()) {}
  ~WorkDir() {
    std::error_code ec;
    if (mpi::is_root()) fs::remove_all(path_, ec);
  }
  // The folder is created when a layer is published into it.
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  static std::int64_t root_pid() {
    std::vector<std::int64_t> pid{::getpid()};
    mpi::broadcast(pid);
    return pid[0];
  }
  std::string path_;
};

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

// Reads `w` (which may extend beyond the raster) into `out`, NaN outside the raster.
void read_padded(raster::GridReader& reader, const raster::BandSource& src, const raster::Window& w,
                 const raster::Grid& grid, float* out) {
  const int x0 = std::max(0, w.x), y0 = std::max(0, w.y);
  const int x1 = std::min(grid.width, w.x + w.width), y1 = std::min(grid.height, w.y + w.height);
  if (x0 == w.x && y0 == w.y && x1 == w.x + w.width && y1 == w.y + w.height) {
    reader.read(src, w, out);
    return;
  }
  std::fill(out, out + w.pixels(), NAN);
  if (x1 <= x0 || y1 <= y0) return;
  const raster::Window inner{x0, y0, x1 - x0, y1 - y0};
  std::vector<float> tmp(std::size_t(inner.pixels()));
  reader.read(src, inner, tmp.data());
  for (int r = 0; r < inner.height; ++r)
    std::copy_n(tmp.data() + std::size_t(r) * inner.width, inner.width,
                out + std::size_t(y0 - w.y + r) * w.width + (x0 - w.x));
}

// Thread time spent in the pass, summed over windows: reading (and masking, mosaicking) inputs,
// and each needed pixel step (same order as Needed::steps). For the run report.
struct PassClock {
  PassClock(std::size_t steps, std::size_t inputs) : step_ns(steps), input_valid(inputs) {}
  std::atomic<std::int64_t> read_ns{0};
  std::vector<std::atomic<std::int64_t>> step_ns;
  // Whether each needed input band (Needed::input_keys order) had a valid pixel in some window.
  std::vector<std::atomic<bool>> input_valid;
};

std::int64_t ns_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
}

void compute_window(WindowValues& wv, const Needed& needed, const Plan& plan, raster::GridReader& reader,
                    PassClock& clock) {
  auto t0 = std::chrono::steady_clock::now();
  const int h = needed.halo;
  wv.padded = {wv.window.x - h, wv.window.y - h, wv.window.width + 2 * h, wv.window.height + 2 * h};
  const std::size_t n = std::size_t(wv.padded.pixels());
  for (std::size_t j = 0; j < needed.input_keys.size(); ++j) {
    auto& buf = wv.values[needed.input_keys[j]];
    buf.resize(n);
    read_padded(reader, plan.band_sources.at(needed.input_keys[j]), wv.padded, plan.grid, buf.data());
    // Once a valid pixel is seen the band is not scanned again; a scan stops at the first one.
    if (!clock.input_valid[j].load(std::memory_order_relaxed) &&
        std::any_of(buf.begin(), buf.end(), [](float v) { return !std::isnan(v); }))
      clock.input_valid[j].store(true, std::memory_order_relaxed);
  }
  for (const auto& m : plan.masks) {
    auto qa = wv.values.find(m.qa_key);
    if (qa == wv.values.end()) continue;
    for (const auto& k : m.band_keys) {
      auto it = wv.values.find(k);
      if (it == wv.values.end()) continue;
      float* v = it->second.data();
      const float* q = qa->second.data();
      for (std::size_t i = 0; i < n; ++i)
        if (std::isnan(q[i]) || m.mask.masked(std::uint32_t(q[i]))) v[i] = NAN;
    }
  }
  compose_mosaics(plan, wv.values, n);
  clock.read_ns += ns_since(t0);
  std::vector<const float*> in;
  const Step::Shape shape{wv.padded.width, wv.padded.height, std::abs(plan.grid.geotransform[1]),
                          std::abs(plan.grid.geotransform[5])};
  for (std::size_t i = 0; i < needed.steps.size(); ++i) {
    const Step* s = needed.steps[i];
    t0 = std::chrono::steady_clock::now();
    in.clear();
    for (const auto& k : s->needs()) in.push_back(wv.values.at(k).data());
    auto& out = wv.values[s->id];
    out.resize(n);
    s->compute_window(in, out.data(), shape);
    clock.step_ns[i] += ns_since(t0);
  }
}

// The written window's values out of a padded buffer (a copy only when there is a halo).
const float* unpad(const WindowValues& wv, const std::vector<float>& values, std::vector<float>& scratch) {
  if (wv.padded == wv.window) return values.data();
  scratch.resize(std::size_t(wv.window.pixels()));
  const int dx = wv.window.x - wv.padded.x, dy = wv.window.y - wv.padded.y;
  for (int r = 0; r < wv.window.height; ++r)
    std::copy_n(values.data() + std::size_t(dy + r) * wv.padded.width + dx, wv.window.width,
                scratch.data() + std::size_t(r) * wv.window.width);
  return scratch.data();
}

// A raster layer the pass computes: an output of a pixel step, or a work layer a product reads.
struct Target {
  std::string id, path, format;
  raster::CreationOptions options;
  bool is_output = true;
};

// The block size the final file of `t` will have (what a direct block writer aligns windows to).
std::array<int, 2> final_block(const Plan& plan, const Target& t, int threads) {
  if (t.format == "hdf5") return {1, 1};  // its chunks are written from whole strips, any window plan fits
  auto opts = raster::default_creation_options(t.format, threads);
  for (const auto& [k, v] : t.options) opts[k] = v;
  const auto yes = [&](const char* k) {
    return opts.count(k) && (opts[k] == "YES" || opts[k] == "TRUE" || opts[k] == "ON" || opts[k] == "1");
  };
  if (t.format == "cog") {
    const int b = opts.count("BLOCKSIZE") ? std::stoi(opts["BLOCKSIZE"]) : 512;
    return {b, b};
  }
  if (yes("TILED"))
    return {opts.count("BLOCKXSIZE") ? std::stoi(opts["BLOCKXSIZE"]) : 256,
            opts.count("BLOCKYSIZE") ? std::stoi(opts["BLOCKYSIZE"]) : 256};
  return {plan.grid.width, opts.count("BLOCKYSIZE") ? std::stoi(opts["BLOCKYSIZE"]) : 1};
}

// The window plan: a pure function of the grid, the targets' block sizes and `max_pixels`.
std::vector<raster::Window> window_plan(const Plan& plan, const std::vector<Target>& targets, std::int64_t max_pixels,
                                        int threads) {
  int align_w = 1, align_h = 1;
  for (const auto& t : targets) {
    const auto [bw, bh] = final_block(plan, t, threads);
    align_w = std::lcm(align_w, bw);
    align_h = std::lcm(align_h, bh);
  }
  return raster::plan_windows(plan.grid.width, plan.grid.height, align_w, align_h, max_pixels);
}

// Test hook: slows every window down so a test can kill a run part-way (tests only).
int test_window_delay_ms() {
  const char* v = std::getenv("QINLING_TEST_WINDOW_DELAY_MS");
  return v ? std::atoi(v) : 0;
}

// One streamed pass over `windows`: computes the needed pixel steps and writes each target's
// values into its staging raster, journaling finished windows in the checkpoint.
void pixel_pass(const Plan& plan, const Needed& needed, int threads, const std::vector<raster::Window>& windows,
                const std::vector<Target>& targets, Checkpoint& checkpoint, Progress& progress, RunReport& report) {
  raster::GridReader reader(plan.grid);
  PassClock clock(needed.steps.size(), needed.input_keys.size());
  for (const auto& key : needed.input_keys) {
    const auto& src = plan.band_sources.at(key);
    reader.add_file(src.path, plan.files.at(src.path), plan.file_resampling.at(src.path));
  }
  const std::size_t tokens = std::size_t(threads) * 2;
  const int delay_ms = test_window_delay_ms();
  progress.phase(plan.job.name + ": computing");
  std::size_t next = 0, written = 0;
  std::vector<float> scratch;
  std::mutex pool_mutex;
  std::vector<std::shared_ptr<WindowValues>> pool;
  // TSan marks (models/tsan_annotations.hpp): a token's window is handed from stage to stage by
  // TBB; each serial stage's calls follow each other; the pass's state is read after the join.
  const models::tsan::ForkJoin fork_join;
  const char read_stage = 0, write_stage = 0;
  tbb::parallel_pipeline(
      tokens,
      tbb::make_filter<void, std::shared_ptr<WindowValues>>(
          tbb::filter_mode::serial_in_order,
          [&](tbb::flow_control& fc) -> std::shared_ptr<WindowValues> {
            const auto task = fork_join.task();
            const models::tsan::Serial serial(&read_stage);
            if (next >= windows.size() || Progress::cancel_requested()) {
              fc.stop();
              return nullptr;
            }
            // Reuse a finished window's buffers: fresh multi-MB allocations cost page faults
            // (and zeroing) on every window, which showed as half the run time uncompressed.
            std::shared_ptr<WindowValues> wv;
            {
              std::lock_guard lock(pool_mutex);
              if (!pool.empty()) {
                wv = std::move(pool.back());
                pool.pop_back();
              }
            }
            if (!wv) wv = std::make_shared<WindowValues>();
            wv->window = windows[next++];
            models::tsan::release(wv.get());
            return wv;
          }) &
          tbb::make_filter<std::shared_ptr<WindowValues>, std::shared_ptr<WindowValues>>(
              tbb::filter_mode::parallel,
              [&](std::shared_ptr<WindowValues> wv) {
                const auto task = fork_join.task();
                models::tsan::acquire(wv.get());
                compute_window(*wv, needed, plan, reader, clock);
                if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
                models::tsan::release(wv.get());
                return wv;
              }) &
          tbb::make_filter<std::shared_ptr<WindowValues>, void>(
              tbb::filter_mode::serial_in_order, [&](std::shared_ptr<WindowValues> wv) {
                const auto task = fork_join.task();
                const models::tsan::Serial serial(&write_stage);
                models::tsan::acquire(wv.get());
                for (std::size_t i = 0; i < targets.size(); ++i)
                  checkpoint.staging(i).write(wv->window, unpad(*wv, wv->values.at(targets[i].id), scratch));
                checkpoint.record(wv->window);
                progress.update(double(++written) / double(windows.size()));
                std::lock_guard lock(pool_mutex);
                pool.push_back(std::move(wv));
              }));
  fork_join.joined();
  checkpoint.flush();
  report.pass_read_seconds += double(clock.read_ns.load()) * 1e-9;
  for (std::size_t i = 0; i < needed.steps.size(); ++i)
    report.step_cpu_seconds[needed.steps[i]->id] += double(clock.step_ns[i].load()) * 1e-9;
  if (Progress::cancel_requested()) throw Cancelled();
  progress.done();
  // An input band with no valid pixel under the grid (all nodata: a fully clouded scene, a wrong
  // nodata value) is legal but makes everything computed from it nodata: warn, naming the file.
  // Judged only when this pass saw every window (not on a resume or one rank's share).
  if (windows.size() != report.windows) return;
  std::map<std::string, std::vector<std::string>> empty;  // file → its bands without a valid pixel
  for (std::size_t j = 0; j < needed.input_keys.size(); ++j)
    if (!clock.input_valid[j].load())
      empty[plan.band_sources.at(needed.input_keys[j]).path].push_back(needed.input_keys[j]);
  for (const auto& [path, keys] : empty)
    spdlog::warn("{}: no valid pixel under the analysis grid in {} (all nodata): results computed from it are "
                 "nodata", path, fmt::format("{}", fmt::join(keys, ", ")));
}

// What identifies a checkpoint: the run's fingerprint (program, job, inputs, output folder), the
// grid and the targets. Nothing else (threads, memory, ranks) changes the values.
std::string checkpoint_key(const Plan& plan, const std::vector<Target>& targets) {
  std::string text = run_fingerprint(plan) + "\n" + std::to_string(plan.grid.width) + "x" +
                     std::to_string(plan.grid.height) + "\n" + plan.grid.crs_wkt + "\n";
  for (const double g : plan.grid.geotransform) text += fmt::format("{:.17g} ", g);
  for (const auto& t : targets) text += "\n" + t.id;
  return sha256_text(text);
}

void publish(const raster::StagingRaster& staging, const Target& t, int threads, const std::string& label,
             Progress& progress) {
  progress.phase(label);
  std::error_code ec;
  fs::create_directories(fs::path(t.path).parent_path(), ec);
  raster::publish_staged(staging, t.path, t.format, t.options, threads, t.id, [&](double f) {
    // Called from inside GDAL: never let an exception cross it; returning false cancels.
    try {
      progress.update(f);
      return true;
    } catch (...) {
      return false;
    }
  });
  if (Progress::cancel_requested()) throw Cancelled();
  progress.done();
}

// Writes one HDF5 cube from finished staging rasters (serially: Debian's HDF5 is not thread-safe).
void publish_cube(const std::string& path, const std::vector<raster::Hdf5Layer>& layers, Progress& progress) {
  progress.phase(fs::path(path).filename().string() + ": finishing");
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  raster::publish_hdf5(path, layers, [&](double f) {
    progress.update(f);
    if (Progress::cancel_requested()) throw Cancelled();
    return true;
  });
  if (Progress::cancel_requested()) throw Cancelled();
  progress.done();
}

// The raster pass of a run, on every rank: plan the windows, skip those the checkpoint holds,
// compute this rank's share; then rank 0 publishes every target. Fills `report`.
void raster_pass(const Plan& plan, const Needed& needed, int threads, std::int64_t budget,
                 const std::vector<Target>& targets, RunReport& report, Progress& progress) {
  const std::string key = checkpoint_key(plan, targets);
  std::vector<Checkpoint::Target> ct;
  for (const auto& t : targets) ct.push_back({t.id, t.path});
  mpi::collective([&] {
    if (mpi::is_root()) Checkpoint::prepare(plan.out_dir, key, plan.job.name, plan.grid, ct);
  });
  std::optional<Checkpoint> checkpoint;
  mpi::collective([&] { checkpoint.emplace(plan.out_dir, key, plan.grid, ct, mpi::rank()); });
  try {
    // Each window in flight holds every needed band and step result as float32. Rank 0's thread
    // count decides, so that every rank plans the same windows.
    const std::int64_t bytes_per_pixel = 4 * std::int64_t(needed.input_keys.size() + needed.steps.size());
    std::vector<std::int64_t> shared{threads};
    mpi::broadcast(shared);
    const std::int64_t tokens = shared[0] * 2;
    const std::int64_t max_pixels = std::max<std::int64_t>(1, (budget / 2) / (bytes_per_pixel * tokens));
    const auto windows = window_plan(plan, targets, max_pixels, int(shared[0]));
    spdlog::debug("{} windows of up to {} px, {} threads, {} tokens", windows.size(), max_pixels, threads, tokens);

    // Windows the checkpoint already holds, as rank 0 read them.
    std::vector<std::int64_t> done_flags(windows.size(), 0);
    if (mpi::is_root()) {
      const auto done = checkpoint->completed();
      for (std::size_t i = 0; i < windows.size(); ++i) {
        const auto& w = windows[i];
        done_flags[i] = done.count({w.x, w.y, w.width, w.height}) ? 1 : 0;
      }
    }
    mpi::broadcast(done_flags);
    std::vector<raster::Window> todo;
    std::vector<std::int64_t> weights;
    for (std::size_t i = 0; i < windows.size(); ++i)
      if (!done_flags[i]) {
        todo.push_back(windows[i]);
        weights.push_back(windows[i].pixels());
      }
    report.windows = windows.size();
    report.windows_resumed = windows.size() - todo.size();
    report.windows_computed = todo.size();
    if (report.windows_resumed > 0)
      spdlog::info("resuming from the checkpoint: {} of {} windows already done, {} to compute",
                   report.windows_resumed, windows.size(), todo.size());
    const auto [first, last] = mpi::contiguous_share(weights, mpi::rank(), mpi::size());
    const std::vector<raster::Window> mine(todo.begin() + std::ptrdiff_t(first), todo.begin() + std::ptrdiff_t(last));
    if (mpi::size() > 1)
      spdlog::debug("rank {} of {}: {} of {} windows", mpi::rank(), mpi::size(), mine.size(), todo.size());
    mpi::collective([&] {
      if (!mine.empty()) pixel_pass(plan, needed, threads, mine, targets, *checkpoint, progress, report);
    });
    mpi::collective([&] {
      if (!mpi::is_root()) return;
      std::map<std::string, std::vector<raster::Hdf5Layer>> cubes;  // one HDF5 file per path
      for (std::size_t i = 0; i < targets.size(); ++i) {
        if (targets[i].format == "hdf5") {
          cubes[targets[i].path].push_back(
              {raster::parse_hdf5_options(targets[i].options, targets[i].id), &checkpoint->staging(i), {}});
          continue;
        }
        const auto name = fs::path(targets[i].path).filename().string();
        publish(checkpoint->staging(i), targets[i], threads,
                name + (targets[i].is_output ? ": finishing" : ": work layer"), progress);
      }
      for (const auto& [path, layers] : cubes) publish_cube(path, layers, progress);
    });
  } catch (const Cancelled&) {
    throw;  // Ctrl-C keeps the checkpoint: a later run resumes
  } catch (...) {
    // An error (bad input, disk full) leaves nothing behind; only a killed run keeps its checkpoint.
    if (mpi::is_root()) checkpoint->remove();
    throw;
  }
  if (mpi::is_root()) checkpoint->remove();
}

// Product steps, in dependency order, on the finished layers.
// Under MPI rank 0 runs every product; the other ranks join the distributed ones and the products
// those read (without outputs); every product ends with the ranks' verdict.
// A product's `hdf5` outputs are not given to the step: it writes a GeoTIFF (its own cog/gtiff
// output, or a work layer), and the cubes are written from those after every product has run.
void run_products(const Plan& plan, const WorkDir& work, ProductContext& ctx, RunReport& report, Progress& progress) {
  const auto every_rank = products_on_every_rank(plan);
  std::map<std::string, std::vector<raster::Hdf5Layer>> cubes;  // one HDF5 file per path
  std::map<std::string, std::string> cube_steps;                 // its step ids, for the report
  for (const auto& s : plan.steps) {
    if (s->step_class() != StepClass::product) continue;
    mpi::collective([&] {
      if (!mpi::is_root() && !every_rank.count(s->id)) return;
      ctx.outputs.clear();
      std::vector<const PlannedOutput*> cube_outputs;
      for (const auto& o : plan.outputs)
        if (o.step_id == s->id && mpi::is_root()) {
          // Products write a temporary sibling of each output: its folder must exist.
          std::error_code ec;
          fs::create_directories(fs::path(o.path).parent_path(), ec);
          if (o.format == "hdf5")
            cube_outputs.push_back(&o);
          else
            ctx.outputs.push_back({o.path, o.format, o.options});
        }
      std::string raster;
      for (const auto& o : ctx.outputs)
        if (raster.empty() && (o.format == "cog" || o.format == "gtiff")) raster = o.path;
      const bool work_layer = !cube_outputs.empty() && raster.empty();
      if (work_layer) {
        std::error_code ec;
        fs::create_directories(work.path(), ec);
        raster = work.file(s->id + ".tif");
        ctx.outputs.push_back({raster, "gtiff", {}});
      }
      progress.phase(s->id);
      s->produce(ctx);
      progress.done();
      for (const auto* o : cube_outputs) {
        cubes[o->path].push_back({raster::parse_hdf5_options(o->options, s->id), nullptr, raster});
        cube_steps[o->path] += (cube_steps[o->path].empty() ? "" : ", ") + s->id;
      }
      for (const auto& o : ctx.outputs) {
        if (work_layer && o.path == raster) continue;
        std::error_code ec;
        const auto bytes = fs::is_regular_file(o.path, ec) ? fs::file_size(o.path, ec) : 0;
        report.outputs.push_back({o.path, o.format, s->id, 0, 0, bytes});
      }
    });
  }
  // Every rank decides alike (from the plan), so the collective call is matched.
  const bool any_cube = std::any_of(plan.outputs.begin(), plan.outputs.end(), [&](const PlannedOutput& o) {
    return o.format == "hdf5" && plan.step(o.step_id)->step_class() == StepClass::product;
  });
  if (!any_cube) return;
  mpi::collective([&] {
    for (const auto& [path, layers] : cubes) {
      publish_cube(path, layers, progress);
      std::error_code ec;
      report.outputs.push_back({path, "hdf5", cube_steps[path], ctx.grid.width, ctx.grid.height,
                                fs::file_size(path, ec)});
    }
  });
}

}  // namespace

RunReport run_plan(Plan& plan, const RunOptions& options, Progress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const int threads = resolve_threads(options.threads);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
  const std::int64_t budget = std::int64_t(plan.memory_mb) << 20;
  // GDAL's block cache is part of the budget, not on top of it.
  if (CPLGetConfigOption("GDAL_CACHEMAX", nullptr) == nullptr)
    GDALSetCacheMax64(std::max<std::int64_t>(8 << 20, budget / 4));

  const Needed needed = find_needed(plan);
  WorkDir work(plan.out_dir);
  RunReport report;

  // Raster outputs of pixel steps, plus work layers that only products read.
  std::vector<Target> targets;
  std::map<std::string, std::string> layer_files;
  for (const auto& o : plan.outputs)
    if (plan.step(o.step_id)->step_class() == StepClass::pixel) {
      targets.push_back({o.step_id, o.path, o.format, o.options, true});
      if (!layer_files.count(o.step_id) && o.format != "hdf5") layer_files[o.step_id] = o.path;
    }
  for (const auto& id : needed.layers)
    if (!layer_files.count(id)) {
      targets.push_back({id, work.file(id + ".tif"), "gtiff", {}, false});
      layer_files[id] = targets.back().path;
    }

  if (!targets.empty()) raster_pass(plan, needed, threads, budget, targets, report, progress);
  if (mpi::is_root())
    for (const auto& o : plan.outputs)
      if (plan.step(o.step_id)->step_class() == StepClass::pixel)
        report.outputs.push_back({o.path, o.format, o.step_id, plan.grid.width, plan.grid.height, fs::file_size(o.path)});

  // Products, in dependency order, on the finished layers.
  ProductContext ctx;
  ctx.grid = plan.grid;
  ctx.threads = threads;
  ctx.progress = &progress;
  ctx.base_dir = plan.job.base_dir;
  ctx.out_dir = plan.out_dir;
  ctx.rasters = layer_files;
  ctx.vector_inputs = plan.vector_inputs;
  ctx.frame_inputs = plan.frame_inputs;
  run_products(plan, work, ctx, report, progress);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace qinling::pipeline
