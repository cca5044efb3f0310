// SPDX-License-Identifier: Apache-2.0
#include <cstdint>

#include "support/check.hpp"

using namespace fresco;
using V = std::vector<float>;
using S = Shape;

TEST_CASE("creation functions fill shape and values", "[tensor]") {
  CHECK_TENSOR(zeros({2, 3}), S({2, 3}), V(6, 0.f), 0);
  CHECK_TENSOR(ones({3}), S({3}), V(3, 1.f), 0);
  CHECK_TENSOR(full({2}, 2.5f), S({2}), V({2.5f, 2.5f}), 0);
  CHECK_TENSOR(arange(4), S({4}), V({0, 1, 2, 3}), 0);
  Tensor s = scalar_tensor(3.f);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.item() == 3.f);
  CHECK_THROWS_AS(tensor({1, 2, 3}, {2, 2}), ShapeError);
  CHECK_THROWS_WITH(tensor({1, 2, 3}, {2, 2}), Catch::Contains("[2, 2]") && Catch::Contains("3 values"));
  CHECK_FALSE(Tensor().defined());
  CHECK_THROWS_AS(Tensor().shape(), Error);
}

TEST_CASE("storage is 64-byte aligned", "[tensor]") {
  for (int64_t n : {1, 3, 17, 1000, 100000}) {
    Tensor t = zeros({n});
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
  }
}

TEST_CASE("copies share data, clone copies", "[tensor]") {
  Tensor a = zeros({3});
  Tensor b = a;
  b.data()[1] = 5.f;
  CHECK(a.to_vector() == V({0, 5, 0}));
  Tensor c = a.clone();
  c.data()[0] = 7.f;
  CHECK(a.to_vector() == V({0, 5, 0}));
}

TEST_CASE("views share storage and have the right strides", "[tensor]") {
  Tensor x = arange(24).reshape({2, 3, 4});
  CHECK(x.strides() == S({12, 4, 1}));
  Tensor t = x.transpose(0, 2);
  CHECK(t.shape() == S({4, 3, 2}));
  CHECK(t.strides() == S({1, 4, 12}));
  CHECK_FALSE(t.is_contiguous());
  // t[i][j][k] == x[k][j][i]
  V tv = t.to_vector();
  V xv = x.to_vector();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) CHECK(tv[(i * 3 + j) * 2 + k] == xv[(k * 3 + j) * 4 + i]);
  // writes through a view reach the base
  Tensor v = x.view({6, 4});
  v.data()[5] = -1.f;
  CHECK(x.to_vector()[5] == -1.f);
  CHECK_THROWS_AS(t.view({24}), Error);
  CHECK(t.reshape({24}).is_contiguous());
  CHECK_THROWS_WITH(x.view({5, 5}), Catch::Contains("view") && Catch::Contains("[5, 5]"));
  CHECK(x.reshape({-1, 4}).shape() == S({6, 4}));
  CHECK_THROWS_AS(x.reshape({-1, -1}), ShapeError);
}

TEST_CASE("is_set_to: the same elements of the same storage", "[tensor]") {
  const Tensor a = zeros({2, 3});
  const Tensor copy = a;
  CHECK(a.is_set_to(copy));
  CHECK(a.is_set_to(a.view({2, 3})));              // a new handle over the same elements
  CHECK_FALSE(a.is_set_to(a.view({3, 2})));        // same storage, other shape
  CHECK_FALSE(a.is_set_to(a.slice(1, 1, 3)));     // other offset
  CHECK_FALSE(a.is_set_to(a.transpose(0, 1)));    // other strides
  CHECK_FALSE(a.is_set_to(a.clone()));            // other storage
  CHECK(Tensor().is_set_to(Tensor()));
  CHECK_FALSE(a.is_set_to(Tensor()));
  CHECK_FALSE(Tensor().is_set_to(a));
}

TEST_CASE("slice selects start, start+step, ... and clamps", "[tensor]") {
  Tensor x = arange(10);
  CHECK(x.slice(0, 1, 8, 3).to_vector() == V({1, 4, 7}));
  CHECK(x.slice(0, -3, 100).to_vector() == V({7, 8, 9}));
  CHECK(x.slice(0, 5, 2).numel() == 0);
  Tensor m = arange(12).reshape({3, 4});
  CHECK(m.slice(1, 1, 3).to_vector() == V({1, 2, 5, 6, 9, 10}));
  CHECK(m.slice(0, 1, 2).slice(1, 2, 4).to_vector() == V({6, 7}));
  CHECK_THROWS_AS(m.slice(2, 0, 1), ShapeError);
  CHECK_THROWS_AS(m.slice(0, 0, 1, 0), Error);
}

TEST_CASE("permute, unsqueeze, squeeze, expand, flatten", "[tensor]") {
  Tensor x = arange(6).reshape({1, 2, 3});
  Tensor p = x.permute({2, 0, 1});
  CHECK(p.shape() == S({3, 1, 2}));
  CHECK(p.to_vector() == V({0, 3, 1, 4, 2, 5}));
  CHECK_THROWS_AS(x.permute({0, 0, 1}), ShapeError);
  CHECK(x.squeeze(0).shape() == S({2, 3}));
  CHECK_THROWS_AS(x.squeeze(1), ShapeError);
  CHECK(x.unsqueeze(-1).shape() == S({1, 2, 3, 1}));
  Tensor e = tensor({1, 2}, {2, 1}).expand({3, 2, 4});
  CHECK(e.shape() == S({3, 2, 4}));
  CHECK(e.strides()[0] == 0);
  CHECK(e.to_vector() == V({1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2}));
  CHECK_THROWS_AS(tensor({1, 2}, {2}).expand({3}), ShapeError);
  CHECK(arange(24).reshape({2, 3, 4}).flatten(1).shape() == S({2, 12}));
}

TEST_CASE("manual_seed makes randn and rand repeatable", "[tensor]") {
  manual_seed(42);
  V a = randn({1000}).to_vector();
  V u = rand({10}).to_vector();
  manual_seed(42);
  CHECK(randn({1000}).to_vector() == a);
  CHECK(rand({10}).to_vector() == u);
  // moments of a standard normal and of U[0,1)
  manual_seed(1);
  V n = randn({200000}).to_vector();
  double m = 0, v = 0;
  for (float x : n) m += x;
  m /= n.size();
  for (float x : n) v += (x - m) * (x - m);
  v /= n.size();
  CHECK(std::fabs(m) < 0.01);
  CHECK(std::fabs(v - 1) < 0.02);
  V r = rand({100000}).to_vector();
  for (float x : r) REQUIRE((x >= 0.f && x < 1.f));
}

TEST_CASE("threads can be set", "[tensor]") {
  const int before = num_threads();
  set_num_threads(1);
  CHECK(num_threads() == 1);
  set_num_threads(before);
  CHECK_THROWS_AS(set_num_threads(0), Error);
}

TEST_CASE("tensors print like PyTorch", "[tensor]") {
  CHECK(fmt::format("{}", arange(4).reshape({2, 2})) == "tensor([[0., 1.],\n        [2., 3.]])");
  CHECK(fmt::format("{}", tensor({0.5f, -1.25f}, {2})) == "tensor([ 0.5000, -1.2500])");
  CHECK(fmt::format("{}", scalar_tensor(2.f)) == "tensor(2.)");
  std::string big = fmt::format("{}", arange(2000));
  CHECK(big == "tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.], shape=[2000])");
  Tensor w = ones({2}).requires_grad_();
  CHECK(fmt::format("{}", w) == "tensor([1., 1.], requires_grad=True)");
}
