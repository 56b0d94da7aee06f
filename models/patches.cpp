#include "models/patches.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace qinling::models {
namespace {
constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
}

PatchLabeller::PatchLabeller(int width, double background)
    : width_(width),
      background_(background),
      prev_values_(std::size_t(width)),
      prev_(std::size_t(width), kNone),
      cur_(std::size_t(width), kNone) {}

std::uint32_t PatchLabeller::find(std::uint32_t x) {
  std::uint32_t root = x;
  while (parent_[root] != root) root = parent_[root];
  while (parent_[x] != root) {
    const std::uint32_t next = parent_[x];
    parent_[x] = root;
    x = next;
  }
  return root;
}

void PatchLabeller::count_row(const float* row) {
  for (int c = 0; c < width_; ++c) {
    const float v = row[c];
    cur_[c] = kNone;
    if (!is_patch(v)) continue;
    std::uint32_t label = c > 0 && cur_[c - 1] != kNone && row[c - 1] == v ? cur_[c - 1] : kNone;
    for (int dc = -1; dc <= 1; ++dc) {
      const int nc = c + dc;
      if (nc < 0 || nc >= width_ || prev_[nc] == kNone || prev_values_[nc] != v) continue;
      if (label == kNone) {
        label = prev_[nc];
      } else {
        const std::uint32_t a = find(label), b = find(prev_[nc]);
        if (a != b) parent_[std::max(a, b)] = std::min(a, b);  // the older label stays the root
      }
    }
    if (label == kNone) {
      if (parent_.size() >= kNone - 1) throw std::length_error("PatchLabeller: more than 4e9 patches");
      label = std::uint32_t(parent_.size());
      parent_.push_back(label);
      size_.push_back(0);
    }
    ++size_[label];
    cur_[c] = label;
  }
  prev_.swap(cur_);
  prev_values_.assign(row, row + width_);
}

void PatchLabeller::finish() {
  // Sizes of provisional labels summed into their roots, then every label points at its root.
  for (std::uint32_t x = 0; x < parent_.size(); ++x) {
    const std::uint32_t r = find(x);
    if (r != x) size_[r] += size_[x], size_[x] = 0;
  }
  std::fill(prev_.begin(), prev_.end(), kNone);
  next_label_ = 0;
}

void PatchLabeller::size_row(const float* row, std::uint32_t* sizes) {
  // Pass 2 assigns the same provisional labels as pass 1 (same rows, same order, same rules):
  // a new label is the next one in creation order.
  for (int c = 0; c < width_; ++c) {
    const float v = row[c];
    cur_[c] = kNone;
    sizes[c] = 0;
    if (!is_patch(v)) continue;
    std::uint32_t label = c > 0 && cur_[c - 1] != kNone && row[c - 1] == v ? cur_[c - 1] : kNone;
    for (int dc = -1; dc <= 1 && label == kNone; ++dc) {
      const int nc = c + dc;
      if (nc >= 0 && nc < width_ && prev_[nc] != kNone && prev_values_[nc] == v) label = prev_[nc];
    }
    if (label == kNone) {
      if (next_label_ >= parent_.size())
        throw std::logic_error("PatchLabeller: rows differ between the two passes");
      label = next_label_++;
    }
    cur_[c] = label;
    sizes[c] = size_[find(label)];
  }
  prev_.swap(cur_);
  prev_values_.assign(row, row + width_);
}

}  // namespace qinling::models
