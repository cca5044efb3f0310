// SPDX-License-Identifier: Apache-2.0
// Generator and discriminator: output shapes, configs, errors and gradients.
#include <algorithm>
#include <cmath>

#include <fresco/data/registry.hpp>
#include <fresco/data/shapes.hpp>
#include <fresco/gan/captioned_images.hpp>
#include <fresco/gan/conditioning.hpp>
#include <fresco/gan/discriminator.hpp>
#include <fresco/gan/generator.hpp>

#include "support/check.hpp"
#include "tiny.hpp"

using namespace fresco;

namespace {

// Central-difference check of d(sum(f() * w))/d(param[i]) for a few elements
// of a module parameter (gradcheck copies its inputs, so it cannot reach them).
void check_param_grad(Tensor param, const std::function<Tensor()>& f, int64_t count) {
  Generator gen(77);
  Tensor out = f();
  Tensor w = randn(out.shape());
  param.zero_grad();
  sum(out * w).backward();
  const std::vector<float> analytic = param.grad().to_vector();
  for (int64_t k = 0; k < count; ++k) {
    const int64_t i = static_cast<int64_t>(gen.below(static_cast<uint64_t>(param.numel())));
    // Two step sizes: LeakyReLU/ReLU kinks can spoil one central difference, rarely both.
    bool ok = false;
    double numeric = 0;
    for (double eps : {1e-3, 3e-4}) {
      float* p = param.data();
      const float saved = p[i];
      double fp = 0, fm = 0;
      {
        NoGradGuard guard;
        p[i] = saved + static_cast<float>(eps);
        for (float v : (f() * w).to_vector()) fp += v;
        p[i] = saved - static_cast<float>(eps);
        for (float v : (f() * w).to_vector()) fm += v;
      }
      p[i] = saved;
      numeric = (fp - fm) / (2 * eps);
      ok = ok || std::abs(analytic[i] - numeric) <= 2e-2 + 5e-2 * std::abs(numeric);
    }
    INFO("element " << i << " analytic " << analytic[i] << " numeric " << numeric);
    CHECK(ok);
  }
}

}  // namespace

TEST_CASE("GeneratorConfig: widths, blocks, metadata round trip and errors", "[gan]") {
  gan::GeneratorConfig c{.image_size = 32, .base_width = 256, .min_width = 32};
  CHECK(c.num_blocks() == 3);
  CHECK(c.width(0) == 128);
  CHECK(c.width(1) == 64);
  CHECK(c.width(2) == 32);
  c.base_width = 64;
  CHECK(c.width(2) == 32);   // clamped at min_width
  auto back = gan::GeneratorConfig::from_metadata(c.to_metadata());
  CHECK(back.base_width == 64);
  CHECK(back.cross_attention);
  CHECK_THROWS_WITH(gan::Generator({.image_size = 24}), Catch::Contains("power of two"));
  CHECK_THROWS_WITH(gan::Generator({.channels = 2}), Catch::Contains("channels must be 1 or 3"));
  CHECK_THROWS_WITH(gan::GeneratorConfig::from_metadata({}), Catch::Contains("generator.image_size"));
}

TEST_CASE("Generator: output shapes, range and input checks", "[gan]") {
  manual_seed(0);
  gan::Generator g({.image_size = 32, .channels = 3, .noise_dim = 16, .text_dim = 24, .base_width = 64,
                    .min_width = 16, .attention_heads = 4});
  Tensor z = randn({5, 16}), s = randn({5, 24}), words = randn({5, 7, 24});
  Tensor mask = zeros({5, 7});
  Tensor img = g(z, s, words, mask);
  CHECK(img.shape() == Shape{5, 3, 32, 32});
  for (float v : img.to_vector()) REQUIRE(std::abs(v) < 1.f);
  CHECK(g.blocks.size() == 3);
  CHECK(g.attention != nullptr);
  g.eval();
  CHECK(g(z, s, words, mask).shape() == Shape{5, 3, 32, 32});
  CHECK_THROWS_WITH(g(randn({5, 15}), s, words, mask), Catch::Contains("expected z [B, 16]"));
  CHECK_THROWS_WITH(g(z, randn({4, 24}), words, mask), Catch::Contains("expected sentence [5, 24]"));
  CHECK_THROWS_WITH(g(z, s, Tensor(), mask), Catch::Contains("word vectors are undefined"));
  CHECK_THROWS_WITH(g(z, s, words, zeros({5, 6})), Catch::Contains("pad_mask"));

  gan::Generator grey({.image_size = 16, .channels = 1, .noise_dim = 8, .text_dim = 8, .base_width = 16,
                       .min_width = 8, .cross_attention = false});
  CHECK(grey(randn({2, 8}), randn({2, 8})).shape() == Shape{2, 1, 16, 16});
  CHECK(grey.attention == nullptr);
}

TEST_CASE("Generator: the sentence input is standardised by its buffers", "[gan]") {
  manual_seed(8);
  gan::Generator g(testing::tiny_generator_config());
  g.eval();
  Tensor z = randn({3, 4}), s = randn({3, 8}), w = randn({3, 3, 8}), m = zeros({3, 3});
  CHECK(g.sentence_mean.to_vector() == std::vector<float>(8, 0.f));   // no change at construction
  CHECK(g.sentence_scale.to_vector() == std::vector<float>{1.f});
  const std::vector<float> mu = {0.5f, -1.f, 2.f, 0.f, 0.25f, 1.f, -0.5f, 3.f};
  // (s - mu) * 2, computed here, fed with the buffers at their defaults ...
  std::vector<float> sv = s.to_vector();
  for (size_t i = 0; i < sv.size(); ++i) sv[i] = (sv[i] - mu[i % 8]) * 2.f;
  const auto expected = g(z, tensor(sv, {3, 8}), w, m).to_vector();
  // ... equals s fed with the buffers set.
  std::copy(mu.begin(), mu.end(), g.sentence_mean.data());
  g.sentence_scale.data()[0] = 2.f;
  CHECK(testing::max_abs_diff(g(z, s, w, m).to_vector(), expected) < 1e-6);
  const auto names = g.named_buffers();
  CHECK(std::count_if(names.begin(), names.end(), [](const auto& b) { return b.first == "sentence_mean"; }) == 1);
}

TEST_CASE("Generator: padded word positions do not change the image", "[gan]") {
  manual_seed(1);
  gan::Generator g(testing::tiny_generator_config());
  g.eval();
  NoGradGuard guard;
  Tensor z = randn({2, 4}), s = randn({2, 8}), words = randn({2, 5, 8});
  Tensor mask = tensor({0, 0, 0, 1, 1, 0, 0, 1, 1, 1}, {2, 5});
  Tensor a = g(z, s, words, mask);
  // Change only the padded words: the output must stay the same.
  std::vector<float> w = words.to_vector();
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 5; ++t)
      if (mask.to_vector()[static_cast<size_t>(b * 5 + t)] != 0.f)
        for (int c = 0; c < 8; ++c) w[static_cast<size_t>((b * 5 + t) * 8 + c)] = 100.f;
  Tensor b = g(z, s, tensor(w, {2, 5, 8}), mask);
  CHECK(testing::max_abs_diff(a.to_vector(), b.to_vector()) < 1e-6);
}

TEST_CASE("Discriminator: shapes, projection term and errors", "[gan]") {
  gan::DiscriminatorConfig c{.image_size = 32, .channels = 3, .text_dim = 24, .base_width = 8};
  CHECK(c.num_downs() == 3);
  CHECK(c.feature_dim() == 64 * 16);
  gan::Discriminator d(c);
  Tensor x = randn({4, 3, 32, 32}), s = randn({4, 24});
  CHECK(d.features(x).shape() == Shape{4, 1024});
  Tensor logits = d(x, s);
  CHECK(logits.shape() == Shape{4});
  // logit = out(h) + <proj(s), h>, computed by hand from the parts.
  Tensor h = d.features(x);
  const auto hv = h.to_vector(), pv = d.proj(s).to_vector(), ov = d.out(h).to_vector(), lv = logits.to_vector();
  for (int b = 0; b < 4; ++b) {
    double dot = 0;
    for (int j = 0; j < 1024; ++j) dot += static_cast<double>(hv[b * 1024 + j]) * pv[b * 1024 + j];
    CHECK(lv[b] == Approx(ov[b] + dot).epsilon(1e-4).margin(1e-4));
  }
  CHECK_THROWS_WITH(d(randn({4, 1, 32, 32}), s), Catch::Contains("expected images [B, 3, 32, 32]"));
  CHECK_THROWS_WITH(d(x, randn({4, 23})), Catch::Contains("expected sentence [4, 24]"));
  gan::Discriminator grey({.image_size = 64, .channels = 1, .text_dim = 8, .base_width = 4});
  CHECK(grey(randn({2, 1, 64, 64}), randn({2, 8})).shape() == Shape{2});
  auto back = gan::DiscriminatorConfig::from_metadata(c.to_metadata());
  CHECK(back.feature_dim() == c.feature_dim());
}

TEST_CASE("Discriminator: contrastive similarity is the scaled cosine of the two embeddings", "[gan]") {
  manual_seed(5);
  gan::Discriminator d({.image_size = 8, .channels = 3, .text_dim = 6, .base_width = 4, .embed_dim = 5});
  Tensor x = randn({3, 3, 8, 8}), s = randn({4, 6});
  Tensor h = d.features(x);
  CHECK(d.logits(h, s.slice(0, 0, 3)).to_vector() == d(x, s.slice(0, 0, 3)).to_vector());
  Tensor sim = d.similarity(h, s, 0.5f, /*centred=*/true);
  REQUIRE(sim.shape() == Shape{3, 4});
  // By hand: cos(u_i - mean u, v_j - mean v) / 0.5 with u = image_embed(h), v = text_embed(s).
  auto u = d.image_embed(h).to_vector(), v = d.text_embed(s).to_vector();
  const auto got = sim.to_vector();
  auto centre = [](std::vector<float>& x, int rows) {
    for (int k = 0; k < 5; ++k) {
      double m = 0;
      for (int r = 0; r < rows; ++r) m += x[r * 5 + k];
      for (int r = 0; r < rows; ++r) x[r * 5 + k] -= static_cast<float>(m / rows);
    }
  };
  centre(u, 3);
  centre(v, 4);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      double uv = 0, uu = 0, vv = 0;
      for (int k = 0; k < 5; ++k) {
        uv += double(u[i * 5 + k]) * v[j * 5 + k];
        uu += double(u[i * 5 + k]) * u[i * 5 + k];
        vv += double(v[j * 5 + k]) * v[j * 5 + k];
      }
      CHECK(got[i * 4 + j] == Approx(uv / std::sqrt(uu * vv) / 0.5).epsilon(1e-4).margin(1e-5));
    }
  CHECK_THROWS_WITH(d.similarity(h, randn({4, 5}), 0.5f), Catch::Contains("expected sentence [M, 6]"));
  CHECK_THROWS_WITH(d.similarity(randn({3, 7}), s, 0.5f), Catch::Contains("expected features [B, 128]"));
  CHECK_THROWS_WITH(d.similarity(h, s, 0.f), Catch::Contains("temperature must be positive"));
  CHECK_THROWS_WITH(d.similarity(h.slice(0, 0, 1), s, 0.5f, true), Catch::Contains("at least 2 images"));
  // Not centred: the plain cosine.
  const auto u0 = d.image_embed(h).to_vector(), v0 = d.text_embed(s).to_vector(), plain = d.similarity(h, s, 0.5f).to_vector();
  double uv = 0, uu = 0, vv = 0;
  for (int k = 0; k < 5; ++k) {
    uv += double(u0[5 + k]) * v0[15 + k];   // image 1, sentence 3
    uu += double(u0[5 + k]) * u0[5 + k];
    vv += double(v0[15 + k]) * v0[15 + k];
  }
  CHECK(plain[1 * 4 + 3] == Approx(uv / std::sqrt(uu * vv) / 0.5).epsilon(1e-4).margin(1e-5));
  // Centred on a given image centre c: cos(u_i - c, v_j - mean v) / 0.5 (v is centred above).
  const std::vector<float> c = {0.3f, -1.f, 0.5f, 2.f, 0.f};
  const auto given = d.similarity(h, s, 0.5f, tensor(c, {5})).to_vector();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      double uv = 0, uu = 0, vv = 0;
      for (int k = 0; k < 5; ++k) {
        const double ui = double(u0[i * 5 + k]) - c[static_cast<size_t>(k)];
        uv += ui * v[j * 5 + k];
        uu += ui * ui;
        vv += double(v[j * 5 + k]) * v[j * 5 + k];
      }
      CHECK(given[i * 4 + j] == Approx(uv / std::sqrt(uu * vv) / 0.5).epsilon(1e-4).margin(1e-5));
    }
  // One image is enough with a given centre; the centre must be [embed_dim].
  CHECK(d.similarity(h.slice(0, 0, 1), s, 0.5f, tensor(c, {5})).shape() == Shape{1, 4});
  CHECK_THROWS_WITH(d.similarity(h, s, 0.5f, tensor({1.f, 2.f}, {2})), Catch::Contains("expected an image centre [5]"));
  CHECK_THROWS_WITH(d.similarity(h, s, 0.5f, Tensor()), Catch::Contains("an undefined tensor"));
  CHECK_THROWS_WITH(d.similarity(h, s.slice(0, 0, 1), 0.5f, tensor(c, {5})), Catch::Contains("at least 2 sentences"));
  // Gradients through both heads and the features.
  Tensor hh = h.detach().requires_grad_(), sv = s.detach().requires_grad_();
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return d.similarity(in[0], in[1], 0.5f, tensor(c, {5})); },
                  {hh, sv}, {.eps = 1e-2, .atol = 2e-2, .rtol = 5e-2}));
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return d.similarity(in[0], in[1], 0.5f); }, {hh, sv},
                  {.eps = 1e-2, .atol = 2e-2, .rtol = 5e-2}));
}

TEST_CASE("Generator: gradcheck w.r.t. noise, sentence, words and some parameters", "[gan][gradcheck]") {
  manual_seed(2);
  gan::Generator g(testing::tiny_generator_config());
  g.eval();   // fixed normalisation statistics: a smooth function of every input
  Tensor z = randn({2, 4}).requires_grad_(), s = randn({2, 8}).requires_grad_();
  Tensor words = randn({2, 3, 8}).requires_grad_();
  Tensor mask = tensor({0, 0, 1, 0, 0, 0}, {2, 3});
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return g(in[0], in[1], in[2], mask); }, {z, s, words},
                  {.eps = 1e-2, .atol = 2e-2, .rtol = 5e-2}));
  // Train mode (batch statistics), through the parameters of each kind of layer.
  g.train();
  Tensor zz = randn({4, 4}), ss = randn({4, 8}), ww = randn({4, 3, 8});
  Tensor mm = zeros({4, 3});
  auto f = [&] { return g(zz, ss, ww, mm); };
  {
    NoGradGuard guard;   // make the conditioning and attention weights nonzero
    for (auto* p : {&g.fc_norm.affine.weight, &g.blocks[0].norm.affine.weight, &g.attention->attention.out_proj.weight}) {
      float* d = p->data();
      for (int64_t i = 0; i < p->numel(); ++i) d[i] = 0.3f * std::sin(static_cast<float>(i));
    }
  }
  check_param_grad(g.fc.weight, f, 4);
  check_param_grad(g.fc_norm.affine.weight, f, 4);
  check_param_grad(g.attention->attention.in_proj_weight, f, 4);
  check_param_grad(g.attention->word_proj.weight, f, 4);
  check_param_grad(g.blocks[0].conv.weight, f, 4);
  check_param_grad(g.to_image.weight, f, 4);
}

TEST_CASE("Discriminator: gradcheck w.r.t. image, sentence and some parameters; second order", "[gan][gradcheck]") {
  manual_seed(3);
  gan::Discriminator d(testing::tiny_discriminator_config());
  Tensor x = randn({2, 3, 8, 8}).requires_grad_(), s = randn({2, 8}).requires_grad_();
  auto f = [&](const std::vector<Tensor>& in) { return d(in[0], in[1]); };
  CHECK(gradcheck(f, {x, s}, {.eps = 1e-2, .atol = 2e-2, .rtol = 5e-2}));
  // The MA-GP differentiates D's input gradient again (create_graph).
  CHECK(gradgradcheck(f, {x, s}, {.eps = 1e-3, .atol = 3e-2, .rtol = 5e-2}));
  Tensor xx = randn({2, 3, 8, 8}), ss = randn({2, 8});
  auto g = [&] { return d(xx, ss); };
  check_param_grad(d.from_image.weight, g, 4);
  check_param_grad(d.downs[0].weight, g, 4);
  check_param_grad(d.proj.weight, g, 4);
  check_param_grad(d.out.weight, g, 4);
}

TEST_CASE("seeded_noise: per-row streams independent of the batch size", "[gan]") {
  Tensor a = gan::seeded_noise(4, 6, 9);
  Tensor b = gan::seeded_noise(2, 6, 9, 2);
  CHECK(a.slice(0, 2, 4).contiguous().to_vector() == b.to_vector());
  CHECK(a.to_vector() != gan::seeded_noise(4, 6, 10).to_vector());
}

TEST_CASE("encode_tokens: normalised first-block word vectors, their mean as the sentence", "[gan]") {
  text::Gpt gpt(testing::tiny_gpt_config());
  const auto tok = testing::tiny_tokenizer();
  const std::vector<std::string> captions{"a red dot", "two red dots", "one blue box"};
  const gan::TokenBatch tb = gan::tokenize_captions(tok, captions, 16);
  const gan::TextFeatures f = gan::encode_tokens(gpt, tb);
  const int64_t b = tb.batch, t = tb.seq, d = 8;
  REQUIRE(f.words.shape() == Shape{b, t, d});
  REQUIRE(f.sentence.shape() == Shape{b, d});
  const std::vector<float> w = f.words.contiguous().to_vector(), s = f.sentence.to_vector();
  const std::vector<float> mask = f.pad_mask.to_vector();
  for (int64_t r = 0; r < b; ++r) {
    // Each word vector: zero mean, unit (biased) variance over its d features.
    for (int64_t i = 0; i < t; ++i) {
      double m = 0, v = 0;
      for (int64_t j = 0; j < d; ++j) m += w[static_cast<size_t>((r * t + i) * d + j)] / d;
      for (int64_t j = 0; j < d; ++j) v += std::pow(w[static_cast<size_t>((r * t + i) * d + j)] - m, 2) / d;
      // Unit variance up to layer norm's eps (1e-5): var / (var + eps), which the tiny GPT's small
      // states (variance ~1e-4) pull below 1.
      CHECK(m == Approx(0).margin(1e-5));
      CHECK(v > 0.8);
      CHECK(v <= 1.0 + 1e-5);
      CHECK(mask[static_cast<size_t>(r * t + i)] == (i > tb.end[static_cast<size_t>(r)] ? 1.f : 0.f));
    }
    // The sentence: the mean over bos..eos, normalised the same way.
    std::vector<double> mean(static_cast<size_t>(d), 0);
    const int64_t count = tb.end[static_cast<size_t>(r)] + 1;
    for (int64_t i = 0; i < count; ++i)
      for (int64_t j = 0; j < d; ++j) mean[static_cast<size_t>(j)] += w[static_cast<size_t>((r * t + i) * d + j)] / count;
    double m = 0, v = 0;
    for (double x : mean) m += x / d;
    for (double x : mean) v += (x - m) * (x - m) / d;
    for (int64_t j = 0; j < d; ++j)
      CHECK(s[static_cast<size_t>(r * d + j)] == Approx((mean[static_cast<size_t>(j)] - m) / std::sqrt(v + 1e-5)).margin(1e-4));
  }
  // A caption's features do not depend on the padding its batch neighbours force on it.
  const gan::TextFeatures alone = gan::encode_tokens(gpt, gan::tokenize_captions(tok, {"a red dot"}, 16));
  const std::vector<float> a = alone.sentence.to_vector();
  for (int64_t j = 0; j < d; ++j) CHECK(a[static_cast<size_t>(j)] == Approx(s[static_cast<size_t>(j)]).margin(1e-5));
  CHECK(std::vector<float>(s.begin(), s.begin() + d) != std::vector<float>(s.begin() + d, s.begin() + 2 * d));
}

TEST_CASE("CaptionedImages of data::open_dataset: Shapes with one object or a share of two, images in [-1, 1]", "[gan]") {
  auto one = gan::CaptionedImages::from_dataset(
      *data::open_dataset({.name = "shapes", .limit = 200, .seed = 3, .two_object_fraction = 0.f}));
  REQUIRE(one.images.shape() == Shape{200, 3, 32, 32});
  REQUIRE(one.captions.size() == 200);
  REQUIRE(one.labels.size() == 200);
  for (size_t i = 0; i < one.captions.size(); ++i) {
    const auto objects = data::Shapes::parse(one.captions[i]);
    REQUIRE(objects.has_value());
    CHECK(objects->size() == 1);
    // The labels are the caption's attributes: shape, colour, size, position.
    const auto l = objects->front().labels();
    CHECK(one.labels[i] == std::vector<int64_t>(l.begin(), l.end()));
  }
  const auto v = one.images.to_vector();
  CHECK(*std::min_element(v.begin(), v.end()) >= -1.f);
  CHECK(*std::max_element(v.begin(), v.end()) <= 1.f);
  auto all_two = gan::CaptionedImages::from_dataset(
      *data::open_dataset({.name = "shapes", .limit = 50, .seed = 3, .two_object_fraction = 1.f}));
  for (size_t i = 0; i < all_two.captions.size(); ++i) {
    const auto objects = data::Shapes::parse(all_two.captions[i]);
    REQUIRE(objects.has_value());
    CHECK(objects->size() == 2);
    CHECK(all_two.labels[i].size() == 8);
  }
  all_two.labels.pop_back();
  CHECK_THROWS_WITH(all_two.validate(), Catch::Contains("50 images but 49 rows of labels"));
}

TEST_CASE("Generator: the fused upsampling convolution gives the unfused blocks' images and gradients", "[gan]") {
  gan::GeneratorConfig config = testing::tiny_generator_config();
  config.cross_attention = false;
  config.image_size = 16;
  gan::Generator g(config);
  manual_seed(31);
  const Tensor z = randn({3, config.noise_dim}), s = randn({3, config.text_dim});
  // The same network, stage by stage.
  auto unfused = [&](const Tensor& zz, const Tensor& ss) {
    Tensor h = g.fc(cat({zz, ss}, 1)).reshape({3, config.base_width, 4, 4});
    h = relu(g.fc_norm(h, ss));
    for (int64_t i = 0; i < g.blocks.size(); ++i)
      h = relu(g.blocks[i].norm(g.blocks[i].conv(upsample_nearest2d(h, 2)), ss));
    return tanh(g.to_image(h));
  };
  auto rel_diff = [](const Tensor& a, const Tensor& b) {
    const auto va = a.to_vector(), vb = b.to_vector();
    double err = 0, scale = 1;
    for (size_t i = 0; i < va.size(); ++i) {
      err = std::max(err, std::fabs(double(va[i]) - vb[i]));
      scale = std::max(scale, std::fabs(double(vb[i])));
    }
    return a.shape() == b.shape() ? err / scale : INFINITY;
  };
  {  // training: values, and the gradients of a conv weight and of the noise
    const Tensor z1 = z.clone().requires_grad_(), z2 = z.clone().requires_grad_();
    const Tensor got = g.forward(z1, s);
    sum(got * got).backward();
    const Tensor dw = g.blocks[0].conv.weight.grad().clone();
    g.zero_grad();
    const Tensor want = unfused(z2, s);
    sum(want * want).backward();
    CHECK(rel_diff(got, want) < 1e-5);
    CHECK(rel_diff(z1.grad(), z2.grad()) < 1e-5);
    CHECK(rel_diff(dw, g.blocks[0].conv.weight.grad()) < 1e-5);
  }
  g.eval();  // running statistics moved by the two training passes above
  NoGradGuard no_grad;
  const Tensor got = g.forward(z, s), want = unfused(z, s);
  CHECK(got.shape() == Shape({3, 3, 16, 16}));
  CHECK(rel_diff(got, want) < 1e-5);
}
