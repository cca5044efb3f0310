// SPDX-License-Identifier: Apache-2.0
#pragma once
// GEMM on oneDNN matmul primitives, created once per (shape, strides) and cached.
// Private to the library: no public header includes this.

#include <cstdint>

namespace fresco::kernels {

/// A (batch of) strided matrices: element (b, i, j) lives at
/// data[b * batch_stride + i * row_stride + j * col_stride]. A transposed view
/// is just swapped strides; batch_stride 0 broadcasts one matrix over the batch.
struct MatRef {
  const float* data;
  int64_t batch_stride;
  int64_t row_stride;
  int64_t col_stride;
};

/// An elementwise function applied to the result while it is still in cache.
enum class Epilogue { none, gelu };

/// C[b] = A[b] (M x K) · B[b] (K x N) (+ bias[N] broadcast over rows) (+ C[b] when accumulate),
/// then `epilogue` (gelu: x Φ(x), erf form), for b < batch. C is row-major, contiguous rows of
/// length ldc, batch stride c_batch_stride.
/// At least one of row/col stride of A and of B is 1 (no copies for transposes).
void gemm(int64_t batch, int64_t M, int64_t N, int64_t K, MatRef A, MatRef B, float* C, int64_t ldc,
          int64_t c_batch_stride, const float* bias = nullptr, bool accumulate = false,
          Epilogue epilogue = Epilogue::none);

}  // namespace fresco::kernels
