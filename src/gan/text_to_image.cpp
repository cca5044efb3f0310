// SPDX-License-Identifier: Apache-2.0
#include <fresco/gan/text_to_image.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/gan/conditioning.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/nn/mode_guard.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/shape.hpp>
#include <fresco/tensor/memory_limit.hpp>

namespace fresco::gan {

namespace {

constexpr const char* kFormat = "fresco-text2image";

std::map<std::string, Tensor> prefixed(const std::map<std::string, Tensor>& all, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : all)
    if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = v;
  return out;
}

Tensor to_unit_range(const Tensor& x) { return (x + 1.f) * 0.5f; }   // tanh's (-1, 1) -> (0, 1)

}  // namespace

Tensor generate_images(Generator& generator, const text::Gpt& gpt, const text::BpeTokenizer& tokenizer,
                       const std::vector<std::string>& captions, uint64_t seed) {
  FRESCO_CHECK(!captions.empty(), "generate: no captions given");
  NoGradGuard guard;
  // Switching modes writes to the model: only when it is needed, so that calls on a model in
  // eval mode (TextToImage's always is) only read it and may run on several threads at once.
  std::optional<nn::ModeGuard> eval_mode;
  if (generator.is_training()) eval_mode.emplace(generator, /*training=*/false);
  TokenBatch tokens = tokenize_captions(tokenizer, captions, gpt.config().context);
  TextFeatures tf = encode_tokens(gpt, tokens);
  Tensor z = seeded_noise(tokens.batch, generator.config().noise_dim, seed);
  return to_unit_range(generator(z, tf.sentence, tf.words, tf.pad_mask));
}

TextToImage::TextToImage(text::BpeTokenizer tokenizer, std::unique_ptr<text::Gpt> gpt,
                         std::unique_ptr<Generator> generator)
    : tokenizer_(std::move(tokenizer)), gpt_(std::move(gpt)), generator_(std::move(generator)) {
  FRESCO_CHECK(gpt_ && generator_, "TextToImage: the text model and the generator must not be null");
  FRESCO_CHECK(generator_->config().text_dim == gpt_->config().d_model,
               "TextToImage: the generator's text_dim {} differs from the text model's d_model {}",
               generator_->config().text_dim, gpt_->config().d_model);
  FRESCO_CHECK(tokenizer_.vocab_size() <= gpt_->config().vocab_size,
               "TextToImage: the tokenizer has {} tokens, more than the text model's vocabulary of {}",
               tokenizer_.vocab_size(), gpt_->config().vocab_size);
  gpt_->eval();
  generator_->eval();
}

TextToImage::TextToImage(TextToImage&&) noexcept = default;
TextToImage& TextToImage::operator=(TextToImage&&) noexcept = default;
TextToImage::~TextToImage() = default;

TextToImage TextToImage::from_parts(const text::BpeTokenizer& tokenizer, const text::Gpt& gpt,
                                    const Generator& generator) {
  auto g = std::make_unique<text::Gpt>(gpt.config());
  auto gen = std::make_unique<Generator>(generator.config());
  io::load_module_state(*g, io::module_state(gpt), "TextToImage::from_parts");
  io::load_module_state(*gen, io::module_state(generator), "TextToImage::from_parts");
  return TextToImage(tokenizer, std::move(g), std::move(gen));
}

void TextToImage::save(const std::string& path) const {
  std::map<std::string, Tensor> tensors;
  for (const auto& [k, v] : io::module_state(*gpt_)) tensors["gpt." + k] = v;
  for (const auto& [k, v] : io::module_state(*generator_)) tensors["generator." + k] = v;
  std::map<std::string, std::string> meta = gpt_->config().to_metadata();
  meta.merge(generator_->config().to_metadata("generator."));
  meta["format"] = kFormat;
  meta["tokenizer"] = tokenizer_.to_json();
  io::save_safetensors(tensors, path, meta);
}

TextToImage TextToImage::load(const std::string& path) {
  // Reads and checks the tensor index first; no tensor is made past what the file can fill.
  const io::LoadLimit limit(path, "TextToImage::load");
  const auto& meta = limit.header().metadata;
  auto it = meta.find("format");
  if (it == meta.end() || it->second != kFormat)
    throw IoError(fmt::format("TextToImage::load: {} is not a text-to-image model (metadata \"format\" is \"{}\", "
                              "expected \"{}\"); train one with train_text2image",
                              path, it == meta.end() ? "" : it->second, kFormat));
  auto tok = meta.find("tokenizer");
  if (tok == meta.end())
    throw IoError(fmt::format("TextToImage::load: {} has no \"tokenizer\" in its metadata", path));
  try {
    const text::GptConfig gpt_config = text::GptConfig::from_metadata(meta);
    text::expect_gpt_tensors(limit, gpt_config, "gpt.");
    auto gpt = std::make_unique<text::Gpt>(gpt_config);
    auto gen = std::make_unique<Generator>(GeneratorConfig::from_metadata(meta, "generator."));
    auto tensors = io::load_safetensors(path);
    io::load_module_state(*gpt, prefixed(tensors, "gpt."), path);
    auto gen_tensors = prefixed(tensors, "generator.");
    // Files written before the generator standardised its sentence input: no standardisation.
    if (!gen_tensors.count("sentence_mean") && !gen_tensors.count("sentence_scale")) {
      gen_tensors["sentence_mean"] = zeros({gen->config().text_dim});
      gen_tensors["sentence_scale"] = ones({1});
    }
    io::load_module_state(*gen, gen_tensors, path);
    return TextToImage(text::BpeTokenizer::from_json(tok->second), std::move(gpt), std::move(gen));
  } catch (const IoError&) {
    throw;
  } catch (const MemoryLimitError&) {
    throw;   // names the loader and the file already
  } catch (const Error& e) {
    throw Error(fmt::format("TextToImage::load: {}: {}", path, e.what()));
  }
}

Tensor TextToImage::generate(const std::vector<std::string>& captions, uint64_t seed) const {
  return generate_images(*generator_, *gpt_, tokenizer_, captions, seed);
}

std::vector<Tensor> TextToImage::animate(const std::string& caption_a, const std::string& caption_b, int64_t frames,
                                         uint64_t seed) const {
  FRESCO_CHECK(frames >= 2, "TextToImage::animate: frames must be >= 2, got {}", frames);
  NoGradGuard guard;
  std::optional<nn::ModeGuard> eval_mode;   // as in generate_images
  if (generator_->is_training()) eval_mode.emplace(*generator_, /*training=*/false);
  TokenBatch tokens = tokenize_captions(tokenizer_, {caption_a, caption_b}, gpt_->config().context);
  TextFeatures tf = encode_tokens(*gpt_, tokens);   // both captions padded to one length T
  const int64_t dim = generator_->config().noise_dim;
  const std::vector<float> za = seeded_noise(1, dim, seed, 0).to_vector();
  const std::vector<float> zb = seeded_noise(1, dim, seed, 1).to_vector();
  double dot = 0, na = 0, nb = 0;
  for (int64_t j = 0; j < dim; ++j) {
    dot += za[j] * zb[j];
    na += za[j] * za[j];
    nb += zb[j] * zb[j];
  }
  const double omega = std::acos(std::clamp(dot / std::sqrt(na * nb), -1.0, 1.0));
  // A key is masked only where both captions have padding; elsewhere the
  // interpolated word vector is attended to.
  Tensor mask = tf.pad_mask.slice(0, 0, 1) * tf.pad_mask.slice(0, 1, 2);
  std::vector<Tensor> out;
  for (int64_t f = 0; f < frames; ++f) {
    const float t = static_cast<float>(f) / static_cast<float>(frames - 1);
    // slerp(za, zb; t) = sin((1-t)ω)/sin ω · za + sin(tω)/sin ω · zb (lerp when ω ≈ 0).
    double wa = 1 - t, wb = t;
    if (std::sin(omega) > 1e-6) {
      wa = std::sin((1 - t) * omega) / std::sin(omega);
      wb = std::sin(t * omega) / std::sin(omega);
    }
    std::vector<float> z(static_cast<size_t>(dim));
    for (int64_t j = 0; j < dim; ++j) z[j] = static_cast<float>(wa * za[j] + wb * zb[j]);
    Tensor s = tf.sentence.slice(0, 0, 1) * (1.f - t) + tf.sentence.slice(0, 1, 2) * t;
    Tensor w = tf.words.slice(0, 0, 1) * (1.f - t) + tf.words.slice(0, 1, 2) * t;
    Tensor img = (*generator_)(tensor(std::move(z), {1, dim}), s, w, mask);
    out.push_back(to_unit_range(img).reshape({img.size(1), img.size(2), img.size(3)}));
  }
  return out;
}

}  // namespace fresco::gan
