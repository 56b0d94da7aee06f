// Quality-band masks: which QA values mean "do not use this pixel" (Landsat QA_PIXEL bits,
// Sentinel-2 SCL classes).
#pragma once

#include <cstdint>
#include <vector>

namespace qinling::models {

class QaMask {
 public:
  // Bit flags: a pixel is masked when any of `bits` is set (Landsat C2 QA_PIXEL, 0 = LSB).
  static QaMask from_bits(const std::vector<int>& bits);
  // Classes: a pixel is masked when its value equals one of `classes` (Sentinel-2 SCL).
  static QaMask from_classes(const std::vector<int>& classes);
  // Adds the conditions of `other` (same encoding).
  void merge(const QaMask& other);
  bool masked(std::uint32_t qa) const {
    if (bitmask_ != 0 && (qa & bitmask_) != 0) return true;
    for (std::uint32_t c : classes_)
      if (qa == c) return true;
    return false;
  }
  bool empty() const { return bitmask_ == 0 && classes_.empty(); }

 private:
  std::uint32_t bitmask_ = 0;
  std::vector<std::uint32_t> classes_;
};

}  // namespace qinling::models
