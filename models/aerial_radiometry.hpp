// Radiometry of aerial photo mosaics: per-frame gain compensation over overlaps and the
// visible-band vegetation indices (ExG, VARI) of RGB photos. Pure functions, no GDAL/OpenCV.
#pragma once

#include <cstddef>
#include <vector>

namespace qinling::models {

// Mean values of two frames inside their common overlap: `mean_i` is frame i's mean over the
// pixels both frames cover, `mean_j` frame j's over the same pixels; `pixels` weighs the pair.
struct OverlapMeans {
  std::size_t i = 0, j = 0;
  double mean_i = 0, mean_j = 0;
  double pixels = 0;
};

// Gains g minimising sum over overlaps N_ij [ (g_i m_ij - g_j m_ji)^2 / sigma_n^2 ] plus a prior
// sum N_ij (1 - g)^2 / sigma_g^2 that keeps the mean gain near 1 — Brown & Lowe 2007, "Automatic
// panoramic image stitching using invariant features", eq. 29. Frames without overlaps get 1.
// Unlike the paper, means are first divided by their average, so sigma_n is relative: with the
// paper's 10 DN the prior is as strong as the data and leaves ~5 % steps between frames; 0.01
// leaves well under 1 %.
std::vector<double> solve_gains(std::size_t frames, const std::vector<OverlapMeans>& overlaps,
                                double sigma_n = 0.01, double sigma_g = 0.1);

// Excess green on chromatic coordinates, ExG = 2g - r - b with g = G/(R+G+B) — Woebbecke et al.
// 1995. A black pixel (R+G+B = 0) or NaN gives NaN.
float excess_green(float r, float g, float b);

// Visible Atmospherically Resistant Index, VARI = (G - R) / (G + R - B) — Gitelson et al. 2002.
// A zero denominator gives NaN.
float vari(float r, float g, float b);

}  // namespace qinling::models
