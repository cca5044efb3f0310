// SPDX-License-Identifier: Apache-2.0
// ImageTokenizerTrainer: the discriminator's warm-up, the adaptive weight, exact resume, PSNR.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include <fresco/vq/trainer.hpp>

#include "io/temp_dir.hpp"
#include "support/check.hpp"

using namespace fresco;

namespace {

vq::ImageTokenizerConfig tiny_config() {
  return {.image_size = 8, .channels = 3, .downsample = 2, .width = 4, .max_width = 8, .res_blocks = 1,
          .grid_blocks = 1, .codes = 8, .code_dim = 4, .seed = 5};
}

Tensor tiny_images() {
  manual_seed(9);
  return rand({6, 3, 8, 8}) * 2.f - 1.f;
}

vq::ImageTokenizerTrainerOptions tiny_options(const std::string& dir = "") {
  return {.batch_size = 2, .steps = 4, .seed = 3, .lr = 1e-3f, .disc_start = 2,
          .discriminator = {.width = 4, .layers = 2}, .out_dir = dir, .checkpoint_every = 2, .sample_every = 2,
          .log_every = 1};
}

}  // namespace

TEST_CASE("psnr: 10 log10(1 / MSE)", "[vq]") {
  const Tensor a = tensor({0.f, 0.5f, 1.f, 1.f}, {1, 1, 2, 2});
  const Tensor b = tensor({0.1f, 0.5f, 0.9f, 1.f}, {1, 1, 2, 2});
  CHECK(vq::psnr(a, b) == Approx(10 * std::log10(1 / 0.005)).epsilon(1e-5));   // MSE = 0.02 / 4
  CHECK(std::isinf(vq::psnr(a, a)));
  CHECK_THROWS_WITH(vq::psnr(a, zeros({4})), Catch::Contains("differ in shape: [1, 1, 2, 2] and [4]"));
}

TEST_CASE("PatchDiscriminator: one logit per patch", "[vq]") {
  vq::PatchDiscriminator d(3, {.width = 4, .layers = 2});
  CHECK(d(zeros({2, 3, 32, 32})).shape() == Shape{2, 1, 8, 8});
  CHECK(d.downs[1].weight.shape() == Shape{8, 4, 4, 4});
  CHECK_THROWS_WITH(vq::PatchDiscriminator(3, {.layers = 0}), Catch::Contains("layers in [1, 8]"));
}

TEST_CASE("ImageTokenizerTrainer: the discriminator joins after its warm-up", "[vq]") {
  vq::ImageTokenizer tok(tiny_config());
  vq::ImageTokenizerTrainer trainer(tok, tiny_images(), tiny_options());
  const auto d0 = trainer.discriminator().out.weight.to_vector();
  const auto first = trainer.train_step();
  CHECK(first.reconstruction > 0);
  CHECK(first.perplexity >= 1);
  CHECK(first.adaptive_weight == 0);   // before disc_start
  CHECK(first.d_loss == 0);
  CHECK(trainer.discriminator().out.weight.to_vector() == d0);
  trainer.train_step();
  const auto on = trainer.train_step();   // step 2
  CHECK(on.adaptive_weight > 0);
  CHECK(on.adaptive_weight <= 0.5f * 1e4f);
  CHECK(on.d_loss > 0);
  CHECK(trainer.discriminator().out.weight.to_vector() != d0);
  for (const auto& p : trainer.discriminator().parameters()) CHECK(p.requires_grad());
  CHECK(trainer.batch(1).shape() == Shape{2, 3, 8, 8});
}

TEST_CASE("ImageTokenizerTrainer: the adaptive weight is VQGAN's ratio of gradient norms", "[vq]") {
  // Run A takes three steps; run B, identical, takes two and recomputes step 2's weight by hand.
  vq::ImageTokenizer tok_a(tiny_config()), tok_b(tiny_config());
  vq::ImageTokenizerTrainer a(tok_a, tiny_images(), tiny_options()), b(tok_b, tiny_images(), tiny_options());
  a.train_step(), a.train_step(), b.train_step(), b.train_step();
  const float got = a.train_step().adaptive_weight;
  const Tensor x = b.batch(2);
  const auto out = tok_b(x);
  // The trainer's default foreground weight and radius, 20 and 1.
  const Tensor rec = vq::reconstruction_loss(out.reconstruction, x, vq::ReconstructionLoss::l1, 20.f, 1);
  const Tensor adv = -mean(b.discriminator()(out.reconstruction));
  auto norm = [](const Tensor& g) {
    double s = 0;
    for (float v : g.to_vector()) s += double(v) * v;
    return std::sqrt(s);
  };
  const Tensor& last = tok_b.decoder.conv_out.weight;
  const double g_rec = norm(fresco::grad({rec}, {last}, {}, {.retain_graph = true})[0]);
  const double g_adv = norm(fresco::grad({adv}, {last})[0]);
  REQUIRE(g_adv > 0);
  CHECK(got == Approx(0.5 * g_rec / (g_adv + 1e-4)).epsilon(1e-4));   // disc_weight 0.5
}

TEST_CASE("ImageTokenizerTrainer: a resumed run reproduces the uninterrupted one bit for bit", "[vq]") {
  fresco::test::TempDir a, b;
  std::vector<vq::ImageTokenizerStepLosses> full;
  std::vector<float> full_weights, full_codes;
  {
    vq::ImageTokenizer tok(tiny_config());
    vq::ImageTokenizerTrainer trainer(tok, tiny_images(), tiny_options(a.path().string()));
    full = trainer.train().history;
    full_weights = tok.decoder.conv_out.weight.to_vector();
    full_codes = tok.quantizer.codebook.to_vector();
  }
  {
    // Interrupted after two steps of the same 4-step run (the same cosine schedule).
    vq::ImageTokenizer tok(tiny_config());
    vq::ImageTokenizerTrainer interrupted(tok, tiny_images(), tiny_options(b.path().string()));
    interrupted.train_step(), interrupted.train_step();
    interrupted.save_checkpoint(b.file("checkpoint.safetensors"));
  }
  vq::ImageTokenizer tok(tiny_config());
  vq::ImageTokenizerTrainer trainer(tok, tiny_images(), tiny_options(b.path().string()));
  const auto rest = trainer.train();
  REQUIRE(rest.history.size() == 2);
  CHECK(rest.steps == 4);
  CHECK(rest.history[1].reconstruction == full[3].reconstruction);
  CHECK(rest.history[1].d_loss == full[3].d_loss);
  CHECK(tok.decoder.conv_out.weight.to_vector() == full_weights);
  CHECK(tok.quantizer.codebook.to_vector() == full_codes);
  CHECK(std::filesystem::exists(a.file("samples/final.png")));
  CHECK(std::filesystem::exists(a.file("metrics.jsonl")));
}

TEST_CASE("ImageTokenizerTrainer: option and data errors", "[vq]") {
  vq::ImageTokenizer tok(tiny_config());
  auto o = tiny_options();
  o.batch_size = 7;
  CHECK_THROWS_WITH(vq::ImageTokenizerTrainer(tok, tiny_images(), o), Catch::Contains("batch_size 7 is more than the 6"));
  CHECK_THROWS_WITH(vq::ImageTokenizerTrainer(tok, zeros({6, 1, 8, 8}), tiny_options()),
                    Catch::Contains("expected images [N, 3, 8, 8]"));
  o = tiny_options();
  o.lr = 0;
  CHECK_THROWS_WITH(vq::ImageTokenizerTrainer(tok, tiny_images(), o), Catch::Contains("need lr > 0"));
  o = tiny_options();
  o.discriminator.layers = 3;   // 8x8 images: 1x1 patches
  CHECK_THROWS_WITH(vq::ImageTokenizerTrainer(tok, tiny_images(), o), Catch::Contains("use at most 2"));
}

TEST_CASE("foreground_weights: 1 + w · (distance from the border's median colour) / 0.2, capped at 1", "[vq]") {
  // One 4×4 image of 2 channels on a background of (−0.8, 0); the border's pixel (0, 3) is an object
  // pixel (channel 0 = 1), which the median ignores.
  std::vector<float> v(32);
  for (int p = 0; p < 16; ++p) v[p] = -0.8f, v[16 + p] = 0.f;
  v[3] = 1.f;                        // (0, 3): 1.8 from the background in channel 0 -> m = 1
  v[16 + 5] = 0.05f;                 // (1, 1): 0.05 in channel 1 -> m = 0.25
  v[6] = -0.7f, v[16 + 6] = 0.15f;   // (1, 2): 0.1 and 0.15 -> the larger, m = 0.75
  v[9] = 0.2f;                       // (2, 1): 1.0 -> m = 1
  const Tensor images = tensor(v, {1, 2, 4, 4});
  const std::vector<float> want{1, 1, 1, 5,   //
                                1, 2, 4, 1,   //
                                1, 5, 1, 1,   //
                                1, 1, 1, 1};
  CHECK_TENSOR(vq::foreground_weights(images, 4.f), Shape({1, 1, 4, 4}), want, 1e-5f);
  CHECK_TENSOR(vq::foreground_weights(images, 0.f), Shape({1, 1, 4, 4}), std::vector<float>(16, 1.f), 0.f);
  // Radius 1: each pixel takes the largest m of its 3×3 neighbourhood.
  const std::vector<float> dilated{2, 4, 5, 5,   //
                                   5, 5, 5, 5,   //
                                   5, 5, 5, 4,   //
                                   5, 5, 5, 1};
  CHECK_TENSOR(vq::foreground_weights(images, 4.f, 1), Shape({1, 1, 4, 4}), dilated, 1e-5f);
  CHECK_THROWS_WITH(vq::foreground_weights(images, -1.f), Catch::Contains("need a finite weight >= 0 and a radius >= 0, got -1 and 0"));
  CHECK_THROWS_WITH(vq::foreground_weights(zeros({2, 4, 4}), 1.f), Catch::Contains("expected images [B, C, H, W]"));

  // The weighted losses: Σw = 28; the reconstruction is off by 0.5 at (2, 1) of channel 0 (w = 5)
  // and by −0.25 at (0, 0) of channel 1 (w = 1).
  std::vector<float> r = v;
  r[9] += 0.5f, r[16] -= 0.25f;
  Tensor rec = tensor(r, {1, 2, 4, 4}).requires_grad_();
  const Tensor l1 = vq::reconstruction_loss(rec, images, vq::ReconstructionLoss::l1, 4.f);
  CHECK(l1.item() == Approx((5 * 0.5 + 1 * 0.25) / (2 * 28.0)).epsilon(1e-5));
  CHECK(vq::reconstruction_loss(rec, images, vq::ReconstructionLoss::l2, 4.f).item() ==
        Approx((5 * 0.25 + 1 * 0.0625) / (2 * 28.0)).epsilon(1e-5));
  // Weight 0 is the plain mean.
  CHECK(vq::reconstruction_loss(rec, images, vq::ReconstructionLoss::l1, 0.f).item() ==
        Approx(0.75 / 32).epsilon(1e-5));
  // d/dx̂ = w · sign(x̂ − x) / (C Σw) where they differ.
  l1.backward();
  const auto g = rec.grad().to_vector();
  CHECK(g[9] == Approx(5.0 / 56).epsilon(1e-5));
  CHECK(g[16] == Approx(-1.0 / 56).epsilon(1e-5));
  CHECK_THROWS_WITH(vq::reconstruction_loss(rec, zeros({1, 2, 4, 2}), vq::ReconstructionLoss::l1),
                    Catch::Contains("differ in shape: [1, 2, 4, 4] and [1, 2, 4, 2]"));
}

TEST_CASE("ImageTokenizerTrainer: warm-up, then a cosine down to lr · min_lr_fraction", "[vq]") {
  vq::ImageTokenizer tok(tiny_config());
  auto o = tiny_options();
  o.steps = 5, o.warmup_steps = 2, o.min_lr_fraction = 0.1f, o.disc_weight = 0;
  vq::ImageTokenizerTrainer trainer(tok, tiny_images(), o);
  const auto history = trainer.train().history;
  REQUIRE(history.size() == 5);
  // Steps 0, 1: 1e-3 · (s + 1) / 2; then p = (s − 2) / 3 and lr = 1e-4 + 9e-4 · (1 + cos πp) / 2.
  CHECK(history[0].lr == Approx(5e-4f));
  CHECK(history[1].lr == Approx(1e-3f));
  CHECK(history[2].lr == Approx(1e-3f));
  CHECK(history[3].lr == Approx(1e-4 + 9e-4 * 0.75));
  CHECK(history[4].lr == Approx(1e-4 + 9e-4 * 0.25));
  o.min_lr_fraction = 2;
  CHECK_THROWS_WITH(vq::ImageTokenizerTrainer(tok, tiny_images(), o),
                    Catch::Contains("min_lr_fraction in [0, 1], got 2"));
}
