// SPDX-License-Identifier: Apache-2.0
// The token transformer: its losses against an independent computation, causality,
// the cached sampler against the full forward pass, guidance, seeds per image, the
// model file of the transformer family, and training that resumes bit for bit.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <thread>
#include <utility>

#include <fresco/autograd/autograd.hpp>
#include <fresco/eval/retrieval.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/ops/matmul.hpp>
#include <fresco/tensor/memory_limit.hpp>
#include <fresco/tensor/random.hpp>
#include <fresco/text_to_image.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/image_gpt_trainer.hpp>
#include <fresco/vq/text_to_image.hpp>

#include "io/temp_dir.hpp"
#include "vq/reference_losses.hpp"

using namespace fresco;

namespace {

constexpr int64_t kTc = 16;   // caption slots
constexpr int64_t kK = 16;   // codes
constexpr int64_t kG = 2;    // grid
constexpr int64_t kN = kG * kG;

vq::ImageGptConfig tiny(uint64_t seed = 5) {
  return {.text_vocab = 300, .caption_length = kTc, .codes = kK, .grid = kG, .d_model = 16, .heads = 2, .layers = 2,
          .seed = seed};
}

// Captions of `batch` rows: <|bos|>, a few byte tokens, <|eos|>, padding.
std::vector<int64_t> captions_of(int64_t batch, int64_t salt) {
  std::vector<int64_t> ids;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = 2 + (b + salt) % 4;
    ids.push_back(text::BpeTokenizer::kBosId);
    for (int64_t t = 0; t < len; ++t) ids.push_back(97 + (b * 7 + t * 3 + salt) % 26);
    ids.push_back(text::BpeTokenizer::kEosId);
    while (static_cast<int64_t>(ids.size()) < (b + 1) * kTc) ids.push_back(text::BpeTokenizer::kPadId);
  }
  return ids;
}

// Fills `t` with fixed values in [-1, 1] (a trained-looking table instead of zeros).
void randomize(Tensor& t, uint64_t seed) {
  NoGradGuard guard;
  Generator gen(seed);
  float* d = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = static_cast<float>(2 * gen.uniform() - 1);
}

// A linked model whose code vectors and two projections are random and unlike each other, so that
// mixing up the input and output projections, or leaving either out, changes the result.
void link_randomly(vq::ImageGpt& model, uint64_t seed) {
  randomize(model.image_code_vectors, seed + 100);
  randomize(model.image_code_in, seed + 200);
  randomize(model.image_code_out, seed + 300);
}

std::vector<int64_t> codes_of(int64_t batch, int64_t salt) {
  std::vector<int64_t> c;
  for (int64_t i = 0; i < batch * kN; ++i) c.push_back((i * 5 + salt) % kK);
  return c;
}

// Cosine of rows i and j of a row-major table with `width` columns, in double.
double row_cosine(const std::vector<float>& w, int64_t width, int64_t i, int64_t j) {
  double xy = 0, xx = 0, yy = 0;
  for (int64_t c = 0; c < width; ++c) {
    const double x = w[static_cast<size_t>(i * width + c)], y = w[static_cast<size_t>(j * width + c)];
    xy += x * y, xx += x * x, yy += y * y;
  }
  return xy / std::sqrt(xx * yy);
}

}  // namespace

TEST_CASE("ImageGpt: logits' shapes and the losses against an independent cross-entropy", "[vq][image_gpt]") {
  vq::ImageGpt model(tiny());
  const int64_t B = 3;
  const auto captions = captions_of(B, 0);
  const auto codes = codes_of(B, 1);
  const auto logits = model.forward(captions, codes, B);
  CHECK(logits.text.shape() == Shape{B, kTc, 300});
  CHECK(logits.image.shape() == Shape{B, kN, kK});

  const double image = test::mean_cross_entropy(logits.image.contiguous().to_vector(), kK, codes);
  std::vector<int64_t> text_targets(captions.size(), -1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t + 1 < kTc; ++t) {
      const int64_t next = captions[static_cast<size_t>(b * kTc + t + 1)];
      if (next != text::BpeTokenizer::kPadId) text_targets[static_cast<size_t>(b * kTc + t)] = next;
    }
  const double text = test::mean_cross_entropy(logits.text.contiguous().to_vector(), 300, text_targets);
  const auto l = model.loss(captions, codes, B, 0.25f);
  CHECK(l.image == Approx(image).epsilon(1e-5));
  CHECK(l.text == Approx(text).epsilon(1e-5));
  CHECK(l.total.item() == Approx(image + 0.25 * text).epsilon(1e-5));
  // An untrained model is close to uniform over the codes.
  CHECK(image == Approx(std::log(double(kK))).epsilon(0.05));
}

TEST_CASE("ImageGpt: slot j sees the caption and codes before j only", "[vq][image_gpt]") {
  vq::ImageGpt model(tiny());
  auto captions = captions_of(1, 0);
  auto codes = codes_of(1, 0);
  const auto base = model.forward(captions, codes, 1).image.contiguous().to_vector();
  for (int64_t j = 0; j < kN; ++j) {
    auto changed = codes;
    changed[static_cast<size_t>(j)] = (changed[static_cast<size_t>(j)] + 1) % kK;
    const auto out = model.forward(captions, changed, 1).image.contiguous().to_vector();
    for (int64_t s = 0; s < kN; ++s) {
      double diff = 0;
      for (int64_t k = 0; k < kK; ++k) diff = std::max(diff, std::abs(double(out[s * kK + k] - base[s * kK + k])));
      INFO("code " << j << " changed, slot " << s);
      if (s <= j) CHECK(diff == 0.0);   // slot s predicts code s from codes < s
      else CHECK(diff > 1e-6);
    }
  }
  // Every image slot reads the caption.
  captions[2] = captions[2] == 100 ? 101 : 100;
  const auto other = model.forward(captions, codes, 1).image.contiguous().to_vector();
  for (int64_t s = 0; s < kN; ++s) CHECK(std::abs(other[s * kK] - base[s * kK]) > 1e-7);
}

TEST_CASE("ImageGpt: the gradient of the loss matches central differences", "[vq][image_gpt]") {
  auto config = tiny();
  config.caption_recency = GENERATE(false, true);
  config.caption_bidirectional = GENERATE(false, true);
  config.relative_bias = GENERATE(false, true);
  config.code_dim = GENERATE(0, 4);
  INFO("caption_recency " << config.caption_recency << ", caption_bidirectional " << config.caption_bidirectional
                          << ", relative_bias " << config.relative_bias << ", code_dim " << config.code_dim);
  vq::ImageGpt model(config);
  if (model.image_relative) randomize(model.image_relative->weight, 5);
  if (config.code_dim > 0) link_randomly(model, 5);
  const auto captions = captions_of(2, 1);
  const auto codes = codes_of(2, 3);
  model.zero_grad();
  model.loss(captions, codes, 2, 0.5f).total.backward();
  // One entry of each table of the image side, and the image head's bias.
  std::vector<Tensor*> checked = {&model.image_row.weight, &model.image_col.weight, &model.image_wte.weight,
                                  &model.image_head.bias};
  if (model.image_relative) checked.push_back(&model.image_relative->weight);
  if (config.code_dim > 0) checked.insert(checked.end(), {&model.image_code_in, &model.image_code_out});
  for (Tensor* p : checked) {
    const float analytic = p->grad().to_vector()[3];
    const float x0 = p->data()[3];
    auto slope = [&](float h) {
      p->data()[3] = x0 + h;
      const double up = model.loss(captions, codes, 2, 0.5f).total.item();
      p->data()[3] = x0 - h;
      const double down = model.loss(captions, codes, 2, 0.5f).total.item();
      p->data()[3] = x0;
      return (up - down) / (2 * h);
    };
    // Richardson's extrapolation of two central differences: error O(h⁴), large enough steps for float.
    const double numeric = (4 * slope(1e-2f) - slope(2e-2f)) / 3;
    CHECK(analytic == Approx(numeric).margin(1e-4).epsilon(2e-2));
  }
}

TEST_CASE("ImageGpt::sample: greedy cached sampling writes the full forward pass's argmax codes", "[vq][image_gpt]") {
  auto config = tiny(9);
  config.caption_recency = GENERATE(false, true);   // the cache's caption bias against the full pass's mask
  config.caption_bidirectional = GENERATE(false, true);   // and its caption prefill read both ways
  config.relative_bias = GENERATE(false, true);   // and its per-step rows of the relative bias
  config.code_dim = GENERATE(0, 4);   // and the linked codes' tables
  INFO("caption_recency " << config.caption_recency << ", caption_bidirectional " << config.caption_bidirectional
                          << ", relative_bias " << config.relative_bias << ", code_dim " << config.code_dim);
  vq::ImageGpt model(config);
  if (model.image_relative) randomize(model.image_relative->weight, 6);
  if (config.code_dim > 0) link_randomly(model, 6);
  {   // trained-sized weights: the caption moves the logits, so the guidance scale moves the argmax
    uint64_t salt = 7;
    for (Tensor& p : model.parameters()) randomize(p, salt++);
  }
  model.eval();
  const int64_t B = 16;
  const auto captions = captions_of(B, 2);
  const auto empty = captions_of(1, 0);
  for (const auto& [guidance, ramp] : {std::pair{1.f, int64_t{0}}, std::pair{2.5f, int64_t{0}}, std::pair{2.5f, int64_t{3}}}) {
    INFO("guidance " << guidance << ", guidance_ramp " << ramp);
    vq::ImageSampleOptions options{.guidance = guidance, .temperature = 0.f};
    options.guidance_ramp = ramp;
    const auto codes = model.sample(captions, B, empty, options, 1);
    REQUIRE(codes.size() == static_cast<size_t>(B * kN));
    // Re-run the whole sequences: each code must be the argmax of the (guided) logits at its slot.
    const auto c = model.forward(captions, codes, B).image.contiguous().to_vector();
    std::vector<int64_t> empties;
    for (int64_t b = 0; b < B; ++b) empties.insert(empties.end(), empty.begin(), empty.end());
    const auto u = model.forward(empties, codes, B).image.contiguous().to_vector();
    auto argmax = [&](int64_t i, float scale) {
      int64_t best = 0;
      float best_value = -1e30f;
      for (int64_t k = 0; k < kK; ++k) {
        const float v = u[i * kK + k] + scale * (c[i * kK + k] - u[i * kK + k]);
        if (v > best_value) best_value = v, best = k;
      }
      return best;
    };
    int64_t ramped = 0;   // slots where the ramp's scale picks another code than the full scale would
    for (int64_t i = 0; i < B * kN; ++i) {
      // With a ramp of 3 over 4 slots: scales 1, 1.5, 2 and then 2.5.
      const int64_t j = i % kN;
      const float scale = j < ramp ? 1.f + (guidance - 1.f) * static_cast<float>(j) / static_cast<float>(ramp)
                                   : guidance;
      CHECK(codes[static_cast<size_t>(i)] == argmax(i, scale));
      ramped += argmax(i, scale) != argmax(i, guidance);
    }
    if (ramp > 0) CHECK(ramped > 0);   // the ramp is seen: some slot draws another code than full guidance would
  }
}

TEST_CASE("ImageGpt: caption_recency is ALiBi's bias on caption queries, kept in the metadata", "[vq][image_gpt]") {
  auto config = tiny();
  CHECK_FALSE(vq::ImageGpt(config).attention_bias().defined());
  CHECK_FALSE(config.to_metadata().contains("image_gpt.caption_recency"));
  config.caption_recency = true;
  vq::ImageGpt model(config);
  const int64_t T = kTc + kN;
  const Tensor bias = model.attention_bias();
  REQUIRE(bias.shape() == Shape{1, 2, T, T});
  const auto v = bias.contiguous().to_vector();
  auto at = [&](int64_t h, int64_t t, int64_t s) { return v[static_cast<size_t>((h * T + t) * T + s)]; };
  // Two heads: slopes 2^-4 and 2^-8.
  CHECK(at(0, 5, 2) == -3.f / 16);
  CHECK(at(1, 15, 0) == -15.f / 256);
  CHECK(at(0, 7, 7) == 0.f);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t s = 0; s < T; ++s)
        if (t >= kTc || s > t) REQUIRE(at(h, t, s) == 0.f);   // image queries and future keys: no bias
  // The bias changes the caption slots' logits, and the file keeps it.
  const auto captions = captions_of(1, 0);
  const auto codes = codes_of(1, 0);
  config.caption_recency = false;
  vq::ImageGpt plain(config);   // the same seed: the same weights, without the bias
  const auto a = model.forward(captions, codes, 1).text.contiguous().to_vector();
  const auto b = plain.forward(captions, codes, 1).text.contiguous().to_vector();
  CHECK(a[0] == b[0]);   // slot 0 attends to itself alone
  double differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ = std::max(differ, std::abs(double(a[i] - b[i])));
  CHECK(differ > 1e-6);
  const auto back = vq::ImageGptConfig::from_metadata(model.config().to_metadata());
  CHECK(back.caption_recency);
  // A shorter bias is the top-left block of the full one (the sampler's caption prefill).
  const auto short_bias = model.attention_bias(kTc).contiguous().to_vector();
  for (int64_t t = 0; t < kTc; ++t)
    for (int64_t s = 0; s < kTc; ++s) REQUIRE(short_bias[static_cast<size_t>((1 * kTc + t) * kTc + s)] == at(1, t, s));
  CHECK_THROWS_WITH(model.attention_bias(T + 1), Catch::Contains("positions"));
  // A file that claims a caption of a million slots is refused before anything is allocated.
  auto meta = model.config().to_metadata();
  meta["image_gpt.caption_length"] = "1000000";
  CHECK_THROWS_WITH(vq::ImageGptConfig::from_metadata(meta), Catch::Contains("caption_length must be in [2, 4096]"));
}

TEST_CASE("ImageGpt: caption_recency with caption_bidirectional is symmetric over the caption", "[vq][image_gpt]") {
  auto config = tiny();
  config.caption_recency = config.caption_bidirectional = true;
  const vq::ImageGpt model(config);
  const int64_t T = kTc + kN;
  const auto v = model.attention_bias().contiguous().to_vector();
  auto at = [&](int64_t h, int64_t t, int64_t s) { return v[static_cast<size_t>((h * T + t) * T + s)]; };
  const float slopes[] = {1.f / 16, 1.f / 256};   // 2^(-8(h+1)/2)
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t s = 0; s < T; ++s) {
        const float expected = t < kTc && s < kTc ? -slopes[h] * static_cast<float>(std::abs(t - s)) : 0.f;
        REQUIRE(at(h, t, s) == expected);   // image queries and image keys: no bias
      }
  CHECK(at(0, 2, 5) == -3.f / 16);   // a later word, as far as an earlier one
  CHECK(at(0, 5, 2) == -3.f / 16);
}

TEST_CASE("ImageGpt: caption_bidirectional reads the caption both ways, drops the text loss, is kept in the metadata",
          "[vq][image_gpt]") {
  auto config = tiny();
  CHECK_FALSE(config.to_metadata().contains("image_gpt.caption_bidirectional"));
  vq::ImageGpt causal(config);
  config.caption_bidirectional = true;
  vq::ImageGpt both(config);   // the same seed: the same weights
  auto captions = captions_of(1, 0);
  const auto codes = codes_of(1, 0);
  const auto a0 = causal.forward(captions, codes, 1), b0 = both.forward(captions, codes, 1);
  // A later caption word changes caption slot 1 only when the caption is read both ways.
  captions[4] = captions[4] == 100 ? 101 : 100;
  const auto a1 = causal.forward(captions, codes, 1), b1 = both.forward(captions, codes, 1);
  const auto row1 = [](const vq::ImageGpt::Logits& l) {
    const auto v = l.text.contiguous().to_vector();
    return std::vector<float>(v.begin() + 300, v.begin() + 600);   // slot 1 of [1, kTc, 300]
  };
  CHECK(row1(a0) == row1(a1));
  double moved = 0;
  for (size_t i = 0; i < 300; ++i) moved = std::max(moved, std::abs(double(row1(b0)[i] - row1(b1)[i])));
  CHECK(moved > 1e-6);
  // Image slots read the caption in both models, and differently once it is read both ways.
  CHECK(a0.image.contiguous().to_vector() != b0.image.contiguous().to_vector());
  // No text loss: a slot would see the word it predicts.
  const auto l = both.loss(captions, codes, 1, 0.5f);
  CHECK(l.text == 0.f);
  CHECK(l.total.item() == l.image);
  CHECK(causal.loss(captions, codes, 1, 0.5f).text > 0.f);
  const auto back = vq::ImageGptConfig::from_metadata(both.config().to_metadata());
  CHECK(back.caption_bidirectional);
  CHECK_FALSE(back.caption_recency);
}

TEST_CASE("ImageGpt: relative_bias is a learned bias per image offset, zero at the start", "[vq][image_gpt]") {
  auto config = tiny();
  config.frames = 2;   // a clip: 2 frames of a 2x2 grid, 8 image slots
  vq::ImageGpt plain(config);
  CHECK_FALSE(plain.image_relative);
  config.relative_bias = true;
  vq::ImageGpt model(config);
  REQUIRE(model.image_relative);
  CHECK(model.image_relative->weight.shape() == Shape{2 * 3 * 3, 2});
  // Slot 5 (frame 1, row 0, column 1) looking at slot 2 (frame 0, row 1, column 0):
  // Δframe 1, Δrow −1, Δcol +1 -> (1·3 + 0)·3 + 2.
  CHECK(model.relative_index(5, 2) == 11);
  CHECK(model.relative_index(3, 3) == 4);   // itself: the middle of frame offset 0
  CHECK(model.relative_index(7, 0) == (1 * 3 + 2) * 3 + 2);
  // Zero at the start: the same logits as without it (the other weights draw the same numbers).
  const auto captions = captions_of(1, 3);
  std::vector<int64_t> codes;
  for (int64_t i = 0; i < 2 * kN; ++i) codes.push_back((i * 3 + 1) % kK);
  CHECK(model.forward(captions, codes, 1).image.contiguous().to_vector() ==
        plain.forward(captions, codes, 1).image.contiguous().to_vector());
  // The bias holds the table's entries on image queries and keys, and 0 wherever a caption slot is.
  randomize(model.image_relative->weight, 9);
  const auto table = model.image_relative->weight.contiguous().to_vector();
  const int64_t T = kTc + 2 * kN;
  const Tensor bias = model.attention_bias();
  REQUIRE(bias.shape() == Shape{1, 2, T, T});
  const auto v = bias.contiguous().to_vector();
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t s = 0; s <= t; ++s) {
        const float expected = t < kTc || s < kTc ? 0.f : table[static_cast<size_t>(model.relative_index(t - kTc, s - kTc) * 2 + h)];
        REQUIRE(v[static_cast<size_t>((h * T + t) * T + s)] == expected);
      }
  CHECK_FALSE(model.attention_bias(kTc).defined());   // the caption prefill: no image slot, no bias
  // It changes what the image slots predict, and the file keeps it.
  CHECK(model.forward(captions, codes, 1).image.contiguous().to_vector() !=
        plain.forward(captions, codes, 1).image.contiguous().to_vector());
  CHECK(vq::ImageGptConfig::from_metadata(model.config().to_metadata()).relative_bias);
  CHECK_FALSE(plain.config().to_metadata().contains("image_gpt.relative_bias"));
}

TEST_CASE("ImageGpt::init_codes_from: codes that point alike start alike, the rest is left alone",
          "[vq][image_gpt]") {
  auto config = tiny();
  config.d_model = 512;   // wide rows: a cosine between two of them is within ~0.05 of its expectation
  vq::ImageGpt model(config);
  const auto values = [&] {
    std::map<std::string, std::vector<float>> v;
    for (const auto& [name, p] : model.named_parameters()) v[name] = p.contiguous().to_vector();
    return v;
  };
  const auto before = values();
  // A codebook of 16 vectors of dimension 4: codes 0-3 along e0 (at several lengths), 4-7 along −e0,
  // 8-11 along e1, 12-15 along (e0 + e1)/√2.
  std::vector<float> book(static_cast<size_t>(kK * 4), 0.f);
  for (int64_t k = 0; k < kK; ++k) {
    const float length = 0.5f + static_cast<float>(k % 4);
    float* e = book.data() + k * 4;
    if (k < 4) e[0] = length;
    else if (k < 8) e[0] = -length;
    else if (k < 12) e[1] = length;
    else e[0] = e[1] = length;
  }
  const float a = 0.7f;
  model.init_codes_from(tensor(book, {kK, 4}), a, 3);
  for (const Tensor* table : {&model.image_wte.weight, &model.image_head.weight}) {
    const auto w = table->contiguous().to_vector();
    const auto cosine = [&](int64_t i, int64_t j) { return row_cosine(w, 512, i, j); };
    // Expected cosine a² · cos(codes): 0.49 alike, −0.49 opposite, 0 orthogonal, 0.49/√2 at 45°.
    CHECK(cosine(0, 3) == Approx(a * a).margin(0.12));
    CHECK(cosine(8, 10) == Approx(a * a).margin(0.12));
    CHECK(cosine(1, 5) == Approx(-a * a).margin(0.12));
    CHECK(cosine(2, 9) == Approx(0).margin(0.12));
    CHECK(cosine(12, 0) == Approx(a * a / std::sqrt(2.0)).margin(0.12));
    // The N(0, 0.02) scale of the plain start, whatever the codes' lengths.
    double squares = 0;
    for (int64_t i = 0; i < kK * 512; ++i) squares += double(w[static_cast<size_t>(i)]) * w[static_cast<size_t>(i)];
    CHECK(std::sqrt(squares / (kK * 512)) == Approx(0.02).epsilon(0.15));
  }
  // Everything else as it was: the <|image|> row, the GPT, the positions; the head's bias zero.
  const auto after = values();
  for (const auto& [name, value] : before) {
    if (name == "image_head.weight") continue;
    auto a_ = value, b_ = after.at(name);
    if (name == "image_wte.weight") {
      a_.erase(a_.begin(), a_.begin() + kK * 512);
      b_.erase(b_.begin(), b_.begin() + kK * 512);
    }
    INFO(name);
    CHECK(a_ == b_);
  }
  // The same seed draws the same start; share 0 keeps no trace of the codebook.
  vq::ImageGpt again(config);
  again.init_codes_from(tensor(book, {kK, 4}), a, 3);
  CHECK(again.image_wte.weight.contiguous().to_vector() == model.image_wte.weight.contiguous().to_vector());
  again.init_codes_from(tensor(book, {kK, 4}), 0.f, 3);
  CHECK(row_cosine(again.image_head.weight.contiguous().to_vector(), 512, 0, 3) == Approx(0).margin(0.15));
  // Errors: a codebook of another size, a share outside [0, 1].
  CHECK_THROWS_WITH(model.init_codes_from(tensor(std::vector<float>(8 * 4, 1.f), {8, 4})),
                    Catch::Contains("expected a codebook [16, D]") && Catch::Contains("[8, 4]"));
  CHECK_THROWS_WITH(model.init_codes_from(tensor(book, {kK, 4}), 1.5f), Catch::Contains("share must be in [0, 1]"));
}

TEST_CASE("ImageGpt code_dim: codes linked to their vectors start as init_codes_from's, learn through the "
          "projections and keep them in the file", "[vq][image_gpt]") {
  // 16 codes of dimension 4, no two alike.
  std::vector<float> book(static_cast<size_t>(kK * 4));
  for (int64_t i = 0; i < kK * 4; ++i) book[static_cast<size_t>(i)] = std::sin(0.7f * static_cast<float>(i) + 0.3f);
  auto config = tiny();
  vq::ImageGpt plain(config);
  config.code_dim = 4;
  vq::ImageGpt linked(config);
  // Before the codebook is given the vectors are zero: the link adds nothing.
  CHECK(linked.image_code_table().contiguous().to_vector() == linked.image_wte.weight.contiguous().to_vector());
  plain.init_codes_from(tensor(book, {kK, 4}), 0.7f, 3);
  linked.init_codes_from(tensor(book, {kK, 4}), 0.7f, 3);
  // The computed rows are the rows the unlinked model stores.
  const auto near = [](const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i)
      if (std::abs(a[i] - b[i]) > 1e-6f) return false;
    return true;
  };
  CHECK(near(linked.image_code_table().contiguous().to_vector(), plain.image_wte.weight.contiguous().to_vector()));
  CHECK(near(linked.image_head_weight().contiguous().to_vector(), plain.image_head.weight.contiguous().to_vector()));
  // Unit code vectors.
  const auto v = linked.image_code_vectors.contiguous().to_vector();
  for (int64_t k = 0; k < kK; ++k) {
    double norm = 0;
    for (int64_t d = 0; d < 4; ++d) norm += double(v[static_cast<size_t>(k * 4 + d)]) * v[static_cast<size_t>(k * 4 + d)];
    CHECK(std::sqrt(norm) == Approx(1.0).epsilon(1e-5));
  }
  const auto captions = captions_of(2, 1);
  const auto codes = codes_of(2, 3);
  CHECK(near(linked.forward(captions, codes, 2).image.contiguous().to_vector(),
             plain.forward(captions, codes, 2).image.contiguous().to_vector()));

  // Table = W + V·P, so dL/dP = Vᵀ · dL/dtable's code rows: the projections learn from every code.
  linked.loss(captions, codes, 2, 0.5f).total.backward();
  const auto vt = linked.image_code_vectors.transpose(0, 1);
  const auto expect_in = matmul(vt, linked.image_wte.weight.grad().slice(0, 0, kK)).contiguous().to_vector();
  const auto expect_out = matmul(vt, linked.image_head.weight.grad()).contiguous().to_vector();
  const auto got_in = linked.image_code_in.grad().contiguous().to_vector();
  const auto got_out = linked.image_code_out.grad().contiguous().to_vector();
  REQUIRE(got_in.size() == expect_in.size());
  REQUIRE(got_out.size() == expect_out.size());
  double largest_in = 0, largest_out = 0;
  for (size_t i = 0; i < got_out.size(); ++i) {
    CHECK(got_in[i] == Approx(expect_in[i]).margin(1e-6));
    CHECK(got_out[i] == Approx(expect_out[i]).margin(1e-6));
    largest_in = std::max(largest_in, double(std::abs(got_in[i])));
    largest_out = std::max(largest_out, double(std::abs(got_out[i])));
  }
  CHECK(largest_in > 1e-5);   // gradients that are there
  CHECK(largest_out > 1e-4);
  // The buffer is not trained.
  CHECK_FALSE(linked.image_code_vectors.requires_grad());

  // The file keeps the link: metadata key and tensors, read back into a new model.
  const auto meta = config.to_metadata();
  CHECK(meta.at("image_gpt.code_dim") == "4");
  CHECK_FALSE(plain.config().to_metadata().contains("image_gpt.code_dim"));
  vq::ImageGpt back(vq::ImageGptConfig::from_metadata(meta));
  io::load_module_state(back, io::module_state(linked), "test");
  CHECK(back.forward(captions, codes, 2).image.contiguous().to_vector() ==
        linked.forward(captions, codes, 2).image.contiguous().to_vector());
  CHECK_THROWS_WITH(io::load_module_state(back, io::module_state(plain), "plain"),
                    Catch::Contains("missing") && Catch::Contains("image_code_vectors"));
  // Errors: a codebook of another width, a negative code_dim.
  CHECK_THROWS_WITH(linked.init_codes_from(tensor(std::vector<float>(kK * 3, 1.f), {kK, 3})),
                    Catch::Contains("code_dim") && Catch::Contains("have 3"));
  config.code_dim = -1;
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("code_dim must be in [0, 4096], got -1"));
}

TEST_CASE("ImageGpt::sample: one stream per image, seeds and options", "[vq][image_gpt]") {
  vq::ImageGpt model(tiny(2));
  model.eval();
  const auto captions = captions_of(3, 1);
  const auto empty = captions_of(1, 0);
  const vq::ImageSampleOptions o{.guidance = 2.f, .temperature = 1.5f, .top_k = 8};
  const auto all = model.sample(captions, 3, empty, o, 11);
  CHECK(all == model.sample(captions, 3, empty, o, 11));
  CHECK(all != model.sample(captions, 3, empty, o, 12));
  // Image 1 alone, with its index, is image 1 of the batch.
  const std::vector<int64_t> second(captions.begin() + kTc, captions.begin() + 2 * kTc);
  const auto alone = model.sample(second, 1, empty, o, 11, 1);
  CHECK(std::vector<int64_t>(all.begin() + kN, all.begin() + 2 * kN) == alone);
  // Explicit streams: the seed's own are the same images; others are other images.
  const std::vector<uint64_t> streams = {vq::image_stream(11, 0), vq::image_stream(11, 1), vq::image_stream(11, 2)};
  CHECK(model.sample(captions, 3, empty, o, streams) == all);
  CHECK(model.sample(captions, 3, empty, o, std::vector<uint64_t>{streams[0], vq::candidate_stream(streams[1], 1),
                                                                   streams[2]}) != all);
  CHECK_THROWS_WITH(model.sample(captions, 3, empty, o, std::vector<uint64_t>{1, 2}),
                    Catch::Contains("2 streams for 3"));
  CHECK_THROWS_WITH(model.sample(captions, 3, empty, {.candidates = 0}, 1), Catch::Contains("candidates"));
  CHECK_THROWS_WITH(model.sample(captions, 3, empty, {.candidates = 65}, 1), Catch::Contains("candidates"));
  // top_k = 1 is greedy.
  CHECK(model.sample(captions, 3, empty, {.guidance = 2.f, .top_k = 1}, 4) ==
        model.sample(captions, 3, empty, {.guidance = 2.f, .temperature = 0.f}, 99));
  CHECK_THROWS_WITH(model.sample(captions, 3, empty, {.top_p = 0.f}, 1), Catch::Contains("top_p"));
  CHECK_THROWS_WITH(model.sample(captions, 2, empty, {}, 1), Catch::Contains("caption ids"));
  CHECK_THROWS_WITH(vq::ImageGpt(vq::ImageGptConfig{.d_model = 10, .heads = 4}), Catch::Contains("multiple of heads"));
}

namespace {

struct TinyFamily {
  text::BpeTokenizer bpe = text::BpeTokenizer::train({"a red dot", "a blue dot", "two green dots"}, 270);
  std::unique_ptr<vq::ImageTokenizer> vq = std::make_unique<vq::ImageTokenizer>(vq::ImageTokenizerConfig{
      .image_size = 8, .channels = 3, .downsample = 4, .width = 4, .max_width = 8, .codes = kK, .code_dim = 4});
  std::unique_ptr<vq::ImageGpt> gpt = std::make_unique<vq::ImageGpt>(tiny());
};

}  // namespace

TEST_CASE("vq::TextToImage: generate, a file round trip, and load_text_to_image", "[vq][image_gpt]") {
  test::TempDir dir;
  TinyFamily parts;
  const bool relative = GENERATE(false, true);   // the file keeps the relative bias's table
  const int64_t code_dim = GENERATE(0, 4);          // and the linked codes' vectors and projections
  INFO("relative_bias " << relative << ", code_dim " << code_dim);
  if (relative || code_dim > 0) {
    auto config = tiny();
    config.relative_bias = relative;
    config.code_dim = code_dim;
    parts.gpt = std::make_unique<vq::ImageGpt>(config);
    if (relative) randomize(parts.gpt->image_relative->weight, 8);
    if (code_dim > 0) link_randomly(*parts.gpt, 8);
  }
  vq::TextToImage model(parts.bpe, std::move(parts.gpt), std::move(parts.vq),
                        {.guidance = 1.5f, .top_p = 0.9f, .guidance_ramp = 2});
  const std::vector<std::string> captions = {"a red dot", "two green dots", "a red dot"};
  const Tensor images = model.generate(captions, 7);
  CHECK(images.shape() == Shape{3, 3, 8, 8});
  for (float v : images.contiguous().to_vector()) REQUIRE((v >= 0.f && v <= 1.f));
  CHECK(model.generate(captions, 7).to_vector() == images.contiguous().to_vector());

  // Past one batch of 64 captions, an image is still the one its caption, seed and index give.
  {
    const std::vector<std::string> many(70, "a red dot");
    const auto codes = vq::sample_codes(model.image_gpt(), model.tokenizer(), many, model.sampling(), 7);
    REQUIRE(codes.size() == 70 * static_cast<size_t>(kN));
    const auto row = vq::caption_rows(model.tokenizer(), {"a red dot"}, kTc);
    const auto empty = vq::caption_rows(model.tokenizer(), {""}, kTc);
    CHECK(std::vector<int64_t>(codes.begin() + 66 * kN, codes.begin() + 67 * kN) ==
          model.image_gpt().sample(row, 1, empty, model.sampling(), 7, 66));
  }
  model.save(dir.file("model.safetensors"));
  CHECK(text_to_image_family(dir.file("model.safetensors")) == "transformer");
  auto loaded = load_text_to_image(dir.file("model.safetensors"));
  CHECK(loaded->family() == "transformer");
  CHECK(loaded->generate(captions, 7).to_vector() == images.contiguous().to_vector());
  const auto& back = dynamic_cast<const vq::TextToImage&>(*loaded);
  CHECK(back.sampling().guidance == 1.5f);
  CHECK(back.sampling().top_p == 0.9f);
  CHECK(back.sampling().guidance_ramp == 2);

  CHECK_THROWS_WITH(model.generate({"a very very very long caption that does not fit"}, 1),
                    Catch::Contains("at most 16"));
  CHECK_THROWS_WITH(model.generate({}, 1), Catch::Contains("no caption"));
  parts.vq = std::make_unique<vq::ImageTokenizer>(vq::ImageTokenizerConfig{.image_size = 8, .codes = 32});
  CHECK_THROWS_WITH(vq::TextToImage(parts.bpe, std::make_unique<vq::ImageGpt>(tiny()), std::move(parts.vq)),
                    Catch::Contains("32"));
  // A file whose metadata claims a huge transformer is refused before anything is built.
  {
    auto meta = io::load_safetensors_metadata(dir.file("model.safetensors"));
    meta["image_gpt.layers"] = "3000";
    meta["image_gpt.d_model"] = "1024";
    io::save_safetensors(io::load_safetensors(dir.file("model.safetensors")), dir.file("hostile.safetensors"), meta);
    MemoryLimit test_limit(int64_t{64} << 20, "the test's limit");
    CHECK_THROWS_WITH(vq::TextToImage::load(dir.file("hostile.safetensors")),
                      Catch::Contains("hostile.safetensors") && Catch::Contains("vq::TextToImage::load") &&
                          !Catch::Contains("the test's limit"));
  }
  // A file with a sampling setting out of range is refused by name.
  {
    auto meta = io::load_safetensors_metadata(dir.file("model.safetensors"));
    meta["sample.guidance_ramp"] = "-3";
    io::save_safetensors(io::load_safetensors(dir.file("model.safetensors")), dir.file("hostile.safetensors"), meta);
    CHECK_THROWS_WITH(vq::TextToImage::load(dir.file("hostile.safetensors")),
                      Catch::Contains("hostile.safetensors") && Catch::Contains("guidance_ramp"));
  }
  // A file that claims linked codes it does not hold names the tensor it lacks.
  if (code_dim == 0) {
    auto meta = io::load_safetensors_metadata(dir.file("model.safetensors"));
    meta["image_gpt.code_dim"] = "4096";
    io::save_safetensors(io::load_safetensors(dir.file("model.safetensors")), dir.file("hostile.safetensors"), meta);
    CHECK_THROWS_WITH(vq::TextToImage::load(dir.file("hostile.safetensors")),
                      Catch::Contains("hostile.safetensors") && Catch::Contains("image_gpt.image_code_vectors"));
  }
  io::save_safetensors({{"x", zeros({2})}}, dir.file("other.safetensors"), {{"format", "something-else"}});
  CHECK_THROWS_WITH(load_text_to_image(dir.file("other.safetensors")), Catch::Contains("not a text-to-image model"));
}

namespace {

// A 16x16 family (the reranker's image branch reads at least 16 pixels) with a small
// untrained image-text encoder: candidates of near-uniform codes score apart.
struct RerankedFamily {
  text::BpeTokenizer bpe = text::BpeTokenizer::train({"a red dot", "a blue dot", "two green dots"}, 270);
  std::unique_ptr<vq::ImageTokenizer> vq = std::make_unique<vq::ImageTokenizer>(vq::ImageTokenizerConfig{
      .image_size = 16, .channels = 3, .downsample = 8, .width = 4, .max_width = 8, .codes = kK, .code_dim = 4});
  std::unique_ptr<vq::ImageGpt> gpt = std::make_unique<vq::ImageGpt>(tiny(3));
  std::unique_ptr<eval::ImageTextEncoder> encoder = std::make_unique<eval::ImageTextEncoder>(
      eval::ImageTextEncoderConfig{.image = {.channels = 3, .image_size = 16, .width = 4, .feature_dim = 16},
                                   .gpt = {.context = 16, .d_model = 16, .heads = 2, .layers = 1},
                                   .embed_dim = 8},
      bpe);
  RerankedFamily() { encoder->eval(); }
};

// What generate_codes should keep for caption i: candidate k drawn from its documented stream,
// the first whose similarity reaches `threshold`, else the most similar (the first of equals).
std::vector<int64_t> expected_choice(const vq::TextToImage& model, const std::vector<std::string>& captions,
                                     uint64_t seed, float threshold, std::vector<int64_t>* chosen_index) {
  NoGradGuard no_grad;
  std::vector<int64_t> out;
  for (size_t i = 0; i < captions.size(); ++i) {
    int64_t best = -1;
    float best_sim = 0;
    std::vector<int64_t> best_codes;
    for (int64_t k = 0; k < model.sampling().candidates; ++k) {
      const uint64_t stream = vq::image_stream(seed, static_cast<int64_t>(i));
      const auto codes = vq::sample_codes(model.image_gpt(), model.tokenizer(), {captions[i]}, model.sampling(),
                                          std::vector<uint64_t>{k == 0 ? stream : vq::candidate_stream(stream, k)});
      const Tensor image = model.image_tokenizer().decode(codes, 1) * 2.f - 1.f;
      const float sim = model.reranker().encoder->similarity(image, {captions[i]}).item();
      if (best < 0 || sim > best_sim) best = k, best_sim = sim, best_codes = codes;
      if (sim >= threshold) break;
    }
    chosen_index->push_back(best);
    out.insert(out.end(), best_codes.begin(), best_codes.end());
  }
  return out;
}

}  // namespace

TEST_CASE("vq::TextToImage with a reranker: the first accepted candidate, else the most similar; the model file",
          "[vq][image_gpt]") {
  test::TempDir dir;
  const std::vector<std::string> captions = {"a red dot", "two green dots", "a blue dot", "a red dot",
                                             "two green dots", "a blue dot"};
  {
    RerankedFamily parts;
    vq::TextToImage model(parts.bpe, std::move(parts.gpt), std::move(parts.vq),
                          {.guidance = 1.5f, .top_p = 1.f, .candidates = 5}, {std::move(parts.encoder), 0.f});
    model.save(dir.file("reranked.safetensors"));
  }
  // Each threshold in a file of its own: what is saved is what is read back.
  const auto with_threshold = [&](float t) {
    auto meta = io::load_safetensors_metadata(dir.file("reranked.safetensors"));
    meta["rerank.threshold"] = fmt::format("{}", t);
    io::save_safetensors(io::load_safetensors(dir.file("reranked.safetensors")), dir.file("t.safetensors"), meta);
    return vq::TextToImage::load(dir.file("t.safetensors"));
  };
  // Every similarity of the candidates, to set thresholds between them.
  std::vector<float> sims;
  {
    const auto model = with_threshold(2.f);
    REQUIRE(model.reranker().encoder != nullptr);
    CHECK(model.sampling().candidates == 5);
    NoGradGuard no_grad;
    for (size_t i = 0; i < captions.size(); ++i)
      for (int64_t k = 0; k < 5; ++k) {
        const uint64_t stream = vq::image_stream(7, static_cast<int64_t>(i));
        const auto codes = vq::sample_codes(model.image_gpt(), model.tokenizer(), {captions[i]}, model.sampling(),
                                            std::vector<uint64_t>{k == 0 ? stream : vq::candidate_stream(stream, k)});
        sims.push_back(
            model.reranker().encoder->similarity(model.image_tokenizer().decode(codes, 1) * 2.f - 1.f, {captions[i]})
                .item());
      }
  }
  std::vector<float> sorted = sims;
  std::sort(sorted.begin(), sorted.end());
  REQUIRE(sorted.front() < sorted.back());   // candidates the reranker tells apart

  // Reranker::calibrate: the quantile of the pairs' own similarities, read off a direct sort.
  {
    const auto model = with_threshold(0.f);
    auto& enc = *model.reranker().encoder;
    manual_seed(3);
    const Tensor images = rand({10, 3, 16, 16}) * 2.f - 1.f;
    std::vector<std::string> caps;
    for (int i = 0; i < 10; ++i) caps.push_back(captions[static_cast<size_t>(i) % captions.size()]);
    std::vector<float> direct;
    {
      NoGradGuard no_grad;
      for (int i = 0; i < 10; ++i)
        direct.push_back(enc.similarity(images.slice(0, i, i + 1).contiguous(), {caps[static_cast<size_t>(i)]}).item());
    }
    std::sort(direct.begin(), direct.end());
    CHECK(vq::Reranker::calibrate(enc, images, caps, 0.0) == Approx(direct[0]).margin(1e-6));
    CHECK(vq::Reranker::calibrate(enc, images, caps, 0.35) == Approx(direct[3]).margin(1e-6));
    CHECK(vq::Reranker::calibrate(enc, images, caps, 0.99) == Approx(direct[9]).margin(1e-6));
    CHECK_THROWS_WITH(vq::Reranker::calibrate(enc, images, caps, 1.0), Catch::Contains("quantile"));
    CHECK_THROWS_WITH(vq::Reranker::calibrate(enc, images, {"a red dot"}, 0.1), Catch::Contains("1 captions"));
  }

  const std::vector<float> thresholds = {-2.f, sorted[sorted.size() / 2], sorted[sorted.size() * 3 / 4], 2.f};
  for (float t : thresholds) {
    INFO("threshold " << t);
    const auto model = with_threshold(t);
    CHECK(model.reranker().threshold == t);
    std::vector<int64_t> chosen;
    const auto expected = expected_choice(model, captions, 7, t, &chosen);
    CHECK(model.generate_codes(captions, 7) == expected);
    CHECK(model.generate(captions, 7).to_vector() ==
          model.image_tokenizer().decode(expected, static_cast<int64_t>(captions.size())).to_vector());
    // The first images of the list alone are the images they are in the whole list.
    CHECK(model.generate_codes({captions[0], captions[1]}, 7) ==
          std::vector<int64_t>(expected.begin(), expected.begin() + 2 * kN));
    if (t == -2.f) {
      // Every first candidate accepted: the images of one candidate.
      CHECK(std::all_of(chosen.begin(), chosen.end(), [](int64_t k) { return k == 0; }));
      auto one = model.sampling();
      one.candidates = 1;
      CHECK(expected == vq::sample_codes(model.image_gpt(), model.tokenizer(), captions, one, 7));
    } else if (t == 2.f) {
      // None accepted: the most similar of the five.
      for (size_t i = 0; i < captions.size(); ++i) {
        const auto first = sims.begin() + static_cast<int64_t>(i) * 5;
        CHECK(chosen[i] == std::max_element(first, first + 5) - first);
      }
    } else {
      CHECK(std::any_of(chosen.begin(), chosen.end(), [](int64_t k) { return k > 0; }));
    }
  }

  // One reranked model serving four threads at once: the bits of sequential calls.
  {
    const auto model = with_threshold(thresholds[1]);
    std::vector<std::vector<int64_t>> expected;
    for (uint64_t seed = 0; seed < 8; ++seed) expected.push_back(model.generate_codes(captions, seed));
    std::vector<int64_t> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (uint64_t k = 0; k < 8; ++k) {
          const uint64_t seed = (k + 2 * static_cast<uint64_t>(t)) % 8;
          mismatches[static_cast<size_t>(t)] += model.generate_codes(captions, seed) != expected[seed];
        }
      });
    for (auto& th : threads) th.join();
    CHECK(mismatches[0] + mismatches[1] + mismatches[2] + mismatches[3] == 0);
  }
  // A file round trip keeps the encoder's weights and the sampling: the same images.
  {
    const auto model = with_threshold(thresholds[1]);
    model.save(dir.file("again.safetensors"));
    const auto back = load_text_to_image(dir.file("again.safetensors"));
    CHECK(back->generate(captions, 3).to_vector() == model.generate(captions, 3).to_vector());
  }
  // Candidates need a reranker; the reranker must read the model's images.
  {
    TinyFamily parts;
    CHECK_THROWS_WITH(vq::TextToImage(parts.bpe, std::make_unique<vq::ImageGpt>(tiny()),
                                      std::make_unique<vq::ImageTokenizer>(parts.vq->config()), {.candidates = 3}),
                      Catch::Contains("needs a reranker"));
    vq::TextToImage plain(parts.bpe, std::move(parts.gpt), std::move(parts.vq));
    plain.sampling().candidates = 3;
    CHECK_THROWS_WITH(plain.generate({"a red dot"}, 1), Catch::Contains("needs a reranker"));
    RerankedFamily other;
    CHECK_THROWS_WITH(vq::TextToImage(other.bpe, std::make_unique<vq::ImageGpt>(tiny()),
                                      std::make_unique<vq::ImageTokenizer>(vq::ImageTokenizerConfig{
                                          .image_size = 8, .channels = 3, .downsample = 4, .width = 4,
                                          .max_width = 8, .codes = kK, .code_dim = 4}),
                                      {}, {std::move(other.encoder), 0.f}),
                      Catch::Contains("reranker reads 3-channel 16x16"));
  }
  // A file that claims a reranker it does not hold is refused by name.
  {
    TinyFamily parts;
    vq::TextToImage plain(parts.bpe, std::move(parts.gpt), std::move(parts.vq));
    plain.save(dir.file("plain.safetensors"));
    auto meta = io::load_safetensors_metadata(dir.file("plain.safetensors"));
    meta["rerank.threshold"] = "0.5";
    io::save_safetensors(io::load_safetensors(dir.file("plain.safetensors")), dir.file("hostile.safetensors"), meta);
    CHECK_THROWS_WITH(vq::TextToImage::load(dir.file("hostile.safetensors")),
                      Catch::Contains("hostile.safetensors") && Catch::Contains("rerank.tokenizer"));
    meta.erase("rerank.threshold");
    meta["sample.candidates"] = "4";
    io::save_safetensors(io::load_safetensors(dir.file("plain.safetensors")), dir.file("hostile.safetensors"), meta);
    CHECK_THROWS_WITH(vq::TextToImage::load(dir.file("hostile.safetensors")),
                      Catch::Contains("hostile.safetensors") && Catch::Contains("needs a reranker"));
    meta = io::load_safetensors_metadata(dir.file("reranked.safetensors"));
    meta["rerank.threshold"] = "nan";
    io::save_safetensors(io::load_safetensors(dir.file("reranked.safetensors")), dir.file("hostile.safetensors"), meta);
    CHECK_THROWS_WITH(vq::TextToImage::load(dir.file("hostile.safetensors")),
                      Catch::Contains("hostile.safetensors") && Catch::Contains("threshold"));
    meta = io::load_safetensors_metadata(dir.file("reranked.safetensors"));
    meta["rerank.gpt.d_model"] = "4096";
    io::save_safetensors(io::load_safetensors(dir.file("reranked.safetensors")), dir.file("hostile.safetensors"), meta);
    CHECK_THROWS_WITH(vq::TextToImage::load(dir.file("hostile.safetensors")),
                      Catch::Contains("hostile.safetensors") && Catch::Contains("rerank."));
  }
}

TEST_CASE("ImageGptTrainer: the loss falls, and a resumed run is bit for bit the uninterrupted one",
          "[vq][image_gpt]") {
  test::TempDir dir;
  TinyFamily parts;
  const std::vector<std::string> captions = {"a red dot", "a blue dot", "two green dots", "a red dot"};
  std::vector<int64_t> codes;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < kN; ++j) codes.push_back((i * 3 + j) % kK);
  const vq::ImageGptTrainerOptions o{.batch_size = 4, .steps = 8, .lr = 1e-2f, .warmup_steps = 2,
                                     .sample_every = 0, .samples_per_prompt = 2};

  vq::ImageGpt straight(tiny());
  vq::ImageGptTrainer a(straight, parts.bpe, *parts.vq, captions, codes, o);
  const float first = a.train_step(1e-2f).image;
  vq::ImageGpt fresh(tiny());
  auto o_dir = o;
  o_dir.out_dir = dir.file("run");
  {
    vq::ImageGptTrainer t(fresh, parts.bpe, *parts.vq, captions, codes, o_dir);
    t.train_step(1e-2f);
    REQUIRE(t.step() == 1);
    t.save_checkpoint(dir.file("half.safetensors"));
  }
  while (a.step() < 8) a.train_step(1e-2f);
  vq::ImageGpt resumed(tiny(77));   // other initial weights: the checkpoint must replace them all
  vq::ImageGptTrainer b(resumed, parts.bpe, *parts.vq, captions, codes, o);
  b.load_checkpoint(dir.file("half.safetensors"));
  CHECK(b.step() == 1);
  while (b.step() < 8) b.train_step(1e-2f);
  const auto sa = io::module_state(straight), sb = io::module_state(resumed);
  for (const auto& [name, t] : sa) {
    INFO(name);
    CHECK(t.to_vector() == sb.at(name).to_vector());
  }
  float last = 0;
  while (a.step() < 40) last = a.train_step(1e-2f).image;
  CHECK(last < first * 0.6f);
}

TEST_CASE("ImageGptTrainer: train() takes all its steps when they are fewer than the warm-up's", "[vq][image_gpt]") {
  TinyFamily parts;
  const std::vector<std::string> captions = {"a red dot", "a blue dot"};
  std::vector<int64_t> codes;
  for (int64_t i = 0; i < 2 * kN; ++i) codes.push_back(i % kK);
  vq::ImageGpt gpt(tiny());
  vq::ImageGptTrainer t(gpt, parts.bpe, *parts.vq, captions, codes,
                        {.batch_size = 2, .steps = 3, .lr = 1e-2f, .warmup_steps = 100, .sample_every = 0});
  const auto summary = t.train();
  CHECK(summary.steps == 3);
  CHECK(summary.steps_run == 3);
  CHECK(t.step() == 3);
}

TEST_CASE("ImageGptTrainer: errors a user can meet", "[vq][image_gpt]") {
  TinyFamily parts;
  vq::ImageGpt gpt(tiny());
  const std::vector<std::string> captions = {"a red dot", "a blue dot"};
  CHECK_THROWS_WITH(vq::ImageGptTrainer(gpt, parts.bpe, *parts.vq, captions, std::vector<int64_t>(3, 0)),
                    Catch::Contains("need 8 codes"));
  CHECK_THROWS_WITH(vq::ImageGptTrainer(gpt, parts.bpe, *parts.vq, captions, std::vector<int64_t>(8, kK)),
                    Catch::Contains("outside [0, 16)"));
  CHECK_THROWS_WITH(vq::ImageGptTrainer(gpt, parts.bpe, *parts.vq, {"a caption far too long for sixteen slots", "b"},
                                        std::vector<int64_t>(8, 0)),
                    Catch::Contains("at most 16"));
  CHECK_THROWS_WITH(vq::ImageGptTrainer(gpt, parts.bpe, *parts.vq, captions, std::vector<int64_t>(8, 0),
                                        {.caption_dropout = 1.f}),
                    Catch::Contains("caption_dropout"));
  CHECK_THROWS_WITH(vq::ImageGptTrainer(gpt, parts.bpe, *parts.vq, captions, std::vector<int64_t>(8, 0),
                                        {.change_weight = 2.f}),
                    Catch::Contains("single images"));
}
