// SPDX-License-Identifier: Apache-2.0
// GanTrainer: phases, exact resume, the NaN stop, files it writes.
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fresco/gan/ema.hpp>
#include <fresco/gan/negatives.hpp>
#include <fresco/gan/trainer.hpp>
#include <fresco/io/checkpoint.hpp>

#include "support/check.hpp"
#include "tiny.hpp"

using namespace fresco;
namespace fs = std::filesystem;

namespace {

std::string temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / fmt::format("fresco_gan_{}_{}", name, ::getpid());
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh tiny setup: models from fixed seeds, so two setups start identical.
struct Setup {
  gan::Generator g{testing::tiny_generator_config()};
  gan::Discriminator d{testing::tiny_discriminator_config()};
  text::Gpt gpt{testing::tiny_gpt_config()};
  text::BpeTokenizer tok = testing::tiny_tokenizer();
};

gan::GanTrainerOptions tiny_options(const std::string& out_dir) {
  gan::GanTrainerOptions o{.batch_size = 4, .steps = 4, .seed = 21};
  o.alignment.steps = 0;
  o.contrastive.negatives = 8;
  o.contrastive.hard_negatives = 0;
  o.output = {.dir = out_dir, .checkpoint_every = 2, .sample_every = 2, .log_every = 1, .samples_per_prompt = 2};
  return o;
}

}  // namespace

TEST_CASE("GanTrainer: batches are deterministic epochs of the data", "[gan][trainer]") {
  Setup s;
  gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), tiny_options(""));
  // 16 samples, batch 4: steps 0-3 visit every index exactly once.
  std::vector<int> seen(16, 0);
  for (int step = 0; step < 4; ++step)
    for (int64_t i : t.batch(step).indices) ++seen[static_cast<size_t>(i)];
  for (int c : seen) CHECK(c == 1);
  auto b = t.batch(1);
  CHECK(b.indices == t.batch(1).indices);
  CHECK(b.images.shape() == Shape{4, 3, 8, 8});
  CHECK(b.tokens.batch == 4);
}

TEST_CASE("GanTrainer: d_step and g_step change only their own net", "[gan][trainer]") {
  for (std::string loss : {"hinge", "bce"}) {
    Setup s;
    auto o = tiny_options("");
    o.loss = gan::parse_gan_loss(loss);
    gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), o);
    const auto g0 = s.g.fc.weight.to_vector(), d0 = s.d.out.weight.to_vector();
    auto b = t.batch(0);
    auto l = t.d_step(b);
    CHECK(std::isfinite(l.d_loss));
    CHECK(l.gp > 0);
    CHECK(s.g.fc.weight.to_vector() == g0);
    CHECK(s.d.out.weight.to_vector() != d0);
    const auto d1 = s.d.out.weight.to_vector();
    auto lg = t.g_step(b);
    CHECK(std::isfinite(lg.g_loss));
    CHECK(s.d.out.weight.to_vector() == d1);
    CHECK(s.g.fc.weight.to_vector() != g0);
    for (auto& p : s.d.parameters()) CHECK(p.requires_grad());
  }
}

TEST_CASE("GanTrainer: a resumed run reproduces the uninterrupted one bit for bit", "[gan][trainer]") {
  const std::string dir_a = temp_dir("full"), dir_b = temp_dir("resumed");
  // With an alignment stage and the contrastive losses: the resumed run must not align again.
  auto options = [](const std::string& dir) {
    auto o = tiny_options(dir);
    o.alignment.steps = 3;
    return o;
  };
  std::vector<gan::GanStepLosses> full;
  std::vector<float> full_g, full_ema, full_ema_var;
  {
    Setup s;
    gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), options(dir_a));
    full = t.train().history;
    full_g = s.g.to_image.weight.to_vector();
    full_ema = t.ema_generator().to_image.weight.to_vector();
    full_ema_var = t.ema_generator().blocks[0].norm.bn.running_var.to_vector();
  }
  REQUIRE(full.size() == 4);
  {
    Setup s;
    auto o = options(dir_b);
    o.stop_at_step = 2;
    gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), o);
    auto first = t.train();
    REQUIRE(first.steps == 2);
  }
  Setup s;
  gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), options(dir_b));
  auto rest = t.train();
  REQUIRE(rest.history.size() == 2);
  CHECK(rest.steps == 4);
  for (size_t i = 0; i < 2; ++i) {
    const auto& a = full[i + 2];
    const auto& b = rest.history[i];
    CHECK(a.d_loss == b.d_loss);
    CHECK(a.gp == b.gp);
    CHECK(a.g_loss == b.g_loss);
    CHECK(a.d_real == b.d_real);
  }
  CHECK(s.g.to_image.weight.to_vector() == full_g);
  CHECK(rest.history[1].g_contrastive == full[3].g_contrastive);
  CHECK(t.ema_generator().to_image.weight.to_vector() == full_ema);
  CHECK(t.ema_generator().blocks[0].norm.bn.running_var.to_vector() == full_ema_var);
  // Files: metrics log, sample grids, checkpoint.
  CHECK(fs::exists(dir_a + "/samples/step_000002.png"));
  CHECK(fs::exists(dir_a + "/samples/final.png"));
  std::ifstream log(dir_a + "/metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) {
    ++lines;
    CHECK(line.find("\"d_loss\"") != std::string::npos);
  }
  CHECK(lines == 4);
  fs::remove_all(dir_a);
  fs::remove_all(dir_b);
}

TEST_CASE("GanTrainer: train() reads the negatives' sentence vectors from its cache", "[gan][trainer]") {
  // train() encodes every caption once and looks the negatives up; train_step() on its own encodes
  // them each step. The two runs must agree up to the rounding of a differently padded batch.
  auto o = tiny_options("");
  o.contrastive.hard_negatives = 1;
  o.text.standardise_sentences = false;
  std::vector<gan::GanStepLosses> cached, encoded;
  {
    Setup s;
    gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), o);
    cached = t.train().history;
  }
  {
    Setup s;
    gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), o);
    for (int i = 0; i < 4; ++i) encoded.push_back(t.train_step());
    // Outside train() the batch carries freshly encoded negatives: 8 random + 1 hard per row.
    const auto b = t.batch(4);
    REQUIRE(b.negative_sentences.defined());
    CHECK(b.negative_sentences.shape() == Shape{12, testing::tiny_gpt_config().d_model});
  }
  REQUIRE(cached.size() == 4);
  REQUIRE(encoded.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(cached[i].d_contrastive == Approx(encoded[i].d_contrastive).epsilon(1e-4));
    CHECK(cached[i].g_contrastive == Approx(encoded[i].g_contrastive).epsilon(1e-4));
    CHECK(cached[i].d_loss == Approx(encoded[i].d_loss).epsilon(1e-4));
    CHECK(cached[i].g_loss == Approx(encoded[i].g_loss).margin(1e-4));
  }
  CHECK(cached[0].d_contrastive > 0);
}

TEST_CASE("GanTrainer: hard_mismatch pairs real images with their first hard negatives' captions", "[gan][trainer]") {
  // d_mismatch is D's mean logit on the mismatched pairs: recomputed here from the batch, with the
  // first round(share · 4) images taking their first hard negative (row 8 + 2i of the negatives,
  // after the 8 random ones) and the others their neighbour's caption.
  for (const float share : {0.f, 0.5f, 0.75f, 1.f}) {
    INFO("hard_mismatch " << share);
    Setup s;
    auto o = tiny_options("");
    o.contrastive.hard_negatives = 2;
    o.contrastive.hard_mismatch = share;
    gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), o);
    const auto b = t.batch(0);
    REQUIRE(b.negative_sentences.defined());
    REQUIRE(b.text.sentence.defined());
    const int64_t n = 4, hard_rows = std::lround(share * 4);
    std::vector<Tensor> rows;
    for (int64_t i = 0; i < n; ++i)
      rows.push_back(i < hard_rows ? b.negative_sentences.slice(0, 8 + 2 * i, 9 + 2 * i)
                                   : b.text.sentence.slice(0, (i + 1) % n, (i + 1) % n + 1));
    float want = 0;
    {
      NoGradGuard guard;
      want = mean(s.d(b.images, cat(rows, 0))).item();
    }
    const auto l = t.d_step(b);
    CHECK(l.d_mismatch == Approx(want).epsilon(1e-5));
  }
  Setup s;
  CHECK_THROWS_WITH(gan::GanTrainer(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), {.batch_size = 4, .contrastive = {.hard_mismatch = 1.5f}}),
                    Catch::Contains("hard_mismatch must be in [0, 1], got 1.5"));
}

TEST_CASE("GanTrainer: the contrastive losses train D to pick each real image's caption", "[gan][trainer]") {
  Setup s;
  auto o = tiny_options("");
  o.contrastive.weight = 1.f;
  o.contrastive.negatives = 0;
  o.penalty.weight = 0.f;
  // Random 8-dimensional embeddings have cosines of about ±0.35: at τ = 0.5 the first loss is near chance.
  o.contrastive.temperature = 0.5f;
  gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), o);
  const auto b = t.batch(0);
  CHECK(b.negatives.batch == 0);
  // With 4 captions per batch, chance is ln 4 for each direction of the symmetric loss.
  const auto first = t.d_step(b);
  CHECK(first.d_contrastive > 0.5f * std::log(4.f));
  CHECK(first.d_contrastive < 2.f * std::log(4.f));
  float last = first.d_contrastive;
  for (int i = 0; i < 60; ++i) last = t.d_step(b).d_contrastive;
  CHECK(last < 0.5f * first.d_contrastive);   // D learns this batch's image-caption pairing
  const auto g = t.g_step(b);
  CHECK(g.g_contrastive > 0.f);
  CHECK(std::isfinite(g.g_contrastive));
  // 12 extra captions join the caption side: chance becomes (ln 16 + ln 4) / 2 = 2.08.
  Setup fresh;
  o.contrastive.negatives = 12;
  gan::GanTrainer with(fresh.g, fresh.d, fresh.gpt, fresh.tok, testing::tiny_data(), o);
  const auto bn = with.batch(0);
  REQUIRE(bn.negatives.batch == 12);
  CHECK(bn.negative_sentences.shape() == Shape{12, 8});
  const float chance = with.d_step(bn).d_contrastive;
  CHECK(chance > 1.5f);
  CHECK(chance < 3.f);
  auto no_contrast = tiny_options("");
  no_contrast.contrastive.weight = 0.f;
  gan::GanTrainer off(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), no_contrast);
  CHECK(off.d_step(b).d_contrastive == 0.f);
  CHECK(off.batch(0).negatives.batch == 0);
  auto bad = tiny_options("");
  bad.contrastive.temperature = 0.f;
  CHECK_THROWS_WITH(gan::GanTrainer(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), bad),
                    Catch::Contains("contrastive.temperature > 0"));
}

namespace {

// 48 images, one per combination of three labels (4 x 3 x 3) plus 12 repeats, so that some groups
// hold images with equal labels; each caption names its labels.
gan::CaptionedImages label_grid_data() {
  const std::vector<std::vector<std::string>> words = {
      {"red", "green", "blue", "gold"}, {"cat", "dog", "owl"}, {"up", "down", "left"}};
  gan::CaptionedImages data;
  std::vector<float> pixels;
  fresco::Generator gen(5);
  for (int i = 0; i < 48; ++i) {
    const int64_t c = i % 36;
    const std::vector<int64_t> l = {c / 9, (c / 3) % 3, c % 3};
    data.labels.push_back(l);
    data.captions.push_back(words[0][static_cast<size_t>(l[0])] + " " + words[1][static_cast<size_t>(l[1])] + " " +
                            words[2][static_cast<size_t>(l[2])]);
    for (int j = 0; j < 3 * 8 * 8; ++j) pixels.push_back(2.f * gen.uniform() - 1.f);
  }
  data.images = tensor(std::move(pixels), {48, 3, 8, 8});
  return data;
}

// The labels of row r of a token batch, found by its caption's tokens.
struct LabelsOfRows {
  LabelsOfRows(const gan::CaptionedImages& data, const text::BpeTokenizer& tok) {
    for (size_t i = 0; i < data.captions.size(); ++i) labels_of[tok.encode(data.captions[i], true, true)] = data.labels[i];
  }
  std::vector<int64_t> operator()(const gan::TokenBatch& t, int64_t r) const {
    std::vector<int64_t> row;
    for (int64_t k = 0; k < t.seq && k <= t.end[static_cast<size_t>(r)]; ++k)
      row.push_back(t.ids[static_cast<size_t>(r * t.seq + k)]);
    const auto it = labels_of.find(row);
    REQUIRE(it != labels_of.end());
    return it->second;
  }
  std::map<std::vector<int64_t>, std::vector<int64_t>> labels_of;
};

}  // namespace

TEST_CASE("GanTrainer: hard negatives are captions whose labels differ in exactly one place", "[gan][trainer]") {
  Setup s;
  const auto data = label_grid_data();
  const LabelsOfRows row_labels(data, s.tok);
  auto o = tiny_options("");
  o.batch_size = 6;
  o.contrastive.negatives = 5;
  o.contrastive.hard_negatives = 3;
  gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, data, o);
  std::array<int, 3> changed{};
  for (int64_t step = 0; step < 60; ++step) {
    const gan::GanBatch b = t.batch(step);
    REQUIRE(b.negatives.batch == 5 + 6 * 3);
    REQUIRE(b.negative_sentences.shape() == Shape{23, s.gpt.config().d_model});
    for (int64_t r = 0; r < 6; ++r) {
      const auto& own = data.labels[static_cast<size_t>(b.indices[static_cast<size_t>(r)])];
      std::set<int> places;
      for (int64_t k = 0; k < 3; ++k) {
        const auto neg = row_labels(b.negatives, 5 + r * 3 + k);
        int differ = 0, where = -1;
        for (int p = 0; p < 3; ++p)
          if (neg[static_cast<size_t>(p)] != own[static_cast<size_t>(p)]) ++differ, where = p;
        REQUIRE(differ == 1);
        places.insert(where);
        ++changed[static_cast<size_t>(where)];
      }
      CHECK(places.size() == 3);   // three hard negatives change the three places
    }
  }
  CHECK(changed[0] == 360);
  CHECK(changed[1] == 360);
  CHECK(changed[2] == 360);
  CHECK(t.batch(7).negatives.ids == t.batch(7).negatives.ids);
}

TEST_CASE("GanTrainer: one hard negative an image changes each place equally often", "[gan][trainer]") {
  Setup s;
  auto data = label_grid_data();
  const LabelsOfRows row_labels(data, s.tok);
  auto o = tiny_options("");
  o.batch_size = 6;
  o.contrastive.negatives = 5;
  o.contrastive.hard_negatives = 1;
  gan::GanTrainer one(s.g, s.d, s.gpt, s.tok, data, o);
  std::array<int, 3> changed{};
  for (int64_t step = 0; step < 200; ++step) {
    const gan::GanBatch b = one.batch(step);
    for (int64_t r = 0; r < 6; ++r) {
      const auto& own = data.labels[static_cast<size_t>(b.indices[static_cast<size_t>(r)])];
      const auto neg = row_labels(b.negatives, 5 + r);
      for (int p = 0; p < 3; ++p)
        if (neg[static_cast<size_t>(p)] != own[static_cast<size_t>(p)]) ++changed[static_cast<size_t>(p)];
    }
  }
  for (int c : changed) CHECK(c == Approx(400).margin(60));   // 1,200 draws, binomial sd ~16

  // Without labels the extra captions are random ones, as many.
  data.labels.clear();
  gan::GanTrainer unlabelled(s.g, s.d, s.gpt, s.tok, data, o);
  CHECK(unlabelled.batch(0).negatives.batch == 5 + 6);
  auto bad = o;
  bad.contrastive.hard_negatives = -1;
  CHECK_THROWS_WITH(gan::GanTrainer(s.g, s.d, s.gpt, s.tok, data, bad), Catch::Contains("contrastive.hard_negatives"));
}

TEST_CASE("NegativeSampler: the layout of a step's negative rows", "[gan][trainer]") {
  const std::vector<std::vector<int64_t>> labels{{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  const gan::NegativeSampler sampler(labels, 4, {.random = 3, .hard = 2});
  CHECK(sampler.rows(5) == 3 + 5 * 2);
  CHECK(sampler.hard_row(0) == 3);
  CHECK(sampler.hard_row(2, 1) == 3 + 2 * 2 + 1);
  fresco::Generator pick(1);
  const std::vector<int64_t> batch{0, 3};
  const auto rows = sampler.sample(batch, pick);
  REQUIRE(rows.size() == 7);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t k = 0; k < 2; ++k) {
      // Image 0 (labels 0, 0) has hard negatives 1 and 2; image 3 (1, 1) has 1 and 2 as well.
      const int64_t neg = rows[static_cast<size_t>(sampler.hard_row(i, k))];
      CHECK((neg == 1 || neg == 2));
    }
  // Its two hard negatives change both places: one is image 1, the other image 2.
  CHECK(rows[3] + rows[4] == 3);
  fresco::Generator again(1);
  CHECK(sampler.sample(batch, again) == rows);
  CHECK_THROWS_WITH(gan::NegativeSampler(labels, 5, {.random = 1}), Catch::Contains("4 rows of labels for 5 images"));
  CHECK_THROWS_WITH(gan::NegativeSampler(labels, 4, {.random = -1}), Catch::Contains("must be >= 0, got -1 and 0"));
  CHECK_THROWS_WITH(sampler.sample({4}, pick), Catch::Contains("image 4 is outside the data's 4 images"));
}

TEST_CASE("EmaGenerator: the average follows G with the warm-up's decay", "[gan][trainer]") {
  gan::Generator g{testing::tiny_generator_config()};
  gan::EmaGenerator ema(g, 0.999f);
  CHECK_FALSE(ema.generator().is_training());
  const float before = ema.generator().fc.weight.to_vector()[0];
  CHECK(before == g.fc.weight.to_vector()[0]);
  {
    NoGradGuard guard;
    g.fc.weight.data()[0] += 1.f;
  }
  const float p = g.fc.weight.to_vector()[0];
  ema.update(g, 0);   // β = min(0.999, 1 / 10) = 0.1
  CHECK(ema.generator().fc.weight.to_vector()[0] == Approx(0.1f * before + 0.9f * p).epsilon(1e-6));
  const float e1 = ema.generator().fc.weight.to_vector()[0];
  ema.update(g, 100000);   // β = 0.999 once the warm-up is past
  CHECK(ema.generator().fc.weight.to_vector()[0] == Approx(0.999f * e1 + 0.001f * p).epsilon(1e-6));
  CHECK_THROWS_WITH(gan::EmaGenerator(g, 1.f), Catch::Contains("decay must be in [0, 1), got 1"));
}

TEST_CASE("GanTrainer: progress goes to the callback, stage by stage", "[gan][trainer]") {
  Setup s;
  auto o = tiny_options("");
  o.alignment.steps = 3;
  std::vector<Progress> reports;
  o.on_progress = [&](const Progress& p) { reports.push_back(p); };
  gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), o);
  t.train();
  std::vector<int64_t> align_steps, gan_steps;
  int messages = 0, done = 0;
  for (const auto& p : reports) {
    if (!p.message.empty()) ++messages;
    else if (p.stage == "align") align_steps.push_back(p.step);
    else if (p.stage == "gan") gan_steps.push_back(p.step);
    if (p.done) ++done;
    CHECK(p.fraction >= 0.0);
    CHECK(p.fraction <= 1.0);
  }
  CHECK(align_steps == std::vector<int64_t>{1, 2, 3});
  CHECK(gan_steps == std::vector<int64_t>{1, 2, 3, 4, 4});   // a report a step, then the final one
  CHECK(messages == 1);                                      // the alignment's summary
  CHECK(done == 2);                                          // the last alignment step and the final GAN report
  CHECK(reports.back().done);
  CHECK(reports.back().values.front().first == "d");
}

TEST_CASE("GanTrainer: alignment trains the text model and D's heads to pair images with captions", "[gan][trainer]") {
  Setup s;
  auto o = tiny_options("");
  o.alignment.steps = 40;
  o.contrastive.negatives = 0;
  const auto wte = s.gpt.wte.weight.to_vector();
  const auto fc = s.gpt.blocks[0].fc.weight.to_vector();
  const auto d_embed = s.d.image_embed.weight.to_vector();
  gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), o);
  const auto a = t.align();
  CHECK(a.steps == 40);
  // Chance is ln 4 = 1.386 with 4 captions a batch; the tiny data's 16 pairs are learnt.
  CHECK(a.first_loss > 1.0f);
  CHECK(a.last_loss < 0.5f * a.first_loss);
  CHECK(a.text_loss > 0.f);
  CHECK(s.gpt.wte.weight.to_vector() != wte);   // the text model and D both learn
  CHECK(s.gpt.blocks[0].fc.weight.to_vector() != fc);
  CHECK(s.d.image_embed.weight.to_vector() != d_embed);
  // The sentence vectors themselves were aligned: D's text head is the identity, untouched.
  const auto w = s.d.text_embed.weight.to_vector(), bias = s.d.text_embed.bias.to_vector();
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) CHECK(w[static_cast<size_t>(i * 8 + j)] == (i == j ? 1.f : 0.f));
  for (float b : bias) CHECK(b == 0.f);
  CHECK(s.d.text_embed.weight.requires_grad());
  CHECK(t.step() == 0);
  // Through a learned text head instead, the head learns too.
  {
    Setup h;
    auto with_head = o;
    with_head.alignment.align_sentences = false;
    const auto before = h.d.text_embed.weight.to_vector();
    gan::GanTrainer th(h.g, h.d, h.gpt, h.tok, testing::tiny_data(), with_head);
    CHECK(th.align().last_loss < 0.5f * a.first_loss);
    CHECK(h.d.text_embed.weight.to_vector() != before);
  }
  {
    gan::Discriminator wide({.image_size = 8, .channels = 3, .text_dim = 8, .base_width = 4, .max_width = 16,
                             .embed_dim = 16});
    CHECK_THROWS_WITH(gan::GanTrainer(s.g, wide, s.gpt, s.tok, testing::tiny_data(), o),
                      Catch::Contains("embed_dim (16) equal to its text_dim (8)"));
  }
  auto bad = tiny_options("");
  bad.alignment.lr = 0.f;
  CHECK_THROWS_WITH(gan::GanTrainer(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), bad), Catch::Contains("alignment.lr > 0"));
}

TEST_CASE("GanTrainer: standardise_sentences sets the generators' buffers from the captions", "[gan][trainer]") {
  Setup s;
  const auto data = testing::tiny_data();
  gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, data, tiny_options(""));
  t.standardise_sentences();
  // By hand: the mean and the RMS deviation per dimension of the 16 captions' sentence vectors.
  NoGradGuard guard;
  const auto v = gan::encode_tokens(s.gpt, gan::tokenize_captions(s.tok, data.captions, 16)).sentence.to_vector();
  std::vector<double> mean(8, 0.0);
  for (size_t i = 0; i < v.size(); ++i) mean[i % 8] += v[i] / 16.0;
  double var = 0;
  for (size_t i = 0; i < v.size(); ++i) var += (v[i] - mean[i % 8]) * (v[i] - mean[i % 8]) / (16.0 * 8.0);
  const auto got = s.g.sentence_mean.to_vector();
  for (int k = 0; k < 8; ++k) CHECK(got[static_cast<size_t>(k)] == Approx(mean[static_cast<size_t>(k)]).margin(1e-5));
  CHECK(s.g.sentence_scale.to_vector()[0] == Approx(1.0 / std::sqrt(var)).epsilon(1e-4));
  CHECK(t.ema_generator().sentence_mean.to_vector() == got);
  CHECK(t.ema_generator().sentence_scale.to_vector() == s.g.sentence_scale.to_vector());
}

TEST_CASE("GanTrainer: the EMA generator measures its own BatchNorm statistics", "[gan][trainer]") {
  Setup s;
  auto o = tiny_options("");
  o.optimizer.ema_decay = 0.5f;
  gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), o);
  for (int i = 0; i < 3; ++i) t.train_step();
  gan::Generator& ema = t.ema_generator();
  t.refresh_ema_statistics();
  CHECK_FALSE(ema.is_training());
  CHECK(s.g.is_training());
  const std::vector<float> mean = ema.fc_norm.bn.running_mean.to_vector();
  const std::vector<float> var = ema.blocks[0].norm.bn.running_var.to_vector();
  // Not G's statistics (G's weights differ from their average) ...
  CHECK(mean != s.g.fc_norm.bn.running_mean.to_vector());
  for (float v : var) CHECK(v > 0.f);
  // ... and a function of the EMA weights alone: measuring again changes nothing.
  t.refresh_ema_statistics();
  CHECK(ema.fc_norm.bn.running_mean.to_vector() == mean);
  CHECK(ema.blocks[0].norm.bn.running_var.to_vector() == var);
}

TEST_CASE("GanTrainer: fine-tuning the text model trains it with the next-token loss", "[gan][trainer]") {
  Setup s;
  auto o = tiny_options("");
  o.text.finetune = true;
  gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), o);
  const auto w0 = s.gpt.wte.weight.to_vector();
  auto l = t.train_step();
  CHECK(l.text_loss > 0);
  CHECK(s.gpt.wte.weight.to_vector() != w0);
}

TEST_CASE("GanTrainer: a NaN loss stops training and keeps the last checkpoint", "[gan][trainer]") {
  const std::string dir = temp_dir("nan");
  {
    Setup s;
    auto o = tiny_options(dir);
    o.steps = 2;
    gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, testing::tiny_data(), o);
    t.train();
  }
  const std::string ckpt = dir + "/checkpoint.safetensors";
  const std::string before = read_bytes(ckpt);
  REQUIRE(!before.empty());
  Setup s;
  auto data = testing::tiny_data();
  std::fill(data.images.data(), data.images.data() + data.images.numel(), std::nanf(""));
  gan::GanTrainer t(s.g, s.d, s.gpt, s.tok, data, tiny_options(dir));
  CHECK_THROWS_WITH(t.train(), Catch::Contains("step 2: the discriminator loss is nan") &&
                                   Catch::Contains("last good checkpoint"));
  CHECK(read_bytes(ckpt) == before);
  fs::remove_all(dir);
}

TEST_CASE("GanTrainer: option and data errors", "[gan][trainer]") {
  Setup s;
  auto data = testing::tiny_data();
  CHECK_THROWS_WITH(gan::parse_gan_loss("wasserstein"), Catch::Contains("loss must be \"hinge\" or \"bce\""));
  CHECK(gan::parse_gan_loss(gan::to_string(gan::GanLoss::bce)) == gan::GanLoss::bce);
  CHECK_THROWS_WITH(gan::GanTrainer(s.g, s.d, s.gpt, s.tok, data, {.batch_size = 64}),
                    Catch::Contains("batch_size must be in [2, 16]"));
  gan::Generator big({.image_size = 16, .noise_dim = 4, .text_dim = 8, .base_width = 8, .min_width = 4,
                      .attention_heads = 2});
  CHECK_THROWS_WITH(gan::GanTrainer(big, s.d, s.gpt, s.tok, data, {.batch_size = 4}),
                    Catch::Contains("the data is 3x8x8 but the generator makes 3x16x16"));
  data.captions.pop_back();
  CHECK_THROWS_WITH(gan::GanTrainer(s.g, s.d, s.gpt, s.tok, data, {.batch_size = 4}),
                    Catch::Contains("16 images but 15 captions"));
}
