// SPDX-License-Identifier: Apache-2.0
#include "support/check.hpp"

using namespace fresco;
using V = std::vector<float>;
using S = Shape;

TEST_CASE("cat joins along an existing dim", "[ops][shape]") {
  Tensor a = arange(6).reshape({2, 3}), b = arange(3).reshape({1, 3}) + 10.f;
  CHECK_TENSOR(cat({a, b}, 0), S({3, 3}), V({0, 1, 2, 3, 4, 5, 10, 11, 12}), 0);
  Tensor c = arange(4).reshape({2, 2}) + 20.f;
  CHECK_TENSOR(cat({a, c}, -1), S({2, 5}), V({0, 1, 2, 20, 21, 3, 4, 5, 22, 23}), 0);
  // Non-contiguous pieces are read through their strides.
  CHECK_TENSOR(cat({a.transpose(0, 1), a.transpose(0, 1)}, 1), S({3, 4}), V({0, 3, 0, 3, 1, 4, 1, 4, 2, 5, 2, 5}), 0);
  CHECK_TENSOR(cat({a}, 1), S({2, 3}), a.to_vector(), 0);
  CHECK_TENSOR(cat({a, zeros({0, 3})}, 0), S({2, 3}), a.to_vector(), 0);
}

TEST_CASE("stack joins along a new dim", "[ops][shape]") {
  Tensor a = arange(6).reshape({2, 3}), b = arange(6).reshape({2, 3}) * 10.f;
  CHECK_TENSOR(stack({a, b}, 0), S({2, 2, 3}), V({0, 1, 2, 3, 4, 5, 0, 10, 20, 30, 40, 50}), 0);
  CHECK_TENSOR(stack({a, b}, 1), S({2, 2, 3}), V({0, 1, 2, 0, 10, 20, 3, 4, 5, 30, 40, 50}), 0);
  CHECK_TENSOR(stack({a, b}, -1), S({2, 3, 2}), V({0, 0, 1, 10, 2, 20, 3, 30, 4, 40, 5, 50}), 0);
  CHECK_TENSOR(stack({scalar_tensor(1.f), scalar_tensor(2.f)}, 0), S({2}), V({1, 2}), 0);
}

TEST_CASE("index_select picks entries with repeats", "[ops][shape]") {
  Tensor x = arange(15).reshape({5, 3});
  CHECK_TENSOR(index_select(x, 0, {4, 0, 4}), S({3, 3}), V({12, 13, 14, 0, 1, 2, 12, 13, 14}), 0);
  CHECK_TENSOR(index_select(x, 1, {2, 2, 0, 1}), S({5, 4}),
               V({2, 2, 0, 1, 5, 5, 3, 4, 8, 8, 6, 7, 11, 11, 9, 10, 14, 14, 12, 13}), 0);
  CHECK_TENSOR(index_select(x.transpose(0, 1), 1, {1}), S({3, 1}), V({3, 4, 5}), 0);
  CHECK_TENSOR(index_select(x, 0, {}), S({0, 3}), V({}), 0);
  // The backward adds the gradient rows of repeated indices.
  Tensor w = x.detach().requires_grad_();
  sum(index_select(w, 0, {4, 0, 4})).backward();
  CHECK_TENSOR(w.grad(), S({5, 3}), V({1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2}), 0);
}

TEST_CASE("shape ops pass gradcheck and gradgradcheck", "[ops][shape]") {
  manual_seed(21);
  Tensor a = randn({2, 3}).requires_grad_(), b = randn({3, 3}).requires_grad_(), c = randn({3, 2}).requires_grad_();
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return cat({x[0], x[1]}, 0); }, {a, b}));
  // Non-contiguous input (a transposed view) and a non-leading dim.
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return cat({x[0], x[1].transpose(0, 1)}, 0) * cat({x[0], x[1]}, 0); },
                  {a, b}));
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return cat({x[0].transpose(0, 1), x[1]}, 1); }, {a, c}));
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return stack({x[0], x[1].transpose(0, 1)}, 1); }, {a, c}));
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return index_select(x[0], 1, {2, 0, 2, 2}); }, {b}));
  CHECK(gradcheck([](const std::vector<Tensor>& x) { return index_select(x[0].transpose(0, 1), 0, {1, 1}); }, {b}));
  // Products make the second derivatives non-trivial.
  CHECK(gradgradcheck([](const std::vector<Tensor>& x) { return pow(cat({x[0], x[1]}, 0), 2.f); }, {a, b}));
  CHECK(gradgradcheck([](const std::vector<Tensor>& x) { return pow(stack({x[0], x[1]}, 2), 3.f); }, {a, c.transpose(0, 1).contiguous().detach().requires_grad_()}));
  CHECK(gradgradcheck([](const std::vector<Tensor>& x) { return pow(index_select(x[0], 0, {0, 2, 0}), 2.f); }, {b}));
}

TEST_CASE("shape ops reject bad arguments with messages", "[ops][shape]") {
  Tensor a = zeros({2, 3}), b = zeros({2, 4});
  CHECK_THROWS_AS(cat({a, b}, 0), ShapeError);
  CHECK_THROWS_WITH(cat({a, b}, 0), Catch::Contains("cat") && Catch::Contains("[2, 4]") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_WITH(cat({}, 0), Catch::Contains("cat: expected at least one tensor"));
  CHECK_THROWS_AS(cat({a, zeros({2, 3, 1})}, 0), ShapeError);
  CHECK_THROWS_AS(cat({a, a}, 2), ShapeError);
  CHECK_THROWS_WITH(stack({a, b}, 0), Catch::Contains("stack") && Catch::Contains("[2, 4]"));
  CHECK_THROWS_AS(stack({a, a}, 3), ShapeError);
  CHECK_THROWS_WITH(index_select(a, 0, {0, 2}), Catch::Contains("index_select") && Catch::Contains("index 2") &&
                                                    Catch::Contains("[2, 3]"));
  CHECK_THROWS_AS(index_select(a, 0, {-1}), Error);
  CHECK_THROWS_AS(index_select(scalar_tensor(1.f), 0, {0}), ShapeError);
}
