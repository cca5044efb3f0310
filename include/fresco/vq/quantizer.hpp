// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `vq::VectorQuantizer`: maps each vector of a feature map to the nearest of
/// K learned code vectors (VQ-VAE, van den Oord et al. 2017), the step that
/// turns an image into tokens.

#include <cstdint>
#include <memory>
#include <vector>

#include <fresco/dist/process_group.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::vq {

/// Options of `VectorQuantizer`, checked in its constructor.
struct QuantizerOptions {
  /// β of the commitment loss β · ‖z − sg(e)‖², which keeps the encoder's outputs near their codes.
  float commitment = 0.25f;
  /// Decay γ of the exponential moving averages that update the codebook, in [0, 1).
  float decay = 0.99f;
  /// Additive (Laplace) smoothing of the codes' counts, so that a rarely used code is not divided by zero.
  float epsilon = 1e-5f;
  /// A code whose moving-average count (assignments per step) falls below this is dead: it is
  /// restarted at a random vector of the current batch (0: never restart).
  float dead_threshold = 0.03f;
  /// Search by cosine (ViT-VQGAN's l2-normalised codes, Yu et al. 2022): z is scaled to unit length
  /// along its D channels before the search, and the codes are unit vectors, so the nearest code is
  /// the one of the smallest angle and every code stays on the sphere the inputs reach.
  bool normalize = false;
  /// Seed of the initial codebook and of the restarts (`ImageTokenizer` derives it from its
  /// config's seed instead).
  uint64_t seed = 0;
};

/// What `VectorQuantizer::forward` returns.
struct Quantized {
  /// The codes in place of the inputs [B, D, H, W], with a straight-through gradient: the
  /// value is the codes', the gradient passes to z unchanged (z + sg(e − z)).
  Tensor codes;
  /// The chosen code of each position [B · H · W], in (b, h, w) order.
  std::vector<int64_t> ids;
  /// β · mean((z − sg(e))²), differentiable with respect to z.
  Tensor commitment_loss;
  /// exp(entropy) of the batch's code usage: 1 when one code takes every position, K when all
  /// are used equally.
  float perplexity = 0;
  /// Dead codes restarted by this call (training mode only).
  int64_t restarted = 0;
};

/// A codebook of `codes` vectors of size `dim`, kept as buffers and updated by exponential
/// moving averages of the vectors assigned to each code (van den Oord et al. 2017, appendix A.1;
/// Razavi et al. 2019): in training mode each `forward` moves the codes, in eval mode it only reads.
///
///     fresco::vq::VectorQuantizer vq(512, 64);
///     auto q = vq(encoder(images));     // q.codes [B, 64, 8, 8], q.ids 64 per image
///     loss = reconstruction(decoder(q.codes)) + q.commitment_loss;
class VectorQuantizer : public nn::Module {
public:
  /// `codes` >= 2 vectors of size `dim` >= 1; throws `fresco::Error` for those or options out of range.
  VectorQuantizer(int64_t codes, int64_t dim, QuantizerOptions options = {});

  /// z [B, dim, H, W] -> the nearest codes (of z scaled to unit length with `normalize`; the
  /// commitment loss and the straight-through gradient are then the scaled z's). Throws
  /// `ShapeError` for another shape.
  Quantized forward(const Tensor& z);
  /// `forward(z)`.
  Quantized operator()(const Tensor& z) { return forward(z); }

  /// The nearest code (squared Euclidean distance, of the unit-length z with `normalize`; the
  /// lowest id on a tie) of each position of z [B, dim, H, W], in (b, h, w) order. Reads only, so
  /// several threads may call it at once.
  std::vector<int64_t> nearest(const Tensor& z) const;
  /// The code vectors of `ids` laid out as [B, dim, H, W] (ids.size() == B · H · W, each in
  /// [0, codes)); throws `fresco::Error` naming the first id out of range.
  Tensor lookup(const std::vector<int64_t>& ids, int64_t batch, int64_t height, int64_t width) const;

  /// The codebook's size K.
  int64_t num_codes() const { return codes_; }
  /// The size D of a code vector.
  int64_t dim() const { return dim_; }
  /// The options the quantiser was built with.
  const QuantizerOptions& options() const { return options_; }

  /// Data-parallel training: the codebook's moving averages take the
  /// statistics of the whole global batch (every process's assignments,
  /// summed over the group) and dead codes restart at rank 0's vectors, so
  /// that every replica keeps the same codebook, the one a single process
  /// with the global batch would keep. Every process of the group must call
  /// it (it copies rank 0's restart seed) and run its training forward
  /// passes in step. Null (the default): this process alone.
  void set_process_group(std::shared_ptr<dist::ProcessGroup> group);

  Tensor codebook;       ///< buffer [codes, dim]: e_k = embed_sum_k / (smoothed cluster_size_k)
  Tensor cluster_size;   ///< buffer [codes]: moving average of each code's assignments per step (0 at first)
  Tensor embed_sum;      ///< buffer [codes, dim]: moving average of the sum of each code's vectors
  Tensor updates;        ///< buffer [1]: training steps taken (seeds the restarts)

private:
  // The nearest code of each row of flat [N, dim] (contiguous, outside the graph).
  std::vector<int64_t> nearest_rows(const Tensor& flat) const;
  // The EMA update of the codebook with the batch's assignments, then the restart of dead codes.
  int64_t update_codebook(const std::vector<float>& flat, const std::vector<int64_t>& ids);

  int64_t codes_, dim_;
  QuantizerOptions options_;
  std::shared_ptr<dist::ProcessGroup> group_;
  uint64_t restart_seed_;  // options_.seed, or rank 0's under a process group
};

}  // namespace fresco::vq
