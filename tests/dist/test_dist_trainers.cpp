// SPDX-License-Identifier: Apache-2.0
// The GAN and image-tokenizer trainers under data parallelism: every
// process ends with the same models, bit for bit, whatever each one drew
// (its own noise, its own share of each batch), rank 0 alone writes the
// run's files, and every process resumes from them.
#include <filesystem>

#include <fresco/gan/trainer.hpp>
#include <fresco/vq/trainer.hpp>

#include "../gan/tiny.hpp"
#include "dist_helpers.hpp"
#include "support/check.hpp"

using namespace fresco;
namespace fs = std::filesystem;

namespace {



// A directory every rank names alike (rank 0's process id, broadcast), removed by rank 0.
std::string shared_dir(dist::ProcessGroup& g, const std::string& name) {
  std::string dir = (fs::temp_directory_path() / fmt::format("fresco_dist_{}_{}", name, ::getpid())).string();
  g.broadcast(dir, 0);
  if (g.rank() == 0) fs::remove_all(dir);
  g.barrier();
  return dir;
}

}  // namespace

TEST_CASE("the GAN trainer keeps every replica identical and rank 0 writes", "[dist][gan]") {
  auto g = dist::world();
  const std::string dir = shared_dir(*g, "gan");
  // Each rank starts from other weights: the trainer copies rank 0's.
  auto gen_config = testing::tiny_generator_config();
  gen_config.seed += uint64_t(g->rank());
  gan::Generator gen(gen_config);
  gan::Discriminator d(testing::tiny_discriminator_config());
  text::Gpt gpt(testing::tiny_gpt_config());
  gan::GanTrainerOptions o{.batch_size = 4, .steps = 4, .seed = 21, .group = g};
  o.alignment.steps = 2;  // the alignment trains D and the text model with their own optimizer
  o.contrastive.negatives = 8;
  o.contrastive.hard_negatives = 0;
  o.penalty = {.weight = 1.f, .every = 2};  // the gradient penalty's double backward
  o.output = {.dir = dir, .checkpoint_every = 2, .sample_every = 2, .log_every = 1, .samples_per_prompt = 2};
  {
    gan::GanTrainer trainer(gen, d, gpt, testing::tiny_tokenizer(), testing::tiny_data(), o);
    const auto summary = trainer.train();
    CHECK(summary.steps == 4);
    CHECK(testing::identical_everywhere(*g, testing::flat_values(gen, true)));
    CHECK(testing::identical_everywhere(*g, testing::flat_values(d, true)));
    CHECK(testing::identical_everywhere(*g, testing::flat_values(gpt, true)));
    CHECK(testing::identical_everywhere(*g, testing::flat_values(trainer.ema_generator(), true)));
  }
  g->barrier();
  CHECK(fs::exists(dir + "/checkpoint.safetensors"));
  CHECK(fs::exists(dir + "/samples/final.png"));
  // Every process resumes from rank 0's checkpoint and goes on in step.
  o.steps = 6;
  gan::GanTrainer resumed(gen, d, gpt, testing::tiny_tokenizer(), testing::tiny_data(), o);
  const auto more = resumed.train();
  CHECK(more.steps_run == 2);
  CHECK(testing::identical_everywhere(*g, testing::flat_values(gen, true)));
  g->barrier();
  if (g->rank() == 0) fs::remove_all(dir);
}

TEST_CASE("the image tokenizer trainer keeps every replica and its codebook identical", "[dist][vq]") {
  auto g = dist::world();
  vq::ImageTokenizer tok({.image_size = 8, .channels = 3, .downsample = 2, .width = 4, .max_width = 8,
                          .res_blocks = 1, .grid_blocks = 1, .codes = 8, .code_dim = 4,
                          .seed = 5 + uint64_t(g->rank())});
  manual_seed(9);
  const Tensor images = rand({12, 3, 8, 8}) * 2.f - 1.f;
  vq::ImageTokenizerTrainer trainer(tok, images,
                                    {.batch_size = 2, .steps = 5, .seed = 3, .lr = 1e-3f, .disc_start = 2,
                                     .discriminator = {.width = 4, .layers = 2}, .group = g});
  const auto summary = trainer.train();
  CHECK(summary.steps == 5);
  CHECK(testing::identical_everywhere(*g, testing::flat_values(tok, true)));  // parameters and the codebook's buffers
}
