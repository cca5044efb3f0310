// SPDX-License-Identifier: Apache-2.0
#include <fresco/gan/ema.hpp>

#include <algorithm>
#include <vector>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>

#include <fresco/nn/init.hpp>

namespace fresco::gan {

namespace {

void copy_into(Tensor& dst, const Tensor& src) {
  const Tensor s = src.contiguous();
  std::copy(s.data(), s.data() + s.numel(), dst.data());
}

}  // namespace

EmaGenerator::EmaGenerator(const Generator& g, float decay)
    : ema_(std::make_unique<Generator>(g.config())), decay_(decay) {
  FRESCO_CHECK(decay >= 0 && decay < 1, "EmaGenerator: decay must be in [0, 1), got {}", decay);
  NoGradGuard guard;
  auto src = g.named_parameters(), dst = ema_->named_parameters();
  for (size_t i = 0; i < src.size(); ++i) copy_into(dst[i].second, src[i].second);
  auto sb = g.named_buffers(), db = ema_->named_buffers();
  for (size_t i = 0; i < sb.size(); ++i) copy_into(db[i].second, sb[i].second);
  ema_->eval();
}

void EmaGenerator::update(const Generator& g, int64_t step) {
  NoGradGuard guard;
  const float warm = static_cast<float>(step + 1) / static_cast<float>(step + 10);
  const float decay = std::min(decay_, warm);
  auto src = g.parameters(), dst = ema_->parameters();
  FRESCO_CHECK(src.size() == dst.size(), "EmaGenerator::update: the generator has {} parameters, the average {}",
               src.size(), dst.size());
  for (size_t i = 0; i < src.size(); ++i) {
    FRESCO_CHECK(src[i].numel() == dst[i].numel(),
                 "EmaGenerator::update: parameter {} has {} elements in the generator and {} in the average", i,
                 src[i].numel(), dst[i].numel());
    const float* p = src[i].data();
    float* e = dst[i].data();
    for (int64_t j = 0; j < src[i].numel(); ++j) e[j] = decay * e[j] + (1.f - decay) * p[j];   // θ̄ ← βθ̄ + (1−β)θ
  }
}

void EmaGenerator::refresh_statistics(const std::function<TextFeatures(int64_t)>& captions, uint64_t seed) {
  NoGradGuard guard;
  std::vector<nn::BatchNorm2d*> norms{&ema_->fc_norm.bn};
  for (auto& block : ema_->blocks) norms.push_back(&block.norm.bn);
  std::vector<std::vector<double>> mean(norms.size()), var(norms.size());
  ema_->train();
  for (int64_t k = 0; k < kStatisticsBatches; ++k) {
    const TextFeatures tf = captions(k);
    for (auto* bn : norms) {
      nn::init::zeros_(bn->running_mean);
      nn::init::zeros_(bn->running_var);
    }
    const int64_t b = tf.sentence.size(0);
    (*ema_)(seeded_noise(b, ema_->config().noise_dim, mix_seed(seed, 0x57A75100ull + static_cast<uint64_t>(k))),
            tf.sentence, tf.words, tf.pad_mask);
    // From zero, one update leaves momentum · (this batch's statistic) in the buffer.
    for (size_t i = 0; i < norms.size(); ++i) {
      const float m = norms[i]->options().momentum;
      const float* rm = norms[i]->running_mean.data();
      const float* rv = norms[i]->running_var.data();
      const int64_t c = norms[i]->channels();
      mean[i].resize(static_cast<size_t>(c));
      var[i].resize(static_cast<size_t>(c));
      for (int64_t j = 0; j < c; ++j) {
        mean[i][static_cast<size_t>(j)] += rm[j] / m / kStatisticsBatches;
        var[i][static_cast<size_t>(j)] += rv[j] / m / kStatisticsBatches;
      }
    }
  }
  for (size_t i = 0; i < norms.size(); ++i) {
    float* rm = norms[i]->running_mean.data();
    float* rv = norms[i]->running_var.data();
    for (size_t j = 0; j < mean[i].size(); ++j) {
      rm[j] = static_cast<float>(mean[i][j]);
      rv[j] = static_cast<float>(var[i][j]);
    }
  }
  ema_->eval();
}

}  // namespace fresco::gan
