// SPDX-License-Identifier: Apache-2.0
#pragma once
// Self-attention straight from a packed q|k|v projection, for MultiHeadAttention.
// Private to the library.

#include <fresco/tensor/tensor.hpp>

namespace fresco::detail {

/// qkv [B, T, 3·C] (q, k, v side by side, each C = H·D split into heads of D)
/// -> [B, T, C]: scaled_dot_product_attention over the heads, written with the
/// heads side by side again. The same as splitting qkv into [B, H, T, D] views,
/// calling scaled_dot_product_attention and merging the heads, without the
/// copies; the gradient comes back as one [B, T, 3·C] tensor.
/// `mask` broadcasts to [B, H, T, T] as in scaled_dot_product_attention.
Tensor self_attention_packed(const Tensor& qkv, int64_t heads, const Tensor& mask = {}, bool causal = false);

}  // namespace fresco::detail
