// SPDX-License-Identifier: Apache-2.0
// matmul and linear on kernels::gemm. Legend: batch dims (...), A [..., M, K], B [..., K, N],
// C [..., M, N]; linear: R rows of x, `in` features, `out` features.
//
// Operands go to the GEMM as (pointer, batch stride, row stride, col stride), so transposed
// views (`b.transpose(-1, -2)`) and broadcast batch dims (stride 0) are read in place. Only an
// operand whose last two dims have no unit stride (or whose batch dims cannot be described by
// strides) is copied with contiguous().
#include <fresco/ops/matmul.hpp>

#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/reduce.hpp>

#include "kernels/gemm.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

using detail::needs_grad;
using detail::record;
using kernels::MatRef;

namespace {

/// True when a rows x cols matrix with these strides is a layout oneDNN takes as is: one
/// unit stride and a leading dimension that does not overlap rows/cols (stride-0 views of
/// `expand` are copied). Size-1 dims never step, so their stride does not matter.
bool gemm_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  const bool row_major = (cs == 1 || cols == 1) && (rows == 1 || rs >= cols);
  const bool col_major = (rs == 1 || rows == 1) && (cols == 1 || cs >= rows);
  return row_major || col_major;
}

bool gemm_layout(const Tensor& t) {
  return gemm_layout(t.size(-2), t.size(-1), t.stride(-2), t.stride(-1));
}

/// One batch dim of the product: its size and the batch strides of A and B (0 = broadcast).
struct BatchDim {
  int64_t size, a_stride, b_stride;
};

/// The broadcast batch dims of a and b, size-1 dims dropped and neighbours merged where both
/// operands step through them as one dim (C is contiguous, so it always can), outermost first.
std::vector<BatchDim> batch_dims(const Tensor& a, const Tensor& b, const Shape& batch) {
  const int64_t nb = static_cast<int64_t>(batch.size());
  const int64_t a_lead = nb - (a.dim() - 2), b_lead = nb - (b.dim() - 2);
  std::vector<BatchDim> dims;
  for (int64_t d = 0; d < nb; ++d) {
    if (batch[d] == 1) continue;
    const int64_t ai = d - a_lead, bi = d - b_lead;
    const int64_t as = ai >= 0 && a.shape()[ai] != 1 ? a.strides()[ai] : 0;
    const int64_t bs = bi >= 0 && b.shape()[bi] != 1 ? b.strides()[bi] : 0;
    if (!dims.empty()) {
      BatchDim& prev = dims.back();
      if (prev.a_stride == as * batch[d] && prev.b_stride == bs * batch[d]) {
        prev = {prev.size * batch[d], as, bs};
        continue;
      }
    }
    dims.push_back({batch[d], as, bs});
  }
  return dims;
}

/// True when a batch stride lets the batch be one strided array of matrices (broadcast, or
/// apart by at least one matrix).
bool valid_batch_stride(int64_t stride, const Tensor& t) {
  return stride == 0 || stride >= std::max(t.size(-2) * t.stride(-2), t.size(-1) * t.stride(-1));
}

/// C = A · B for a, b of rank >= 2 with equal inner dims and broadcastable batch dims; no recording.
Tensor matmul_forward(Tensor a, Tensor b, const Shape& batch) {
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  if (!gemm_layout(a)) a = a.contiguous();
  if (!gemm_layout(b)) b = b.contiguous();
  std::vector<BatchDim> dims = batch_dims(a, b, batch);
  bool strided_ok = true;
  for (const BatchDim& d : dims) strided_ok = strided_ok && valid_batch_stride(d.a_stride, a) && valid_batch_stride(d.b_stride, b);
  if (!strided_ok) {
    a = a.contiguous();
    b = b.contiguous();
    dims = batch_dims(a, b, batch);
  }

  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor c = detail::make_tensor(out_shape);
  float* cp = c.data();
  const MatRef am{a.impl()->ptr(), 0, a.stride(-2), a.stride(-1)};
  const MatRef bm{b.impl()->ptr(), 0, b.stride(-2), b.stride(-1)};

  if (dims.empty()) {
    kernels::gemm(1, M, N, K, am, bm, cp, N, 0);
    return c;
  }
  // x [..., M, K] · W [K, N] with row-major rows of A one matrix apart: one GEMM over all
  // rows (batch·M x K) rather than a batch with a broadcast B.
  // (A row's stride is free when M == 1: rows are then the batch entries.)
  const int64_t fold_rs = M == 1 ? dims[0].a_stride : am.row_stride;
  if (dims.size() == 1 && dims[0].b_stride == 0 && am.col_stride == 1 && dims[0].a_stride == M * fold_rs) {
    kernels::gemm(1, dims[0].size * M, N, K, {am.data, 0, fold_rs, 1}, bm, cp, N, 0);
    return c;
  }
  // The innermost batch dim goes to one batched GEMM; outer ones (rare: batch dims that
  // could not be merged) are looped over with an odometer.
  const BatchDim inner = dims.back();
  const size_t outer_dims = dims.size() - 1;
  int64_t outer = 1;
  for (size_t i = 0; i < outer_dims; ++i) outer *= dims[i].size;
  std::vector<int64_t> index(outer_dims, 0);
  int64_t a_off = 0, b_off = 0;
  for (int64_t o = 0; o < outer; ++o) {
    kernels::gemm(inner.size, M, N, K, {am.data + a_off, inner.a_stride, am.row_stride, am.col_stride},
                  {bm.data + b_off, inner.b_stride, bm.row_stride, bm.col_stride}, cp + o * inner.size * M * N, N,
                  M * N);
    for (size_t i = outer_dims; i-- > 0;) {
      a_off += dims[i].a_stride;
      b_off += dims[i].b_stride;
      if (++index[i] < dims[i].size) break;
      a_off -= dims[i].a_stride * dims[i].size;
      b_off -= dims[i].b_stride * dims[i].size;
      index[i] = 0;
    }
  }
  return c;
}

/// Broadcast of the batch dims (all but the last two) of a and b.
Shape matmul_batch(const Shape& a, const Shape& b, const Shape& a_user, const Shape& b_user) {
  const Shape ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  const size_t n = std::max(ab.size(), bb.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - ab.size() ? 1 : ab[i - (n - ab.size())];
    const int64_t db = i < n - bb.size() ? 1 : bb[i - (n - bb.size())];
    FRESCO_CHECK_SHAPE(da == db || da == 1 || db == 1, "matmul: batch dimensions {} and {} do not broadcast: {} x {}",
                       shape_str(ab), shape_str(bb), shape_str(a_user), shape_str(b_user));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// matmul of operands of rank >= 2, recorded. Backward: dA = g · Bᵀ, dB = Aᵀ · g, each summed
/// over the batch dims its operand was broadcast along; written with matmul on transposed
/// views so that it is differentiable again and copies nothing.
Tensor matmul_2d_up(const Tensor& a, const Tensor& b, const Shape& a_user, const Shape& b_user) {
  const Shape batch = matmul_batch(a.shape(), b.shape(), a_user, b_user);
  Tensor y = matmul_forward(a, b, batch);
  if (needs_grad({&a, &b}))
    record(y, "matmul", {a, b}, [a, b](const Tensor& g) {
      Tensor ga, gb;
      if (a.requires_grad()) ga = sum_to(matmul(g, b.transpose(-1, -2)), a.shape());
      if (b.requires_grad()) {
        if (b.dim() == 2 && a.dim() > 2)
          // B shared by every batch: Σ_batch Aᵀ·g is one GEMM over all rows.
          gb = matmul(a.reshape({-1, a.size(-1)}).transpose(0, 1), g.reshape({-1, g.size(-1)}));
        else
          gb = sum_to(matmul(a.transpose(-1, -2), g), b.shape());
      }
      return std::vector<Tensor>{ga, gb};
    });
  return y;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "matmul", "first");
  detail::check_defined(b, "matmul", "second");
  FRESCO_CHECK_SHAPE(a.dim() >= 1 && b.dim() >= 1, "matmul: 0-d operands are not supported: {} x {}",
                     shape_str(a.shape()), shape_str(b.shape()));
  const int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  FRESCO_CHECK_SHAPE(ka == kb, "matmul: inner dimensions differ: {} x {}", shape_str(a.shape()), shape_str(b.shape()));
  FRESCO_PROFILE("matmul");
  if (a.dim() >= 2 && b.dim() >= 2) return matmul_2d_up(a, b, a.shape(), b.shape());
  // A 1-d operand is a row (left) or column (right) vector; the added dim is removed again.
  Tensor y = matmul_2d_up(a.dim() == 1 ? a.unsqueeze(0) : a, b.dim() == 1 ? b.unsqueeze(1) : b, a.shape(), b.shape());
  if (b.dim() == 1) y = y.squeeze(-1);
  if (a.dim() == 1) y = y.squeeze(b.dim() == 1 ? -1 : -2);
  return y;
}

// ---- linear ---------------------------------------------------------------

namespace {

/// x [..., in] seen as an R x in matrix in place when its leading dims merge into one
/// strided row dim; otherwise from a contiguous copy, kept alive in `holder`.
MatRef rows_of(const Tensor& x, Tensor& holder) {
  const int64_t in = x.size(-1), rows = x.dim() == 1 ? 1 : shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  bool merges = true;
  for (int64_t d = 0; d + 2 < x.dim(); ++d)
    merges = merges && (x.size(d) == 1 || x.stride(d) == x.stride(d + 1) * x.size(d + 1));
  const int64_t rs = x.dim() == 1 ? in : x.stride(-2), cs = x.stride(-1);
  if (merges && gemm_layout(rows, in, rs, cs)) return {x.impl()->ptr(), 0, rs, cs};
  holder = x.contiguous();
  return {holder.impl()->ptr(), 0, in, 1};
}

/// weight [out, in] read as Wᵀ (in x out) through swapped strides, copied only if no stride is 1.
MatRef weight_transposed(const Tensor& w, Tensor& holder) {
  if (gemm_layout(w.size(1), w.size(0), w.stride(1), w.stride(0)))
    return {w.impl()->ptr(), 0, w.stride(1), w.stride(0)};
  holder = w.contiguous();
  return {holder.impl()->ptr(), 0, 1, w.size(1)};
}

/// dx = g · W, dW = gᵀ · x, db = Σ_rows g with raw kernels (no graph is being recorded).
std::vector<Tensor> linear_backward_fused(const Tensor& g_in, const Tensor& x, const Tensor& w, bool need_b,
                                          const Shape& x_shape) {
  const int64_t out = g_in.size(-1), in = x_shape.back();
  const int64_t rows = shape_numel(Shape(x_shape.begin(), x_shape.end() - 1));
  const Tensor g = g_in.contiguous();
  const MatRef gm{g.impl()->ptr(), 0, out, 1};
  Tensor dx, dw, db, w_holder, x_holder;
  if (w.defined()) {  // x needs a gradient: W was captured
    dx = detail::make_tensor(x_shape);
    const MatRef wt = weight_transposed(w, w_holder);  // W [out, in] = (Wᵀ)ᵀ: swap back
    kernels::gemm(1, rows, in, out, gm, {wt.data, 0, wt.col_stride, wt.row_stride}, dx.data(), in, 0);
  }
  if (x.defined()) {  // W needs a gradient: x was captured
    dw = detail::make_tensor({out, in});
    const MatRef xm = rows_of(x, x_holder);
    kernels::gemm(1, out, in, rows, {gm.data, 0, 1, out}, xm, dw.data(), in, 0);
  }
  if (need_b) db = sum(g.view({rows, out}), {0});
  return {dx, dw, db};
}

}  // namespace

namespace {

/// x · weightᵀ + bias, then `epilogue`, after the checks of `op`; not recorded.
Tensor linear_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const char* op,
                      kernels::Epilogue epilogue) {
  detail::check_defined(x, op, "input");
  detail::check_defined(weight, op, "weight");
  FRESCO_CHECK_SHAPE(weight.dim() == 2, "{}: expected a 2-d weight [out, in], got {}", op, shape_str(weight.shape()));
  const int64_t out = weight.size(0), in = weight.size(1);
  FRESCO_CHECK_SHAPE(x.dim() >= 1 && x.size(-1) == in, "{}: input {} has {} features but weight {} expects {}", op,
                     shape_str(x.shape()), x.dim() >= 1 ? x.size(-1) : 0, shape_str(weight.shape()), in);
  Tensor b;
  if (bias.defined()) {
    FRESCO_CHECK_SHAPE(bias.dim() == 1 && bias.size(0) == out, "{}: expected a bias of shape [{}], got {}", op, out,
                       shape_str(bias.shape()));
    b = bias.contiguous();
  }
  Shape y_shape = x.shape();
  y_shape.back() = out;
  Tensor y = detail::make_tensor(y_shape);
  Tensor x_holder, w_holder;
  const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  kernels::gemm(1, rows, out, in, rows_of(x, x_holder), weight_transposed(weight, w_holder), y.data(), out, 0,
                b.defined() ? b.data() : nullptr, false, epilogue);
  return y;
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  FRESCO_PROFILE("linear");
  Tensor y = linear_forward(x, weight, bias, "linear", kernels::Epilogue::none);
  if (needs_grad({&x, &weight, &bias}))
    record(y, "linear", {x, weight, bias},
           [xs = weight.requires_grad() ? x : Tensor(), ws = x.requires_grad() ? weight : Tensor(),
            need_b = bias.defined() && bias.requires_grad(), x_shape = x.shape()](const Tensor& g) {
             if (!is_grad_enabled()) return linear_backward_fused(g, xs, ws, need_b, x_shape);
             // Recorded (create_graph): the same formulas in differentiable ops.
             const int64_t out = g.size(-1);
             Tensor dx, dw, db;
             if (ws.defined()) dx = matmul(g, ws);
             if (xs.defined())
               dw = matmul(g.reshape({-1, out}).transpose(0, 1), xs.reshape({-1, xs.size(-1)}));
             if (need_b) db = sum(g.reshape({-1, out}), {0});
             return std::vector<Tensor>{dx, dw, db};
           });
  return y;
}

Tensor linear_gelu(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  // Recorded, gelu's backward needs the pre-activation, which the fused GEMM never stores.
  if (needs_grad({&x, &weight, &bias})) return gelu(linear(x, weight, bias));
  FRESCO_PROFILE("linear_gelu");
  return linear_forward(x, weight, bias, "linear_gelu", kernels::Epilogue::gelu);
}

}  // namespace fresco
