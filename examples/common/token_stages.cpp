// SPDX-License-Identifier: Apache-2.0
#include "token_stages.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fresco/data/dataset.hpp>
#include <fresco/eval/retrieval.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/vq/trainer.hpp>

#include "cli.hpp"
#include "distributed.hpp"

namespace fresco::cli {

void add_transformer_options(CLI::App& app, TransformerArgs& t) {
  app.option_defaults()->group("Transformer family");
  add_number(app, "--vq-share", t.vq_share, "share of the budget for training the image tokenizer")
      ->check(half_open(0, 1));
  add_number(app, "--vq-steps", t.vq_steps, "image tokenizer steps, at most")->check(positive());
  add_number(app, "--vq-disc-start", t.vq_disc_start, "image tokenizer step its discriminator joins at")
      ->check(non_negative());
  app.add_option("--image-tokenizer", t.image_tokenizer, "a trained image tokenizer to use instead of training one")
      ->check(existing_file("train one with train_image_tokenizer, or leave --image-tokenizer out"));
  add_number(app, "--codes", t.vq.codes, "codebook size of a new image tokenizer")->check(closed(2, 65536));
  add_number(app, "--downsample", t.downsample,
             "image pixels per token side of a new image tokenizer (0: an 8x8 grid of tokens, i.e. 4 at "
             "32x32, 8 at 64x64)")
      ->check(CLI::IsMember({0, 2, 4, 8, 16}));
  add_number(app, "--t-width", t.gpt.d_model, "width (d_model) of the token transformer")->check(positive());
  add_number(app, "--t-layers", t.gpt.layers, "blocks of the token transformer")->check(positive());
  add_number(app, "--t-heads", t.gpt.heads, "attention heads of the token transformer")->check(positive());
  add_number(app, "--code-init", t.code_init,
             "share of the image codes' starting embeddings drawn from the image tokenizer's codebook, so that "
             "codes that draw alike start alike (0: a plain random start)")
      ->check(closed(0, 1));
  app.add_option("--code-link", t.code_link,
                 "true: the image codes' embeddings and output weights keep, beside their own rows, a learned "
                 "projection of the image tokenizer's code vectors (the --code-init share), all through training "
                 "(nothing to link with --code-init 0); false: only the start is drawn from the codebook")
      ->default_str(t.code_link ? "true" : "false");
  add_number(app, "--t-dropout", t.gpt.dropout,
             "dropout inside the token transformer's blocks while it trains (attention and MLP outputs)")
      ->check(half_open(0, 1));
  app.add_option("--caption-recency", t.gpt.caption_recency,
                 "true: caption tokens attend with ALiBi's recency bias, by distance both ways when the caption is "
                 "read both ways (each word reads its own clause first); false: no bias")
      ->default_str(t.gpt.caption_recency ? "true" : "false");
  app.add_option("--caption-bidirectional", t.gpt.caption_bidirectional,
                 "true: caption tokens attend to the whole caption, after them too (a prefix LM: each word "
                 "knows its clause's later words; no text loss); false: causal, with the caption's next-token loss")
      ->default_str(t.gpt.caption_bidirectional ? "true" : "false");
  app.add_option("--relative-bias", t.gpt.relative_bias,
                 "true: image tokens attend to earlier image tokens with a learned bias per head for each offset "
                 "(frames, rows, columns) between them (as T5's and Swin's relative positions)")
      ->default_str(t.gpt.relative_bias ? "true" : "false");
  add_number(app, "--t-batch", t.train.batch_size, "captions per transformer step")->check(positive());
  add_number(app, "--t-lr", t.train.lr, "peak AdamW learning rate of the transformer")->check(positive());
  add_number(app, "--text-weight", t.train.text_weight, "weight of the caption's next-token loss")
      ->check(non_negative());
  add_number(app, "--caption-dropout", t.train.caption_dropout,
             "share of training captions replaced by the empty one (for guidance)")
      ->check(half_open(0, 1));
  add_number(app, "--guidance", t.train.sampling.guidance, "classifier-free guidance scale of the samples")
      ->check(non_negative());
  add_number(app, "--guidance-ramp", t.train.sampling.guidance_ramp,
             "codes (in writing order) over which the samples' guidance rises from 1 to --guidance (0: full "
             "guidance from the first code)")
      ->check(non_negative());
  add_number(app, "--sample-temperature", t.train.sampling.temperature, "sampling temperature (0: greedy)")
      ->check(non_negative());
  add_number(app, "--top-k", t.train.sampling.top_k, "sample among the k most likely codes (0: all)")
      ->check(non_negative());
  add_number(app, "--top-p", t.train.sampling.top_p, "nucleus sampling mass (1: all)")->check(closed(1e-6, 1));
}

std::unique_ptr<vq::ImageTokenizer> image_tokenizer_stage(const TransformerArgs& t, const Tensor& images,
                                                          const ImageTokenizerStage& stage) {
  const std::string saved = stage.out + "/image_tokenizer.safetensors";
  const std::string path = !t.image_tokenizer.empty() ? t.image_tokenizer : std::filesystem::exists(saved) ? saved : "";
  if (!path.empty()) {
    fmt::print(stderr, "{} image tokenizer from {}\n", stage.label, path);
    return vq::ImageTokenizer::load(path);
  }
  auto config = t.vq;
  config.image_size = images.size(2);
  config.downsample = t.downsample > 0 ? t.downsample : std::clamp<int64_t>(config.image_size / 8, 2, 16);
  config.channels = images.size(1);
  config.seed = stage.seed;
  auto tok = std::make_unique<vq::ImageTokenizer>(config);
  fmt::print(stderr, "{} image tokenizer: {} parameters, {}x{} tokens of {} codes, {}\n", stage.label,
             tok->num_parameters(), config.grid(), config.grid(), config.codes,
             stage.minutes > 0 ? fmt::format("{:.1f} min", stage.minutes) : fmt::format("{} steps", *t.vq_steps));
  vq::ImageTokenizerTrainer trainer(*tok, images,
                                    {.steps = t.vq_steps.value_or(kUnboundedSteps),
                                     .minutes = stage.minutes,
                                     .seed = stage.seed,
                                     .disc_start = t.vq_disc_start,
                                     .out_dir = stage.out + "/image_tokenizer",
                                     .checkpoint_every = stage.checkpoint_every,
                                     .sample_every = stage.sample_every,
                                     .on_progress = stage.progress,
                                     .group = joined_world()});
  const auto summary = trainer.train();
  fmt::print(stderr, "      {} steps in {:.1f} s\n", summary.steps, summary.seconds);
  tok->eval();
  if (!joined_world() || writes_files(*joined_world())) tok->save(saved);
  return tok;
}

std::unique_ptr<vq::ImageGpt> transformer_stage(const TransformerArgs& t, const text::BpeTokenizer& bpe,
                                                const vq::ImageTokenizer& vq, const std::vector<std::string>& captions,
                                                std::vector<int64_t> codes, const TransformerStage& stage) {
  auto config = t.gpt;
  config.text_vocab = std::max<int64_t>(512, bpe.vocab_size());
  config.caption_length = caption_length(bpe, captions);
  config.codes = vq.config().codes;
  config.grid = vq.config().grid();
  config.frames = stage.frames;
  config.seed = stage.seed;
  if (t.code_link && t.code_init > 0) config.code_dim = vq.quantizer.codebook.size(1);
  auto gpt = std::make_unique<vq::ImageGpt>(config);
  if (t.code_init > 0) gpt->init_codes_from(vq.quantizer.codebook, t.code_init, stage.seed);
  auto opt = t.train;
  opt.steps = stage.steps;
  opt.minutes = stage.minutes;
  opt.seed = stage.seed;
  opt.out_dir = stage.out;
  opt.sample_every = stage.sample_every;
  opt.checkpoint_every = stage.checkpoint_every;
  if (!stage.sample_prompts.empty()) opt.sample_prompts = stage.sample_prompts;
  opt.samples_per_prompt = stage.samples_per_prompt;
  opt.on_progress = stage.progress;
  opt.group = joined_world();
  const int64_t ranks = opt.group ? opt.group->world_size() : 1;
  fmt::print(stderr, "      {} transformer: {} parameters, {} caption + {} image tokens{}, {}\n",
             config.frames > 1 ? "clip" : "token", gpt->num_parameters(), config.caption_length,
             config.image_tokens(),
             config.frames > 1 ? fmt::format(" ({} frames of {}x{})", config.frames, config.grid, config.grid) : "",
             opt.minutes > 0 ? fmt::format("{:.1f} min", opt.minutes) : fmt::format("{} steps", opt.steps));
  vq::ImageGptTrainer trainer(*gpt, bpe, vq, captions, std::move(codes), opt);
  const auto summary = trainer.train();
  fmt::print(stderr, "      {} steps ({} this run) in {:.1f} s: {:.0f} tokens/s; image loss {:.3f}, text loss {:.3f}\n",
             summary.steps, summary.steps_run, summary.seconds,
             static_cast<double>(summary.steps_run * opt.batch_size * ranks * config.context()) / std::max(summary.seconds, 1e-9),
             summary.image_loss, summary.text_loss);
  gpt->eval();
  return gpt;
}

namespace {

// Images in [-1, 1] and their captions as a dataset (its images in [0, 1]).
class PairsView final : public data::Dataset {
public:
  PairsView(const Tensor& images, const std::vector<std::string>& captions) : images_(images), captions_(captions) {}
  int64_t size() const override { return images_.size(0); }
  data::Example get(int64_t i) const override {
    FRESCO_CHECK(i >= 0 && i < size(), "PairsView: index {} out of [0, {})", i, size());
    return {.image = images_.slice(0, i, i + 1).squeeze(0) * 0.5f + 0.5f,
            .caption = captions_[static_cast<size_t>(i)], .labels = {}};
  }

private:
  Tensor images_;
  const std::vector<std::string>& captions_;
};

}  // namespace

void add_reranker_options(CLI::App& app, RerankerArgs& r) {
  app.option_defaults()->group("Reranker (transformer family)");
  add_number(app, "--rerank-share", r.share,
             "share of the budget for the reranker, an image-text encoder that keeps the first of several drawn "
             "images it accepts (0: none)")
      ->check(half_open(0, 1));
  add_number(app, "--rerank-steps", r.steps, "reranker steps, at most (without a budget: its step count)")
      ->check(positive());
  add_number(app, "--rerank-quantile", r.quantile,
             "the threshold: the similarity this share of the training pairs falls below")
      ->check(half_open(0, 1));
  add_number(app, "--draws", r.candidates,
             "images drawn per caption, of which the first the reranker accepts is kept (saved in the model)")
      ->check(closed(1, static_cast<double>(vq::ImageSampleOptions::kMaxCandidates)));
}

vq::Reranker reranker_stage(const RerankerArgs& r, const text::BpeTokenizer& bpe, const Tensor& images,
                            const std::vector<std::string>& captions, const RerankerStage& stage) {
  const std::string saved = stage.out + "/reranker.safetensors";
  vq::Reranker reranker;
  if (std::filesystem::exists(saved)) {
    fmt::print(stderr, "{} reranker from {}\n", stage.label, saved);
    reranker.encoder = eval::ImageTextEncoder::load(saved);
  } else {
    eval::ImageTextEncoderConfig config;
    config.image.channels = images.size(1);
    config.image.image_size = images.size(2);
    config.gpt.context = caption_length(bpe, captions);
    reranker.encoder = std::make_unique<eval::ImageTextEncoder>(config, bpe);
    fmt::print(stderr, "{} reranker (image-text encoder): {} parameters, {}\n", stage.label,
               reranker.encoder->num_parameters(),
               stage.minutes > 0 ? fmt::format("{:.1f} min", stage.minutes) : fmt::format("{} steps", *r.steps));
    const auto report = eval::train_image_text_encoder(
        *reranker.encoder, std::make_shared<PairsView>(images, captions),
        {.steps = r.steps.value_or(stage.minutes > 0 ? 0 : kUnboundedSteps), .minutes = stage.minutes,
         .batch_size = std::min<int64_t>(128, images.size(0)), .seed = stage.seed, .on_progress = stage.progress});
    fmt::print(stderr, "      {} steps in {:.1f} s, contrastive loss {:.3f} -> {:.3f}\n", report.steps,
               report.seconds, report.first_loss, report.last_loss);
    if (!joined_world() || writes_files(*joined_world())) reranker.encoder->save(saved);
  }
  const int64_t n = std::min<int64_t>(4096, images.size(0));
  reranker.threshold = vq::Reranker::calibrate(*reranker.encoder, images.slice(0, 0, n).contiguous(),
                                               std::vector<std::string>(captions.begin(), captions.begin() + n),
                                               r.quantile);
  fmt::print(stderr, "      threshold {:.4f}: {:.0f}% of {} training pairs are at least as similar\n",
             reranker.threshold, 100 * (1 - r.quantile), n);
  return reranker;
}

std::vector<int64_t> encode_all(const vq::ImageTokenizer& tok, const Tensor& images) {
  std::vector<int64_t> codes;
  const int64_t n = images.size(0);
  for (int64_t i = 0; i < n; i += 256) {
    const auto c = tok.encode(images.slice(0, i, std::min(n, i + 256)) * 0.5f + 0.5f);
    codes.insert(codes.end(), c.begin(), c.end());
  }
  return codes;
}

int64_t caption_length(const text::BpeTokenizer& tokenizer, const std::vector<std::string>& captions) {
  size_t longest = 0;
  for (const auto& c : captions) longest = std::max(longest, tokenizer.encode(c, true, true).size());
  return std::max<int64_t>(16, static_cast<int64_t>(longest) + 8);
}

}  // namespace fresco::cli
