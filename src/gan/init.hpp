// SPDX-License-Identifier: Apache-2.0
#pragma once
// The GAN modules' initialisation lives in <fresco/nn/init.hpp>; this header
// keeps the names the GAN's sources have used.
#include <fresco/nn/init.hpp>

namespace fresco::gan::detail {

/// Sets every element of `t` (a contiguous parameter or buffer) to zero: `nn::init::zeros_`.
inline void fill_zero(Tensor& t) { nn::init::zeros_(t); }

}  // namespace fresco::gan::detail
