// SPDX-License-Identifier: Apache-2.0
#pragma once
// The tiny models, optimizers and trainers of the fuzz targets and of the seed
// corpora (tests/fuzz/make_corpus.cpp): a target's fixed objects and the files
// of the corpus must agree on every shape.
#include <memory>
#include <string>
#include <vector>

#include <fresco/fresco.hpp>
#include <fresco/eval/classifier.hpp>
#include <fresco/gan/trainer.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/image_gpt_trainer.hpp>
#include <fresco/vq/image_tokenizer.hpp>
#include <fresco/vq/trainer.hpp>

#include "gan/tiny.hpp"

namespace fresco::fuzz {

inline vq::ImageGptConfig tiny_image_gpt_config() {
  return {.text_vocab = 300, .caption_length = 16, .codes = 16, .grid = 2, .d_model = 16, .heads = 2, .layers = 1,
          .seed = 5};
}
inline vq::ImageTokenizerConfig tiny_image_tokenizer_config() {
  return {.image_size = 8, .channels = 3, .downsample = 4, .width = 4, .max_width = 8, .res_blocks = 1,
          .codes = 16, .code_dim = 4, .seed = 5};
}
inline eval::ClassifierConfig tiny_classifier_config() {
  return {.channels = 1, .image_size = 16, .heads = {2}, .width = 2, .feature_dim = 4};
}

/// Two parameters and an Adam optimizer that has taken one step (so it holds state).
struct TinyOptimizer {
  Tensor a = ones({2, 3}).requires_grad_(), b = ones({3}).requires_grad_();
  optim::Adam adam{{a, b}, {.lr = 0.1f}};
  TinyOptimizer() {
    a.set_grad(ones({2, 3}));
    b.set_grad(ones({3}));
    adam.step();
  }
};

/// The three trainers whose checkpoints can be loaded, built around tiny models and data.
struct TinyTrainers {
  text::BpeTokenizer tokenizer = testing::tiny_tokenizer();
  gan::Generator g{testing::tiny_generator_config()};
  gan::Discriminator d{testing::tiny_discriminator_config()};
  text::Gpt gpt{testing::tiny_gpt_config()};
  vq::ImageTokenizer image_tokenizer{tiny_image_tokenizer_config()};
  vq::ImageGpt image_gpt{tiny_image_gpt_config()};
  std::unique_ptr<gan::GanTrainer> gan;
  std::unique_ptr<vq::ImageTokenizerTrainer> vq;
  std::unique_ptr<vq::ImageGptTrainer> image_gpt_trainer;

  TinyTrainers() {
    gan::GanTrainerOptions o{.batch_size = 4, .steps = 1, .seed = 21};
    o.alignment.steps = 0;
    o.contrastive.negatives = 8;
    o.contrastive.hard_negatives = 0;
    o.output = {.dir = "", .checkpoint_every = 0, .sample_every = 0, .log_every = 1, .samples_per_prompt = 2};
    gan = std::make_unique<gan::GanTrainer>(g, d, gpt, tokenizer, testing::tiny_data(), o);
    manual_seed(9);
    vq = std::make_unique<vq::ImageTokenizerTrainer>(
        image_tokenizer, rand({4, 3, 8, 8}) * 2.f - 1.f,
        vq::ImageTokenizerTrainerOptions{.batch_size = 2, .steps = 1, .seed = 3, .disc_start = 0,
                                         .discriminator = {.width = 4, .layers = 2}, .sample_every = 0});
    image_gpt_trainer = std::make_unique<vq::ImageGptTrainer>(
        image_gpt, tokenizer, image_tokenizer, std::vector<std::string>{"a red dot", "a blue dot"},
        std::vector<int64_t>(8, 0), vq::ImageGptTrainerOptions{.batch_size = 2, .steps = 1, .sample_every = 0});
  }
};

}  // namespace fresco::fuzz
