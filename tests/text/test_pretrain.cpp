// SPDX-License-Identifier: Apache-2.0
#include "support/check.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fresco/data/shapes.hpp>
#include <fresco/text/pretrain.hpp>

#include "io/temp_dir.hpp"

using fresco::text::BpeTokenizer;
using fresco::text::Gpt;
using fresco::text::GptConfig;
using fresco::text::PretrainOptions;
using fresco::text::pretrain;

namespace {

bool quick() { return std::getenv("FRESCO_TEST_QUICK") != nullptr; }

std::vector<std::string> shapes_captions(int64_t n) {
  fresco::data::Shapes shapes({.size = n, .seed = 5});
  std::vector<std::string> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(shapes.caption(i));
  return out;
}

const GptConfig kTiny{.vocab_size = 320, .context = 64, .d_model = 32, .heads = 2, .layers = 1, .mlp_ratio = 2};

}  // namespace

TEST_CASE("pretrain: a short run lowers the loss", "[text][pretrain]") {
  const auto corpus = shapes_captions(200);
  const auto tok = BpeTokenizer::train(corpus, 320);
  for (bool pack : {false, true}) {
    Gpt gpt(kTiny);
    const int64_t steps = quick() ? 25 : 40;
    auto s = pretrain(gpt, tok, corpus,
                      {.batch_size = 16, .steps = steps, .lr = 3e-3f, .min_lr = 3e-4f, .warmup_steps = 5,
                       .pack = pack, .eval_every = 20});
    INFO("pack " << pack << ": initial " << s.initial_loss << ", final train " << s.final_train_loss << ", val "
                 << s.final_val_loss);
    CHECK(std::abs(s.initial_loss - std::log(320.f)) < 0.15f);
    CHECK(s.steps == steps);
    CHECK(s.steps_run == steps);
    CHECK(s.train_losses.size() == static_cast<size_t>(steps));
    // From ln 320 = 5.77 nats: 40 steps take off more than 1.5, the 25 of the quick run more than 1.
    const float drop = quick() ? 1.0f : 1.5f;
    CHECK(s.final_val_loss < s.initial_loss - drop);
    CHECK(s.final_train_loss < s.initial_loss - drop);
    CHECK(s.final_val_perplexity == Approx(std::exp(s.final_val_loss)));
    CHECK(s.val_captions == 10);  // 5% of 200
    CHECK(s.train_captions == 190);
    CHECK(s.tokens_per_second > 0);
    CHECK(s.val_losses.front().first == 0);
    CHECK(s.val_losses.back().first == steps);
  }
}

TEST_CASE("pretrain: resuming from a checkpoint repeats the uninterrupted run bitwise", "[text][pretrain]") {
  fresco::test::TempDir dir;
  const auto corpus = shapes_captions(100);
  const auto tok = BpeTokenizer::train(corpus, 300);
  const GptConfig cfg{.vocab_size = 300, .context = 64, .d_model = 16, .heads = 2, .layers = 1, .mlp_ratio = 2,
                      .dropout = 0.1f, .seed = 4};
  const PretrainOptions base{.batch_size = 8, .steps = 8, .lr = 1e-3f, .warmup_steps = 2, .eval_every = 3,
                             .seed = 9};

  Gpt whole(cfg);
  const auto all = pretrain(whole, tok, corpus, base);

  Gpt first(cfg);
  PretrainOptions o1 = base;
  o1.stop_at_step = 5;
  o1.checkpoint_dir = dir.file("ckpt");
  const auto part1 = pretrain(first, tok, corpus, o1);
  CHECK(part1.steps == 5);
  CHECK(std::filesystem::exists(dir.file("ckpt/model.safetensors")));
  CHECK(std::filesystem::exists(dir.file("ckpt/optimizer.safetensors")));

  Gpt second({.vocab_size = 300, .context = 64, .d_model = 16, .heads = 2, .layers = 1, .mlp_ratio = 2,
              .dropout = 0.1f, .seed = 77});  // other weights: the checkpoint overwrites them
  PretrainOptions o2 = base;
  o2.resume = dir.file("ckpt");
  const auto part2 = pretrain(second, tok, corpus, o2);
  CHECK(part2.steps == 8);
  CHECK(part2.steps_run == 3);

  std::vector<float> joined = part1.train_losses;
  joined.insert(joined.end(), part2.train_losses.begin(), part2.train_losses.end());
  CHECK(joined == all.train_losses);
  CHECK(second.blocks[0].fc.weight.to_vector() == whole.blocks[0].fc.weight.to_vector());
  CHECK(second.wte.weight.to_vector() == whole.wte.weight.to_vector());
  CHECK(part2.final_val_loss == all.final_val_loss);

  // The checkpoint (written when the first part stopped) is also a model file.
  auto loaded = fresco::text::load_gpt(dir.file("ckpt/model.safetensors"));
  CHECK(loaded.gpt->wte.weight.to_vector() == first.wte.weight.to_vector());
}

TEST_CASE("pretrain: a time budget stops the run", "[text][pretrain]") {
  const auto corpus = shapes_captions(50);
  const auto tok = BpeTokenizer::train(corpus, 300);
  Gpt gpt({.vocab_size = 300, .context = 64, .d_model = 16, .heads = 2, .layers = 1, .mlp_ratio = 2});
  // Properties that hold on a fast machine and a slow one alike (how soon the
  // run stops after its budget is speed, for benchmarks/): a budget far shorter
  // than the steps stops the run before its step count, and only once it is spent;
  const auto s = pretrain(gpt, tok, corpus, {.batch_size = 4, .steps = 1000000, .minutes = 1.0 / 60});
  CHECK(s.steps < 1000000);
  CHECK(s.steps_run == s.steps);
  CHECK(static_cast<int64_t>(s.train_losses.size()) == s.steps_run);
  CHECK(s.seconds >= 1.0);
  // a budget far longer than the steps does not cut them short.
  const auto all = pretrain(gpt, tok, corpus, {.batch_size = 4, .steps = 3, .minutes = 60});
  CHECK(all.steps == 3);
}

TEST_CASE("pretrain: errors", "[text][pretrain]") {
  fresco::test::TempDir dir;
  const std::vector<std::string> corpus{"a red circle", "a blue square on the left", "a tiny green disc"};
  const auto tok = BpeTokenizer::train(corpus, 280);
  Gpt gpt({.vocab_size = 300, .context = 40, .d_model = 8, .heads = 2, .layers = 1, .mlp_ratio = 2});
  const PretrainOptions quiet{.steps = 1};
  CHECK_THROWS_WITH(pretrain(gpt, tok, {}, quiet), Catch::Contains("the corpus is empty"));
  CHECK_THROWS_WITH(pretrain(gpt, tok, {"a red circle", std::string(60, 'z')}, quiet),
                    Catch::Contains("caption 1"));
  CHECK_THROWS_WITH(pretrain(gpt, tok, {"a red circle", std::string(60, 'z')}, quiet),
                    Catch::Contains("more than the context of 40"));
  CHECK_THROWS_WITH(Gpt({.vocab_size = 258}), Catch::Contains("256 bytes + 3 special tokens"));
  const auto big = BpeTokenizer::train(shapes_captions(300), 400);
  REQUIRE(big.vocab_size() > 300);
  CHECK_THROWS_WITH(pretrain(gpt, big, corpus, quiet), Catch::Contains("the tokenizer has"));
  CHECK_THROWS_WITH(pretrain(gpt, tok, corpus, {.batch_size = 0}), Catch::Contains("batch_size"));
  CHECK_THROWS_WITH(pretrain(gpt, tok, corpus, {.steps = 0}), Catch::Contains("steps must be positive"));
  CHECK_THROWS_WITH(pretrain(gpt, tok, corpus, {.lr = 1e-3f, .min_lr = 1e-2f}), Catch::Contains("min_lr"));
  CHECK_THROWS_WITH(pretrain(gpt, tok, corpus, {.val_fraction = 1.0}), Catch::Contains("val_fraction"));
  PretrainOptions missing = quiet;
  missing.resume = dir.file("nowhere");
  CHECK_THROWS_AS(pretrain(gpt, tok, corpus, missing), fresco::IoError);
}

TEST_CASE("pretrain: progress reports go to the callback, the last one done", "[text][pretrain]") {
  const auto corpus = shapes_captions(50);
  const auto tok = BpeTokenizer::train(corpus, 300);
  Gpt gpt({.vocab_size = 300, .context = 64, .d_model = 16, .heads = 2, .layers = 1, .mlp_ratio = 2});
  std::vector<fresco::Progress> reports;
  const auto s = pretrain(gpt, tok, corpus,
                          {.batch_size = 4, .steps = 6, .warmup_steps = 2, .eval_every = 3,
                           .on_progress = [&](const fresco::Progress& p) { reports.push_back(p); }});
  REQUIRE(reports.size() == 7);   // one per step, then the final report
  for (size_t i = 0; i + 1 < reports.size(); ++i) {
    INFO("report " << i);
    CHECK(reports[i].stage == "pretrain");
    CHECK(reports[i].step == static_cast<int64_t>(i) + 1);
    CHECK(reports[i].total == 6);
    CHECK_FALSE(reports[i].done);
    CHECK(reports[i].message.empty());
    REQUIRE(reports[i].values.size() == 4);
    CHECK(reports[i].values[0].first == "loss");
    CHECK(reports[i].values[0].second == Approx(s.train_losses[i]));
    CHECK(reports[i].values[3].first == "lr");
    if (i > 0) CHECK(reports[i].elapsed >= reports[i - 1].elapsed);
  }
  const fresco::Progress& last = reports.back();
  CHECK(last.done);
  CHECK(last.step == 6);
  CHECK(last.fraction == 1.0);
  CHECK(last.values.front().first == "loss");
  CHECK(last.values.front().second == Approx(s.final_train_loss));
  // An empty callback is silent (and the default).
  CHECK_FALSE(PretrainOptions{}.on_progress);
}
