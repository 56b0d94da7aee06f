// Job validation: every problem reported at once, each naming the file, line and key.
#include <gtest/gtest.h>

#include "models/errors.hpp"
#include "pipeline/plan.hpp"
#include "support/test_support.hpp"

using namespace qinling;
using namespace qinling::test;

namespace {
unsigned value(int band, int x, int y) { return unsigned(band * 100 + (x + y) % 50); }

struct Fixture {
  TempDir dir;
  Fixture() { make_raster(dir / "scene.tif", 64, 48, 5, value); }
  std::string job(const std::string& text) {
    write_text(dir / "job.yaml", text);
    return dir / "job.yaml";
  }
};

// The ConfigError text for a job, or "" when it validates.
std::string problems(const std::string& job_file) {
  try {
    pipeline::make_plan(job_file, {});
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

const char* kGood = R"(job: t
inputs:
  scene: {path: scene.tif, bands: {red: 4, nir: 5}}
steps:
  - {id: ndvi, kind: index.ndvi, input: scene}
outputs:
  - {from: ndvi, path: out/ndvi.tif, format: cog}
)";
}  // namespace

TEST(JobValidation, GoodJobPlansOnTheInputGrid) {
  Fixture f;
  auto plan = pipeline::make_plan(f.job(kGood), {});
  EXPECT_EQ(plan.grid.width, 64);
  EXPECT_EQ(plan.grid.height, 48);
  ASSERT_EQ(plan.outputs.size(), 1u);
  EXPECT_EQ(plan.outputs[0].path, f.dir / "out/ndvi.tif");
}

TEST(JobValidation, MisspelledKeysAreListedWithTheirLines) {
  Fixture f;
  const std::string msg = problems(f.job(R"(job: t
inputs:
  scene: {path: scene.tif, bands: {red: 4, nir: 5}}
steps:
  - {id: ndvi, kind: index.ndvi, inptu: scene}
outputs:
  - {from: ndvi, path: ndvi.tif, fromat: cog}
)"));
  EXPECT_NE(msg.find("job.yaml:5: steps[0].inptu: unknown key — did you mean 'input'?"), std::string::npos) << msg;
  EXPECT_NE(msg.find("job.yaml:7: outputs[0].fromat: unknown key"), std::string::npos) << msg;
  EXPECT_NE(msg.find("steps[0].input: is required"), std::string::npos) << msg;
}

TEST(JobValidation, AllProblemsAtOnce) {
  Fixture f;
  const std::string msg = problems(f.job(R"(job: t
inputs:
  scene: {path: scene.tif, bands: {red: 4, nir: 9}}
  other: {path: missing.tif}
steps:
  - {id: ndvi, kind: index.ndvii, input: scene}
  - {id: v, kind: index.ndvi, input: scene, red: rouge}
outputs:
  - {from: v, path: scene.tif, format: png}
)"));
  EXPECT_NE(msg.find("band 9 does not exist"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing.tif: no such file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown step kind 'index.ndvii'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no band named 'rouge'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot be written as 'png'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("would be overwritten"), std::string::npos) << msg;
}

TEST(JobValidation, CyclesAreNamed) {
  Fixture f;
  const std::string msg = problems(f.job(R"(job: t
inputs:
  scene: {path: scene.tif, bands: {red: 4, nir: 5}}
steps:
  - {id: a, kind: raster.calc, input: [scene, b], expression: "b + red"}
  - {id: b, kind: raster.calc, input: a, expression: "a * 2"}
outputs:
  - {from: b, path: b.tif}
)"));
  EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a, b"), std::string::npos) << msg;
}

TEST(JobValidation, WrongTypesAndBadExpressions) {
  Fixture f;
  const std::string msg = problems(f.job(R"(job: t
memory_mb: lots
inputs:
  scene: {path: scene.tif, bands: {red: 4, nir: 5}}
steps:
  - {id: c, kind: raster.calc, input: scene, expression: "nir - blue"}
outputs:
  - {from: c, path: c.tif, options: [1, 2]}
)"));
  EXPECT_NE(msg.find("job.yaml:2: memory_mb: expected an integer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("steps[0].expression"), std::string::npos) << msg;
  EXPECT_NE(msg.find("blue"), std::string::npos) << msg;
  EXPECT_NE(msg.find("outputs[0].options"), std::string::npos) << msg;
}

TEST(JobValidation, InputsWithoutBandNamesGetB1ToBn) {
  Fixture f;
  auto plan = pipeline::make_plan(f.job(R"(job: t
inputs:
  scene: {path: scene.tif}
steps:
  - {id: c, kind: raster.calc, input: scene, expression: "b5 - b4"}
outputs:
  - {from: c, path: c.tif}
)"),
                                  {});
  EXPECT_EQ(plan.band_sources.at("scene.b5").band, 5);
}

TEST(JobValidation, NotYamlNamesTheLine) {
  Fixture f;
  try {
    pipeline::make_plan(f.job("job: t\ninputs: [a, b\n"), {});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("job.yaml:"), std::string::npos) << e.what();
  }
}

TEST(JobValidation, GridInAnotherCrsIsPlanned) {
  Fixture f;
  auto plan = pipeline::make_plan(f.job(R"(job: t
grid: {crs: EPSG:32649, resolution: 60}
inputs:
  scene: {path: scene.tif, bands: {red: 4, nir: 5}}
steps:
  - {id: ndvi, kind: index.ndvi, input: scene}
outputs:
  - {from: ndvi, path: ndvi.tif}
)"),
                                  {});
  EXPECT_DOUBLE_EQ(plan.grid.resolution_x(), 60);
  EXPECT_NEAR(plan.grid.width, 64 * 30 / 60, 3);
}
