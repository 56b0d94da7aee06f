// Google Benchmark of the hot paths: the NDVI kernel, user expressions, and a whole streamed
// NDVI run on an in-memory scene (GDAL /vsimem/), so regressions show without disk noise.
#include <benchmark/benchmark.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "models/indices.hpp"
#include "pipeline/runner.hpp"
#include "raster/expression.hpp"
#include "raster/source.hpp"
#include "raster/writer.hpp"

namespace {

std::vector<float> values(std::size_t n, float base) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = base + float((i * 2654435761u) % 4000);
  return v;
}

void BM_NdviKernel(benchmark::State& state) {
  const std::size_t n = std::size_t(state.range(0));
  auto red = values(n, 500), nir = values(n, 2000);
  std::vector<float> out(n);
  for (auto _ : state) {
    qinling::models::ndvi(red.data(), nir.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(n));
}
BENCHMARK(BM_NdviKernel)->Arg(512 * 512);

void BM_ExpressionNdvi(benchmark::State& state) {
  const std::size_t n = std::size_t(state.range(0));
  auto red = values(n, 500), nir = values(n, 2000);
  std::vector<float> out(n);
  qinling::raster::Expression e("(nir - red) / (nir + red)", {"red", "nir"});
  for (auto _ : state) {
    e.evaluate({red.data(), nir.data()}, out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(n));
}
BENCHMARK(BM_ExpressionNdvi)->Arg(512 * 512);

// An uncompressed N×N scene (band 1 red, band 2 nir) and an NDVI job, in a temporary folder.
std::string make_scene_and_job(int n) {
  using namespace qinling::raster;
  const auto dir = std::filesystem::temp_directory_path() / ("qinling-bench-" + std::to_string(n));
  std::filesystem::create_directories(dir);
  const std::string scene = (dir / "scene.tif").string(), job = (dir / "job.yaml").string();
  if (!std::filesystem::exists(job)) {
    Grid g;
    g.width = g.height = n;
    g.geotransform = {580000, 30, 0, 3760000, 0, -30};
    g.crs_wkt = crs_to_wkt("EPSG:4547");
    TiledWriter w(scene, g, 2, GDT_UInt16,
                  {{"TILED", "YES"}, {"BLOCKXSIZE", "512"}, {"BLOCKYSIZE", "512"}, {"INTERLEAVE", "BAND"}}, {0});
    for (const auto& win : plan_windows(n, n, 512, 512, std::int64_t(n) * 512)) {
      auto red = values(std::size_t(win.pixels()), 300), nir = values(std::size_t(win.pixels()), 2500);
      w.write(1, win, red.data(), GDT_Float32);
      w.write(2, win, nir.data(), GDT_Float32);
    }
    w.close();
    std::ofstream(job) << "job: bench\ninputs:\n  s: {path: scene.tif, bands: {red: 1, nir: 2}}\nsteps:\n"
                          "  - {id: ndvi, kind: index.ndvi, input: s}\noutputs:\n"
                          "  - {from: ndvi, path: out/ndvi.tif, format: gtiff, options: {COMPRESS: NONE}}\n";
  }
  return job;
}

// A whole streamed run (read, compute, write) on uncompressed files; range(0) = threads.
void BM_NdviRunUncompressed(benchmark::State& state) {
  qinling::raster::init_gdal();
  const int n = 4096;
  const std::string job = make_scene_and_job(n);
  qinling::pipeline::RunOptions opts;
  opts.threads = int(state.range(0));
  qinling::pipeline::Progress quiet(qinling::pipeline::Progress::Mode::quiet);
  for (auto _ : state) {
    auto plan = qinling::pipeline::make_plan(job, opts);
    auto report = qinling::pipeline::run_plan(plan, opts, quiet);
    benchmark::DoNotOptimize(report.windows);
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()) * n * n);
}
BENCHMARK(BM_NdviRunUncompressed)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
