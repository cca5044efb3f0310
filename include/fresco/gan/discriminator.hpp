// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `gan::Discriminator`: a matching-aware projection discriminator that
/// scores (image, sentence vector) pairs.

#include <cstdint>
#include <map>
#include <string>

#include <fresco/nn/conv.hpp>
#include <fresco/nn/linear.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/nn/module_list.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::gan {

/// Sizes of a `Discriminator`. Checked by `validate()` (the constructor calls it).
struct DiscriminatorConfig {
  /// Side of the square images: a power of two in [8, 256].
  int64_t image_size = 32;
  /// Image channels: 1 or 3.
  int64_t channels = 3;
  /// Size of the sentence vector.
  int64_t text_dim = 128;
  /// Channels of the first (full-resolution) conv; each strided conv doubles them.
  int64_t base_width = 32;
  /// Most channels of any conv.
  int64_t max_width = 512;
  /// Slope of the LeakyReLU.
  float slope = 0.2f;
  /// Size of the image and sentence embeddings compared by `similarity` (the
  /// contrastive heads; the trainer uses them when its `contrastive` weight is nonzero).
  int64_t embed_dim = 128;
  /// Seed of the initial weights.
  uint64_t seed = 1;

  /// Throws `fresco::Error` naming the first field out of range.
  void validate() const;
  /// Channels after strided conv i (i = 0 halves the image first).
  int64_t width(int64_t conv) const;
  /// Number of strided convs: log2(image_size / 4).
  int64_t num_downs() const;
  /// Size of the feature h: last width · 4 · 4.
  int64_t feature_dim() const;
  /// The config as string metadata under `prefix`.
  std::map<std::string, std::string> to_metadata(const std::string& prefix = "discriminator.") const;
  /// Reads `to_metadata(prefix)` back; throws `fresco::Error` for a missing or malformed key.
  static DiscriminatorConfig from_metadata(const std::map<std::string, std::string>& metadata,
                                           const std::string& prefix = "discriminator.");
};

/// The projection discriminator (Miyato & Koyama 2018):
///
///     h = LReLU(conv3×3(x));  h = LReLU(conv4×4/2(h)) until 4×4;  h = flatten(h)   [B, feature_dim]
///     logit = out(h) + <proj(s), h>                                              [B]
///
/// and two contrastive heads (XMC-GAN, Zhang et al. 2021) that embed images
/// and sentences in one space, compared by cosine similarity:
///
///     sim(i, j) = cos(u_i, v_j) / τ,  u = image_embed(h), v = text_embed(s)       [N, M]
///
/// or, centred, cos(u_i − ū, v_j − v̄) / τ with ū, v̄ the means over the rows given.
///
/// Trained matching-aware (Reed et al. 2016): a real image with a caption that
/// does not describe it is scored as fake, so the projection term must learn
/// whether image and caption agree.
///
///     fresco::gan::Discriminator d({.image_size = 32, .base_width = 32});
///     fresco::Tensor logits = d(images, sentence);   // [8, 3, 32, 32], [8, 128] -> [8]
class Discriminator : public nn::Module {
public:
  explicit Discriminator(DiscriminatorConfig config = {});
  /// image [B, channels, S, S], sentence [B, text_dim] -> logits [B]. Throws ShapeError on a mismatch.
  Tensor forward(const Tensor& image, const Tensor& sentence) const;
  Tensor operator()(const Tensor& image, const Tensor& sentence) const { return forward(image, sentence); }
  /// The image feature h: [B, channels, S, S] -> [B, feature_dim].
  Tensor features(const Tensor& image) const;
  /// The logits of features h [B, feature_dim] (from `features`) with sentences [B, text_dim]:
  /// `forward(image, s) == logits(features(image), s)`.
  Tensor logits(const Tensor& h, const Tensor& sentence) const;
  /// Cosine similarities of every image feature h [N, feature_dim] with every
  /// sentence [M, text_dim] in the contrastive embedding, divided by
  /// `temperature`: [N, M]. `centred` subtracts each side's mean over its rows
  /// first (N, M >= 2). The alignment stage centres: at the start the features
  /// of mostly-background images share one large component, which made every
  /// cosine nearly equal and left the loss at chance for hundreds of steps.
  /// Centring on the batch's own mean is for real images only: centred on the
  /// mean of G's images, the cosines ignore a component all of them share, and
  /// G learnt to mark its captions with invisible pixel differences on blank
  /// images. For G's images use the overload with the real images' centre.
  Tensor similarity(const Tensor& h, const Tensor& sentence, float temperature, bool centred = false) const;
  /// As above, with the images centred on `image_centre` [embed_dim] (e.g. the mean
  /// `image_embed` of a batch of real images, detached) and the sentences on their
  /// rows' mean (M >= 2): G's images are compared in the space alignment trained,
  /// without a mean they can move.
  Tensor similarity(const Tensor& h, const Tensor& sentence, float temperature, const Tensor& image_centre) const;
  const DiscriminatorConfig& config() const { return config_; }

  nn::Conv2d from_image;            ///< channels -> base_width, 3×3
  nn::ModuleList<nn::Conv2d> downs; ///< 4×4 stride-2 convs
  nn::Linear out;                   ///< feature_dim -> 1
  nn::Linear proj;                  ///< text_dim -> feature_dim, no bias
  nn::Linear image_embed;           ///< feature_dim -> embed_dim (contrastive head)
  nn::Linear text_embed;            ///< text_dim -> embed_dim (contrastive head)

private:
  DiscriminatorConfig config_;
};

}  // namespace fresco::gan
