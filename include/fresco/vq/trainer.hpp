// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Training an `ImageTokenizer` as VQGAN does (Esser et al. 2021): a
/// reconstruction loss, the quantiser's commitment loss, and after a warm-up
/// a patch discriminator's hinge loss whose weight adapts to the ratio of the
/// two losses' gradients at the decoder's last layer.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fresco/nn/conv.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/nn/module_list.hpp>
#include <fresco/dist/process_group.hpp>
#include <fresco/progress.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/vq/image_tokenizer.hpp>

namespace fresco::vq {

/// A PatchGAN discriminator (Isola et al. 2017): 4×4 stride-2 convolutions with LeakyReLU, then a
/// 3×3 convolution to one logit per patch. Images [B, C, S, S] -> logits [B, 1, S/2^n, S/2^n].
///
///     fresco::vq::PatchDiscriminator d(3, {.width = 32, .layers = 2});
///     fresco::Tensor logits = d(images);   // [8, 3, 32, 32] -> [8, 1, 8, 8]
class PatchDiscriminator : public nn::Module {
public:
  /// Its sizes.
  struct Options {
    int64_t width = 32;    ///< channels of the first convolution; each next one doubles them
    int64_t layers = 2;    ///< stride-2 convolutions, in [1, 8]
    uint64_t seed = 0;     ///< seed of the initial weights
  };
  /// For images of `channels` channels; throws `fresco::Error` for sizes out of range.
  PatchDiscriminator(int64_t channels, Options options);
  /// [B, C, S, S] -> [B, 1, S/2^layers, S/2^layers].
  Tensor forward(const Tensor& images) const;
  /// `forward(images)`.
  Tensor operator()(const Tensor& images) const { return forward(images); }

  nn::ModuleList<nn::Conv2d> downs;   ///< 4×4 stride-2 convolutions
  nn::Conv2d out;                     ///< 3×3 convolution to one logit
};

/// The reconstruction loss.
enum class ReconstructionLoss {
  l1,   ///< mean |x − x̂| (sharper edges)
  l2,   ///< mean (x − x̂)²
};

/// Options of `ImageTokenizerTrainer`, checked in its constructor.
struct ImageTokenizerTrainerOptions {
  /// Images per step.
  int64_t batch_size = 8;
  /// Total steps (one tokenizer update, then one discriminator update once it is on).
  int64_t steps = 10000;
  /// Wall-clock budget in minutes (0: none).
  double minutes = 0;
  /// Seed of the data order and of the discriminator's initial weights.
  uint64_t seed = 0;
  /// Adam's peak learning rate for both nets.
  float lr = 1e-3f;
  /// Steps of linear warm-up to `lr`; after it the rate follows a cosine down to lr · min_lr_fraction at
  /// `steps`, or at the end of the `minutes` budget when that comes first (`optim::WarmupCosineLr`).
  int64_t warmup_steps = 100;
  /// The learning rate at the end of the cosine decay, as a share of `lr` (1: no decay).
  float min_lr_fraction = 0.1f;
  /// Adam's β1 and β2 for both nets (VQGAN's).
  float beta1 = 0.5f;
  float beta2 = 0.9f;
  /// The reconstruction loss.
  ReconstructionLoss reconstruction = ReconstructionLoss::l1;
  /// Extra weight of the pixels that differ from the image's background in the reconstruction
  /// loss (`foreground_weights`); 0: every pixel counts the same.
  float foreground_weight = 20;
  /// The foreground weight reaches this many pixels around the objects (`foreground_weights`).
  int64_t foreground_radius = 1;
  /// Weight of the adversarial loss, times the adaptive weight λ = ‖∇_L rec‖ / (‖∇_L adv‖ + 1e-4)
  /// at the decoder's last layer L, λ clamped to [0, 1e4] (0: no discriminator).
  float disc_weight = 0.5f;
  /// Steps before the discriminator is switched on (the reconstruction settles first).
  int64_t disc_start = 1000;
  /// The discriminator's size.
  PatchDiscriminator::Options discriminator;
  /// Clip each net's gradient to this total L2 norm (0: no clipping).
  float clip_grad = 10.f;
  /// Where `checkpoint.safetensors`, `samples/` (real and reconstructed rows) and `metrics.jsonl`
  /// go; "" writes nothing.
  std::string out_dir;
  int64_t checkpoint_every = 1000;   ///< 0: at the end only
  int64_t sample_every = 500;        ///< 0: at the end only
  int64_t log_every = 10;            ///< metrics log line every this many steps
  /// Resume from out_dir/checkpoint.safetensors when it exists.
  bool resume = true;
  /// Receives a report a step (stage "vq"); empty: silent.
  ProgressCallback on_progress;
  /// Data-parallel training (docs/distributed.md): each process of the
  /// group takes its share of every step's batch (`batch_size` is per
  /// process), the tokenizer's and the discriminator's gradients are
  /// averaged, the codebook follows the whole global batch
  /// (`VectorQuantizer::set_process_group`), and the slowest process's clock
  /// ends the budget. Rank 0 alone writes checkpoints, samples and metrics
  /// and reports; every process resumes from the checkpoint. Null: this process alone.
  std::shared_ptr<dist::ProcessGroup> group = nullptr;
};

/// The figures of one step.
struct ImageTokenizerStepLosses {
  float reconstruction = 0;     ///< the reconstruction loss (L1 or L2, in [-1, 1] units)
  float commitment = 0;         ///< the quantiser's weighted commitment loss
  float perplexity = 0;         ///< code usage of the batch
  int64_t restarted = 0;        ///< dead codes restarted
  float g_adversarial = 0;      ///< −E[D(x̂)] (0 before the discriminator is on)
  float adaptive_weight = 0;    ///< λ · disc_weight (0 before the discriminator is on)
  float d_loss = 0;             ///< the discriminator's hinge loss (0 before it is on)
  float lr = 0;                 ///< the learning rate of the step
};

/// What `ImageTokenizerTrainer::train` did.
struct ImageTokenizerTrainSummary {
  int64_t steps = 0;        ///< step reached (counting resumed steps)
  int64_t steps_run = 0;    ///< steps this run took
  double seconds = 0;       ///< wall time of the run
  std::vector<ImageTokenizerStepLosses> history;   ///< every step of this run, in order
};

/// Trains `tokenizer` (kept by reference: it must outlive the trainer) on `images` [N, C, S, S]
/// in [-1, 1]. Owns the discriminator, both optimizers and the step counter. The batch of step t
/// comes from the epoch permutations seeded by (seed, epoch), so a resumed run continues bit for bit.
///
///     fresco::vq::ImageTokenizer tok({.image_size = 32, .downsample = 4});
///     fresco::vq::ImageTokenizerTrainer trainer(tok, images, {.minutes = 5, .out_dir = "vq"});
///     trainer.train();
///     tok.save("vq/tokenizer.safetensors");
class ImageTokenizerTrainer {
public:
  ImageTokenizerTrainer(ImageTokenizer& tokenizer, Tensor images, ImageTokenizerTrainerOptions options = {});
  ~ImageTokenizerTrainer();
  ImageTokenizerTrainer(const ImageTokenizerTrainer&) = delete;
  ImageTokenizerTrainer& operator=(const ImageTokenizerTrainer&) = delete;

  /// Runs steps until `steps` or the budget, resuming first when asked. Throws `fresco::Error`
  /// naming the step when a loss is not finite (the last checkpoint is left as it was).
  ImageTokenizerTrainSummary train();
  /// One step on the batch of step(): the tokenizer's update, then the discriminator's.
  ImageTokenizerStepLosses train_step();
  /// The images of step `step` [B, C, S, S] (deterministic).
  Tensor batch(int64_t step) const;

  /// The tokenizer, the discriminator, both optimizers and the step, in one file.
  void save_checkpoint(const std::string& path) const;
  /// Restores what `save_checkpoint` wrote; throws `fresco::Error` / `IoError` naming the file.
  void load_checkpoint(const std::string& path);
  /// A grid of 8 fixed training images (top row) above their reconstructions (bottom row).
  void write_samples(const std::string& path) const;

  /// Steps taken so far (resumed ones included).
  int64_t step() const;
  /// The discriminator the trainer owns.
  PatchDiscriminator& discriminator();

private:
  struct State;
  std::unique_ptr<State> s_;
};

/// Per-pixel weights [B, 1, S, S] of images [B, C, S, S] in [-1, 1]: 1 + weight · M, where
/// m in [0, 1] says how far a pixel is from the image's background, taken as the per-channel median
/// of its border pixels, m = min(1, max_c |x_c − bg_c| / 0.2), and M is the largest m within
/// `radius` pixels (a (2·radius + 1)² square), so that the background around an object, where a
/// blurred or swollen reconstruction errs, weighs as much as the object. Small objects on a flat
/// background then count in the loss as much as their size, not as little. Throws `fresco::Error`
/// for a negative weight or radius, or images that are not [B, C, S, S] with S >= 2.
Tensor foreground_weights(const Tensor& images, float weight, int64_t radius = 0);

/// The reconstruction loss of `reconstruction` against `images` (both [B, C, S, S] in [-1, 1]):
/// Σ w·|x − x̂| / (C · Σ w) for l1, the same with (x − x̂)² for l2, with w = `foreground_weights(images,
/// foreground_weight, foreground_radius)` (foreground_weight 0: the plain mean). Differentiable in
/// `reconstruction`.
Tensor reconstruction_loss(const Tensor& reconstruction, const Tensor& images, ReconstructionLoss kind,
                           float foreground_weight = 0, int64_t foreground_radius = 0);

/// Peak signal-to-noise ratio in dB of images `a` against `b` (same shape, values in [0, 1]):
/// 10 · log10(1 / MSE); infinite when they are equal.
double psnr(const Tensor& a, const Tensor& b);

}  // namespace fresco::vq
