// SPDX-License-Identifier: Apache-2.0
// matmul and linear against naive loops (all rank combinations, broadcast batch dims,
// transposed / sliced / expanded operands), their errors, gradcheck and gradgradcheck.
#include <cstdlib>
#include <functional>

#include "support/check.hpp"

using namespace fresco;
using V = std::vector<float>;
using S = Shape;

namespace {

Tensor leaf(Shape shape) { return uniform(std::move(shape), -1.f, 1.f).requires_grad_(); }

/// torch.matmul by definition: promote 1-d operands, broadcast the batch dims, triple loop
/// in double, then drop the promoted dims.
Tensor naive_matmul(const Tensor& a_in, const Tensor& b_in) {
  Shape as = a_in.shape(), bs = b_in.shape();
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  const Shape batch = broadcast_shapes(Shape(as.begin(), as.end() - 2), Shape(bs.begin(), bs.end() - 2), "naive");
  Shape ae = batch, be = batch, ce = batch;
  ae.insert(ae.end(), {M, K});
  be.insert(be.end(), {K, N});
  ce.insert(ce.end(), {M, N});
  const V a = a_in.reshape(as).expand(ae).contiguous().to_vector();
  const V b = b_in.reshape(bs).expand(be).contiguous().to_vector();
  V c(size_t(shape_numel(ce)));
  for (int64_t p = 0; p < shape_numel(batch); ++p)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += double(a[(p * M + i) * K + k]) * b[(p * K + k) * N + j];
        c[size_t((p * M + i) * N + j)] = float(s);
      }
  Shape out = batch;
  if (a_in.dim() > 1) out.push_back(M);
  if (b_in.dim() > 1) out.push_back(N);
  return tensor(c, out);
}

/// A random [.., rows, cols] operand laid out in one of several ways with the same values
/// semantics: contiguous, a transposed view, a sliced view (no unit stride), an expanded view.
Tensor random_operand(Shape shape, int layout) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (nd >= 2 && layout == 1) {
    Shape t = shape;
    std::swap(t[nd - 1], t[nd - 2]);
    return randn(t).transpose(-1, -2);
  }
  if (layout == 2) {
    Shape wide = shape;
    wide.back() *= 2;
    return randn(wide).slice(-1, 0, wide.back(), 2);
  }
  if (nd >= 3 && layout == 3) {
    Shape one = shape;
    one[0] = 1;
    return randn(one).expand(shape);
  }
  return randn(shape);
}

}  // namespace

TEST_CASE("matmul by hand", "[ops][matmul]") {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = tensor({1, 0, 0, 1, 1, 1}, {3, 2});
  CHECK_TENSOR(matmul(a, b), S({2, 2}), V({4, 5, 10, 11}), 0);
  CHECK_TENSOR(matmul(tensor({1, 2, 3}, {3}), tensor({4, 5, 6}, {3})), S({}), V({32}), 0);
  CHECK_TENSOR(matmul(tensor({1, 1}, {2}), a), S({3}), V({5, 7, 9}), 0);
  CHECK_TENSOR(matmul(a, tensor({1, 0, -1}, {3})), S({2}), V({-2, -2}), 0);
  // Empty sizes: M = 0 gives an empty result, K = 0 a zero one (an empty sum).
  CHECK(matmul(zeros({0, 3}), ones({3, 2})).shape() == S({0, 2}));
  CHECK_TENSOR(matmul(ones({2, 0}), ones({0, 3})), S({2, 3}), V(6, 0.f), 0);
}

TEST_CASE("matmul agrees with naive loops on every rank combination and layout", "[ops][matmul]") {
  manual_seed(21);
  Generator g(5);
  const int trials = std::getenv("FRESCO_TEST_QUICK") ? 150 : 600;
  for (int t = 0; t < trials; ++t) {
    const int64_t M = 1 + int64_t(g.below(5)), K = 1 + int64_t(g.below(6)), N = 1 + int64_t(g.below(5));
    const int ra = 1 + int(g.below(4)), rb = 1 + int(g.below(4));
    // Batch dims: a common shape, each operand keeps a suffix of it with some dims set to 1.
    Shape batch(3);
    for (auto& d : batch) d = 1 + int64_t(g.below(3));
    auto make_shape = [&](int rank, bool left) {
      Shape s;
      for (int d = 3 - (rank - 2); d < 3 && rank > 2; ++d) s.push_back(g.below(3) == 0 ? 1 : batch[size_t(d)]);
      if (rank == 1) return Shape{K};
      s.insert(s.end(), left ? std::initializer_list<int64_t>{M, K} : std::initializer_list<int64_t>{K, N});
      return s;
    };
    Tensor a = random_operand(make_shape(ra, true), int(g.below(4)));
    Tensor b = random_operand(make_shape(rb, false), int(g.below(4)));
    INFO("a " << shape_str(a.shape()) << " strides " << shape_str(a.strides()) << ", b " << shape_str(b.shape())
              << " strides " << shape_str(b.strides()));
    Tensor want = naive_matmul(a, b);
    Tensor got = matmul(a, b);
    REQUIRE(got.shape() == want.shape());
    REQUIRE(testing::max_abs_diff(got.to_vector(), want.to_vector()) <= 1e-4);
  }
}

TEST_CASE("matmul reads transposed views in place with the contiguous result", "[ops][matmul]") {
  manual_seed(22);
  // The attention pattern: q [B, H, T, D] · kᵀ, and x [B, T, C] · Wᵀ with W [N, C].
  Tensor q = randn({2, 3, 5, 4}), k = randn({2, 3, 5, 4});
  Tensor kt = k.transpose(-1, -2);
  REQUIRE_FALSE(kt.is_contiguous());
  CHECK(testing::max_abs_diff(matmul(q, kt).to_vector(), matmul(q, kt.contiguous()).to_vector()) <= 1e-5);
  Tensor x = randn({4, 6, 8}), w = randn({3, 8});
  CHECK(testing::max_abs_diff(matmul(x, w.transpose(0, 1)).to_vector(),
                              matmul(x, w.transpose(0, 1).contiguous()).to_vector()) <= 1e-5);
  // Both transposed, and a transposed batch of A ([B, K, M] read as [B, M, K]).
  Tensor at = randn({3, 7, 4}).transpose(1, 2), bt = randn({3, 5, 7}).transpose(1, 2);
  CHECK(testing::max_abs_diff(matmul(at, bt).to_vector(), naive_matmul(at, bt).to_vector()) <= 1e-5);
  // Batch dims permuted (not mergeable): the outer one is looped over.
  Tensor ap = randn({3, 2, 4, 5}).permute({1, 0, 2, 3}), bp = randn({2, 3, 5, 2});
  CHECK(testing::max_abs_diff(matmul(ap, bp).to_vector(), naive_matmul(ap, bp).to_vector()) <= 1e-5);
}

TEST_CASE("matmul errors name the op and the shapes", "[ops][matmul]") {
  CHECK_THROWS_WITH(matmul(zeros({64, 128}), zeros({64, 256})),
                    Catch::Contains("matmul: inner dimensions differ: [64, 128] x [64, 256]"));
  CHECK_THROWS_WITH(matmul(zeros({3}), zeros({4})), Catch::Contains("matmul: inner dimensions differ: [3] x [4]"));
  CHECK_THROWS_AS(matmul(zeros({2, 3}), zeros({2})), ShapeError);
  CHECK_THROWS_WITH(matmul(scalar_tensor(2), zeros({3})), Catch::Contains("matmul: 0-d"));
  CHECK_THROWS_WITH(matmul(zeros({2, 2, 3}), zeros({3, 3, 4})),
                    Catch::Contains("matmul: batch dimensions [2] and [3] do not broadcast"));
  CHECK_THROWS_AS(matmul(Tensor(), zeros({3})), Error);
  CHECK_THROWS_WITH(linear(zeros({2, 3}), zeros({4, 5})),
                    Catch::Contains("linear: input [2, 3] has 3 features but weight [4, 5] expects 5"));
  CHECK_THROWS_WITH(linear(zeros({2, 5}), zeros({4, 5}), zeros({5})),
                    Catch::Contains("linear: expected a bias of shape [4], got [5]"));
  CHECK_THROWS_WITH(linear(zeros({2, 5}), zeros({5})), Catch::Contains("linear: expected a 2-d weight"));
}

TEST_CASE("linear agrees with naive loops", "[ops][matmul]") {
  manual_seed(23);
  for (int layout = 0; layout < 4; ++layout) {
    Tensor x = layout == 1 ? randn({3, 2, 4}).transpose(0, 1) : randn({2, 3, 4});
    Tensor w = layout == 2 ? randn({4, 5}).transpose(0, 1) : randn({5, 4});
    Tensor b = layout == 3 ? Tensor() : randn({5});
    const V xv = x.to_vector(), wv = w.to_vector();
    V want(2 * 3 * 5);
    for (int r = 0; r < 6; ++r)
      for (int o = 0; o < 5; ++o) {
        double s = b.defined() ? b.to_vector()[size_t(o)] : 0.0;
        for (int i = 0; i < 4; ++i) s += double(xv[size_t(r * 4 + i)]) * wv[size_t(o * 4 + i)];
        want[size_t(r * 5 + o)] = float(s);
      }
    INFO("layout " << layout);
    CHECK_TENSOR(linear(x, w, b), S({2, 3, 5}), want, 1e-5);
  }
  // A 1-d input is one row.
  Tensor w = tensor({1, 2, 3, 4}, {2, 2});
  CHECK_TENSOR(linear(tensor({1, -1}, {2}), w, tensor({10, 20}, {2})), S({2}), V({9, 19}), 0);
}

TEST_CASE("linear_gelu is gelu(linear) fused in inference and composed under recording", "[ops][matmul]") {
  manual_seed(24);
  Tensor x = randn({37, 50}) * 2.f, w = randn({70, 50}) * 0.2f, b = randn({70});
  const V want = gelu(linear(x, w, b)).to_vector();
  {
    NoGradGuard no_grad;  // one GEMM with the gelu epilogue
    CHECK_TENSOR(linear_gelu(x, w, b), S({37, 70}), want, 1e-5);
    CHECK_TENSOR(linear_gelu(x, w), S({37, 70}), gelu(linear(x, w)).to_vector(), 1e-5);
    // No inner dim: gelu of the bias on every row (gelu(1) = 0.8413447, gelu(-0.5) = -0.1542687).
    CHECK_TENSOR(linear_gelu(zeros({2, 0}), zeros({2, 0}), tensor({1.f, -0.5f}, {2})), S({2, 2}),
                 V({0.8413447f, -0.1542687f, 0.8413447f, -0.1542687f}), 1e-6);
  }
  const Tensor xr = x.detach().requires_grad_(), wr = w.detach().requires_grad_(), br = b.detach().requires_grad_();
  const Tensor y = linear_gelu(xr, wr, br);
  CHECK(testing::max_abs_diff(y.to_vector(), want) == 0);
  const Tensor g = randn({37, 70});
  const std::vector<Tensor> fused = grad({y}, {xr, wr, br}, {g});
  const std::vector<Tensor> composed = grad({gelu(linear(xr, wr, br))}, {xr, wr, br}, {g});
  for (int i = 0; i < 3; ++i) CHECK(testing::max_abs_diff(fused[i].to_vector(), composed[i].to_vector()) == 0);
  CHECK_THROWS_WITH(linear_gelu(x, randn({70, 49})), Catch::Contains("linear_gelu") && Catch::Contains("[70, 49]"));
}

TEST_CASE("matmul passes gradcheck", "[ops][matmul]") {
  manual_seed(24);
  using Fn = std::function<Tensor(const std::vector<Tensor>&)>;
  const Fn mm = [](auto& v) { return matmul(v[0], v[1]); };
  CHECK(gradcheck(mm, {leaf({3, 4}), leaf({4, 2})}));
  CHECK(gradcheck(mm, {leaf({4}), leaf({4})}));
  CHECK(gradcheck(mm, {leaf({4}), leaf({2, 4, 3})}));
  CHECK(gradcheck(mm, {leaf({2, 3, 4}), leaf({4})}));
  CHECK(gradcheck(mm, {leaf({2, 1, 3, 4}), leaf({3, 4, 2})}));  // broadcast batch on both sides
  CHECK(gradcheck(mm, {leaf({2, 3, 4}), leaf({4, 2})}));        // B shared by the batch
  CHECK(gradcheck(mm, {leaf({3, 4}), leaf({2, 4, 2})}));        // A shared by the batch
  // Transposed inputs (views of the leaves).
  CHECK(gradcheck([](auto& v) { return matmul(v[0].transpose(-1, -2), v[1].transpose(-1, -2)); },
                  {leaf({2, 4, 3}), leaf({2, 5, 4})}));
}

TEST_CASE("linear passes gradcheck", "[ops][matmul]") {
  manual_seed(25);
  using Fn = std::function<Tensor(const std::vector<Tensor>&)>;
  const Fn lin = [](auto& v) { return linear(v[0], v[1], v.size() > 2 ? v[2] : Tensor()); };
  CHECK(gradcheck(lin, {leaf({3, 4}), leaf({2, 4}), leaf({2})}));
  CHECK(gradcheck(lin, {leaf({3, 4}), leaf({2, 4})}));
  CHECK(gradcheck(lin, {leaf({2, 3, 4}), leaf({5, 4}), leaf({5})}));
  CHECK(gradcheck(lin, {leaf({4}), leaf({3, 4}), leaf({3})}));
  // Only some inputs need a gradient.
  CHECK(gradcheck(lin, {randn({3, 4}), leaf({2, 4}), randn({2})}));
  CHECK(gradcheck(lin, {leaf({3, 4}), randn({2, 4}), leaf({2})}));
  // Transposed x and weight views.
  CHECK(gradcheck([](auto& v) { return linear(v[0].transpose(0, 1), v[1].transpose(0, 1), v[2]); },
                  {leaf({4, 3}), leaf({4, 2}), leaf({2})}));
}

TEST_CASE("matmul and linear pass gradgradcheck", "[ops][matmul]") {
  manual_seed(26);
  CHECK(gradgradcheck([](auto& v) { return matmul(v[0], v[1]); }, {leaf({2, 3}), leaf({3, 2})}));
  CHECK(gradgradcheck([](auto& v) { return matmul(v[0], v[1].transpose(-1, -2)); }, {leaf({2, 2, 3}), leaf({2, 3})}));
  CHECK(gradgradcheck([](auto& v) { return matmul(v[0], v[1]); }, {leaf({3}), leaf({3, 2})}));
  CHECK(gradgradcheck([](auto& v) { return linear(v[0], v[1], v[2]); }, {leaf({2, 2, 3}), leaf({2, 3}), leaf({2})}));
  // A nonlinearity after linear makes the second derivative depend on every input.
  CHECK(gradgradcheck([](auto& v) { return tanh(linear(v[0], v[1], v[2])); }, {leaf({2, 3}), leaf({2, 3}), leaf({2})}));
}
