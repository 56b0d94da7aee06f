#include "models/qa_mask.hpp"

#include <algorithm>

namespace qinling::models {

QaMask QaMask::from_bits(const std::vector<int>& bits) {
  QaMask m;
  for (int b : bits)
    if (b >= 0 && b < 32) m.bitmask_ |= (1u << b);
  return m;
}

QaMask QaMask::from_classes(const std::vector<int>& classes) {
  QaMask m;
  for (int c : classes)
    if (c >= 0) m.classes_.push_back(std::uint32_t(c));
  return m;
}

void QaMask::merge(const QaMask& other) {
  bitmask_ |= other.bitmask_;
  for (auto c : other.classes_)
    if (std::find(classes_.begin(), classes_.end(), c) == classes_.end()) classes_.push_back(c);
}

}  // namespace qinling::models
