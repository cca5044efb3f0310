// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `nn::PositionalEncoding`: where a token or an image position is, added to its features.

#include <fresco/nn/module.hpp>

namespace fresco::nn {

/// Which encoding `PositionalEncoding` adds.
enum class PositionalEncodingKind {
  /// pe[t, 2i] = sin(t / base^(2i/dim)), pe[t, 2i+1] = cos(t / base^(2i/dim)) ("Attention is all you need").
  sinusoidal,
  /// A learned table `weight` [max_len, dim] (a parameter).
  learned,
  /// Image positions: channels [0, dim/2) hold the 1-D sinusoid of the row y
  /// (with dim/2 channels), channels [dim/2, dim) the one of the column x.
  sinusoidal_2d,
};

/// Options of `PositionalEncoding`.
struct PositionalEncodingOptions {
  PositionalEncodingKind kind = PositionalEncodingKind::sinusoidal;
  /// Base of the sinusoids' wavelengths.
  float base = 10000.f;
  /// The learned table starts N(0, init_std²) (GPT-2's 0.02).
  float init_std = 0.02f;
};

/// Adds a positional encoding to its input.
/// 1-D kinds (`extent` = {max_len}): x [B, T, dim] with T <= max_len -> x + pe[:T].
/// `sinusoidal_2d` (`extent` = {H, W}): x [B, dim, H, W] -> x + pe [dim, H, W], or
/// x [B, H·W, dim] (positions flattened row-major, as attention sees them) -> x + pe.
/// The sinusoidal tables are constants (not saved); the learned one is the parameter `weight`.
///
///     fresco::nn::PositionalEncoding pos(128, {32});
///     fresco::Tensor y = pos(fresco::randn({8, 20, 128}));   // [8, 20, 128]
class PositionalEncoding : public Module {
public:
  PositionalEncoding(int64_t dim, Shape extent, PositionalEncodingOptions options = {});

  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  /// The table: [max_len, dim] for the 1-D kinds, [dim, H, W] for sinusoidal_2d.
  Tensor table() const;

  Tensor weight;   ///< learned kind only: [max_len, dim]

private:
  int64_t dim_;
  Shape extent_;
  PositionalEncodingOptions options_;
  Tensor table_;   // sinusoidal kinds: the constant table
};

}  // namespace fresco::nn
