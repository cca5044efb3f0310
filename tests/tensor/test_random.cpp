// SPDX-License-Identifier: Apache-2.0
// randperm and mix_seed: properties over many inputs and the documented draw order.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include <fresco/tensor/random.hpp>

using namespace fresco;

TEST_CASE("randperm: a permutation, drawn in Fisher-Yates order", "[tensor][random]") {
  for (int64_t n : {0, 1, 2, 3, 10, 1000}) {
    INFO("n " << n);
    for (uint64_t seed = 0; seed < 20; ++seed) {
      Generator gen(seed);
      const auto p = randperm(n, gen);
      REQUIRE(static_cast<int64_t>(p.size()) == n);
      auto sorted = p;
      std::sort(sorted.begin(), sorted.end());
      for (int64_t i = 0; i < n; ++i) CHECK(sorted[static_cast<size_t>(i)] == i);
      // The documented order: swap i with below(i + 1), i = n-1 down to 1.
      Generator twin(seed);
      std::vector<int64_t> want(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) want[static_cast<size_t>(i)] = i;
      for (int64_t i = n - 1; i > 0; --i)
        std::swap(want[static_cast<size_t>(i)], want[twin.below(static_cast<uint64_t>(i + 1))]);
      CHECK(p == want);
    }
  }
  // Every one of the 6 orders of 3 items comes up, about equally often.
  std::map<std::vector<int64_t>, int> count;
  Generator gen(7);
  for (int i = 0; i < 6000; ++i) ++count[randperm(3, gen)];
  REQUIRE(count.size() == 6);
  for (const auto& [order, c] : count) CHECK(c == Approx(1000).margin(150));   // binomial sd ~29
  Generator g(1);
  CHECK(randperm(-3, g).empty());
}

TEST_CASE("mix_seed: distinct streams for distinct inputs", "[tensor][random]") {
  std::set<uint64_t> seen;
  for (uint64_t a = 0; a < 100; ++a)
    for (uint64_t b = 0; b < 100; ++b) seen.insert(mix_seed(a, b));
  CHECK(seen.size() == 10000);
  CHECK(mix_seed(3, 4) == mix_seed(3, 4));
  CHECK(mix_seed(3, 4) != mix_seed(4, 3));
}
