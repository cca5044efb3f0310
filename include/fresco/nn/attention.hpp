// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `nn::MultiHeadAttention`, batch-first, with PyTorch's parameter names.

#include <fresco/nn/linear.hpp>
#include <fresco/nn/module.hpp>

namespace fresco::nn {

/// Options of `MultiHeadAttention`.
struct MultiHeadAttentionOptions {
  /// Biases on the in- and out-projections.
  bool bias = true;
};

/// What a query may not look at, for `MultiHeadAttention::forward`. All optional.
struct MultiHeadAttentionMask {
  /// Added to the attention scores (0 keeps a key, -inf drops it); broadcasts to
  /// [B, H, Tq, Tk]: e.g. [Tq, Tk], [B, 1, Tq, Tk]; [B·H, Tq, Tk] is also accepted.
  Tensor attn_mask;
  /// [B, Tk]; nonzero marks a padding key that no query attends to (as PyTorch's True).
  Tensor key_padding_mask;
  /// Query position t attends to keys 0..t only.
  bool causal = false;
  /// With `causal`: queries before this position see every key before it (a prefix
  /// read both ways, as a prefix language model's); 0: plain causal.
  int64_t causal_prefix = 0;
};

/// Multi-head attention on [B, T, C] tensors (batch first):
/// out_proj(concat_h softmax(q_h k_hᵀ / sqrt(C/H) + mask) v_h), with q, k, v
/// projected by the rows [0, C), [C, 2C), [2C, 3C) of the fused
/// `in_proj_weight` [3C, C] and `in_proj_bias` [3C]. Self-attention
/// (q, k, v the same tensor) projects all three with one GEMM.
/// Initialised as PyTorch: Xavier-uniform in_proj_weight, zero biases,
/// Kaiming-uniform out_proj.weight.
///
///     fresco::nn::MultiHeadAttention attn(128, 4);
///     fresco::Tensor y = attn(x, x, x, {.causal = true});   // x [B, T, 128] -> [B, T, 128]
class MultiHeadAttention : public Module {
public:
  MultiHeadAttention(int64_t embed_dim, int64_t heads, MultiHeadAttentionOptions options = {});

  /// q [B, Tq, C], k and v [B, Tk, C] -> [B, Tq, C].
  Tensor forward(const Tensor& q, const Tensor& k, const Tensor& v, const MultiHeadAttentionMask& mask = {}) const;
  /// With an additive `attn_mask` only.
  Tensor forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask) const;
  Tensor operator()(const Tensor& q, const Tensor& k, const Tensor& v, const MultiHeadAttentionMask& mask = {}) const {
    return forward(q, k, v, mask);
  }
  Tensor operator()(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask) const {
    return forward(q, k, v, attn_mask);
  }

  int64_t embed_dim() const { return embed_dim_; }
  int64_t heads() const { return heads_; }

  Tensor in_proj_weight, in_proj_bias;   ///< [3C, C], [3C] (undefined without bias)
  Linear out_proj;                        ///< C -> C

private:
  int64_t embed_dim_, heads_;
};

}  // namespace fresco::nn
