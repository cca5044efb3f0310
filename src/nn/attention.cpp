// SPDX-License-Identifier: Apache-2.0
// Multi-head attention: projections as GEMMs on [B·T, C], heads as views
// ([B, T, C] -> [B, T, H, D] -> [B, H, T, D]), the attention itself in the
// fused scaled_dot_product_attention.
#include <fresco/nn/attention.hpp>

#include <algorithm>
#include <limits>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/nn/init.hpp>
#include <fresco/ops/attention.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/matmul.hpp>


namespace fresco::nn {

namespace {

// Runs before out_proj is built, so that a bad size is reported as MultiHeadAttention's.
int64_t checked_embed_dim(int64_t embed_dim, int64_t heads) {
  FRESCO_CHECK(embed_dim > 0 && heads > 0 && embed_dim % heads == 0,
               "MultiHeadAttention: embed_dim ({}) must be a positive multiple of heads ({})", embed_dim, heads);
  return embed_dim;
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(int64_t embed_dim, int64_t heads, MultiHeadAttentionOptions options)
    : out_proj(checked_embed_dim(embed_dim, heads), embed_dim, options.bias),
      embed_dim_(embed_dim),
      heads_(heads) {
  // PyTorch's _reset_parameters: Xavier-uniform on the fused [3C, C] matrix,
  // zero biases; out_proj keeps Linear's default weight.
  in_proj_weight = register_parameter("in_proj_weight", init::xavier_uniform({3 * embed_dim, embed_dim},
                                                                                    embed_dim, 3 * embed_dim));
  if (options.bias) {
    in_proj_bias = register_parameter("in_proj_bias", zeros({3 * embed_dim}));
    init::zeros_(out_proj.bias);
  }
  register_module("out_proj", out_proj);
}

namespace {

Tensor rows(const Tensor& t, int64_t begin, int64_t end) { return t.defined() ? t.slice(0, begin, end) : Tensor(); }

// [B, T, C] -> [B, H, T, D]
Tensor split_heads(const Tensor& x, int64_t heads) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  return x.reshape({B, T, heads, C / heads}).transpose(1, 2);
}

// The additive mask handed to the fused attention: attn_mask (reshaped from
// [B·H, Tq, Tk] when given so) plus -inf on padded keys. Undefined when neither.
Tensor combined_mask(const MultiHeadAttentionMask& m, int64_t B, int64_t H, int64_t Tq, int64_t Tk) {
  Tensor mask;
  if (m.attn_mask.defined()) {
    mask = m.attn_mask;
    if (mask.dim() == 3 && mask.size(0) == B * H && B * H != 1) mask = mask.reshape({B, H, Tq, Tk});
    FRESCO_CHECK_SHAPE(mask.dim() >= 1 && mask.dim() <= 4, "MultiHeadAttention: attn_mask must broadcast to [{}, {}, {}, {}], got {}",
                       B, H, Tq, Tk, shape_str(m.attn_mask.shape()));
    const Shape full{B, H, Tq, Tk};
    const size_t off = 4 - static_cast<size_t>(mask.dim());
    for (size_t i = 0; i < static_cast<size_t>(mask.dim()); ++i)
      FRESCO_CHECK_SHAPE(mask.shape()[i] == 1 || mask.shape()[i] == full[i + off],
                         "MultiHeadAttention: attn_mask must broadcast to [{}, {}, {}, {}], got {}", B, H, Tq, Tk,
                         shape_str(m.attn_mask.shape()));
  }
  if (m.key_padding_mask.defined()) {
    FRESCO_CHECK_SHAPE(m.key_padding_mask.shape() == Shape({B, Tk}),
                       "MultiHeadAttention: key_padding_mask must be [B, Tk] = [{}, {}], got {}", B, Tk,
                       shape_str(m.key_padding_mask.shape()));
    std::vector<float> pad = m.key_padding_mask.to_vector();
    for (float& p : pad) p = p != 0.f ? -std::numeric_limits<float>::infinity() : 0.f;
    Tensor padding = tensor(std::move(pad), {B, 1, 1, Tk});
    mask = mask.defined() ? mask + padding : padding;
  }
  return mask;
}

}  // namespace

Tensor MultiHeadAttention::forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                   const MultiHeadAttentionMask& mask) const {
  FRESCO_CHECK(q.defined() && k.defined() && v.defined(), "MultiHeadAttention: q, k and v must be defined");
  const int64_t C = embed_dim_, H = heads_;
  FRESCO_CHECK_SHAPE(q.dim() == 3 && q.size(2) == C, "MultiHeadAttention: expected q [B, Tq, {}], got {}", C,
                     shape_str(q.shape()));
  FRESCO_CHECK_SHAPE(k.dim() == 3 && k.size(2) == C && k.size(0) == q.size(0),
                     "MultiHeadAttention: expected k [B, Tk, {}] with B = {} (q's), got {}", C, q.size(0),
                     shape_str(k.shape()));
  FRESCO_CHECK_SHAPE(v.shape() == k.shape(), "MultiHeadAttention: v must have k's shape {}, got {}",
                     shape_str(k.shape()), shape_str(v.shape()));
  const int64_t B = q.size(0), Tq = q.size(1), Tk = k.size(1);

  if (q.is_set_to(k) && k.is_set_to(v)) {
    // Self-attention: one GEMM for q, k and v, whose [B, T, 3C] output the attention
    // reads in place, writing [B, T, C] with the heads side by side.
    const Tensor qkv = linear(q, in_proj_weight, in_proj_bias);
    return out_proj(self_attention_packed(qkv, H, combined_mask(mask, B, H, Tq, Tk), mask.causal,
                                           mask.causal_prefix));
  }
  Tensor qh, kh, vh;
  {
    qh = split_heads(linear(q, rows(in_proj_weight, 0, C), rows(in_proj_bias, 0, C)), H);
    if (k.is_set_to(v)) {
      // Cross-attention on one context: k and v in one GEMM.
      Tensor kv = linear(k, rows(in_proj_weight, C, 3 * C), rows(in_proj_bias, C, 3 * C))
                      .reshape({B, Tk, 2, H, C / H})
                      .permute({2, 0, 3, 1, 4});
      kh = kv.slice(0, 0, 1).squeeze(0);
      vh = kv.slice(0, 1, 2).squeeze(0);
    } else {
      kh = split_heads(linear(k, rows(in_proj_weight, C, 2 * C), rows(in_proj_bias, C, 2 * C)), H);
      vh = split_heads(linear(v, rows(in_proj_weight, 2 * C, 3 * C), rows(in_proj_bias, 2 * C, 3 * C)), H);
    }
  }
  Tensor heads =
      scaled_dot_product_attention(qh, kh, vh, combined_mask(mask, B, H, Tq, Tk), mask.causal, mask.causal_prefix);
  // [B, H, Tq, D] -> [B, Tq, H, D] -> [B, Tq, C]
  return out_proj(heads.transpose(1, 2).reshape({B, Tq, C}));
}

Tensor MultiHeadAttention::forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask) const {
  MultiHeadAttentionMask m;
  m.attn_mask = attn_mask;
  return forward(q, k, v, m);
}

}  // namespace fresco::nn
