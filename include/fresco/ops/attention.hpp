// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Fused scaled dot-product attention.

#include <fresco/tensor/tensor.hpp>

namespace fresco {

/// softmax(q·kᵀ / sqrt(D) + mask) · v.  q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,Dv] -> [B,H,Tq,Dv].
/// `mask` (optional) is added to the scores and broadcasts to [B,H,Tq,Tk]: use 0 to keep
/// and -inf to drop a key. `causal` drops keys after the query's position, except that
/// queries before `causal_prefix` see every key before it: a prefix read both ways, as a
/// prefix language model's (T5, UniLM); 0 is plain causal attention. A query
/// row whose keys are all dropped yields zeros.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = {},
                                    bool causal = false, int64_t causal_prefix = 0);

/// Self-attention straight from a packed q|k|v projection (what `nn::MultiHeadAttention` does
/// when q, k and v are one tensor): qkv [B, T, 3·C], q, k and v side by side, each C = H·D split
/// into `heads` heads of D -> [B, T, C], the heads side by side again. Equal to splitting qkv
/// into [B, H, T, D] views, calling `scaled_dot_product_attention(q, k, v, mask, causal)` and
/// merging the heads, without the copies; the gradient comes back as one [B, T, 3·C] tensor.
/// `mask` broadcasts to [B, H, T, T] and `causal_prefix` acts as there.
///
///     fresco::Tensor y = fresco::self_attention_packed(qkv, 4, {}, /*causal=*/true);   // [B, T, C]
Tensor self_attention_packed(const Tensor& qkv, int64_t heads, const Tensor& mask = {}, bool causal = false,
                             int64_t causal_prefix = 0);

}  // namespace fresco
