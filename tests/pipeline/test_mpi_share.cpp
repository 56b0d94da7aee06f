// The deterministic split of windows across MPI ranks: contiguous, complete, balanced by pixels.
#include <gtest/gtest.h>

#include "pipeline/mpi_world.hpp"

using qinling::pipeline::mpi::contiguous_share;

namespace {

TEST(MpiShare, SharesAreContiguousCompleteAndBalancedByPixels) {
  // Three full strips and a short last one (the usual shape of a window plan).
  const std::vector<std::int64_t> w = {100, 100, 100, 100, 100, 100, 100, 20};
  for (int size : {1, 2, 3, 4, 7, 8, 9}) {
    std::size_t expect_first = 0;
    std::int64_t most = 0;
    for (int r = 0; r < size; ++r) {
      const auto [a, b] = contiguous_share(w, r, size);
      EXPECT_EQ(a, expect_first) << "size " << size << " rank " << r;
      EXPECT_LE(a, b);
      std::int64_t px = 0;
      for (auto i = a; i < b; ++i) px += w[i];
      most = std::max(most, px);
      expect_first = b;
    }
    EXPECT_EQ(expect_first, w.size()) << "size " << size;
    // No rank holds more than its fair share plus one window.
    EXPECT_LE(most, 720 / size + 100) << "size " << size;
  }
  // Hand-computed: 2 ranks over 720 px → window midpoints 50, 150, …, 650, 710; the slice edge is 360.
  EXPECT_EQ(contiguous_share(w, 0, 2), std::make_pair(std::size_t(0), std::size_t(4)));
  EXPECT_EQ(contiguous_share(w, 1, 2), std::make_pair(std::size_t(4), std::size_t(8)));
}

TEST(MpiShare, WeightNotCountDecides) {
  // One huge window and many small ones: 2 ranks split by pixels, not by count.
  const std::vector<std::int64_t> w = {1000, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10};
  EXPECT_EQ(contiguous_share(w, 0, 2), std::make_pair(std::size_t(0), std::size_t(1)));
  EXPECT_EQ(contiguous_share(w, 1, 2), std::make_pair(std::size_t(1), std::size_t(11)));
  EXPECT_EQ(contiguous_share({}, 0, 3), std::make_pair(std::size_t(0), std::size_t(0)));
}

}  // namespace
