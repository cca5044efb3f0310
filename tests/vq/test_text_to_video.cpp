// SPDX-License-Identifier: Apache-2.0
// The clip transformer (ImageGpt with frames > 1) and vq::TextToVideo: slot
// embeddings over time and space, the gradient of the time embedding, the
// cached sampler against the full forward pass, the model file bit for bit,
// training that resumes bit for bit, sample sheets and GIFs, and the errors.
#include <catch2/catch.hpp>

#include <filesystem>

#include <fresco/autograd/autograd.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/gif.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/tensor/random.hpp>
#include <fresco/text_to_image.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/image_gpt_trainer.hpp>
#include <fresco/vq/text_to_image.hpp>
#include <fresco/vq/text_to_video.hpp>

#include "io/temp_dir.hpp"
#include "vq/reference_losses.hpp"

using namespace fresco;

namespace {

constexpr int64_t kTc = 12;   // caption slots
constexpr int64_t kK = 16;    // codes
constexpr int64_t kG = 2;     // grid
constexpr int64_t kT = 3;     // frames
constexpr int64_t kN = kT * kG * kG;

vq::ImageGptConfig tiny_clip(uint64_t seed = 5) {
  return {.text_vocab = 300, .caption_length = kTc, .codes = kK, .grid = kG, .frames = kT, .d_model = 16, .heads = 2,
          .layers = 2, .seed = seed};
}

std::vector<int64_t> caption_row(int64_t salt) {
  std::vector<int64_t> ids = {text::BpeTokenizer::kBosId, 97 + salt % 26, 98, text::BpeTokenizer::kEosId};
  ids.resize(kTc, text::BpeTokenizer::kPadId);
  return ids;
}

// The options that shape attention and the writing order: all off (plain); the attention options
// on with a trained-looking relative-bias table (attention); or the caption options with keyframes.
enum class ClipOptions { plain, attention, keyframes };

std::unique_ptr<vq::ImageGpt> clip_gpt(ClipOptions options, uint64_t seed = 5) {
  auto config = tiny_clip(seed);
  config.caption_recency = config.caption_bidirectional = options != ClipOptions::plain;
  config.relative_bias = options == ClipOptions::attention;
  config.keyframes = options == ClipOptions::keyframes;
  auto gpt = std::make_unique<vq::ImageGpt>(config);
  if (config.relative_bias) {
    NoGradGuard guard;
    Generator gen(seed + 100);
    float* d = gpt->image_relative->weight.data();
    for (int64_t i = 0; i < gpt->image_relative->weight.numel(); ++i) d[i] = static_cast<float>(2 * gen.uniform() - 1);
  }
  return gpt;
}

struct TinyVideo {
  text::BpeTokenizer bpe = text::BpeTokenizer::train({"a dot moves up", "a dot moves down"}, 270);
  std::unique_ptr<vq::ImageTokenizer> vq = std::make_unique<vq::ImageTokenizer>(vq::ImageTokenizerConfig{
      .image_size = 8, .channels = 3, .downsample = 4, .width = 4, .max_width = 8, .codes = kK, .code_dim = 4});
  std::unique_ptr<vq::ImageGpt> gpt = std::make_unique<vq::ImageGpt>(tiny_clip());
};

}  // namespace

TEST_CASE("ImageGpt with frames: slot j carries row, column and frame of code j", "[vq][video]") {
  const auto config = tiny_clip();
  CHECK(config.image_tokens() == kN);
  CHECK(config.context() == kTc + kN);
  vq::ImageGpt model(config);
  // The time table is a parameter of clip models only, so image model files are unchanged.
  const auto state = io::module_state(model);
  CHECK(state.at("image_time.weight").shape() == Shape{kT, 16});
  const vq::ImageGpt image_model({.text_vocab = 300, .codes = kK, .grid = kG, .d_model = 16, .heads = 2, .layers = 1});
  CHECK(image_model.image_time == nullptr);
  CHECK_FALSE(io::module_state(image_model).contains("image_time.weight"));
  CHECK(config.to_metadata().at("image_gpt.frames") == "3");
  CHECK_FALSE(vq::ImageGptConfig{}.to_metadata().contains("image_gpt.frames"));
  CHECK(vq::ImageGptConfig::from_metadata(config.to_metadata()).frames == kT);
  CHECK(vq::ImageGptConfig::from_metadata(vq::ImageGptConfig{}.to_metadata()).frames == 1);

  // Changing frame 2's row of the time table changes the logits of frame 2's slots and of no
  // slot before them (causal: frames 0 and 1 never read frame 2).
  model.eval();
  const auto captions = caption_row(0);
  std::vector<int64_t> codes(kN, 3);
  const auto base = model.forward(captions, codes, 1).image.contiguous().to_vector();
  model.image_time->weight.data()[2 * 16 + 1] += 0.5f;   // frame 2's row
  const auto moved = model.forward(captions, codes, 1).image.contiguous().to_vector();
  const int64_t per_frame = kG * kG;
  for (int64_t s = 0; s < kN; ++s) {
    double diff = 0;
    for (int64_t k = 0; k < kK; ++k) diff = std::max(diff, std::abs(double(moved[s * kK + k] - base[s * kK + k])));
    INFO("slot " << s);
    if (s / per_frame < 2) CHECK(diff == 0.0);   // frames 0 and 1 read only slots before frame 2
    else CHECK(diff > 1e-7);
  }
}

TEST_CASE("ImageGptConfig::frame_order: keyframes first, then the middle of each gap", "[vq][video]") {
  vq::ImageGptConfig c = tiny_clip();
  c.frames = 8;
  CHECK(c.frame_order() == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  c.keyframes = true;
  CHECK(c.frame_order() == std::vector<int64_t>{0, 7, 3, 1, 5, 2, 4, 6});
  c.frames = 3;
  CHECK(c.frame_order() == std::vector<int64_t>{0, 2, 1});
  c.frames = 5;
  CHECK(c.frame_order() == std::vector<int64_t>{0, 4, 2, 1, 3});
  c.frames = 2;
  CHECK(c.frame_order() == std::vector<int64_t>{0, 1});
  // Every length: a permutation whose frames after the first two are each written between two
  // frames already written (an in-between, never an extrapolation).
  for (int64_t frames = 2; frames <= 64; ++frames) {
    c.frames = frames;
    const auto order = c.frame_order();
    INFO("frames " << frames);
    REQUIRE(static_cast<int64_t>(order.size()) == frames);
    std::vector<bool> written(static_cast<size_t>(frames), false);
    for (size_t n = 0; n < order.size(); ++n) {
      const int64_t t = order[n];
      REQUIRE((t >= 0 && t < frames && !written[static_cast<size_t>(t)]));
      if (n >= 2) {
        bool before = false, after = false;
        for (int64_t u = 0; u < t; ++u) before = before || written[static_cast<size_t>(u)];
        for (int64_t u = t + 1; u < frames; ++u) after = after || written[static_cast<size_t>(u)];
        CHECK((before && after));
      }
      written[static_cast<size_t>(t)] = true;
    }
  }
  c.frames = 8;
  CHECK(c.to_metadata().at("image_gpt.keyframes") == "1");
  CHECK(vq::ImageGptConfig::from_metadata(c.to_metadata()).keyframes);
  CHECK_FALSE(tiny_clip().to_metadata().contains("image_gpt.keyframes"));
  // every_key writes the optional settings at their defaults too, and is otherwise the same.
  const auto every = vq::ImageGptConfig{}.to_metadata("image_gpt.", true);
  CHECK(every.at("image_gpt.frames") == "1");
  CHECK(every.at("image_gpt.keyframes") == "0");
  CHECK(every.at("image_gpt.relative_bias") == "0");
  CHECK(every.at("image_gpt.code_dim") == "0");
  // The six optional settings: frames, caption_recency, caption_bidirectional, relative_bias, keyframes, code_dim.
  CHECK(every.size() == vq::ImageGptConfig{}.to_metadata().size() + 6);
  for (const auto& [key, value] : c.to_metadata()) CHECK(c.to_metadata("image_gpt.", true).at(key) == value);
  c.frames = 1;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("keyframes orders the frames of clips"));
  c.frames = 8;
  c.relative_bias = true;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("keyframes and relative_bias cannot be combined"));
}

TEST_CASE("ImageGpt with keyframes: each frame's logits read the frames written before it, not those before it in time",
          "[vq][video]") {
  for (const bool keyframes : {false, true}) {
    auto config = tiny_clip(4);
    config.frames = 8;
    config.keyframes = keyframes;
    vq::ImageGpt model(config);
    model.eval();
    const int64_t per_frame = kG * kG, N = config.image_tokens();
    const auto captions = caption_row(3);
    std::vector<int64_t> codes(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) codes[static_cast<size_t>(i)] = (i * 5 + 2) % kK;
    const auto base = model.forward(captions, codes, 1).image.contiguous().to_vector();
    for (int64_t k = 0; k < per_frame; ++k) codes[static_cast<size_t>(3 * per_frame + k)] = (codes[3 * per_frame + k] + 1) % kK;
    const auto changed = model.forward(captions, codes, 1).image.contiguous().to_vector();
    // Frames written before frame 3 (0, 1, 2 in time order; 0 and 7 with keyframes) and frame 3's
    // first code do not see the change; every code written after one of frame 3's does.
    const std::vector<int64_t> before = keyframes ? std::vector<int64_t>{0, 7} : std::vector<int64_t>{0, 1, 2};
    for (int64_t p = 0; p < N; ++p) {
      const int64_t frame = p / per_frame;
      double diff = 0;
      for (int64_t k = 0; k < kK; ++k) diff = std::max(diff, std::abs(double(changed[p * kK + k] - base[p * kK + k])));
      const bool unseen = std::find(before.begin(), before.end(), frame) != before.end() || p == 3 * per_frame;
      INFO("keyframes " << keyframes << ", frame " << frame << ", code " << p % per_frame);
      if (unseen) CHECK(diff == 0.0);
      else CHECK(diff > 1e-7);
    }
  }
}

TEST_CASE("ImageGpt with frames: the time embedding's gradient matches central differences", "[vq][video]") {
  vq::ImageGpt model(tiny_clip(3));
  std::vector<int64_t> captions = caption_row(1), second = caption_row(4);
  captions.insert(captions.end(), second.begin(), second.end());
  std::vector<int64_t> codes;
  for (int64_t i = 0; i < 2 * kN; ++i) codes.push_back((i * 7 + 1) % kK);
  model.zero_grad();
  model.loss(captions, codes, 2, 0.5f).total.backward();
  for (int64_t at : {1, 17, 40}) {
    Tensor& p = model.image_time->weight;
    const float analytic = p.grad().to_vector()[static_cast<size_t>(at)];
    const float x0 = p.data()[at];
    auto slope = [&](float h) {
      p.data()[at] = x0 + h;
      const double up = model.loss(captions, codes, 2, 0.5f).total.item();
      p.data()[at] = x0 - h;
      const double down = model.loss(captions, codes, 2, 0.5f).total.item();
      p.data()[at] = x0;
      return (up - down) / (2 * h);
    };
    const double numeric = (4 * slope(1e-2f) - slope(2e-2f)) / 3;
    INFO("entry " << at);
    CHECK(analytic == Approx(numeric).margin(1e-4).epsilon(2e-2));
  }
}

TEST_CASE("ImageGpt with frames: greedy cached sampling writes the full forward pass's argmax codes", "[vq][video]") {
  const auto options = GENERATE(ClipOptions::plain, ClipOptions::attention, ClipOptions::keyframes);
  INFO("options " << static_cast<int>(options));
  const auto gpt = clip_gpt(options, 9);
  vq::ImageGpt& model = *gpt;
  model.eval();
  std::vector<int64_t> captions = caption_row(2), other = caption_row(5);
  captions.insert(captions.end(), other.begin(), other.end());
  const auto empty = caption_row(0);
  const auto codes = model.sample(captions, 2, empty, {.guidance = 1.f, .temperature = 0.f}, 1);
  REQUIRE(codes.size() == static_cast<size_t>(2 * kN));
  const auto logits = model.forward(captions, codes, 2).image.contiguous().to_vector();
  for (int64_t i = 0; i < 2 * kN; ++i) {
    const float* row = logits.data() + i * kK;
    CHECK(codes[static_cast<size_t>(i)] == std::max_element(row, row + kK) - row);
  }
}

TEST_CASE("ImageGpt::loss with change_weight adds the cross-entropy of the codes that moved", "[vq][video]") {
  const vq::ImageGpt model(tiny_clip());
  std::vector<int64_t> captions = caption_row(1);
  const auto second = caption_row(2);
  captions.insert(captions.end(), second.begin(), second.end());
  // Clip 0: one code changes in frame 1 (slot 5) and one in frame 2 (slot 11); clip 1 stands still.
  const std::vector<int64_t> codes = {1, 2, 3, 4, 1, 5, 3, 4, 1, 5, 3, 6,   //
                                      7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
  const auto logits = model.forward(captions, codes, 2).image.contiguous().to_vector();
  const double all = test::mean_cross_entropy(logits, kK, codes);
  std::vector<int64_t> moved_only(codes.size(), -1);
  moved_only[5] = codes[5], moved_only[11] = codes[11];
  const double moved = test::mean_cross_entropy(logits, kK, moved_only);

  const auto plain = model.loss(captions, codes, 2, 0.f);
  CHECK(plain.image == Approx(all).epsilon(1e-5));
  CHECK(plain.total.item() == Approx(all).epsilon(1e-5));
  const auto weighted = model.loss(captions, codes, 2, 0.f, 3.f);
  CHECK(weighted.image == Approx(all).epsilon(1e-5));   // the reported image loss stays the plain mean
  CHECK(weighted.total.item() == Approx(all + 3 * moved).epsilon(1e-5));
  // Nothing moves: nothing is added.
  const std::vector<int64_t> still(codes.size(), 9);
  CHECK(model.loss(captions, still, 2, 0.f, 3.f).total.item() ==
        Approx(model.loss(captions, still, 2, 0.f).total.item()).epsilon(1e-6));

  CHECK_THROWS_WITH(model.loss(captions, codes, 2, 0.f, -1.f), Catch::Contains("change_weight must be >= 0"));
  const vq::ImageGpt image_model(
      {.text_vocab = 300, .caption_length = kTc, .codes = kK, .grid = kG, .d_model = 16, .heads = 2, .layers = 1});
  CHECK_THROWS_WITH(image_model.loss(captions, std::vector<int64_t>(2 * kG * kG, 1), 2, 0.f, 1.f),
                    Catch::Contains("single images"));
}

TEST_CASE("vq::TextToVideo: generate, the file bit for bit, and the formats kept apart", "[vq][video]") {
  test::TempDir dir;
  TinyVideo parts;
  // The file keeps the attention options, the bias table and the writing order.
  const auto options = GENERATE(ClipOptions::plain, ClipOptions::attention, ClipOptions::keyframes);
  INFO("options " << static_cast<int>(options));
  parts.gpt = clip_gpt(options);
  vq::TextToVideo model(parts.bpe, std::move(parts.gpt), std::move(parts.vq), {.guidance = 1.5f});
  CHECK(model.frames() == kT);
  const std::vector<std::string> captions = {"a dot moves up", "a dot moves down"};
  const Tensor clips = model.generate(captions, 7);
  CHECK(clips.shape() == Shape{2, kT, 3, 8, 8});
  for (float v : clips.contiguous().to_vector()) REQUIRE((v >= 0.f && v <= 1.f));
  // Frame t of clip i is the image tokenizer's decoding of that frame's codes.
  const auto codes = model.generate_codes(captions, 7);
  REQUIRE(codes.size() == static_cast<size_t>(2 * kN));
  const std::vector<int64_t> frame_4(codes.begin() + 4 * kG * kG, codes.begin() + 5 * kG * kG);   // clip 1, frame 1
  const auto decoded = model.image_tokenizer().decode(frame_4, 1).contiguous().to_vector();
  const auto all = clips.contiguous().to_vector();
  const size_t per_frame = 3 * 8 * 8;
  CHECK(std::vector<float>(all.begin() + 4 * per_frame, all.begin() + 5 * per_frame) == decoded);

  model.save(dir.file("video.safetensors"));
  CHECK(vq::is_text_to_video(dir.file("video.safetensors")));
  const auto loaded = vq::TextToVideo::load(dir.file("video.safetensors"));
  CHECK(loaded.generate(captions, 7).to_vector() == clips.contiguous().to_vector());
  CHECK(loaded.sampling().guidance == 1.5f);
  const auto a = io::load_safetensors(dir.file("video.safetensors"));
  loaded.save(dir.file("again.safetensors"));
  const auto b = io::load_safetensors(dir.file("again.safetensors"));
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) CHECK(t.to_vector() == b.at(name).to_vector());
  CHECK(loaded.image_gpt().config().relative_bias == (options == ClipOptions::attention));
  CHECK(loaded.image_gpt().config().keyframes == (options == ClipOptions::keyframes));
  CHECK(loaded.image_gpt().config().caption_bidirectional == (options != ClipOptions::plain));
  if (options == ClipOptions::attention) {   // metadata that asks for the table of a file without one is refused, naming the tensor
    auto meta = io::load_safetensors_metadata(dir.file("video.safetensors"));
    auto tensors = io::load_safetensors(dir.file("video.safetensors"));
    tensors.erase("image_gpt.image_relative.weight");
    io::save_safetensors(tensors, dir.file("no_table.safetensors"), meta);
    CHECK_THROWS_WITH(vq::TextToVideo::load(dir.file("no_table.safetensors")),
                      Catch::Contains("image_gpt.image_relative.weight"));
  }

  // An image model's loaders refuse a clip model and the other way round, saying which is which.
  CHECK_THROWS_WITH(load_text_to_image(dir.file("video.safetensors")), Catch::Contains("is a text-to-video model"));
  CHECK_THROWS_WITH(vq::TextToImage::load(dir.file("video.safetensors")), Catch::Contains("fresco-token-text2video"));
  TinyVideo image_parts;
  image_parts.gpt = std::make_unique<vq::ImageGpt>(
      vq::ImageGptConfig{.text_vocab = 300, .caption_length = kTc, .codes = kK, .grid = kG, .d_model = 16, .heads = 2,
                         .layers = 1});
  CHECK_THROWS_WITH(vq::save_text_to_video(dir.file("no.safetensors"), image_parts.bpe, *image_parts.gpt,
                                           *image_parts.vq),
                    Catch::Contains("writes single images"));
  vq::save_text_to_image(dir.file("image.safetensors"), image_parts.bpe, *image_parts.gpt, *image_parts.vq);
  CHECK_FALSE(vq::is_text_to_video(dir.file("image.safetensors")));
  CHECK_THROWS_WITH(vq::TextToVideo::load(dir.file("image.safetensors")), Catch::Contains("a text-to-video model"));
  // A file whose format says clips but whose transformer writes single images is refused, naming the file.
  {
    auto meta = io::load_safetensors_metadata(dir.file("image.safetensors"));
    meta["format"] = "fresco-token-text2video";
    io::save_safetensors(io::load_safetensors(dir.file("image.safetensors")), dir.file("mislabelled.safetensors"), meta);
    CHECK_THROWS_WITH(vq::TextToVideo::load(dir.file("mislabelled.safetensors")),
                      Catch::Contains("mislabelled.safetensors") && Catch::Contains("writes single images (frames 1)"));
  }
  TinyVideo clip_parts;
  CHECK_THROWS_WITH(vq::TextToImage(clip_parts.bpe, std::move(clip_parts.gpt), std::move(clip_parts.vq)),
                    Catch::Contains("use vq::TextToVideo"));
  CHECK_THROWS_WITH(vq::ImageGpt(vq::ImageGptConfig{.frames = 0}), Catch::Contains("frames must be in [1, 64]"));
  CHECK_THROWS_WITH(vq::ImageGpt(vq::ImageGptConfig{.grid = 16, .frames = 17}),
                    Catch::Contains("at most 4096 image tokens, got 4352 (17 x 16²)"));
}

TEST_CASE("ImageGptTrainer on clips: resumes bit for bit and writes sheets and GIFs", "[vq][video]") {
  test::TempDir dir;
  TinyVideo parts;
  const std::vector<std::string> captions = {"a dot moves up", "a dot moves down", "a dot moves up"};
  std::vector<int64_t> codes;
  for (int64_t i = 0; i < 3 * kN; ++i) codes.push_back((i * 5 + i / kN) % kK);
  const vq::ImageGptTrainerOptions o{.batch_size = 3, .steps = 6, .lr = 1e-2f, .warmup_steps = 2, .sample_every = 0,
                                     .sample_prompts = {"a dot moves up", "a dot moves down"},
                                     .samples_per_prompt = 2};
  vq::ImageGpt straight(tiny_clip());
  vq::ImageGptTrainer a(straight, parts.bpe, *parts.vq, captions, codes, o);
  while (a.step() < 6) a.train_step(1e-2f);

  vq::ImageGpt first_half(tiny_clip());
  {
    vq::ImageGptTrainer t(first_half, parts.bpe, *parts.vq, captions, codes, o);
    while (t.step() < 3) t.train_step(1e-2f);
    t.save_checkpoint(dir.file("half.safetensors"));
  }
  vq::ImageGpt resumed(tiny_clip(77));
  vq::ImageGptTrainer b(resumed, parts.bpe, *parts.vq, captions, codes, o);
  b.load_checkpoint(dir.file("half.safetensors"));
  while (b.step() < 6) b.train_step(1e-2f);
  const auto sa = io::module_state(straight), sb = io::module_state(resumed);
  for (const auto& [name, t] : sa) {
    INFO(name);
    CHECK(t.to_vector() == sb.at(name).to_vector());
  }

  // change_weight reaches the loss: every code of these clips changes from frame to frame.
  vq::ImageGpt weighted(tiny_clip());
  auto o_weighted = o;
  o_weighted.change_weight = 2.f;
  vq::ImageGptTrainer w(weighted, parts.bpe, *parts.vq, captions, codes, o_weighted);
  while (w.step() < 6) w.train_step(1e-2f);
  CHECK(io::module_state(weighted).at("image_head.weight").to_vector() !=
        sa.at("image_head.weight").to_vector());

  // A checkpoint of another configuration names what differs.
  auto two_frames = tiny_clip();
  two_frames.frames = 2;
  vq::ImageGpt other(two_frames);
  vq::ImageGptTrainer c(other, parts.bpe, *parts.vq, captions, std::vector<int64_t>(3 * 2 * kG * kG, 1), o);
  CHECK_THROWS_WITH(c.load_checkpoint(dir.file("half.safetensors")),
                    Catch::Contains("image_gpt.frames 3 (this run 2)"));
  auto keyframes = tiny_clip();
  keyframes.keyframes = true;
  vq::ImageGpt reordered(keyframes);
  vq::ImageGptTrainer d(reordered, parts.bpe, *parts.vq, captions, std::vector<int64_t>(3 * kN, 1), o);
  CHECK_THROWS_WITH(d.load_checkpoint(dir.file("half.safetensors")),
                    Catch::Contains("image_gpt.keyframes 0 (this run 1)"));

  a.write_samples(dir.file("sheet.png"));
  CHECK(std::filesystem::exists(dir.file("sheet.png")));
  const auto gif = io::read_gif_info(dir.file("sheet.gif"));
  CHECK(gif.frames == kT);
  // Two prompts × two clips, two clips a row: a 2 × 2 grid of 8-pixel frames, padding 2, scale 3.
  CHECK(gif.width == 3 * (2 * 8 + 3 * 2));
  CHECK(gif.height == 3 * (2 * 8 + 3 * 2));
}
