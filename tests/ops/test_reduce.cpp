// SPDX-License-Identifier: Apache-2.0
#include "support/check.hpp"

using namespace fresco;
using V = std::vector<float>;
using S = Shape;

TEST_CASE("sum and mean over dims", "[ops][reduce]") {
  Tensor x = arange(24).reshape({2, 3, 4});
  CHECK(sum(x).item() == 276.f);
  CHECK(mean(x).item() == 11.5f);
  CHECK_TENSOR(sum(x, {1}), S({2, 4}), V({12, 15, 18, 21, 48, 51, 54, 57}), 0);
  CHECK_TENSOR(sum(x, {1}, true), S({2, 1, 4}), V({12, 15, 18, 21, 48, 51, 54, 57}), 0);
  CHECK_TENSOR(sum(x, {0, 2}), S({3}), V({60, 92, 124}), 0);
  CHECK_TENSOR(sum(x, {-1}), S({2, 3}), V({6, 22, 38, 54, 70, 86}), 0);
  CHECK_TENSOR(mean(x, {0}), S({3, 4}), V({6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}), 0);
  CHECK_TENSOR(sum(x.transpose(0, 2), {0}), S({3, 2}), V({6, 54, 22, 70, 38, 86}), 0);
  CHECK_THROWS_AS(sum(x, {3}), ShapeError);
  CHECK_THROWS_WITH(sum(x, {1, 1}), Catch::Contains("repeated"));
  CHECK(sum(zeros({0, 3})).item() == 0.f);
}

TEST_CASE("long sums are accurate and repeatable", "[ops][reduce]") {
  manual_seed(9);
  Tensor x = rand({1 << 20});
  const V v = x.to_vector();
  double ref = 0;
  for (float a : v) ref += a;
  const float s1 = sum(x).item();
  CHECK(std::fabs(s1 - ref) / ref < 1e-6);
  for (int i = 0; i < 5; ++i) CHECK(sum(x).item() == s1);  // bitwise
  set_num_threads(1);
  const float s_one = sum(x).item();
  set_num_threads(2);
  CHECK(sum(x).item() == s_one);  // the split is fixed by size, not threads
}

TEST_CASE("column sums (register tiles and the tail) add each column in row order", "[ops][reduce]") {
  manual_seed(10);
  // 300 columns: one 256-wide tile (eight register blocks of 32) and a 44-wide one
  // (one block and a 12-column tail); two outer blocks.
  const int64_t O = 2, R = 37, I = 300;
  Tensor x = randn({O, R, I});
  const V v = x.to_vector();
  V ref(O * I);
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < I; ++i) {
      float s = 0.f;  // the same order of float additions as the kernel: bitwise equal
      for (int64_t r = 0; r < R; ++r) s += v[(o * R + r) * I + i];
      ref[o * I + i] = s;
    }
  CHECK_TENSOR(sum(x, {1}), S({O, I}), ref, 0);
}

TEST_CASE("max and argmax along a dim", "[ops][reduce]") {
  Tensor x = tensor({1, 5, 3, 7, 2, 7}, {2, 3});
  CHECK_TENSOR(max(x, 1), S({2}), V({5, 7}), 0);
  CHECK_TENSOR(max(x, 0, true), S({1, 3}), V({7, 5, 7}), 0);
  CHECK_TENSOR(argmax(x, 1), S({2}), V({1, 0}), 0);
  CHECK_TENSOR(argmax(x, 0), S({3}), V({1, 0, 1}), 0);
  Tensor w = x.detach().requires_grad_();
  sum(max(w, 1)).backward();
  CHECK_TENSOR(w.grad(), S({2, 3}), V({0, 1, 0, 1, 0, 0}), 0);  // first maximum gets it
  CHECK_THROWS_AS(max(scalar_tensor(1.f), 0), ShapeError);
}

TEST_CASE("sum_to undoes broadcasting", "[ops][reduce]") {
  Tensor g = ones({4, 2, 3});
  CHECK_TENSOR(sum_to(g, {2, 1}), S({2, 1}), V({12, 12}), 0);
  CHECK_TENSOR(sum_to(g, {3}), S({3}), V({8, 8, 8}), 0);
  CHECK_TENSOR(sum_to(g, {}), S({}), V({24}), 0);
  CHECK_THROWS_AS(sum_to(g, {5}), ShapeError);
}

TEST_CASE("reductions pass gradcheck and gradgradcheck", "[ops][reduce]") {
  manual_seed(10);
  Tensor x = uniform({2, 3, 4}, -1, 1).requires_grad_();
  CHECK(gradcheck([](auto& v) { return sum(v[0], {1}); }, {x}));
  CHECK(gradcheck([](auto& v) { return mean(v[0], {0, 2}, true); }, {x}));
  CHECK(gradcheck([](auto& v) { return sum(v[0].transpose(0, 2), {0}); }, {x}));
  CHECK(gradcheck([](auto& v) { return max(v[0], 2); }, {x}));
  CHECK(gradcheck([](auto& v) { return mean(v[0] * v[0]); }, {x}));
  CHECK(gradgradcheck([](auto& v) { return sum(v[0] * v[0], {1}) * mean(v[0], {1}); }, {x}));
  CHECK(gradgradcheck([](auto& v) { return max(v[0] * v[0], 1); }, {x}));
}

TEST_CASE("views pass gradcheck", "[ops][reduce]") {
  manual_seed(11);
  Tensor x = uniform({3, 4}, -1, 1).requires_grad_();
  CHECK(gradcheck([](auto& v) { return v[0].slice(1, 1, 4, 2) * 2.f; }, {x}));
  CHECK(gradcheck([](auto& v) { return v[0].permute({1, 0}).reshape({2, 6}); }, {x}));
  CHECK(gradcheck([](auto& v) { return v[0].unsqueeze(0).expand({2, 3, 4}) * v[0]; }, {x}));
  CHECK(gradcheck([](auto& v) { return v[0].transpose(0, 1).contiguous().clone().flatten(); }, {x}));
  CHECK(gradgradcheck([](auto& v) { return v[0].slice(0, 0, 2) * v[0].slice(0, 1, 3); }, {x}));
}
