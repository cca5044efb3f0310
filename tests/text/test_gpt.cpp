// SPDX-License-Identifier: Apache-2.0
#include "support/check.hpp"

#include <cmath>
#include <cstdlib>

#include <fresco/autograd/autograd.hpp>
#include <fresco/text/gpt.hpp>

#include "io/temp_dir.hpp"

using fresco::Tensor;
using fresco::text::BpeTokenizer;
using fresco::text::Gpt;
using fresco::text::GptConfig;

namespace {

// Parameters redrawn larger than GPT-2's N(0, 0.02), so that gradients and
// logits are far from zero and from ties.
void scale_up(Gpt& gpt, uint64_t seed, float std = 0.3f) {
  fresco::NoGradGuard guard;
  fresco::Generator gen(seed);
  for (auto& [name, p] : gpt.named_parameters()) {
    float* d = p.data();
    const bool ln = name.find("ln") != std::string::npos;
    for (int64_t i = 0; i < p.numel(); ++i) d[i] = (ln && name.ends_with("weight") ? 1.f : 0.f) + std * gen.normal();
  }
}

std::vector<int64_t> random_ids(int64_t n, int64_t vocab, uint64_t seed) {
  fresco::Generator gen(seed);
  std::vector<int64_t> ids(static_cast<size_t>(n));
  for (auto& i : ids) i = static_cast<int64_t>(gen.below(static_cast<uint64_t>(vocab)));
  return ids;
}

int64_t argmax_last(const Tensor& logits) {  // [1, T, V] -> argmax at T-1
  const int64_t T = logits.size(1), V = logits.size(2);
  std::vector<float> v = logits.contiguous().to_vector();
  const float* row = v.data() + (T - 1) * V;
  return std::max_element(row, row + V) - row;
}

// Gradcheck runs hundreds of forward passes of a tiny model: at these sizes a
// parallel region costs more than it saves (on a loaded machine, milliseconds).
struct OneThread {
  int previous = fresco::num_threads();
  OneThread() { fresco::set_num_threads(1); }
  ~OneThread() { fresco::set_num_threads(previous); }
};

const GptConfig kTiny{.vocab_size = 260, .context = 4, .d_model = 8, .heads = 2, .layers = 1, .mlp_ratio = 2};
const GptConfig kSmall{.vocab_size = 300, .context = 16, .d_model = 32, .heads = 4, .layers = 2, .mlp_ratio = 4};

}  // namespace

TEST_CASE("Gpt: parameter names, tied head and count", "[text][gpt]") {
  Gpt gpt(kSmall);
  const int64_t V = 300, P = 16, C = 32, L = 2;
  int64_t expected = V * C + P * C + 2 * C;  // wte, wpe, ln_f
  expected += L * (2 * C + 3 * C * C + 3 * C + C * C + C + 2 * C + 4 * C * C + 4 * C + 4 * C * C + C);
  CHECK(gpt.num_parameters() == expected);
  std::vector<std::string> names;
  for (auto& [n, p] : gpt.named_parameters()) names.push_back(n);
  CHECK(names.front() == "wte.weight");
  CHECK(std::find(names.begin(), names.end(), "blocks.1.attn.in_proj_weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "ln_f.bias") != names.end());
  for (const auto& n : names) CHECK(n.find("lm_head") == std::string::npos);
}

TEST_CASE("Gpt: initialisation as GPT-2 (N(0, 0.02), zero biases)", "[text][gpt]") {
  Gpt gpt({.seed = 3});
  for (auto& [name, p] : gpt.named_parameters()) {
    std::vector<float> v = p.to_vector();
    double s = 0, s2 = 0;
    for (float x : v) s += x, s2 += static_cast<double>(x) * x;
    const double mean = s / static_cast<double>(v.size()), var = s2 / static_cast<double>(v.size()) - mean * mean;
    INFO(name);
    if (name.find("ln") != std::string::npos) {
      CHECK(mean == (name.ends_with("weight") ? 1.0 : 0.0));
      CHECK(var == 0.0);
    } else if (name.ends_with("bias")) {
      CHECK(s2 == 0.0);
    } else {
      CHECK(std::abs(mean) < 0.002);
      CHECK(std::sqrt(var) == Approx(0.02).epsilon(0.05));
    }
  }
  // The seed decides the weights.
  Gpt same({.seed = 3}), other({.seed = 4});
  CHECK(same.wte.weight.to_vector() == gpt.wte.weight.to_vector());
  CHECK(other.wte.weight.to_vector() != gpt.wte.weight.to_vector());
}

TEST_CASE("Gpt: loss at initialisation is close to ln(vocab_size)", "[text][gpt]") {
  Gpt gpt;  // the W2 configuration: V = 512
  const auto ids = random_ids(4 * 32, 512, 11);
  const float loss = gpt.loss(ids, 4, 32).item();
  CHECK(std::abs(loss - std::log(512.f)) < 0.1f);
  // The explicit-target form with every target counted is the same cross-entropy.
  std::vector<int64_t> targets(ids.size(), -100);
  for (size_t i = 0; i + 1 < ids.size(); ++i)
    if ((i + 1) % 32 != 0 && ids[i + 1] != BpeTokenizer::kPadId) targets[i] = ids[i + 1];
  CHECK(gpt.loss(ids, targets, 4, 32).item() == Approx(loss).epsilon(1e-6));
}

TEST_CASE("Gpt: gradcheck of logits and loss on a tiny model", "[text][gpt]") {
  OneThread one_thread;
  Gpt gpt(kTiny);
  scale_up(gpt, 5);
  const std::vector<int64_t> ids{256, 3, 259, 7, 256, 97, 98, 257};  // [2, 4]
  const Tensor wte = gpt.wte.weight, fc = gpt.blocks[0].fc.weight;
  // Checked: rows 250..259 of the tied weight (the ids 256, 257 and 259 read
  // them through the lookup, every logit through the head) and a block weight.
  const Tensor wte_fixed = wte.slice(0, 0, 250).detach();
  Tensor wte_rows = fresco::tensor(wte.slice(0, 250, 260).to_vector(), {10, 8});
  wte_rows.requires_grad_();
  fresco::gradcheck(
      [&](const std::vector<Tensor>& in) {
        gpt.wte.weight = fresco::cat({wte_fixed, in[0]}, 0);
        gpt.blocks[0].fc.weight = in[1];
        // The logits of the ids 250..259: few outputs keep float round-off
        // out of the central differences.
        return gpt.forward(ids, 2, 4).slice(2, 250, 260);
      },
      {wte_rows, fc}, {.eps = 1e-2});
  const Tensor wpe = gpt.wpe.weight, qkv = gpt.blocks[0].attn.in_proj_weight, lnw = gpt.ln_f.weight;
  fresco::gradcheck(
      [&](const std::vector<Tensor>& in) {
        gpt.wpe.weight = in[0];
        gpt.blocks[0].attn.in_proj_weight = in[1];
        gpt.ln_f.weight = in[2];
        return gpt.loss(ids, 2, 4);
      },
      {wpe, qkv, lnw}, {.eps = 1e-2});
  gpt.wte.weight = wte;
  gpt.blocks[0].fc.weight = fc;
  gpt.wpe.weight = wpe;
  gpt.blocks[0].attn.in_proj_weight = qkv;
  gpt.ln_f.weight = lnw;
}

TEST_CASE("Gpt: tied head gives gradient to tokens absent from the input", "[text][gpt]") {
  Gpt gpt(kSmall);
  const std::vector<int64_t> ids{256, 10, 11, 12, 257};
  gpt.loss(ids, 1, 5).backward();
  std::vector<float> g = gpt.wte.weight.grad().to_vector();
  auto row_norm = [&](int64_t r) {
    double s = 0;
    for (int64_t c = 0; c < 32; ++c) s += std::abs(g[static_cast<size_t>(r * 32 + c)]);
    return s;
  };
  CHECK(row_norm(200) > 0);  // only the LM head reads row 200
  CHECK(row_norm(10) > 0);
}

TEST_CASE("Gpt: causal, a later token never changes earlier logits (bitwise)", "[text][gpt]") {
  Gpt gpt(kSmall);
  scale_up(gpt, 7);
  const int64_t B = 2, T = 16;
  const auto ids = random_ids(B * T, 300, 13);
  const std::vector<float> base = gpt.forward(ids, B, T).to_vector();
  for (int64_t t = 0; t + 1 < T; ++t) {
    auto changed = ids;
    changed[static_cast<size_t>(t + 1)] = (changed[static_cast<size_t>(t + 1)] + 1) % 300;  // row 0
    const std::vector<float> out = gpt.forward(changed, B, T).to_vector();
    bool same_before = true, differs_after = false, row1_same = true;
    for (int64_t p = 0; p < T; ++p)
      for (int64_t v = 0; v < 300; ++v) {
        const size_t i0 = static_cast<size_t>(p * 300 + v), i1 = static_cast<size_t>((T + p) * 300 + v);
        if (p <= t) same_before = same_before && out[i0] == base[i0];
        else differs_after = differs_after || out[i0] != base[i0];
        row1_same = row1_same && out[i1] == base[i1];
      }
    INFO("changed token " << t + 1);
    CHECK(same_before);
    CHECK(differs_after);
    CHECK(row1_same);
  }
}

TEST_CASE("Gpt: cached generation equals uncached greedy generation", "[text][gpt]") {
  Gpt gpt(kSmall);
  scale_up(gpt, 9, 0.2f);
  for (const std::vector<int64_t>& prompt : {std::vector<int64_t>{256}, std::vector<int64_t>{256, 40, 41, 299}}) {
    const auto cached = gpt.generate(prompt, 100, {.temperature = 0, .stop_at_eos = false});
    CHECK(cached.size() == 16);  // stops at the context
    std::vector<int64_t> seq = prompt;
    while (static_cast<int64_t>(seq.size()) < 16)
      seq.push_back(argmax_last(gpt.forward(seq, 1, static_cast<int64_t>(seq.size()))));
    CHECK(cached == seq);
  }
  // top_k = 1 and a tiny top_p are greedy too, at any temperature.
  const std::vector<int64_t> p{256, 5};
  const auto greedy = gpt.generate(p, 10, {.temperature = 0, .stop_at_eos = false});
  CHECK(gpt.generate(p, 10, {.temperature = 2, .top_k = 1, .seed = 4, .stop_at_eos = false}) == greedy);
  CHECK(gpt.generate(p, 10, {.temperature = 1, .top_p = 1e-6f, .seed = 4, .stop_at_eos = false}) == greedy);
}

TEST_CASE("Gpt: sampling is seeded, batched rows match single prompts, eos stops", "[text][gpt]") {
  Gpt gpt(kSmall);
  scale_up(gpt, 21, 0.2f);
  const std::vector<int64_t> p{256, 100};
  const auto a = gpt.generate(p, 12, {.seed = 1, .stop_at_eos = false});
  CHECK(a == gpt.generate(p, 12, {.seed = 1, .stop_at_eos = false}));
  CHECK(a.size() == 14);
  bool any_diff = false;
  for (uint64_t s = 2; s < 6; ++s) any_diff = any_diff || gpt.generate(p, 12, {.seed = s, .stop_at_eos = false}) != a;
  CHECK(any_diff);
  const auto batch = gpt.generate_batch({p, {256, 7}}, 12, {.seed = 1, .stop_at_eos = false});
  REQUIRE(batch.size() == 2);
  CHECK(batch[0] == a);
  // Make <|eos|> the most likely token everywhere: ln_f outputs eos's own
  // embedding e, and eos's head row becomes 10e, so its logit 10|e|² wins.
  {
    fresco::NoGradGuard guard;
    float* w = gpt.wte.weight.data();
    for (int64_t c = 0; c < 32; ++c) {
      gpt.ln_f.weight.data()[c] = 0.f;
      gpt.ln_f.bias.data()[c] = w[257 * 32 + c];
      w[257 * 32 + c] *= 10.f;
    }
  }
  const auto stopped = gpt.generate(p, 12, {.temperature = 0});
  CHECK(stopped.size() <= 14);
  CHECK(stopped.back() == BpeTokenizer::kEosId);
  CHECK(std::count(stopped.begin(), stopped.end(), BpeTokenizer::kEosId) == 1);
}

TEST_CASE("Gpt: sentence_embedding is the hidden state at the end token", "[text][gpt]") {
  Gpt gpt(kSmall);
  scale_up(gpt, 2);
  const int64_t P = BpeTokenizer::kPadId, E = BpeTokenizer::kEosId;
  const std::vector<int64_t> ids{256, 50, 51, E, P, P,    // eos at 3
                                 256, 60, 61, 62, 63, E,  // eos at 5
                                 256, 70, 71, P, P, P};   // no eos: last non-pad at 2
  const Tensor h = gpt.token_features(ids, 3, 6);
  REQUIRE(h.shape() == fresco::Shape({3, 6, 32}));
  const Tensor s = gpt.sentence_embedding(ids, 3, 6);
  REQUIRE(s.shape() == fresco::Shape({3, 32}));
  const std::vector<float> hv = h.to_vector(), sv = s.to_vector();
  const int64_t at[3] = {3, 5, 2};
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t c = 0; c < 32; ++c)
      CHECK(sv[static_cast<size_t>(b * 32 + c)] == hv[static_cast<size_t>((b * 6 + at[b]) * 32 + c)]);
  // Trailing padding does not change the embedding (causal attention).
  const Tensor short_one = gpt.sentence_embedding({256, 50, 51, E}, 1, 4);
  CHECK(fresco::testing::max_abs_diff(short_one.to_vector(), s.slice(0, 0, 1).reshape({1, 32}).to_vector()) < 1e-5);
}

TEST_CASE("Gpt: save_gpt and load_gpt round trip", "[text][gpt]") {
  fresco::test::TempDir dir;
  Gpt gpt(kSmall);
  scale_up(gpt, 31);
  const auto tok = BpeTokenizer::train({"a red circle", "a blue square", "a red square at the top"}, 270);
  fresco::text::save_gpt(gpt, tok, dir.file("m.safetensors"));
  auto loaded = fresco::text::load_gpt(dir.file("m.safetensors"));
  CHECK(loaded.gpt->config().d_model == 32);
  CHECK(loaded.gpt->config().layers == 2);
  CHECK(loaded.tokenizer.merges() == tok.merges());
  const auto ids = random_ids(2 * 8, 300, 3);
  CHECK(loaded.gpt->forward(ids, 2, 8).to_vector() == gpt.forward(ids, 2, 8).to_vector());
  fresco::io::save(gpt, dir.file("plain.safetensors"));
  CHECK_THROWS_WITH(fresco::text::load_gpt(dir.file("plain.safetensors")), Catch::Contains("not a GPT file"));
  CHECK_THROWS_AS(fresco::text::load_gpt(dir.file("missing.safetensors")), fresco::IoError);
}

TEST_CASE("Gpt: errors", "[text][gpt]") {
  CHECK_THROWS_WITH(Gpt({.vocab_size = 100}), Catch::Contains("vocab_size must be at least 259"));
  CHECK_THROWS_WITH(Gpt({.d_model = 30, .heads = 4}), Catch::Contains("multiple of heads"));
  CHECK_THROWS_WITH(Gpt({.layers = 0}), Catch::Contains("layers must be positive"));
  CHECK_THROWS_WITH(Gpt({.dropout = 1.f}), Catch::Contains("dropout"));
  Gpt gpt(kTiny);
  CHECK_THROWS_WITH(gpt.forward({1, 2, 260}, 1, 3), Catch::Contains("id 260 at position 2 is outside the vocabulary"));
  CHECK_THROWS_WITH(gpt.forward({1, 2, -1}, 1, 3), Catch::Contains("outside the vocabulary"));
  CHECK_THROWS_WITH(gpt.forward({1, 2, 3, 4, 5}, 1, 5), Catch::Contains("exceeds the context 4"));
  CHECK_THROWS_AS(gpt.forward({1, 2, 3}, 2, 2), fresco::ShapeError);
  CHECK_THROWS_WITH(gpt.loss({1}, 1, 1), Catch::Contains("at least 2 tokens"));
  CHECK_THROWS_WITH(gpt.loss({1, 258}, 1, 2), Catch::Contains("every target is <|pad|>"));
  CHECK_THROWS_WITH(gpt.loss({1, 2}, {2, 999}, 1, 2), Catch::Contains("target 999"));
  CHECK_THROWS_WITH(gpt.sentence_embedding({258, 258}, 1, 2), Catch::Contains("only <|pad|>"));
  CHECK_THROWS_WITH(gpt.generate({}, 3), Catch::Contains("prompt is empty"));
  CHECK_THROWS_WITH(gpt.generate_batch({{256}, {256, 1}}, 3),
                    Catch::Contains("share one length"));
  CHECK_THROWS_WITH(gpt.generate({256}, 3, {.temperature = -1}), Catch::Contains("temperature"));
  CHECK_THROWS_WITH(gpt.generate({256}, 3, {.top_p = 0}), Catch::Contains("top_p"));
  CHECK_THROWS_WITH(gpt.generate({256}, 3, {.top_k = -2}), Catch::Contains("top_k"));
  CHECK_THROWS_WITH(gpt.generate({256, 1, 2, 3, 4}, 3), Catch::Contains("exceeds the context"));
  CHECK_THROWS_WITH(GptConfig::from_metadata({{"gpt.vocab_size", "x"}}), Catch::Contains("must be an integer"));
}
