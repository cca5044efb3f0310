// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Fused scaled dot-product attention.

#include <fresco/tensor/tensor.hpp>

namespace fresco {

/// softmax(q·kᵀ / sqrt(D) + mask) · v.  q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,Dv] -> [B,H,Tq,Dv].
/// `mask` (optional) is added to the scores and broadcasts to [B,H,Tq,Tk]: use 0 to keep
/// and -inf to drop a key. `causal` drops keys after the query's position. A query
/// row whose keys are all dropped yields zeros.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = {},
                                    bool causal = false);

}  // namespace fresco
