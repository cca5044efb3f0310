// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `nn::TransformerBlock`: a pre-LayerNorm transformer layer.

#include <memory>

#include <fresco/nn/attention.hpp>
#include <fresco/nn/dropout.hpp>
#include <fresco/nn/linear.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/nn/norm.hpp>

namespace fresco::nn {

/// Options of `TransformerBlock`.
struct TransformerBlockOptions {
  /// The MLP's hidden width is mlp_ratio · d_model.
  int64_t mlp_ratio = 4;
  /// Dropout on the attention and MLP outputs before each residual add (training only).
  float dropout = 0.f;
  /// Adds a cross-attention sub-layer attending to a context (the `ln_cross` and `cross_attn` submodules).
  bool cross_attention = false;
  /// Self-attention is causal: position t sees positions 0..t.
  bool causal = false;
};

/// Masks for `TransformerBlock::forward`. Both optional, [B, T] with nonzero = padding.
struct TransformerBlockMasks {
  /// Padding positions of x, excluded as self-attention keys.
  Tensor key_padding_mask;
  /// Added to the self-attention scores, as `MultiHeadAttentionMask::attn_mask`
  /// (broadcasts to [B, H, T, T]; with a causal block, on top of the causal mask):
  /// e.g. a per-head position bias such as ALiBi's.
  Tensor attn_mask;
  /// With a causal block: positions before this one see one another in full (a
  /// prefix read both ways, e.g. a caption before the tokens it conditions); 0: plain causal.
  int64_t causal_prefix = 0;
  /// Padding positions of the context, excluded as cross-attention keys.
  Tensor context_padding_mask;
};

/// Pre-LayerNorm transformer layer on x [B, T, d_model] -> [B, T, d_model]:
///
///     x = x + attn(ln1(x))                       (self-attention, causal if asked)
///     x = x + cross_attn(ln_cross(x), context)   (only with cross_attention)
///     x = x + proj(gelu(fc(ln2(x))))
///
/// Submodules (parameter path prefixes): `ln1`, `attn`, [`ln_cross`, `cross_attn`], `ln2`,
/// `fc` (d_model -> mlp_ratio·d_model), `proj` (back to d_model).
///
///     fresco::nn::TransformerBlock block(128, 4, {.causal = true});
///     fresco::Tensor y = block(fresco::randn({8, 16, 128}));   // [8, 16, 128]
class TransformerBlock : public Module {
public:
  TransformerBlock(int64_t d_model, int64_t heads, TransformerBlockOptions options = {});

  /// x [B, T, d_model]; context [B, S, d_model] is required exactly when cross_attention is on.
  Tensor forward(const Tensor& x, const Tensor& context = {}, const TransformerBlockMasks& masks = {}) const;
  Tensor operator()(const Tensor& x, const Tensor& context = {}, const TransformerBlockMasks& masks = {}) const {
    return forward(x, context, masks);
  }

  const TransformerBlockOptions& options() const { return options_; }

  LayerNorm ln1;
  MultiHeadAttention attn;
  std::unique_ptr<LayerNorm> ln_cross;               ///< with cross_attention only
  std::unique_ptr<MultiHeadAttention> cross_attn;    ///< with cross_attention only
  LayerNorm ln2;
  Linear fc, proj;
  Dropout drop;

private:
  TransformerBlockOptions options_;
};

}  // namespace fresco::nn
