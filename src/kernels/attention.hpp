// SPDX-License-Identifier: Apache-2.0
#pragma once
// Fused scaled dot-product attention, one (batch, head) block at a time.
// Legend: B batch, H heads, Tq/Tk query/key positions, D head size, Dv value size.
// Operands are read and written through strides, so q, k and v can come straight
// out of a packed [B, T, 3·C] projection and the output can go straight into
// [B, T, C] (heads side by side), with no split or merge copies.

#include <cstdint>

namespace fresco::kernels {

/// A [B, H, T, D] operand: element (b, h, t, d) at data[b·b_stride + h·h_stride + t·t_stride + d].
struct HeadsRef {
  float* data;
  int64_t b_stride, h_stride, t_stride;
};

/// Sizes, scale, and which keys each query may see: all, or (causal) keys j ≤ max(i, prefix − 1).
struct AttentionShape {
  int64_t B, H, Tq, Tk, D, Dv;
  float scale;
  bool causal;
  /// With `causal`, queries below `prefix` also see every key below it (a prefix read both ways).
  int64_t prefix;
  /// Additive mask (may be null), read at mask[b·s0 + h·s1 + i·s2 + j·s3] (0 strides on broadcast dims).
  const float* mask;
  int64_t mask_strides[4];
};

/// p [B, H, Tq, Tk] = softmax(q·kᵀ·scale + mask) (dropped keys 0, a row with every
/// key dropped all 0), out = p·v. q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,Dv], out [B,H,Tq,Dv].
void attention_forward(HeadsRef out, float* p, HeadsRef q, HeadsRef k, HeadsRef v, const AttentionShape& s);

/// From dout and the forward's p: dv = pᵀ·dout, dp = dout·vᵀ, ds = p ⊙ (dp − rowsum(dp ⊙ p)),
/// dq = ds·k·scale, dk = dsᵀ·q·scale. Every element of dq, dk, dv is written
/// (each may have null data: not wanted); ds [B, H, Tq, Tk] too when not null.
void attention_backward(HeadsRef dq, HeadsRef dk, HeadsRef dv, float* ds, HeadsRef dout, const float* p, HeadsRef q,
                        HeadsRef k, HeadsRef v, const AttentionShape& s);

}  // namespace fresco::kernels
