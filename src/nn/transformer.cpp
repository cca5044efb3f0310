// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/transformer.hpp>

#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/matmul.hpp>

namespace fresco::nn {

namespace {

int64_t checked_hidden(int64_t d_model, int64_t heads, const TransformerBlockOptions& o) {
  FRESCO_CHECK(d_model > 0 && heads > 0 && d_model % heads == 0,
               "TransformerBlock: d_model ({}) must be a positive multiple of heads ({})", d_model, heads);
  FRESCO_CHECK(o.mlp_ratio > 0, "TransformerBlock: mlp_ratio must be positive, got {}", o.mlp_ratio);
  FRESCO_CHECK(o.dropout >= 0.f && o.dropout < 1.f, "TransformerBlock: dropout must be in [0, 1), got {}", o.dropout);
  return d_model * o.mlp_ratio;
}

}  // namespace

TransformerBlock::TransformerBlock(int64_t d_model, int64_t heads, TransformerBlockOptions options)
    : ln1({d_model}),
      attn((checked_hidden(d_model, heads, options), d_model), heads),
      ln2({d_model}),
      fc(d_model, d_model * options.mlp_ratio),
      proj(d_model * options.mlp_ratio, d_model),
      drop(options.dropout),
      options_(options) {
  register_module("ln1", ln1);
  register_module("attn", attn);
  if (options.cross_attention) {
    ln_cross = std::make_unique<LayerNorm>(Shape{d_model});
    cross_attn = std::make_unique<MultiHeadAttention>(d_model, heads);
    register_module("ln_cross", *ln_cross);
    register_module("cross_attn", *cross_attn);
  }
  register_module("ln2", ln2);
  register_module("fc", fc);
  register_module("proj", proj);
  register_module("drop", drop);
}

Tensor TransformerBlock::forward(const Tensor& x, const Tensor& context, const TransformerBlockMasks& masks) const {
  FRESCO_CHECK(x.defined(), "TransformerBlock: the input is undefined");
  FRESCO_CHECK(context.defined() == options_.cross_attention, "TransformerBlock: {}",
               options_.cross_attention ? "this block has cross-attention and needs a context"
                                        : "a context was given but the block has no cross-attention "
                                          "(construct it with .cross_attention = true)");
  MultiHeadAttentionMask self_mask;
  self_mask.key_padding_mask = masks.key_padding_mask;
  self_mask.attn_mask = masks.attn_mask;
  self_mask.causal = options_.causal;
  self_mask.causal_prefix = options_.causal ? masks.causal_prefix : 0;
  Tensor h = ln1(x);
  Tensor y = x + drop(attn(h, h, h, self_mask));
  if (cross_attn) {
    MultiHeadAttentionMask cross_mask;
    cross_mask.key_padding_mask = masks.context_padding_mask;
    Tensor hc = ln_cross->forward(y);
    y = y + drop(cross_attn->forward(hc, context, context, cross_mask));
  }
  // gelu(fc(·)) as one op: in inference the GEMM applies gelu to its result in cache.
  return y + drop(proj(linear_gelu(ln2(y), fc.weight, fc.bias)));
}

}  // namespace fresco::nn
