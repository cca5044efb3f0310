// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/positional.hpp>

#include <cmath>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>

namespace fresco::nn {

namespace {

// pe[t, 2i] = sin(t · ω_i), pe[t, 2i+1] = cos(t · ω_i), ω_i = base^(-2i/dim); in double, then rounded.
std::vector<double> sinusoid(int64_t len, int64_t dim, double base) {
  std::vector<double> pe(static_cast<size_t>(len * dim));
  for (int64_t t = 0; t < len; ++t)
    for (int64_t i = 0; i < dim / 2; ++i) {
      const double angle = static_cast<double>(t) * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(dim));
      pe[static_cast<size_t>(t * dim + 2 * i)] = std::sin(angle);
      pe[static_cast<size_t>(t * dim + 2 * i + 1)] = std::cos(angle);
    }
  return pe;
}

const char* kind_name(PositionalEncodingKind k) {
  switch (k) {
    case PositionalEncodingKind::sinusoidal: return "sinusoidal";
    case PositionalEncodingKind::learned: return "learned";
    case PositionalEncodingKind::sinusoidal_2d: return "sinusoidal_2d";
  }
  return "?";
}

}  // namespace

PositionalEncoding::PositionalEncoding(int64_t dim, Shape extent, PositionalEncodingOptions options)
    : dim_(dim), extent_(std::move(extent)), options_(options) {
  const bool two_d = options.kind == PositionalEncodingKind::sinusoidal_2d;
  FRESCO_CHECK(extent_.size() == (two_d ? 2u : 1u),
               "PositionalEncoding: kind {} expects extent {}, got {}", kind_name(options.kind),
               two_d ? "{H, W}" : "{max_len}", shape_str(extent_));
  for (int64_t e : extent_) FRESCO_CHECK(e > 0, "PositionalEncoding: extent must be positive, got {}", shape_str(extent_));
  FRESCO_CHECK(dim > 0, "PositionalEncoding: dim must be positive, got {}", dim);
  FRESCO_CHECK(options.base > 0.f, "PositionalEncoding: base must be positive, got {}", options.base);
  NoGradGuard guard;
  switch (options.kind) {
    case PositionalEncodingKind::learned:
      FRESCO_CHECK(options.init_std >= 0.f, "PositionalEncoding: init_std must be >= 0, got {}", options.init_std);
      weight = register_parameter("weight", randn({extent_[0], dim}) * options.init_std);
      break;
    case PositionalEncodingKind::sinusoidal: {
      FRESCO_CHECK(dim % 2 == 0, "PositionalEncoding: sinusoidal needs an even dim, got {}", dim);
      const auto pe = sinusoid(extent_[0], dim, options.base);
      table_ = tensor(std::vector<float>(pe.begin(), pe.end()), {extent_[0], dim});
      break;
    }
    case PositionalEncodingKind::sinusoidal_2d: {
      FRESCO_CHECK(dim % 4 == 0, "PositionalEncoding: sinusoidal_2d needs dim divisible by 4, got {}", dim);
      const int64_t H = extent_[0], W = extent_[1], half = dim / 2;
      const auto py = sinusoid(H, half, options.base), px = sinusoid(W, half, options.base);
      std::vector<float> pe(static_cast<size_t>(dim * H * W));
      for (int64_t c = 0; c < half; ++c)
        for (int64_t y = 0; y < H; ++y)
          for (int64_t x = 0; x < W; ++x) {
            pe[static_cast<size_t>((c * H + y) * W + x)] = static_cast<float>(py[static_cast<size_t>(y * half + c)]);
            pe[static_cast<size_t>(((c + half) * H + y) * W + x)] =
                static_cast<float>(px[static_cast<size_t>(x * half + c)]);
          }
      table_ = tensor(std::move(pe), {dim, H, W});
      break;
    }
  }
}

Tensor PositionalEncoding::table() const { return options_.kind == PositionalEncodingKind::learned ? weight : table_; }

Tensor PositionalEncoding::forward(const Tensor& x) const {
  FRESCO_CHECK(x.defined(), "PositionalEncoding: the input is undefined");
  if (options_.kind != PositionalEncodingKind::sinusoidal_2d) {
    FRESCO_CHECK_SHAPE(x.dim() == 3 && x.size(2) == dim_ && x.size(1) <= extent_[0],
                       "PositionalEncoding: expected input [B, T, {}] with T <= {}, got {}", dim_, extent_[0],
                       shape_str(x.shape()));
    return x + table().slice(0, 0, x.size(1));
  }
  const int64_t H = extent_[0], W = extent_[1];
  if (x.dim() == 4) {
    FRESCO_CHECK_SHAPE(x.size(1) == dim_ && x.size(2) == H && x.size(3) == W,
                       "PositionalEncoding: expected input [B, {}, {}, {}], got {}", dim_, H, W, shape_str(x.shape()));
    return x + table_;
  }
  FRESCO_CHECK_SHAPE(x.dim() == 3 && x.size(1) == H * W && x.size(2) == dim_,
                     "PositionalEncoding: expected input [B, {}, {}, {}] or [B, {}, {}], got {}", dim_, H, W, H * W,
                     dim_, shape_str(x.shape()));
  // [dim, H, W] -> [H·W, dim]: the same row-major position order as x.flatten(2).transpose(1, 2).
  return x + table_.reshape({dim_, H * W}).transpose(0, 1);
}

}  // namespace fresco::nn
