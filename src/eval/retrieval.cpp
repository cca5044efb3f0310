// SPDX-License-Identifier: Apache-2.0
#include <fresco/eval/retrieval.hpp>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <unordered_set>

#include <fmt/format.h>

#include <fresco/autograd/autograd.hpp>
#include <fresco/data/loader.hpp>
#include <fresco/error.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/loss.hpp>
#include <fresco/ops/matmul.hpp>
#include <fresco/ops/reduce.hpp>
#include <fresco/ops/shape.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/optim/schedule.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco::eval {
namespace {

constexpr const char* kFormat = "fresco.eval.ImageTextEncoder";

// Rows scaled to unit L2 norm (eps keeps a zero row finite).
Tensor unit_rows(const Tensor& x) { return x / sqrt(sum(x * x, {1}, true) + 1e-8f); }

// The config with the fields the parts fix: the projection head and the tokenizer's vocabulary.
ImageTextEncoderConfig completed(ImageTextEncoderConfig c, const text::BpeTokenizer& tokenizer) {
  c.image.heads = {c.embed_dim};
  c.gpt.vocab_size = tokenizer.vocab_size();
  c.validate();
  return c;
}

// Symmetric InfoNCE of a square similarity matrix whose diagonal holds the matching pairs.
Tensor contrastive_loss(const Tensor& sim) {
  const int64_t n = sim.size(0);
  std::vector<int64_t> diagonal(static_cast<size_t>(n));
  std::iota(diagonal.begin(), diagonal.end(), int64_t{0});
  return (cross_entropy(sim, diagonal) + cross_entropy(sim.transpose(0, 1).contiguous(), diagonal)) * 0.5f;
}

}  // namespace

void ImageTextEncoderConfig::validate() const {
  FRESCO_CHECK(embed_dim >= 2, "ImageTextEncoder: embed_dim must be >= 2, got {}", embed_dim);
  FRESCO_CHECK(temperature > 0 && temperature <= 10, "ImageTextEncoder: temperature must be in (0, 10], got {}",
               temperature);
  FRESCO_CHECK(gpt.context >= 3, "ImageTextEncoder: the text context must hold <|bos|>, a token and <|eos|> (>= 3), got {}",
               gpt.context);
  gpt.validate();
  Classifier::config_from_metadata(Classifier::config_to_metadata(image), "ImageTextEncoder config");
}

std::map<std::string, std::string> ImageTextEncoderConfig::to_metadata() const {
  std::map<std::string, std::string> m = gpt.to_metadata();
  for (const auto& [key, value] : Classifier::config_to_metadata(image)) m.emplace("image." + key, value);
  io::MetadataWriter w("retrieval.");
  w("embed_dim", embed_dim);
  w("temperature", temperature);
  m.merge(w.metadata);
  return m;
}

ImageTextEncoderConfig ImageTextEncoderConfig::from_metadata(const std::map<std::string, std::string>& metadata,
                                                             const std::string& source) {
  ImageTextEncoderConfig c;
  std::map<std::string, std::string> image;
  for (const auto& [key, value] : metadata)
    if (key.rfind("image.", 0) == 0) image.emplace(key.substr(6), value);
  c.image = Classifier::config_from_metadata(image, source);
  c.gpt = text::GptConfig::from_metadata(metadata);
  const io::MetadataReader r(metadata, "retrieval.", "ImageTextEncoder::load");
  r("embed_dim", c.embed_dim);
  r("temperature", c.temperature);
  c.validate();
  FRESCO_CHECK(c.image.heads == std::vector<int64_t>{c.embed_dim},
               "the image branch's head has {} outputs, the joint space {}", fmt::join(c.image.heads, ","),
               c.embed_dim);
  return c;
}

ImageTextEncoder::ImageTextEncoder(ImageTextEncoderConfig config, text::BpeTokenizer tokenizer)
    : ImageTextEncoder(Completed{}, completed(std::move(config), tokenizer), std::move(tokenizer)) {}

// `config` completed once (checked, heads and vocabulary set); `tokenizer` is only bound here,
// so the public constructor's completed() reads it before it is moved from.
ImageTextEncoder::ImageTextEncoder(Completed, const ImageTextEncoderConfig& config, text::BpeTokenizer&& tokenizer)
    : image(config.image),
      gpt(config.gpt),
      text_proj(config.gpt.d_model, config.embed_dim),
      config_(config),
      tokenizer_(std::move(tokenizer)) {
  register_module("image", image);
  register_module("gpt", gpt);
  register_module("text_proj", text_proj);
}

std::unique_ptr<ImageTextEncoder> ImageTextEncoder::create(const std::vector<std::string>& captions,
                                                           ImageTextEncoderConfig config, int64_t vocab_size) {
  FRESCO_CHECK(!captions.empty(), "ImageTextEncoder::create: no captions to learn a tokenizer from");
  return std::make_unique<ImageTextEncoder>(std::move(config), text::BpeTokenizer::train(captions, vocab_size));
}

std::vector<int64_t> ImageTextEncoder::caption_ids(const std::vector<std::string>& captions) const {
  const auto t = static_cast<size_t>(config_.gpt.context);
  std::vector<int64_t> rows;
  rows.reserve(captions.size() * t);
  for (const std::string& caption : captions) {
    std::vector<int64_t> ids = tokenizer_.encode(caption, /*add_bos=*/true, /*add_eos=*/true);
    if (ids.size() > t) {   // cut long captions, keeping their end token
      ids.resize(t);
      ids.back() = tokenizer_.eos_id();
    }
    ids.resize(t, tokenizer_.pad_id());
    rows.insert(rows.end(), ids.begin(), ids.end());
  }
  return rows;
}

Tensor ImageTextEncoder::embed_images(const Tensor& images) { return unit_rows(image.logits(images)[0]); }

Tensor ImageTextEncoder::embed_captions(const std::vector<std::string>& captions) const {
  FRESCO_CHECK(!captions.empty(), "ImageTextEncoder::embed_captions: no captions given");
  const auto n = static_cast<int64_t>(captions.size());
  return unit_rows(text_proj(gpt.sentence_embedding(caption_ids(captions), n, config_.gpt.context)));
}

Tensor ImageTextEncoder::loss(const Tensor& images, const std::vector<std::string>& captions) {
  FRESCO_CHECK(images.defined() && images.dim() == 4 && images.size(0) == static_cast<int64_t>(captions.size()) &&
                   captions.size() >= 2,
               "ImageTextEncoder::loss: expected N >= 2 images [N, C, S, S] and N captions, got {} and {} captions",
               images.defined() ? shape_str(images.shape()) : "an undefined tensor", captions.size());
  const Tensor sim = matmul(embed_images(images), embed_captions(captions).transpose(0, 1)) *
                     (1.f / config_.temperature);
  return contrastive_loss(sim);
}

Tensor ImageTextEncoder::similarity(const Tensor& images, const std::vector<std::string>& captions) {
  FRESCO_CHECK(images.defined() && images.dim() == 4 && images.size(0) == static_cast<int64_t>(captions.size()),
               "ImageTextEncoder::similarity: expected N images [N, C, S, S] and N captions, got {} and {} captions",
               images.defined() ? shape_str(images.shape()) : "an undefined tensor", captions.size());
  return sum(embed_images(images) * embed_captions(captions), {1});
}

void ImageTextEncoder::write_parts(std::map<std::string, Tensor>& tensors, std::map<std::string, std::string>& metadata,
                                   const std::string& prefix) const {
  for (auto& [key, value] : config_.to_metadata()) metadata[prefix + key] = value;
  metadata[prefix + "tokenizer"] = tokenizer_.to_json();
  for (auto& [name, t] : io::module_state(*this)) tensors[prefix + name] = t;
}

std::unique_ptr<ImageTextEncoder> ImageTextEncoder::read_parts(const io::LoadLimit& limit,
                                                               const std::map<std::string, Tensor>& tensors,
                                                               const std::string& prefix, const std::string& path) {
  std::map<std::string, std::string> meta;
  for (const auto& [key, value] : limit.header().metadata)
    if (key.rfind(prefix, 0) == 0) meta.emplace(key.substr(prefix.size()), value);
  const auto tok = meta.find("tokenizer");
  FRESCO_CHECK(tok != meta.end(), "no \"{}tokenizer\" in its metadata", prefix);
  const ImageTextEncoderConfig config = ImageTextEncoderConfig::from_metadata(meta, path);
  text::expect_gpt_tensors(limit, config.gpt, prefix + "gpt.");
  limit.expect_tensor(prefix + "text_proj.weight", {config.embed_dim, config.gpt.d_model});
  limit.expect_tensor(prefix + "image.fc.weight", {config.image.feature_dim, 4 * config.image.width * 16});
  auto tokenizer = text::BpeTokenizer::from_json(tok->second);
  FRESCO_CHECK(tokenizer.vocab_size() == config.gpt.vocab_size, "the tokenizer has {} tokens, the text model reads {}",
               tokenizer.vocab_size(), config.gpt.vocab_size);
  auto model = std::make_unique<ImageTextEncoder>(config, std::move(tokenizer));
  io::load_module_state(*model, prefix.empty() ? tensors : io::strip_prefix(tensors, prefix), path);
  model->eval();
  return model;
}

void ImageTextEncoder::save(const std::string& path) const {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> meta;
  write_parts(tensors, meta, "");
  meta["format"] = kFormat;
  io::save_safetensors(tensors, path, meta);
}

std::unique_ptr<ImageTextEncoder> ImageTextEncoder::load(const std::string& path) {
  const io::LoadLimit limit(path, "ImageTextEncoder::load");   // no tensor past what the file can fill
  const auto& meta = limit.header().metadata;
  io::require_format(meta, kFormat, path, "ImageTextEncoder::load",
                     "an image-text encoder (train one with train_classifier --retrieval)");
  try {
    return read_parts(limit, io::load_safetensors(path), "", path);
  } catch (const IoError&) {
    throw;
  } catch (const Error& e) {
    throw IoError(fmt::format("ImageTextEncoder::load: {}: {}", path, e.what()));
  }
}

ImageTextReport train_image_text_encoder(ImageTextEncoder& model, std::shared_ptr<const data::Dataset> train,
                                         const TrainImageTextOptions& o) {
  using Clock = std::chrono::steady_clock;
  FRESCO_CHECK(o.steps > 0 || o.minutes > 0, "train_image_text_encoder: set .steps or .minutes (both are 0)");
  FRESCO_CHECK(o.steps >= 0 && o.minutes >= 0 && o.lr > 0 && o.batch_size >= 2 && o.warmup_steps >= 0 &&
                   o.log_every >= 1,
               "train_image_text_encoder: need steps, minutes, warmup_steps >= 0, lr > 0, batch_size >= 2 and "
               "log_every >= 1, got {}, {}, {}, {}, {} and {}",
               o.steps, o.minutes, o.warmup_steps, o.lr, o.batch_size, o.log_every);
  FRESCO_CHECK(train && train->size() >= o.batch_size,
               "train_image_text_encoder: the training set has {} pairs, fewer than one batch of {}",
               train ? train->size() : 0, o.batch_size);
  data::DataLoader loader(std::move(train), {.batch_size = o.batch_size, .shuffle = true, .seed = o.seed, .drop_last = true});
  const double budget_s = o.minutes * 60.0;
  const optim::WarmupCosineLr schedule(
      o.lr, o.steps, {.warmup_steps = o.warmup_steps, .budget_seconds = budget_s, .decay_from_start = true});
  optim::AdamW opt(model.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay});
  model.train();
  const auto t0 = Clock::now();
  const auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  ImageTextReport report;
  double window_loss = 0, window_hits = 0;
  int64_t window_steps = 0, step = 0;
  bool done = false;
  for (int64_t epoch = 0; !done; ++epoch) {
    for (data::Batch& b : loader.epoch(epoch)) {
      if ((done = schedule.progress(step, seconds()) >= 1.0)) break;
      const float lr = schedule.lr_at(step, seconds());
      opt.set_lr(lr);
      const Tensor sim = matmul(model.embed_images(b.images), model.embed_captions(b.captions).transpose(0, 1)) *
                         (1.f / model.config().temperature);
      const Tensor loss = contrastive_loss(sim);
      loss.backward();
      opt.step();
      opt.zero_grad();
      const float l = loss.item();
      FRESCO_CHECK(std::isfinite(l), "train_image_text_encoder: the loss is {} at step {}", l, step);
      if (step == 0) report.first_loss = l;
      const std::vector<float> best = argmax(sim.detach(), 1).to_vector();
      for (size_t i = 0; i < best.size(); ++i) window_hits += static_cast<int64_t>(best[i]) == static_cast<int64_t>(i);
      window_loss += l;
      ++window_steps;
      ++step;
      if (step % o.log_every == 0) {
        report.last_loss = static_cast<float>(window_loss / static_cast<double>(window_steps));
        if (o.on_progress) {
          Progress p;
          p.stage = "retrieval";
          p.step = step;
          p.total = o.steps;
          p.elapsed = seconds();
          p.fraction = schedule.progress(step, p.elapsed);
          p.eta = p.fraction > 0 ? p.elapsed / p.fraction * (1 - p.fraction) : -1;
          p.values = {{"loss", report.last_loss},
                      {"top-1 %", 100.0 * window_hits / static_cast<double>(window_steps * o.batch_size)},
                      {"lr", lr}};
          o.on_progress(p);
        }
        window_loss = window_hits = 0;
        window_steps = 0;
      }
    }
  }
  if (window_steps > 0) report.last_loss = static_cast<float>(window_loss / static_cast<double>(window_steps));
  report.steps = step;
  report.seconds = seconds();
  model.eval();
  if (o.on_progress) {
    Progress p;
    p.stage = "retrieval";
    p.step = p.total = step;
    p.elapsed = report.seconds;
    p.fraction = 1;
    p.eta = 0;
    p.done = true;
    p.values = {{"loss", report.last_loss}};
    o.on_progress(p);
  }
  return report;
}

double caption_retrieval_precision(ImageTextEncoder& model, const Tensor& images,
                                   const std::vector<std::string>& captions, const std::vector<std::string>& pool,
                                   const RetrievalOptions& o) {
  const auto n = static_cast<int64_t>(captions.size());
  FRESCO_CHECK(images.defined() && images.dim() == 4 && images.size(0) == n && n > 0,
               "caption_retrieval_precision: expected images [N, C, S, S] for N = {} captions, got {}", n,
               images.defined() ? shape_str(images.shape()) : "an undefined tensor");
  FRESCO_CHECK(o.candidates >= 2 && o.batch_size >= 1,
               "caption_retrieval_precision: need candidates >= 2 and batch_size >= 1, got {} and {}", o.candidates,
               o.batch_size);
  // The distinct captions of the pool, embedded once.
  std::vector<std::string> distinct = pool;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  NoGradGuard guard;
  std::vector<float> pool_vec;
  for (size_t first = 0; first < distinct.size(); first += static_cast<size_t>(o.batch_size)) {
    const size_t last = std::min(distinct.size(), first + static_cast<size_t>(o.batch_size));
    const auto v = model.embed_captions({distinct.begin() + static_cast<std::ptrdiff_t>(first),
                                         distinct.begin() + static_cast<std::ptrdiff_t>(last)})
                       .to_vector();
    pool_vec.insert(pool_vec.end(), v.begin(), v.end());
  }
  const int64_t e = model.config().embed_dim;
  Generator gen(o.seed);
  int64_t hits = 0;
  std::vector<int64_t> order;   // the pool without the image's own caption, partly shuffled
  for (int64_t first = 0; first < n; first += o.batch_size) {
    const int64_t b = std::min(o.batch_size, n - first);
    const std::vector<std::string> own(captions.begin() + first, captions.begin() + first + b);
    const std::vector<float> img = model.embed_images(images.slice(0, first, first + b)).to_vector();
    const std::vector<float> cap = model.embed_captions(own).to_vector();
    for (int64_t i = 0; i < b; ++i) {
      const auto dot = [&](const float* v) {
        float s = 0;
        for (int64_t k = 0; k < e; ++k) s += img[static_cast<size_t>(i * e + k)] * v[k];
        return s;
      };
      const float mine = dot(cap.data() + i * e);
      // candidates - 1 distinct others, drawn without repeats (a partial Fisher-Yates over the pool).
      const auto self = std::lower_bound(distinct.begin(), distinct.end(), own[static_cast<size_t>(i)]);
      const bool in_pool = self != distinct.end() && *self == own[static_cast<size_t>(i)];
      const auto self_index = static_cast<int64_t>(self - distinct.begin());
      const int64_t others = static_cast<int64_t>(distinct.size()) - (in_pool ? 1 : 0);
      FRESCO_CHECK(others >= o.candidates - 1,
                   "caption_retrieval_precision: the pool has {} captions other than \"{}\", {} are needed", others,
                   own[static_cast<size_t>(i)], o.candidates - 1);
      order.resize(static_cast<size_t>(others));
      for (int64_t k = 0, j = 0; k < static_cast<int64_t>(distinct.size()); ++k)
        if (!(in_pool && k == self_index)) order[static_cast<size_t>(j++)] = k;
      bool first_place = true;
      for (int64_t k = 0; k < o.candidates - 1 && first_place; ++k) {
        const int64_t pick = k + static_cast<int64_t>(gen.next_u64() % static_cast<uint64_t>(others - k));
        std::swap(order[static_cast<size_t>(k)], order[static_cast<size_t>(pick)]);
        first_place = dot(pool_vec.data() + order[static_cast<size_t>(k)] * e) < mine;
      }
      hits += first_place;
    }
  }
  return static_cast<double>(hits) / static_cast<double>(n);
}

}  // namespace fresco::eval
