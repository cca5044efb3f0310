// SPDX-License-Identifier: Apache-2.0
#pragma once
// The token transformer's stages shared by train_text2image --family transformer
// and train_text2video: its command-line options, the image tokenizer stage
// (loaded, resumed or trained for its share of the budget), encoding the
// training images, and the caption length the transformer reads.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <fresco/progress.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/text/tokenizer.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/image_gpt_trainer.hpp>
#include <fresco/vq/image_tokenizer.hpp>
#include <fresco/vq/text_to_image.hpp>

namespace fresco::cli {

/// Steps of a phase that the time budget ends.
inline constexpr int64_t kUnboundedSteps = 1'000'000'000;

// The token transformer's settings (docs/text-to-image.md, "The transformer family").
struct TransformerArgs {
  // Share of the budget for the image tokenizer when none is given.
  double vq_share = 0.35;
  std::string image_tokenizer;
  vq::ImageTokenizerConfig vq;   // the library's defaults (docs/image-tokenizer.md)
  // 0: an 8x8 token grid whatever the image size (the 30-minute emoji runs drew far better
  // with 8x8 tokens than with 16x16, which leave the transformer a quarter of the images).
  int64_t downsample = 0;
  // Image tokenizer steps (default: its share of the budget decides) and the step its discriminator joins.
  std::optional<int64_t> vq_steps;
  int64_t vq_disc_start = 2000;
  vq::ImageGptConfig gpt{.d_model = 128, .heads = 4, .layers = 4};
  // a of ImageGpt::init_codes_from: how much of the image codes' starting embeddings comes
  // from the image tokenizer's codebook (0: a plain random start). 0.7 drew held-out Shapes
  // combinations and two-object scenes better (docs/text-to-image.md).
  float code_init = 0.7f;
  // With code_init > 0, ImageGptConfig::code_dim set to the codebook's width: the codes' embeddings
  // stay linked to their code vectors through a learned projection. Held-out Shapes pairs drew
  // better, 87.0% of shapes right against 83.8% over three seeds (docs/text-to-image.md).
  bool code_link = true;
  vq::ImageGptTrainerOptions train{.batch_size = 32, .steps = kUnboundedSteps, .lr = 1e-3f};
};

/// The options of TransformerArgs, in the group "Transformer family" of --help.
void add_transformer_options(CLI::App& app, TransformerArgs& t);

/// Wall-clock minutes since construction: the budget the stages share.
class Stopwatch {
public:
  double minutes() const { return std::chrono::duration<double>(Clock::now() - start_).count() / 60.0; }

private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_ = Clock::now();
};

/// The budget of a phase that gets `minutes` of a run of `run_minutes`: none when the run has
/// none (0: every phase runs its step count), else at least 3 seconds.
inline double phase_minutes(double run_minutes, double minutes) {
  return run_minutes > 0 ? std::max(0.05, minutes) : 0.0;
}

/// Where and how the image tokenizer stage runs.
struct ImageTokenizerStage {
  std::string out;          // the run's directory: OUT/image_tokenizer.safetensors and OUT/image_tokenizer/
  uint64_t seed = 0;
  double minutes = 0;       // budget of the stage; 0: t.vq_steps decides
  int64_t checkpoint_every = 500, sample_every = 100;
  ProgressCallback progress;
  std::string label = "[2/4]";   // the stage's number in the program's progress lines
};

/// The image tokenizer: --image-tokenizer, else OUT/image_tokenizer.safetensors from an
/// earlier run, else one trained on `images` ([N, C, S, S] in [-1, 1]; not read in the
/// first two cases, so it may be undefined then) and saved there.
std::unique_ptr<vq::ImageTokenizer> image_tokenizer_stage(const TransformerArgs& t, const Tensor& images,
                                                          const ImageTokenizerStage& stage);

/// Where and how the token transformer stage runs.
struct TransformerStage {
  std::string out;
  uint64_t seed = 0;
  double minutes = 0;              // budget of the stage; 0: `steps` decides
  int64_t steps = kUnboundedSteps;
  int64_t frames = 1;              // 1: images; T > 1: clips of T frames (codes frame after frame)
  int64_t sample_every = 250, checkpoint_every = 500;
  std::vector<std::string> sample_prompts;   // empty: the first distinct training captions
  int64_t samples_per_prompt = 8;
  ProgressCallback progress;
};

/// The token transformer for `vq`'s codes and `captions` (t.gpt's sizes; vocabulary, caption
/// length, codes and grid from the parts), trained on `codes` (N · frames · grid² ids), resuming
/// from OUT/checkpoint.safetensors. Prints its size and its summary; returns it in eval mode.
std::unique_ptr<vq::ImageGpt> transformer_stage(const TransformerArgs& t, const text::BpeTokenizer& bpe,
                                                const vq::ImageTokenizer& vq, const std::vector<std::string>& captions,
                                                std::vector<int64_t> codes, const TransformerStage& stage);

// The reranker of train_text2image --family transformer (vq::Reranker): an image-text encoder
// trained on the training pairs, which keeps the first of several drawn images it accepts.
struct RerankerArgs {
  // Share of the budget; 0: no reranker. 0.1 (2 minutes of 20) is enough for Shapes'
  // encoder to tell the pairs of a batch apart (docs/text-to-image.md).
  double share = 0.1;
  std::optional<int64_t> steps;   // at most; without a budget, what --minutes 0 needs
  // Real pairs at the threshold's quantile of similarity: 0.05 accepts 95% of the training pairs
  // (Shapes, 20 minutes: held-out shapes 87.7% at 0.05 against 85.3% at 0.01, diversity 0.94x
  // against 1.01x; docs/text-to-image.md).
  double quantile = 0.05;
  // The sampling a model with a reranker saves, where --draws/--guidance/--top-p are not
  // given: draw from the whole distribution at a lower guidance, and let the reranker take out
  // what that gets wrong (more varied images, docs/text-to-image.md).
  // Up to 32 draws: images of prompts the model finds hard get more tries (held-out shapes 90.0%
  // against 87.7% with 8), the rest are accepted at once, so the variety stays.
  int64_t candidates = 32;
  float guidance = 1.5f, top_p = 1.f;
};

/// --rerank-share, --rerank-steps, --rerank-quantile, --draws in the group "Reranker".
void add_reranker_options(CLI::App& app, RerankerArgs& r);

/// Where and how the reranker stage runs.
struct RerankerStage {
  std::string out;   // OUT/reranker.safetensors: kept, and read again when the run resumes
  uint64_t seed = 0;
  double minutes = 0;   // budget of the stage; 0: r.steps decides
  ProgressCallback progress;
  std::string label = "[3/4]";
};

/// The reranker for `images` ([N, C, S, S] in [-1, 1]) and their captions: OUT/reranker.safetensors
/// from an earlier run, else an encoder trained on them (with the model's tokenizer `bpe`) and saved
/// there; its threshold calibrated on up to 4,096 of the pairs.
vq::Reranker reranker_stage(const RerankerArgs& r, const text::BpeTokenizer& bpe, const Tensor& images,
                            const std::vector<std::string>& captions, const RerankerStage& stage);

/// The codes of every image of `images` ([N, C, S, S] in [-1, 1]), 256 images at a time.
std::vector<int64_t> encode_all(const vq::ImageTokenizer& tok, const Tensor& images);

/// Room for the longest of `captions` with <|bos|> and <|eos|>, and a few more tokens (at least 16).
int64_t caption_length(const text::BpeTokenizer& tokenizer, const std::vector<std::string>& captions);

}  // namespace fresco::cli
