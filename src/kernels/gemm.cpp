// SPDX-License-Identifier: Apache-2.0
// GEMM on oneDNN matmul primitives. Legend: batch B, C[b] (M x N) = A[b] (M x K) · B[b] (K x N).
// Operands are described to oneDNN by their strides, so transposed or sliced views
// are read in place; a batch stride of 0 becomes a batch dim of 1, which oneDNN's
// matmul broadcasts. One primitive per (dims, strides, flags), created on first use.
#include "kernels/gemm.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <mutex>

#include <omp.h>

#include <fresco/error.hpp>

#include "kernels/dnnl_context.hpp"
#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"

namespace fresco::kernels {
namespace {

using dnnl::memory;
using Key = std::array<int64_t, 15>;

struct GemmPrimitive {
  dnnl::matmul matmul;
  memory::desc a_md, b_md, c_md, bias_md, scratch_md;
  size_t scratch_bytes = 0;
};

dnnl_context::PrimitiveCache<15, GemmPrimitive>& cache() {
  static dnnl_context::PrimitiveCache<15, GemmPrimitive> c;
  return c;
}

/// Descriptor of a [batch x] rows x cols strided matrix. `batch == 0` means a plain
/// 2-D matrix; `batch_stride == 0` means one matrix broadcast over the batch, which
/// oneDNN expresses as a batch dim of 1 (its stride is then irrelevant, but must be sane).
memory::desc matrix_desc(int64_t batch, int64_t rows, int64_t cols, int64_t batch_stride, int64_t row_stride,
                         int64_t col_stride) {
  if (batch == 0) return memory::desc({rows, cols}, memory::data_type::f32, {row_stride, col_stride});
  if (batch_stride == 0) {
    batch = 1;
    batch_stride = std::max(rows * row_stride, cols * col_stride);
  }
  return memory::desc({batch, rows, cols}, memory::data_type::f32, {batch_stride, row_stride, col_stride});
}

GemmPrimitive make_primitive(const Key& k) {
  const auto [batch, M, N, K, a_bs, a_rs, a_cs, b_bs, b_rs, b_cs, ldc, c_bs, has_bias, accumulate, epilogue] = k;
  // A single matrix product uses 2-D descriptors, which reach oneDNN's plain GEMM paths.
  const int64_t b = batch == 1 ? 0 : batch;
  GemmPrimitive p;
  p.a_md = matrix_desc(b, M, K, a_bs, a_rs, a_cs);
  p.b_md = matrix_desc(b, K, N, b_bs, b_rs, b_cs);
  p.c_md = matrix_desc(b, M, N, c_bs, ldc, 1);
  if (has_bias) p.bias_md = b == 0 ? memory::desc({1, N}, memory::data_type::f32, {N, 1})
                                   : memory::desc({1, 1, N}, memory::data_type::f32, {N, N, 1});
  dnnl::primitive_attr attr;
  dnnl::post_ops ops;
  // C += A·B: the sum post-op adds the previous content of the destination.
  if (accumulate) ops.append_sum(1.0f);
  if (static_cast<Epilogue>(epilogue) == Epilogue::gelu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
  if (ops.len() > 0) attr.set_post_ops(ops);
  // Products split over threads run one primitive on several threads at once: each
  // execution gets its thread's scratchpad.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::matmul::desc desc = has_bias ? dnnl::matmul::desc(p.a_md, p.b_md, p.bias_md, p.c_md)
                                     : dnnl::matmul::desc(p.a_md, p.b_md, p.c_md);
  const dnnl::matmul::primitive_desc pd(desc, attr, dnnl_context::engine());
  p.matmul = dnnl::matmul(pd);
  p.scratch_md = pd.scratchpad_desc();
  p.scratch_bytes = p.scratch_md.get_size();
  return p;
}

/// C = bias (or 0), or left as is when accumulating: the value of an empty sum over K;
/// then the epilogue.
void fill_empty_product(int64_t batch, int64_t M, int64_t N, float* C, int64_t ldc, int64_t c_bs,
                        const float* bias, bool accumulate, Epilogue epilogue) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < M; ++i) {
      float* c = C + b * c_bs + i * ldc;
      for (int64_t j = 0; j < N; ++j) {
        const float v = (accumulate ? c[j] : 0.0f) + (bias ? bias[j] : 0.0f);
        c[j] = epilogue == Epilogue::gelu ? 0.5f * v * one_plus_erf(v * 0.70710678118654752f) : v;   // as ops' gelu
      }
    }
}

/// A large single product as one part per thread, each a single-threaded oneDNN product
/// (oneDNN runs sequentially inside a parallel region): C's rows split when M ≥ N, its
/// columns otherwise, in blocks of 16. For a transformer step's shapes (M = 2048 rows or
/// a weight gradient's 128-512, N and K of 128-512), oneDNN's own split over two threads
/// was up to 20% slower: for some of them it splits K and then adds the partial products.
/// Returns false, having done nothing, when the product is small or already on a worker.
bool split_over_threads(int64_t M, int64_t N, int64_t K, const MatRef& A, const MatRef& B, float* C, int64_t ldc,
                        const float* bias, bool accumulate, Epilogue epilogue) {
  constexpr int64_t kBlock = 16;
  const int64_t t = threads();
  const bool rows = M >= N;
  const int64_t blocks = ((rows ? M : N) + kBlock - 1) / kBlock;
  if (t < 2 || blocks < 2 || M * N * K < (int64_t{1} << 21) || omp_in_parallel()) return false;
  const int64_t parts = std::min(t, blocks);
  // An exception may not leave an OpenMP region: the first one is carried out of it.
  std::exception_ptr error;
  std::mutex error_mutex;
  parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    try {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t b0 = p * blocks / parts * kBlock, b1 = std::min((p + 1) * blocks / parts * kBlock, rows ? M : N);
        if (rows)
          gemm(1, b1 - b0, N, K, {A.data + b0 * A.row_stride, 0, A.row_stride, A.col_stride}, B, C + b0 * ldc, ldc, 0,
               bias, accumulate, epilogue);
        else
          gemm(1, M, b1 - b0, K, A, {B.data + b0 * B.col_stride, 0, B.row_stride, B.col_stride}, C + b0, ldc, 0,
               bias ? bias + b0 : nullptr, accumulate, epilogue);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  });
  if (error) std::rethrow_exception(error);
  return true;
}

}  // namespace

void gemm(int64_t batch, int64_t M, int64_t N, int64_t K, MatRef A, MatRef B, float* C, int64_t ldc,
          int64_t c_batch_stride, const float* bias, bool accumulate, Epilogue epilogue) {
  FRESCO_ASSERT(batch >= 0 && M >= 0 && N >= 0 && K >= 0, "gemm: negative size");
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) return fill_empty_product(batch, M, N, C, ldc, c_batch_stride, bias, accumulate, epilogue);
  // A stride of a size-1 dimension is never used: normalise it so that equivalent
  // calls share one primitive, and so that oneDNN sees a plain layout.
  if (M == 1) A.row_stride = A.col_stride == 1 ? K : 1;
  if (K == 1) {
    A.col_stride = A.row_stride == 1 ? M : 1;
    B.row_stride = B.col_stride == 1 ? N : 1;
  }
  if (N == 1) B.col_stride = B.row_stride == 1 ? K : 1;
  if (M == 1) ldc = N;
  if (batch == 1) A.batch_stride = B.batch_stride = c_batch_stride = 0;
  FRESCO_ASSERT(A.row_stride == 1 || A.col_stride == 1, "gemm: A needs a unit stride");
  FRESCO_ASSERT(B.row_stride == 1 || B.col_stride == 1, "gemm: B needs a unit stride");
  FRESCO_ASSERT(batch == 1 || c_batch_stride > 0, "gemm: C cannot be broadcast over the batch");
  if (batch > 1 && A.batch_stride == 0 && B.batch_stride == 0) {
    // Both operands broadcast: oneDNN wants a dst batch equal to an operand's, so
    // run the batch as separate products.
    for (int64_t b = 0; b < batch; ++b)
      gemm(1, M, N, K, A, B, C + b * c_batch_stride, ldc, 0, bias, accumulate, epilogue);
    return;
  }

  if (batch == 1 && split_over_threads(M, N, K, A, B, C, ldc, bias, accumulate, epilogue)) return;

  const Key key{batch,        M,           N,          K,
                A.batch_stride, A.row_stride, A.col_stride, B.batch_stride,
                B.row_stride, B.col_stride, ldc,        c_batch_stride,
                bias != nullptr, accumulate, static_cast<int64_t>(epilogue)};
  const GemmPrimitive& p = cache().get(key, [&] { return make_primitive(key); });

  using dnnl_context::Arg;
  void* scratch = p.scratch_bytes > 0 ? dnnl_context::scratchpad(p.scratch_bytes) : nullptr;
  const Arg a{DNNL_ARG_SRC, &p.a_md, A.data}, b{DNNL_ARG_WEIGHTS, &p.b_md, B.data}, c{DNNL_ARG_DST, &p.c_md, C};
  const Arg bias_arg{DNNL_ARG_BIAS, &p.bias_md, bias}, scratch_arg{DNNL_ARG_SCRATCHPAD, &p.scratch_md, scratch};
  if (bias && scratch)
    dnnl_context::execute(p.matmul, {a, b, c, bias_arg, scratch_arg});
  else if (bias)
    dnnl_context::execute(p.matmul, {a, b, c, bias_arg});
  else if (scratch)
    dnnl_context::execute(p.matmul, {a, b, c, scratch_arg});
  else
    dnnl_context::execute(p.matmul, {a, b, c});
}

}  // namespace fresco::kernels
