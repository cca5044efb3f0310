// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `vq::ImageGpt`: the token transformer of the transformer family (DALL-E,
/// Ramesh et al. 2021, in small). One GPT reads a caption's tokens and then
/// writes an image's tokens (the code ids of a `vq::ImageTokenizer`), one
/// sequence `[caption tokens, <|image|>, image tokens]`. Trained with the
/// image tokens' cross-entropy plus a weighted next-token loss on the caption
/// (the text loss), so one model carries both; sampled with classifier-free
/// guidance, temperature, top-k and top-p, a key/value cache, whole batches
/// at once and a seed per image.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fresco/nn/embedding.hpp>
#include <fresco/nn/linear.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/text/gpt.hpp>

namespace fresco::vq {

/// Sizes of an `ImageGpt`. Checked by `validate()` (the constructor calls it).
struct ImageGptConfig {
  /// Token ids a caption may hold: the BPE tokenizer's vocabulary (>= 259).
  int64_t text_vocab = 512;
  /// Caption slots, in [2, 4096]: `<|bos|>` caption `<|eos|>`, then `<|pad|>` up to this length.
  int64_t caption_length = 32;
  /// Image codes (the image tokenizer's codebook size).
  int64_t codes = 512;
  /// Image tokens per side (the image tokenizer's grid: 8 for 32×32 at downsampling 4).
  int64_t grid = 8;
  /// Frames per sequence, in [1, 64] (frames · grid² at most 4096): 1 writes an image; T > 1 writes a clip, the
  /// grid² codes of frame 0, then of frame 1, ..., each slot also told its frame
  /// (a time embedding). Stored in the metadata only when it is not 1.
  int64_t frames = 1;
  /// Width, attention heads (d_model a multiple of them), blocks and MLP ratio of the GPT.
  int64_t d_model = 256;
  int64_t heads = 8;
  int64_t layers = 6;
  int64_t mlp_ratio = 4;
  /// Dropout inside the blocks, in [0, 1) (training mode only).
  float dropout = 0.f;
  /// Seed of the initial weights.
  uint64_t seed = 0;
  /// Caption slots attend to earlier caption slots with ALiBi's linear
  /// recency bias (Press, Smith and Lewis, ICLR 2022): head h adds
  /// −m_h · (t − s) to the score of query t on key s, m_h = 2^(−8(h+1)/heads),
  /// so some heads read the words nearest before a word (its own clause:
  /// "a big red circle at the top left") and others the whole caption. Image
  /// slots attend without it. With caption_bidirectional the bias is
  /// symmetric, −m_h · |t − s| over the whole caption, so a word reads the
  /// words of its own clause on both sides of it first, whichever order the
  /// clause puts them in ("at the top left there is a big red circle").
  /// Stored in the metadata only when true.
  bool caption_recency = false;
  /// Caption slots attend to every caption slot, after them as well as before
  /// (a prefix language model: the caption is read both ways, as by a text
  /// encoder), so a word knows the words that follow it in its clause; image
  /// slots stay causal. A caption slot then sees the word it would predict,
  /// so there is no text loss (`loss` reports it as 0 whatever text_weight).
  /// Stored in the metadata only when true.
  bool caption_bidirectional = false;
  /// Image slots attend to earlier image slots with a learned bias per head
  /// and offset (Δframe, Δrow, Δcol) between the code the query writes and
  /// the key's, as the relative position biases of T5 and Swin: a head can
  /// look at "the same place one frame back" or "one column to the left in
  /// the frame before" whatever the absolute position, the way an object's
  /// motion continues. A table `image_relative` [frames · (2·grid − 1)², heads],
  /// zero at the start (the model begins as one without it). Stored in the
  /// metadata only when true.
  bool relative_bias = false;
  /// Clips only (frames > 1): the frames are written coarse to fine instead
  /// of in time order: the first and the last, then the middle frame of each
  /// gap, breadth first (0, 7, 3, 1, 5, 2, 4, 6 for 8 frames), each slot
  /// told the time of the frame it writes. The caption's motion is then
  /// decided between two keyframes whose object lies whole tokens apart
  /// rather than through the sub-token shift of one frame to the next, and
  /// every frame between is written knowing a frame before and after it (as
  /// keyframes and in-betweens in animation). `forward`, `loss` and `sample`
  /// keep the codes in time order whatever the setting. Not with
  /// relative_bias (whose table is indexed by forward frame offsets). Stored
  /// in the metadata only when true.
  bool keyframes = false;
  /// Width D of the image tokenizer's code vectors the image codes stay linked
  /// to (0: not linked). With D > 0 the model keeps the codes' unit vectors
  /// ĉ_k (`image_code_vectors` [codes, D], a buffer that `init_codes_from`
  /// sets) and two learned projections `image_code_in` and `image_code_out`
  /// [D, d_model]: code k's input embedding is image_wte[k] + ĉ_k·P_in and its
  /// output weight image_head.weight[k] + ĉ_k·P_out, so what the transformer
  /// learns of one code's vector reaches every code that draws alike (a red
  /// edge and a blue edge of one shape), all through training rather than at
  /// the start only. In [0, 4096]; must equal the width of the codebook later
  /// given to `init_codes_from`. Until that call the vectors are zero and the
  /// link adds nothing (the projections then get zero gradients). Stored in the
  /// metadata only when not 0.
  int64_t code_dim = 0;

  /// The time of the frame written n-th, for n in [0, frames): 0, 1, ... in time
  /// order, or the order `keyframes` describes.
  std::vector<int64_t> frame_order() const;
  /// Image tokens per sequence: frames · grid².
  int64_t image_tokens() const { return frames * grid * grid; }
  /// Sequence length: caption_length + image_tokens().
  int64_t context() const { return caption_length + image_tokens(); }
  /// The config of the `text::Gpt` inside: vocab_size text_vocab, context context(), the same sizes.
  text::GptConfig gpt_config() const;
  /// Throws `fresco::Error` naming the first field out of range.
  void validate() const;
  /// The config as metadata under `prefix` ("image_gpt.codes" -> "512", ...).
  /// The keys of frames and of the optional settings (caption_recency, ..., keyframes, code_dim) are written only when
  /// not at their default, so older files read the same; `every_key` writes them always (to compare two
  /// configs key by key).
  std::map<std::string, std::string> to_metadata(const std::string& prefix = "image_gpt.",
                                                 bool every_key = false) const;
  /// Reads `to_metadata`'s keys back and validates; throws `fresco::Error` for a missing or bad one.
  static ImageGptConfig from_metadata(const std::map<std::string, std::string>& metadata,
                                      const std::string& prefix = "image_gpt.");
};

/// Options of `ImageGpt::sample`.
struct ImageSampleOptions {
  /// Classifier-free guidance: logits = u + guidance · (c − u), with c the
  /// caption's and u the empty caption's logits. 1: the caption alone (no
  /// second pass); 0: the unconditional model.
  float guidance = 2.f;
  /// Logits are divided by it; 0 picks the most likely code (greedy).
  float temperature = 1.f;
  /// Sample among the k most likely codes only (0: all).
  int64_t top_k = 0;
  /// Sample among the smallest set of most likely codes whose probability reaches top_p (1: all).
  /// 0.8 by default: the long tail of an undertrained model paints stray objects.
  float top_p = 0.8f;
  /// Slots (in writing order) over which guidance rises linearly from 1 to `guidance`:
  /// slot j is guided with 1 + (guidance − 1) · min(1, j / guidance_ramp), so the first
  /// codes, which the caption decides least, follow the caption's own distribution instead
  /// of the amplified difference to the empty caption's. 0: `guidance` from the first slot.
  int64_t guidance_ramp = 0;
  /// Images drawn per caption by a model with a reranker (`vq::TextToImage` with a
  /// `vq::Reranker`): candidate 0 is the image 1 draws, candidate k draws from the stream
  /// `candidate_stream(that image's stream, k)`, and the first candidate the reranker
  /// accepts is kept (else the one it scores highest). 1: every image as drawn. The
  /// token transformer itself draws one image per caption row whatever this says.
  int64_t candidates = 1;
  static constexpr int64_t kMaxCandidates = 64;
  /// Throws `fresco::Error` naming the first field out of range.
  void validate() const;
};

/// The seed of image `index`'s random stream in a call with `seed` (`ImageGpt::sample`).
uint64_t image_stream(uint64_t seed, int64_t index);
/// The seed of candidate `k` >= 1 of the image whose stream is `stream`
/// (`ImageSampleOptions::candidates`); candidate 0 draws from `stream` itself.
uint64_t candidate_stream(uint64_t stream, int64_t k);

/// The losses of one batch.
struct ImageGptLosses {
  Tensor total;   ///< image + text_weight · text (a scalar with a graph)
  float image = 0;   ///< mean cross-entropy of the image tokens
  float text = 0;    ///< mean next-token cross-entropy of the captions (pads not counted)
};

/// A GPT over `[caption (caption_length slots), image slot 0 .. image slot N−1]`,
/// N = frames · G²:
///
///     caption slot t:  gpt.wte(caption[t]) + gpt.wpe(t)
///     image slot j:    table(j == 0 ? <|image|> : code[j−1]) + gpt.wpe(caption_length + j)
///                      + image_row((j % G²) / G) + image_col(j % G) [+ image_time(order[j / G²]) for clips]
///                      (code[] in writing order: frame order[0], then order[1], ...; see frame_order())
///     h = gpt.ln_f(gpt.blocks(x))   (causal; with caption_recency, caption queries get ALiBi's bias;
///                                    with caption_bidirectional, caption slots see the whole caption;
///                                    with relative_bias, image queries a learned bias per image key offset)
///     caption slot t predicts caption[t+1] through the tied head gpt.wte (the text loss, causal captions only);
///     image slot j predicts code[j] through image_head (the image loss).
///     (table = image_wte, and the head's weight image_head's; with code_dim > 0 both plus the linked
///     part ĉ·P_in, ĉ·P_out: image_code_table(), image_head_weight())
///
/// The image slots carry the 2-D position of the code they predict (row and
/// column embeddings, and for clips the frame's), so slot j knows where on the grid it writes. The caption
/// part is a `text::Gpt` (its token and positional embeddings, blocks and final
/// LayerNorm); the image codes have their own embedding table (`image_wte`,
/// with row `codes` for `<|image|>`) and output head. Padding slots of the
/// caption are ordinary tokens the model learns to pass over (as DALL-E's).
///
///     fresco::vq::ImageGpt model({.codes = 512, .grid = 8, .d_model = 128, .heads = 4, .layers = 4});
///     auto losses = model.loss(captions, codes, batch, 0.1f);   // captions B·32 ids, codes B·64 ids
///     losses.total.backward();
class ImageGpt : public nn::Module {
public:
  explicit ImageGpt(ImageGptConfig config = {});

  /// Text logits [B, caption_length, text_vocab] and image logits [B, N, codes].
  struct Logits {
    Tensor text;
    Tensor image;
  };
  /// captions [B, caption_length] and codes [B, N] (row-major ids, frame after frame in time order)
  /// -> both logits (image logits in the codes' order, also with `keyframes`).
  /// Throws `fresco::Error` for a size mismatch or an id out of range.
  Logits forward(const std::vector<int64_t>& captions, const std::vector<int64_t>& codes, int64_t batch) const;

  /// The image tokens' mean cross-entropy plus `text_weight` times the captions'
  /// next-token cross-entropy (targets that are `<|pad|>` do not count). For clips
  /// (frames > 1), `change_weight` > 0 adds that many times the mean cross-entropy
  /// of the codes that differ from the code at the same place of the frame
  /// before (what moved; none when nothing did); `ImageGptLosses::image` stays
  /// the plain mean. Throws `fresco::Error` for a negative `change_weight`, or a
  /// positive one on a single-image model.
  ImageGptLosses loss(const std::vector<int64_t>& captions, const std::vector<int64_t>& codes, int64_t batch,
                      float text_weight, float change_weight = 0.f) const;

  /// Writes the codes of `batch` images, one per caption row [B, caption_length],
  /// with the key/value cache: -> B · N ids, row-major, frames in time order. Row i draws from its own
  /// stream seeded by (seed, first_index + i), so an image depends on (caption,
  /// seed, index) and not on the rest of the batch's captions. With guidance != 1
  /// each row also runs with `empty_caption` (caption_length ids) and the two
  /// logits are mixed. No graph is recorded; const and safe to call from several
  /// threads at once.
  std::vector<int64_t> sample(const std::vector<int64_t>& captions, int64_t batch,
                              const std::vector<int64_t>& empty_caption, const ImageSampleOptions& options,
                              uint64_t seed, int64_t first_index = 0) const;
  /// The same with row i drawing from the stream seeded by `streams[i]` (one per row):
  /// `sample(..., seed, first)` is this with streams[i] = image_stream(seed, first + i).
  std::vector<int64_t> sample(const std::vector<int64_t>& captions, int64_t batch,
                              const std::vector<int64_t>& empty_caption, const ImageSampleOptions& options,
                              const std::vector<uint64_t>& streams) const;

  /// Re-draws the image codes' input embeddings (`image_wte` rows 0..codes−1) and output
  /// weights (`image_head`, zero bias) so that codes whose vectors in the image tokenizer's
  /// `codebook` [codes, D] point alike start alike: row k = 0.02 · (a · R·ĉ_k + √(1 − a²) · z_k),
  /// ĉ_k the unit code vector, R a fixed Gaussian D -> d_model projection and z_k Gaussian noise,
  /// both drawn from `seed`, a = `share` in [0, 1] (0: the plain N(0, 0.02) start). Two
  /// codes' rows then start with a cosine of about a² times their codes' cosine. The <|image|> row
  /// and every other weight are left as they are. For a model that has not trained yet: the
  /// transformer then starts knowing which codes draw alike (a red edge and a blue edge of one
  /// shape share the shape's part of the code vector). Throws `fresco::Error` for a codebook of
  /// another size or a share outside [0, 1].
  ///
  /// With `code_dim` > 0 the shared part is kept apart: `image_code_vectors` = ĉ, `image_code_in`
  /// = `image_code_out` = 0.02 · a · R, and the own rows hold the noise, so the model starts
  /// computing the same rows and then keeps learning R's place (the codebook must then be
  /// [codes, code_dim]).
  void init_codes_from(const Tensor& codebook, float share = 0.7f, uint64_t seed = 0);

  /// The image codes' input table [codes + 1, d_model] (row `codes` is <|image|>): image_wte's weight,
  /// plus ĉ·P_in on the code rows when `code_dim` > 0.
  Tensor image_code_table() const;
  /// The image head's weight [codes, d_model]: image_head's, plus ĉ·P_out when `code_dim` > 0.
  Tensor image_head_weight() const;

  const ImageGptConfig& config() const { return config_; }
  /// The additive self-attention bias for the first `length` positions (default
  /// context()), [1, heads, length, length]: −m_h · (t − s) for caption query t and
  /// key s <= t (`caption_recency`), plus `image_relative`'s entry of the offset
  /// between image query and image key (`relative_bias`, differentiable), 0 everywhere
  /// else. Built on each call (the forward pass's mask); undefined when both are off.
  Tensor attention_bias(int64_t length = 0) const;
  /// Row of `image_relative` for image query slot `a` and image key slot `b` (b <= a):
  /// ((frame(a) − frame(b)) · (2G − 1) + row(a) − row(b) + G − 1) · (2G − 1) + col(a) − col(b) + G − 1.
  int64_t relative_index(int64_t a, int64_t b) const;

  text::Gpt gpt;              ///< caption embeddings, positions, blocks, ln_f; its wte is the text head
  nn::Embedding image_wte;    ///< [codes + 1, d_model]; row `codes` is <|image|>
  nn::Embedding image_row;    ///< [grid, d_model]
  nn::Embedding image_col;    ///< [grid, d_model]
  nn::Linear image_head;      ///< d_model -> codes
  /// [frames, d_model]: clip models (frames > 1) only; null for image models, whose files it is not in.
  std::unique_ptr<nn::Embedding> image_time;
  /// [frames · (2·grid − 1)², heads]: with `relative_bias` only; null otherwise (and not in the file).
  std::unique_ptr<nn::Embedding> image_relative;
  /// With `code_dim` > 0 only (undefined otherwise, and not in the file): the codes' unit vectors
  /// [codes, code_dim] (a buffer) and the learned projections [code_dim, d_model].
  Tensor image_code_vectors, image_code_in, image_code_out;

private:
  // Embedded image slots j0..j0+n-1 of B rows whose input tokens are `inputs` (B·n) -> [B, n, C].
  // `table` is image_code_table().
  Tensor embed_image(const Tensor& table, const std::vector<int64_t>& inputs, int64_t batch, int64_t j0,
                     int64_t n) const;
  Tensor embed_caption(const std::vector<int64_t>& captions, int64_t batch) const;
  void check_captions(const std::vector<int64_t>& captions, int64_t batch, const char* fn) const;

  ImageGptConfig config_;
  std::vector<int64_t> order_;   // config_.frame_order()
  // Position in time order (frame-major, row-major) of writing slot j.
  int64_t time_position(int64_t j) const;
};

}  // namespace fresco::vq
