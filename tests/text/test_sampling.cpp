// SPDX-License-Identifier: Apache-2.0
// text/sampling.hpp: the cached blocks against the full forward pass, and the
// sampler's frequencies against the softmax it samples from.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include <fresco/autograd/autograd.hpp>
#include <fresco/nn/transformer.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/text/sampling.hpp>

using namespace fresco;

namespace {

// Runs `ids` [B, T] through cached_blocks, a prefix of `prefix` positions in one call and
// then one position at a time (each with its rows of `bias` [H, T, T] when one is given),
// and checks every call's last hidden state against `full` [B, T, 16] of the full pass.
// With `both_ways`, the prefix is read both ways (cached_blocks' `prefix`).
void check_cached_against_full(const text::Gpt& gpt, const std::vector<int64_t>& ids, int64_t B, int64_t T,
                               int64_t prefix, const std::vector<float>& full, const std::vector<float>& bias = {},
                               bool both_ways = false) {
  const int64_t H = gpt.config().heads;
  auto caches = text::make_kv_caches(gpt.config(), B);
  for (int64_t p0 = 0; p0 < T;) {
    const int64_t n = p0 == 0 ? prefix : 1;
    std::vector<int64_t> chunk, positions(static_cast<size_t>(n));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < n; ++i) chunk.push_back(ids[static_cast<size_t>(b * T + p0 + i)]);
    std::iota(positions.begin(), positions.end(), p0);
    Tensor rows;
    if (!bias.empty()) {
      std::vector<float> r;
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < p0 + n; ++j) r.push_back(bias[static_cast<size_t>((h * T + p0 + i) * T + j)]);
      rows = tensor(r, {H, n, p0 + n});
    }
    const Tensor x = gpt.wte(chunk, {B, n}) + gpt.wpe(positions, {n});
    const auto h = text::cached_blocks(gpt, caches, x, p0, rows, both_ways ? prefix : 0).contiguous().to_vector();
    const int64_t last = p0 + n - 1;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < 16; ++c) {
        INFO("row " << b << " position " << last << " channel " << c);
        CHECK(h[static_cast<size_t>(b * 16 + c)] == Approx(full[static_cast<size_t>((b * T + last) * 16 + c)]).margin(1e-5));
      }
    p0 += n;
  }
}

}  // namespace

TEST_CASE("cached_blocks: position by position equals the full forward pass", "[text][sampling]") {
  text::Gpt gpt({.vocab_size = 300, .context = 12, .d_model = 16, .heads = 2, .layers = 2, .seed = 3});
  gpt.eval();
  const int64_t B = 2, T = 9;
  std::vector<int64_t> ids(static_cast<size_t>(B * T));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>((i * 37 + 5) % 300);
  NoGradGuard no_grad;
  const auto full = gpt.token_features(ids, B, T).contiguous().to_vector();   // [B, T, C]
  check_cached_against_full(gpt, ids, B, T, 4, full);
  auto caches = text::make_kv_caches(gpt.config(), B);
  CHECK_THROWS_WITH(text::cached_blocks(gpt, caches, zeros({B, 4, 16}), 10), Catch::Contains("outside the context"));
  CHECK_THROWS_WITH(text::cached_blocks(gpt, caches, zeros({B, 1, 8}), 0), Catch::Contains("[B, n, 16]"));
  auto small = text::make_kv_caches(gpt.config(), 1);
  CHECK_THROWS_WITH(text::cached_blocks(gpt, small, zeros({B, 1, 16}), 0), Catch::Contains("rows"));
}

TEST_CASE("cached_blocks: a bias on the new positions' scores and a prefix read both ways equal the full pass's masks",
          "[text][sampling]") {
  text::Gpt gpt({.vocab_size = 300, .context = 12, .d_model = 16, .heads = 2, .layers = 2, .seed = 4});
  gpt.eval();
  const int64_t B = 2, T = 7, H = 2;
  std::vector<int64_t> ids(static_cast<size_t>(B * T));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>((i * 53 + 11) % 300);
  std::vector<float> bias(static_cast<size_t>(H * T * T));
  for (size_t i = 0; i < bias.size(); ++i) bias[i] = static_cast<float>((i * 7919) % 23) / 10.f - 1.1f;
  const Tensor mask = tensor(bias, {1, H, T, T});
  NoGradGuard no_grad;
  std::vector<int64_t> positions(static_cast<size_t>(T));
  std::iota(positions.begin(), positions.end(), int64_t{0});
  Tensor x = gpt.wte(ids, {B, T}) + gpt.wpe(positions, {T});
  nn::TransformerBlockMasks masks;
  masks.attn_mask = mask;
  const bool both_ways = GENERATE(false, true);
  INFO("prefix read both ways " << both_ways);
  if (both_ways) masks.causal_prefix = 3;
  for (const auto& block : gpt.blocks) x = block(x, {}, masks);
  const auto full = gpt.ln_f(x).contiguous().to_vector();   // [B, T, C]
  check_cached_against_full(gpt, ids, B, T, 3, full, bias, both_ways);
  auto fresh = text::make_kv_caches(gpt.config(), B);
  CHECK_THROWS_WITH(text::cached_blocks(gpt, fresh, zeros({B, 2, 16}), 0, zeros({H, 2, 3})),
                    Catch::Contains("expected a bias [2, 2, 2]"));
  CHECK_THROWS_WITH(text::cached_blocks(gpt, fresh, zeros({B, 2, 16}), 0, {}, 3),
                    Catch::Contains("prefix of 3 positions"));
}

TEST_CASE("sample_token: frequencies follow softmax(logits / temperature), cut by top-k and top-p",
          "[text][sampling]") {
  const std::vector<float> logits = {1.0f, 3.0f, 0.0f, 2.0f, -1.0f};
  auto frequencies = [&](const text::GenerateOptions& o) {
    Generator gen(11);
    std::vector<double> f(logits.size(), 0.0);
    const int draws = 20000;
    for (int i = 0; i < draws; ++i) f[static_cast<size_t>(text::sample_token(logits.data(), 5, o, gen))] += 1.0 / draws;
    return f;
  };
  auto softmax = [&](float temperature, const std::vector<int>& keep) {
    std::vector<double> p(logits.size(), 0.0);
    double total = 0;
    for (int k : keep) total += p[static_cast<size_t>(k)] = std::exp(logits[static_cast<size_t>(k)] / temperature);
    for (auto& v : p) v /= total;
    return p;
  };
  const auto check = [](const std::vector<double>& got, const std::vector<double>& want) {
    for (size_t k = 0; k < got.size(); ++k) {
      INFO("token " << k);
      CHECK(got[k] == Approx(want[k]).margin(0.012));   // 20,000 draws: about 4 standard errors
    }
  };
  check(frequencies({.temperature = 1.f}), softmax(1.f, {0, 1, 2, 3, 4}));
  check(frequencies({.temperature = 0.5f}), softmax(0.5f, {0, 1, 2, 3, 4}));
  check(frequencies({.temperature = 1.f, .top_k = 2}), softmax(1.f, {1, 3}));
  // Probabilities 0.64, 0.24, 0.09, ... : the nucleus of 0.8 is the two most likely tokens.
  check(frequencies({.temperature = 1.f, .top_p = 0.8f}), softmax(1.f, {1, 3}));
  Generator gen(1);
  CHECK(text::sample_token(logits.data(), 5, {.temperature = 0.f}, gen) == 1);
  CHECK_THROWS_WITH(text::check_sampling({.top_p = 1.5f}, "here"), Catch::Contains("here: top_p"));
}
