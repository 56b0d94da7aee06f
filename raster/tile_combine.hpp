// How a tile pyramid makes a parent pixel from its four children (raster/tile_pyramid): alpha-
// weighted colours for imagery, the mean of values, the mode of classes.
#pragma once

#include <cmath>

namespace qinling::raster {

// Parent pixel from up to four children (nullptr = outside the layer).
inline void combine_rgba(const float* const c[4], float* out) {
  float a = 0, r = 0, g = 0, b = 0;
  for (int i = 0; i < 4; ++i) {
    if (!c[i] || c[i][3] <= 0) continue;
    a += c[i][3];
    r += c[i][0] * c[i][3];
    g += c[i][1] * c[i][3];
    b += c[i][2] * c[i][3];
  }
  // Colour is averaged over the covered children only, so edges do not darken towards black.
  out[3] = a / 4;
  out[0] = a > 0 ? r / a : 0;
  out[1] = a > 0 ? g / a : 0;
  out[2] = a > 0 ? b / a : 0;
}

inline void combine_mean(const float* const c[4], float* out) {
  float sum = 0;
  int n = 0;
  for (int i = 0; i < 4; ++i)
    if (c[i] && !std::isnan(*c[i])) sum += *c[i], ++n;
  *out = n ? sum / n : NAN;
}

// Classes: the most frequent child class (the smallest on a tie), never a blend.
inline void combine_mode(const float* const c[4], float* out) {
  float best = NAN;
  int best_n = 0;
  for (int i = 0; i < 4; ++i) {
    if (!c[i] || std::isnan(*c[i])) continue;
    int n = 0;
    for (int j = 0; j < 4; ++j) n += (c[j] && *c[j] == *c[i]);
    if (n > best_n || (n == best_n && *c[i] < best)) best = *c[i], best_n = n;
  }
  *out = best;
}

// Value layers with a shaded relief carry it as a second channel, averaged like the values.
template <void (*Base)(const float* const[4], float*)>
void combine_with_shade(const float* const c[4], float* out) {
  Base(c, out);
  const float* s[4];
  for (int i = 0; i < 4; ++i) s[i] = c[i] ? c[i] + 1 : nullptr;
  combine_mean(s, out + 1);
}

}  // namespace qinling::raster
