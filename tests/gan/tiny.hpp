// SPDX-License-Identifier: Apache-2.0
#pragma once
// Tiny models and data shared by the gan tests.
#include <string>
#include <vector>

#include <fresco/fresco.hpp>
#include <fresco/gan/captioned_images.hpp>
#include <fresco/gan/discriminator.hpp>
#include <fresco/gan/generator.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/text/tokenizer.hpp>

namespace fresco::testing {

inline gan::GeneratorConfig tiny_generator_config() {
  return {.image_size = 8, .channels = 3, .noise_dim = 4, .text_dim = 8, .base_width = 8, .min_width = 4,
          .cross_attention = true, .attention_heads = 2, .seed = 3};
}
inline gan::DiscriminatorConfig tiny_discriminator_config() {
  return {.image_size = 8, .channels = 3, .text_dim = 8, .base_width = 4, .max_width = 16, .embed_dim = 8, .seed = 4};
}
inline text::GptConfig tiny_gpt_config() {
  return {.vocab_size = 300, .context = 16, .d_model = 8, .heads = 2, .layers = 1, .seed = 5};
}

inline std::vector<std::string> tiny_captions() {
  return {"a red dot", "a blue dot", "a green box", "a red box", "a blue box", "a green dot", "two red dots",
          "one blue box"};
}

inline text::BpeTokenizer tiny_tokenizer() { return text::BpeTokenizer::train(tiny_captions(), 270); }

/// 16 random 8×8 RGB images in [-1, 1] with the tiny captions (each used twice).
inline gan::CaptionedImages tiny_data(uint64_t seed = 11) {
  Generator gen(seed);
  std::vector<float> v(16 * 3 * 8 * 8);
  for (auto& x : v) x = 2.f * gen.uniform() - 1.f;
  gan::CaptionedImages d;
  d.images = tensor(std::move(v), {16, 3, 8, 8});
  for (int i = 0; i < 16; ++i) d.captions.push_back(tiny_captions()[static_cast<size_t>(i % 8)]);
  return d;
}

}  // namespace fresco::testing
