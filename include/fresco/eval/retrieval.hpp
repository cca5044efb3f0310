// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// An image–text encoder trained on real (image, caption) pairs, and the
/// caption-retrieval precision it measures on generated images (AttnGAN's
/// R-precision: Xu et al., "AttnGAN", CVPR 2018): the share of images whose own
/// caption ranks first among `candidates` captions (itself and others drawn at
/// random), by cosine similarity in the encoder's joint space.
///
///     auto enc = fresco::eval::ImageTextEncoder::create(captions, {.image = {.image_size = 64}});
///     fresco::eval::train_image_text_encoder(*enc, train_set, {.minutes = 3});
///     double p = fresco::eval::caption_retrieval_precision(*enc, generated, their_captions, all_captions);
///     enc->save("emoji_retrieval.safetensors");

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fresco/data/dataset.hpp>
#include <fresco/eval/classifier.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/nn/linear.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/progress.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/text/tokenizer.hpp>

namespace fresco::eval {

/// Sizes of an `ImageTextEncoder`. Saved in its file's metadata.
struct ImageTextEncoderConfig {
  /// The image branch: a `Classifier` trunk whose one head, of `embed_dim`
  /// outputs, is the projection into the joint space (`heads` is set from
  /// `embed_dim`; the value given here is ignored).
  ClassifierConfig image = {.channels = 3, .image_size = 64, .heads = {}, .width = 32, .feature_dim = 256};
  /// The text branch: a causal GPT whose hidden state at `<|eos|>` is the
  /// caption's vector. `vocab_size` is set from the tokenizer; `context` is the
  /// longest caption read, in tokens with `<|bos|>` and `<|eos|>` (longer ones are cut).
  text::GptConfig gpt = {.vocab_size = 512, .context = 32, .d_model = 128, .heads = 4, .layers = 2};
  /// Width of the joint space.
  int64_t embed_dim = 128;
  /// Temperature of the contrastive similarities in training.
  float temperature = 0.07f;

  /// Throws `fresco::Error` naming the first field out of range.
  void validate() const;
  /// The config as metadata ("retrieval.*", "image.*" and "gpt.*" keys), and back.
  std::map<std::string, std::string> to_metadata() const;
  static ImageTextEncoderConfig from_metadata(const std::map<std::string, std::string>& metadata,
                                              const std::string& source);
};

/// Two branches into one space of unit vectors: images [B, C, S, S] in [-1, 1]
/// through a `Classifier` trunk, captions through a BPE tokenizer and a GPT.
/// In eval mode (after `train_image_text_encoder` or `load`) the embedding
/// functions only read the model.
class ImageTextEncoder : public nn::Module {
public:
  /// An untrained encoder for `tokenizer`'s captions; `config.gpt.vocab_size`
  /// and `config.image.heads` are set here. Throws `fresco::Error` for a bad config.
  ImageTextEncoder(ImageTextEncoderConfig config, text::BpeTokenizer tokenizer);

  /// An untrained encoder with a BPE tokenizer of `vocab_size` learned on `captions`.
  static std::unique_ptr<ImageTextEncoder> create(const std::vector<std::string>& captions,
                                                  ImageTextEncoderConfig config = {}, int64_t vocab_size = 1024);

  /// Images [B, C, S, S] in [-1, 1] -> unit vectors [B, embed_dim].
  Tensor embed_images(const Tensor& images);
  /// Captions -> unit vectors [N, embed_dim]. Throws `fresco::Error` for an empty list.
  Tensor embed_captions(const std::vector<std::string>& captions) const;
  /// The symmetric contrastive loss (InfoNCE both ways) of a batch of matching
  /// pairs: image i's caption is captions[i]. Needs at least 2 pairs.
  Tensor loss(const Tensor& images, const std::vector<std::string>& captions);

  /// Cosine similarity of each image to its own caption: images [N, C, S, S] in
  /// [-1, 1] and N captions -> [N]. Throws `fresco::Error` when the counts differ.
  Tensor similarity(const Tensor& images, const std::vector<std::string>& captions);

  /// Writes the weights, the tokenizer and the config to one safetensors file.
  void save(const std::string& path) const;
  /// The weights, and the config and tokenizer as metadata, each name under `prefix`: the
  /// encoder as a part of a larger file (a `vq::TextToImage` keeps its reranker so).
  void write_parts(std::map<std::string, Tensor>& tensors, std::map<std::string, std::string>& metadata,
                   const std::string& prefix) const;
  /// Reads what `write_parts` wrote under `prefix` into the file `limit` has checked (the
  /// config's tensors must be in its index before any is made); `tensors` are the file's.
  /// In eval mode. Throws `fresco::Error` for a missing or inconsistent part.
  static std::unique_ptr<ImageTextEncoder> read_parts(const io::LoadLimit& limit,
                                                      const std::map<std::string, Tensor>& tensors,
                                                      const std::string& prefix, const std::string& path);
  /// Reads a file written by `save` (bounded by the file: see io::LoadLimit), in eval mode.
  /// Throws `fresco::IoError` naming the file when it is not an image–text encoder.
  static std::unique_ptr<ImageTextEncoder> load(const std::string& path);

  const ImageTextEncoderConfig& config() const { return config_; }
  const text::BpeTokenizer& tokenizer() const { return tokenizer_; }

  Classifier image;   ///< trunk + the projection (its one head)
  text::Gpt gpt;   ///< the caption branch
  nn::Linear text_proj;   ///< d_model -> embed_dim

private:
  struct Completed {};   // selects the constructor that takes an already completed config
  ImageTextEncoder(Completed, const ImageTextEncoderConfig& complete, text::BpeTokenizer&& tokenizer);
  std::vector<int64_t> caption_ids(const std::vector<std::string>& captions) const;

  ImageTextEncoderConfig config_;
  text::BpeTokenizer tokenizer_;
};

/// Options of `train_image_text_encoder`.
struct TrainImageTextOptions {
  /// Budget: steps, minutes (whichever ends first; at least one must be set).
  int64_t steps = 0;
  double minutes = 0;
  int64_t batch_size = 64;
  /// Peak AdamW learning rate (warm-up, then cosine to 0 over the budget).
  float lr = 1e-3f;
  int64_t warmup_steps = 100;
  float weight_decay = 1e-4f;
  uint64_t seed = 0;
  /// Reports ("retrieval": step, loss, in-batch top-1 %, lr) every this many steps.
  int64_t log_every = 50;
  ProgressCallback on_progress = {};
};

/// What `train_image_text_encoder` did.
struct ImageTextReport {
  int64_t steps = 0;
  float first_loss = 0;   ///< loss of the first step (chance: ln(batch_size))
  float last_loss = 0;    ///< mean loss of the last `log_every` steps (or fewer)
  double seconds = 0;
};

/// Trains `model` on the (image, caption) pairs of `train` with AdamW and the
/// symmetric contrastive loss; leaves it in eval mode. Throws `fresco::Error`
/// for a bad budget or a dataset smaller than one batch.
ImageTextReport train_image_text_encoder(ImageTextEncoder& model, std::shared_ptr<const data::Dataset> train,
                                         const TrainImageTextOptions& options);

/// Options of `caption_retrieval_precision`.
struct RetrievalOptions {
  /// Captions each image is ranked among: its own and `candidates - 1` others.
  int64_t candidates = 100;
  /// Seed of the other captions' draw.
  uint64_t seed = 0;
  int64_t batch_size = 256;
};

/// The share, in [0, 1], of `images` [N, C, S, S] in [-1, 1] whose caption
/// (`captions[i]`) is more similar to the image than each of
/// `options.candidates - 1` captions drawn at random, without repeats, from
/// `pool` (captions equal to the image's own are never drawn; a tie counts
/// as a miss). Chance is 1 / candidates. Throws `fresco::Error` when sizes
/// disagree or `pool` holds fewer than `candidates - 1` other captions.
double caption_retrieval_precision(ImageTextEncoder& model, const Tensor& images,
                                   const std::vector<std::string>& captions, const std::vector<std::string>& pool,
                                   const RetrievalOptions& options = {});

}  // namespace fresco::eval
