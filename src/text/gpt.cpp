// SPDX-License-Identifier: Apache-2.0
// The GPT forward pass (embeddings, causal blocks, tied LM head), its losses,
// the caption vectors, and model files. Generation lives in gpt_generate.cpp.
// Legend: B batch, T sequence length, C d_model, V vocab_size.
#include <fresco/text/gpt.hpp>

#include <numeric>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/nn/init.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/loss.hpp>
#include <fresco/ops/matmul.hpp>
#include <fresco/ops/shape.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco::text {

void GptConfig::validate() const {
  FRESCO_CHECK(vocab_size >= BpeTokenizer::kFirstMergeId,
               "GptConfig: vocab_size must be at least {} (256 bytes + 3 special tokens), got {}",
               BpeTokenizer::kFirstMergeId, vocab_size);
  FRESCO_CHECK(context >= 1, "GptConfig: context must be positive, got {}", context);
  FRESCO_CHECK(d_model >= 1, "GptConfig: d_model must be positive, got {}", d_model);
  FRESCO_CHECK(heads >= 1 && d_model % heads == 0, "GptConfig: d_model ({}) must be a multiple of heads ({})", d_model,
               heads);
  FRESCO_CHECK(layers >= 1, "GptConfig: layers must be positive, got {}", layers);
  FRESCO_CHECK(mlp_ratio >= 1, "GptConfig: mlp_ratio must be positive, got {}", mlp_ratio);
  FRESCO_CHECK(dropout >= 0.f && dropout < 1.f, "GptConfig: dropout must be in [0, 1), got {}", dropout);
}

namespace {

// Each field once, for both directions of the metadata.
template <class Config, class Field>
void fields(Config& c, Field&& field) {
  field("vocab_size", c.vocab_size), field("context", c.context), field("d_model", c.d_model);
  field("heads", c.heads), field("layers", c.layers), field("mlp_ratio", c.mlp_ratio);
  field("dropout", c.dropout), field("seed", c.seed);
}

}  // namespace

std::map<std::string, std::string> GptConfig::to_metadata() const {
  io::MetadataWriter writer("gpt.");
  fields(*this, writer);
  return writer.metadata;
}

GptConfig GptConfig::from_metadata(const std::map<std::string, std::string>& m) {
  GptConfig c;
  fields(c, io::MetadataReader(m, "gpt.", "GptConfig::from_metadata"));
  c.validate();
  return c;
}

namespace {

// Runs before the members are built, so that a bad config is reported as GptConfig's.
const GptConfig& validated(const GptConfig& c) {
  c.validate();
  return c;
}

}  // namespace

Gpt::Gpt(GptConfig config)
    : wte(validated(config).vocab_size, config.d_model),
      wpe(config.context, config.d_model),
      ln_f({config.d_model}),
      config_(config) {
  register_module("wte", wte);
  register_module("wpe", wpe);
  for (int64_t i = 0; i < config.layers; ++i)
    blocks.emplace_back(config.d_model, config.heads,
                        nn::TransformerBlockOptions{.mlp_ratio = config.mlp_ratio, .dropout = config.dropout,
                                                    .causal = true});
  register_module("blocks", blocks);
  register_module("ln_f", ln_f);

  // Re-initialise what the layers drew as GPT-2 does (the peer's models.py): N(0, 0.02) weights, zero biases.
  NoGradGuard guard;
  Generator gen(config.seed);
  nn::init::normal_(wte.weight, 0.02f, gen);
  nn::init::normal_(wpe.weight, 0.02f, gen);
  for (auto& b : blocks) {
    nn::init::normal_(b.attn.in_proj_weight, 0.02f, gen);
    nn::init::zeros_(b.attn.in_proj_bias);
    nn::init::normal_(b.attn.out_proj.weight, 0.02f, gen);
    nn::init::zeros_(b.attn.out_proj.bias);
    nn::init::normal_(b.fc.weight, 0.02f, gen);
    nn::init::zeros_(b.fc.bias);
    nn::init::normal_(b.proj.weight, 0.02f, gen);
    nn::init::zeros_(b.proj.bias);
  }
}

void Gpt::check_ids(const std::vector<int64_t>& ids, int64_t batch, int64_t seq, const char* fn) const {
  FRESCO_CHECK(batch >= 1 && seq >= 1, "Gpt::{}: batch and seq must be positive, got [{}, {}]", fn, batch, seq);
  FRESCO_CHECK(seq <= config_.context, "Gpt::{}: sequence length {} exceeds the context {}", fn, seq,
               config_.context);
  FRESCO_CHECK_SHAPE(static_cast<int64_t>(ids.size()) == batch * seq,
                     "Gpt::{}: expected {} ids ([{}, {}]), got {}", fn, batch * seq, batch, seq, ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    FRESCO_CHECK(ids[i] >= 0 && ids[i] < config_.vocab_size,
                 "Gpt::{}: id {} at position {} is outside the vocabulary [0, {})", fn, ids[i], i,
                 config_.vocab_size);
}

Tensor Gpt::token_features(const std::vector<int64_t>& ids, int64_t batch, int64_t seq) const {
  check_ids(ids, batch, seq, "token_features");
  std::vector<int64_t> positions(static_cast<size_t>(seq));
  std::iota(positions.begin(), positions.end(), int64_t{0});
  Tensor x = wte(ids, {batch, seq}) + wpe(positions, {seq});  // [B, T, C] + [T, C]
  for (auto& b : blocks) x = b(x);
  return ln_f(x);
}

Tensor Gpt::forward(const std::vector<int64_t>& ids, int64_t batch, int64_t seq) const {
  // Tied head: logits = h · wteᵀ, so wte.weight collects gradient from both uses.
  return linear(token_features(ids, batch, seq), wte.weight);
}

Tensor Gpt::sentence_embedding(const std::vector<int64_t>& ids, int64_t batch, int64_t seq) const {
  Tensor h = token_features(ids, batch, seq);
  std::vector<int64_t> rows(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t* row = ids.data() + b * seq;
    int64_t end = -1;
    for (int64_t t = 0; t < seq && end < 0; ++t)
      if (row[t] == BpeTokenizer::kEosId) end = t;
    for (int64_t t = seq - 1; t >= 0 && end < 0; --t)
      if (row[t] != BpeTokenizer::kPadId) end = t;
    FRESCO_CHECK(end >= 0, "Gpt::sentence_embedding: row {} holds only <|pad|> tokens", b);
    rows[static_cast<size_t>(b)] = b * seq + end;
  }
  return index_select(h.reshape({batch * seq, config_.d_model}), 0, rows);
}

Tensor Gpt::loss(const std::vector<int64_t>& ids, int64_t batch, int64_t seq) const {
  FRESCO_CHECK(seq >= 2, "Gpt::loss: next-token prediction needs sequences of at least 2 tokens, got {}", seq);
  check_ids(ids, batch, seq, "loss");
  // Position t predicts ids[t+1]; the last position and padding targets do not count.
  std::vector<int64_t> targets(ids.size(), -100);
  int64_t counted = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t + 1 < seq; ++t) {
      const int64_t next = ids[static_cast<size_t>(b * seq + t + 1)];
      if (next == BpeTokenizer::kPadId) continue;
      targets[static_cast<size_t>(b * seq + t)] = next;
      ++counted;
    }
  FRESCO_CHECK(counted > 0, "Gpt::loss: every target is <|pad|>, nothing to predict");
  return cross_entropy(forward(ids, batch, seq).reshape({batch * seq, config_.vocab_size}), targets, -100);
}

Tensor Gpt::loss(const std::vector<int64_t>& ids, const std::vector<int64_t>& targets, int64_t batch, int64_t seq,
                 int64_t ignore_index) const {
  FRESCO_CHECK_SHAPE(targets.size() == ids.size(), "Gpt::loss: expected as many targets as ids ({}), got {}",
                     ids.size(), targets.size());
  for (size_t i = 0; i < targets.size(); ++i)
    FRESCO_CHECK(targets[i] == ignore_index || (targets[i] >= 0 && targets[i] < config_.vocab_size),
                 "Gpt::loss: target {} at position {} is outside the vocabulary [0, {})", targets[i], i,
                 config_.vocab_size);
  return cross_entropy(forward(ids, batch, seq).reshape({batch * seq, config_.vocab_size}), targets, ignore_index);
}

void save_gpt(const Gpt& gpt, const BpeTokenizer& tokenizer, const std::string& path) {
  FRESCO_CHECK(tokenizer.vocab_size() <= gpt.config().vocab_size,
               "save_gpt: the tokenizer has {} tokens but the model only {}", tokenizer.vocab_size(),
               gpt.config().vocab_size);
  std::map<std::string, std::string> metadata = gpt.config().to_metadata();
  metadata["format"] = "fresco-gpt";
  metadata["tokenizer"] = tokenizer.to_json();
  io::save(gpt, path, metadata);
}

LoadedGpt load_gpt(const std::string& path) {
  const io::LoadLimit limit(path, "load_gpt");
  const std::map<std::string, std::string>& metadata = limit.header().metadata;
  auto format = metadata.find("format");
  if (format == metadata.end() || format->second != "fresco-gpt")
    throw IoError(fmt::format("load_gpt: {} is not a GPT file written by save_gpt (metadata \"format\" is not "
                              "\"fresco-gpt\")",
                              path));
  GptConfig config;
  BpeTokenizer tokenizer;
  try {
    config = GptConfig::from_metadata(metadata);
    auto tok = metadata.find("tokenizer");
    FRESCO_CHECK(tok != metadata.end(), "no \"tokenizer\" metadata");
    tokenizer = BpeTokenizer::from_json(tok->second);
  } catch (const Error& e) {
    throw IoError(fmt::format("load_gpt: {}: {}", path, e.what()));
  }
  FRESCO_CHECK(tokenizer.vocab_size() <= config.vocab_size,
               "load_gpt: {}: the tokenizer has {} tokens but the model only {}", path, tokenizer.vocab_size(),
               config.vocab_size);
  expect_gpt_tensors(limit, config, "");
  LoadedGpt out{std::make_unique<Gpt>(config), std::move(tokenizer)};
  io::load(*out.gpt, path);
  return out;
}

void expect_gpt_tensors(const io::LoadLimit& limit, const GptConfig& config, const std::string& prefix) {
  constexpr int64_t kMaxLayers = int64_t{1} << 20, kMaxSize = int64_t{1} << 24;
  const std::pair<const char*, int64_t> sizes[] = {{"vocab_size", config.vocab_size}, {"context", config.context},
                                                   {"d_model", config.d_model},       {"heads", config.heads},
                                                   {"layers", config.layers},         {"mlp_ratio", config.mlp_ratio}};
  for (const auto& [name, v] : sizes) {
    const int64_t cap = std::string_view(name) == "layers" ? kMaxLayers : kMaxSize;
    if (v > cap)
      limit.fail(fmt::format("the metadata's gpt.{} is {}, more than any model fresco builds (at most {}); the "
                             "metadata is damaged",
                             name, v, cap));
  }
  const int64_t d = config.d_model;
  const std::string last = fmt::format("{}blocks.{}.", prefix, config.layers - 1);
  limit.expect_tensor(prefix + "wte.weight", {config.vocab_size, d});
  limit.expect_tensor(prefix + "wpe.weight", {config.context, d});
  limit.expect_tensor(last + "attn.in_proj_weight", {3 * d, d});
  limit.expect_tensor(last + "fc.weight", {config.mlp_ratio * d, d});
}

}  // namespace fresco::text
