// The RSEI maths (covariance sums, Jacobi eigen-decomposition, sign rule) and the streamed patch
// labeller against analytic answers and hand-counted patches.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "models/patches.hpp"
#include "models/rsei.hpp"

using namespace qinling::models;

TEST(RseiMath, EigenOfARotatedDiagonalMatrix) {
  // M = R diag(4, 3, 2, 1) Rᵀ with R two Givens rotations: eigenvalues are known exactly.
  const double c = std::cos(0.3), s = std::sin(0.3), c2 = std::cos(1.1), s2 = std::sin(1.1);
  const double r[4][4] = {{c, -s, 0, 0}, {s, c, 0, 0}, {0, 0, c2, -s2}, {0, 0, s2, c2}};
  const double d[4] = {4, 3, 2, 1};
  std::array<std::array<double, 4>, 4> m{};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 4; ++k) m[i][j] += r[i][k] * d[k] * r[j][k];
  const Eigen4 e = symmetric_eigen(m);
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(e.values[k], d[k], 1e-12);
  // First eigenvector = first column of R (c, s, 0, 0), sign: largest component positive.
  EXPECT_NEAR(e.vectors[0][0], c, 1e-12);
  EXPECT_NEAR(e.vectors[0][1], s, 1e-12);
  EXPECT_NEAR(e.vectors[0][2], 0, 1e-12);
  // Third: column 3 of R = (0, 0, c2, s2); s2 > c2 so it keeps its sign.
  EXPECT_NEAR(e.vectors[2][3], s2, 1e-12);
}

TEST(RseiMath, CovarianceMergeEqualsOnePass) {
  Covariance4 all, a, b;
  for (int i = 0; i < 100; ++i) {
    const double x[4] = {i * 0.01, std::sin(i * 0.1) * 0.5 + 0.5, (i % 7) / 7.0, 1 - i * 0.01};
    all.add(x);
    (i < 37 ? a : b).add(x);
  }
  a.merge(b);
  const auto ca = a.covariance(), cb = all.covariance();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(ca[i][j], cb[i][j], 1e-15);
  // var(i*0.01 for i < 100) = 0.01² * 100*101/12 (sample variance of 0..99)
  EXPECT_NEAR(cb[0][0], 1e-4 * 100 * 101 / 12.0, 1e-12);
  EXPECT_NEAR(cb[0][3], -cb[0][0], 1e-12);
}

TEST(RseiMath, SignRule) {
  bool mixed = true;
  EXPECT_EQ(rsei_sign({0.5, 0.4, -0.5, -0.4}, &mixed), 1);
  EXPECT_FALSE(mixed);
  EXPECT_EQ(rsei_sign({-0.5, -0.4, 0.5, 0.4}, &mixed), -1);
  EXPECT_FALSE(mixed);
  EXPECT_EQ(rsei_sign({0.5, -0.4, 0.5, 0.4}, &mixed), 1);
  EXPECT_TRUE(mixed);
}

namespace {
// Patch sizes of a small raster given as rows, through both passes.
std::vector<std::uint32_t> patch_sizes(const std::vector<std::vector<float>>& rows, double background = 0) {
  PatchLabeller l(int(rows[0].size()), background);
  for (const auto& r : rows) l.count_row(r.data());
  l.finish();
  std::vector<std::uint32_t> out, s(rows[0].size());
  for (const auto& r : rows) {
    l.size_row(r.data(), s.data());
    out.insert(out.end(), s.begin(), s.end());
  }
  return out;
}
}  // namespace

TEST(Patches, EightConnectedEqualValuesHandCounted) {
  const float n = NAN;
  // A "U" of 1s whose arms join only at the bottom (needs a union across rows), a diagonal chain
  // of 2s (8-connected only), a 1 touching a 2 (different values: separate), a NaN hole.
  const std::vector<std::vector<float>> rows = {
      {1, 0, 1, 0, 2, 0}, {1, 0, 1, 0, 0, 2}, {1, 1, 1, 0, 2, 0}, {0, 0, 0, 1, n, 0}, {2, 0, 0, 0, 0, 0},
  };
  const auto s = patch_sizes(rows);
  // U: (0,0),(1,0),(2,0),(0,2),(1,2),(2,2),(2,1) and (3,3) touching (2,2) diagonally = 8.
  const std::vector<std::uint32_t> want = {8, 0, 8, 0, 3, 0,  //
                                           8, 0, 8, 0, 0, 3,  //
                                           8, 8, 8, 0, 3, 0,  //
                                           0, 0, 0, 8, 0, 0,  //
                                           1, 0, 0, 0, 0, 0};
  EXPECT_EQ(s, want);
}

TEST(Patches, SpiralNeedsManyUnions) {
  // A staircase that creates a new provisional label on every row and merges them all at the end.
  std::vector<std::vector<float>> rows(6, std::vector<float>(8, 0));
  for (int r = 0; r < 5; ++r) rows[r][r] = 1;  // two diagonals that meet only through the bottom row
  for (int r = 0; r < 5; ++r) rows[r][7 - r] = 1;
  for (int c = 0; c < 8; ++c) rows[5][c] = 1;  // the bottom row joins both diagonals
  const auto s = patch_sizes(rows);
  EXPECT_EQ(s[0], 18u);  // 5 + 5 + 8
  EXPECT_EQ(s[7], 18u);
  EXPECT_EQ(s[8 * 5 + 3], 18u);
  EXPECT_EQ(s[1], 0u);
}
