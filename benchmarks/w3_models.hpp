// SPDX-License-Identifier: Apache-2.0
#pragma once
// The W3 reference networks (shared/specs/reference-workloads.md), layer for
// layer as the PyTorch peer's models.py, so that both time the same work.
#include <functional>
#include <utility>

#include <fresco/fresco.hpp>

namespace fresco::bench {

constexpr int64_t kZDim = 64, kTextDim = 128;

/// z [B,64] ++ text [B,128] -> Linear -> [B,256,4,4] -> 3 × (upsample, conv3×3, BN, ReLU) -> conv3×3 -> tanh: [B,3,32,32].
class W3Generator : public nn::Module {
public:
  W3Generator() : fc(kZDim + kTextDim, 256 * 4 * 4) {
    register_module("fc", fc);
    const int64_t widths[4] = {256, 128, 64, 32};
    for (int i = 0; i < 3; ++i) {
      body.emplace_back<nn::Upsample>(2);
      body.emplace_back<nn::Conv2d>(widths[i], widths[i + 1], 3, nn::Conv2dOptions{.padding = 1});
      body.emplace_back<nn::BatchNorm2d>(widths[i + 1]);
      body.emplace_back<nn::ReLU>();
    }
    body.emplace_back<nn::Conv2d>(32, 3, 3, nn::Conv2dOptions{.padding = 1});
    body.emplace_back<nn::Tanh>();
    body.fuse();   // each upsample + conv (+ BN + ReLU in eval mode) as one op
    register_module("body", body);
  }
  Tensor forward(const Tensor& z, const Tensor& text) const {
    return body(fc(cat({z, text}, 1)).view({-1, 256, 4, 4}));
  }
  nn::Linear fc;
  nn::Sequential body;
};

/// Projection discriminator: logit = Linear(h) + <Proj(text), h>, h the 4096 conv features.
class W3Discriminator : public nn::Module {
public:
  W3Discriminator() : out(4096, 1), proj(kTextDim, 4096) {
    body.emplace_back<nn::Conv2d>(3, 32, 3, nn::Conv2dOptions{.padding = 1});
    body.emplace_back<nn::LeakyReLU>(0.2f);
    const int64_t widths[4] = {32, 64, 128, 256};
    for (int i = 0; i < 3; ++i) {
      body.emplace_back<nn::Conv2d>(widths[i], widths[i + 1], 4, nn::Conv2dOptions{.stride = 2, .padding = 1});
      body.emplace_back<nn::LeakyReLU>(0.2f);
    }
    register_module("body", body);
    register_module("out", out);
    register_module("proj", proj);
  }
  Tensor forward(const Tensor& image, const Tensor& text) const {
    Tensor h = body(image).flatten(1);
    return out(h).squeeze(1) + sum(proj(text) * h, {1});
  }
  nn::Sequential body;
  nn::Linear out, proj;
};

/// One W3 step on a batch: D on (real, text) as real, (G(z), text) and
/// (real, text_wrong) as fake; then G with a fresh z. `g_backward` runs the
/// generator's backward pass (a data-parallel caller keeps the
/// discriminator's all-reduce out of it). Returns the two losses.
inline std::pair<float, float> w3_step(W3Generator& G, W3Discriminator& D, optim::Adam& opt_g, optim::Adam& opt_d,
                                       const Tensor& real, const Tensor& text, const Tensor& text_wrong,
                                       const std::function<void(const Tensor&)>& g_backward =
                                           [](const Tensor& loss) { loss.backward(); }) {
  const int64_t B = real.size(0);
  const Tensor ones_ = ones({B}), zeros_ = zeros({B});
  Tensor fake;
  {
    NoGradGuard no_grad;
    fake = G.forward(randn({B, kZDim}), text);
  }
  Tensor loss_d = binary_cross_entropy_with_logits(D.forward(real, text), ones_) +
                  binary_cross_entropy_with_logits(D.forward(fake, text), zeros_) +
                  binary_cross_entropy_with_logits(D.forward(real, text_wrong), zeros_);
  opt_d.zero_grad();
  loss_d.backward();
  opt_d.step();
  Tensor loss_g = binary_cross_entropy_with_logits(D.forward(G.forward(randn({B, kZDim}), text), text), ones_);
  opt_g.zero_grad();
  g_backward(loss_g);
  opt_g.step();
  return {loss_d.item(), loss_g.item()};
}

inline double conv_flops(double cin, double cout, double k, double hout) { return 2 * cin * cout * k * k * hout * hout; }

/// Forward FLOPs per batch, counted as the peer's models.py does.
inline double w3_generator_flops(double B) {
  double f = 2 * (kZDim + kTextDim) * 4096.0;
  f += conv_flops(256, 128, 3, 8) + conv_flops(128, 64, 3, 16) + conv_flops(64, 32, 3, 32) + conv_flops(32, 3, 3, 32);
  return B * f;
}
inline double w3_discriminator_flops(double B) {
  double f = conv_flops(3, 32, 3, 32) + conv_flops(32, 64, 4, 16) + conv_flops(64, 128, 4, 8) + conv_flops(128, 256, 4, 4);
  f += 2 * 4096.0 + 2 * kTextDim * 4096.0 + 2 * 4096.0;
  return B * f;
}

}  // namespace fresco::bench
