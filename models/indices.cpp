#include "models/indices.hpp"

namespace qinling::models {

void ndvi(const float* red, const float* nir, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = ndvi(red[i], nir[i]);
}

}  // namespace qinling::models
