// SPDX-License-Identifier: Apache-2.0
// Stage 1 of the text-to-image pipeline: trains a BPE tokenizer and pretrains
// the GPT on captions, saves both, then samples captions from <|bos|>.
//
//   pretrain_gpt --dataset shapes --minutes 3 --out runs/gpt
//   pretrain_gpt --dataset text:captions.txt --minutes 10 --vocab 1024 --out runs/mine
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <fresco/data/fashion_mnist.hpp>
#include <fresco/data/shapes.hpp>
#include <fresco/error.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/text/pretrain.hpp>

namespace {

struct Args {
  std::string dataset = "shapes";
  double minutes = 3;
  int64_t steps = 0;  // 0: as many as the time budget allows
  std::string out = "gpt-out";
  int64_t vocab = 512;
  uint64_t seed = 0;
  int64_t captions = 20000;
  int64_t batch = 32;
  int64_t samples = 200;
  int threads = 2;
};

const char* kUsage =
    "usage: pretrain_gpt [--dataset shapes|fashion-mnist|text:FILE] [--minutes N] [--steps N] [--out DIR]\n"
    "                    [--vocab V] [--seed S] [--captions N] [--batch B] [--samples N] [--threads T]\n";

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      fmt::print("{}", kUsage);
      std::exit(0);
    }
    FRESCO_CHECK(i + 1 < argc, "pretrain_gpt: {} needs a value\n{}", flag, kUsage);
    const std::string v = argv[++i];
    try {
      if (flag == "--dataset") a.dataset = v;
      else if (flag == "--minutes") a.minutes = std::stod(v);
      else if (flag == "--steps") a.steps = std::stoll(v);
      else if (flag == "--out") a.out = v;
      else if (flag == "--vocab") a.vocab = std::stoll(v);
      else if (flag == "--seed") a.seed = std::stoull(v);
      else if (flag == "--captions") a.captions = std::stoll(v);
      else if (flag == "--batch") a.batch = std::stoll(v);
      else if (flag == "--samples") a.samples = std::stoll(v);
      else if (flag == "--threads") a.threads = std::stoi(v);
      else throw fresco::Error(fmt::format("pretrain_gpt: unknown option {}\n{}", flag, kUsage));
    } catch (const std::logic_error&) {
      throw fresco::Error(fmt::format("pretrain_gpt: {} expects a number, got \"{}\"", flag, v));
    }
  }
  FRESCO_CHECK(a.captions > 0 && a.samples >= 0 && a.minutes >= 0,
               "pretrain_gpt: --captions must be positive, --samples and --minutes >= 0");
  FRESCO_CHECK(a.minutes > 0 || a.steps > 0, "pretrain_gpt: give --minutes or --steps");
  return a;
}

std::vector<std::string> build_corpus(const Args& a) {
  std::vector<std::string> corpus;
  if (a.dataset == "shapes") {
    fresco::data::Shapes train({.size = a.captions, .seed = a.seed, .split = "train"});
    for (int64_t i = 0; i < train.size(); ++i) corpus.push_back(train.caption(i));
  } else if (a.dataset == "fashion-mnist") {
    fresco::data::FashionMnist train({.split = "train"});
    for (int64_t i = 0; i < std::min(a.captions, train.size()); ++i) corpus.push_back(train.caption(i, a.seed));
  } else if (a.dataset.starts_with("text:")) {
    const std::string path = a.dataset.substr(5);
    std::ifstream f(path);
    if (!f) throw fresco::IoError(fmt::format("pretrain_gpt: cannot open the caption file {}", path));
    for (std::string line; std::getline(f, line) && static_cast<int64_t>(corpus.size()) < a.captions;) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) corpus.push_back(line);
    }
  } else {
    throw fresco::Error(fmt::format("pretrain_gpt: unknown dataset \"{}\" (shapes, fashion-mnist or text:FILE)",
                                    a.dataset));
  }
  return corpus;
}

int run(const Args& a) {
  fresco::set_num_threads(a.threads);
  const std::vector<std::string> corpus = build_corpus(a);
  fmt::print("corpus: {} captions from {}, e.g. \"{}\"\n", corpus.size(), a.dataset, corpus.empty() ? "" : corpus[0]);
  const auto tok = fresco::text::BpeTokenizer::train(corpus, a.vocab);
  size_t longest = 0;
  for (const auto& c : corpus) longest = std::max(longest, tok.encode(c, true, true).size());
  fmt::print("tokenizer: {} tokens; longest caption {} tokens with <|bos|>/<|eos|>\n", tok.vocab_size(), longest);

  std::filesystem::create_directories(a.out);
  // The model predicts exactly the tokenizer's ids (a small corpus may stop BPE below --vocab).
  const fresco::text::GptConfig config{.vocab_size = tok.vocab_size(),
                                       .context = std::max<int64_t>(32, static_cast<int64_t>(longest)),
                                       .seed = a.seed};
  fresco::text::Gpt gpt(config);
  fmt::print("model: {} parameters, context {}\n", gpt.num_parameters(), config.context);
  const auto summary = fresco::text::pretrain(
      gpt, tok, corpus,
      {.batch_size = a.batch, .steps = a.steps > 0 ? a.steps : 1'000'000'000, .minutes = a.minutes,
       .lr = 2e-3f, .min_lr = 2e-4f, .warmup_steps = 30, .eval_every = 100, .checkpoint_dir = a.out + "/checkpoint",
       .checkpoint_every = 2000, .seed = a.seed});
  tok.save(a.out + "/tokenizer.json");
  fresco::text::save_gpt(gpt, tok, a.out + "/gpt.safetensors");
  fmt::print("trained {} steps in {:.1f} s ({:.0f} tokens/s)\n", summary.steps_run, summary.seconds,
             summary.tokens_per_second);
  fmt::print("validation loss {:.4f} (perplexity {:.2f}); at initialisation {:.4f} (ln {} = {:.4f})\n",
             summary.final_val_loss, summary.final_val_perplexity, summary.initial_loss, config.vocab_size,
             std::log(static_cast<double>(config.vocab_size)));
  fmt::print("saved {0}/tokenizer.json and {0}/gpt.safetensors\n", a.out);

  if (a.samples == 0) return 0;
  gpt.eval();
  const std::vector<std::vector<int64_t>> prompts(static_cast<size_t>(a.samples), {tok.bos_id()});
  const auto rows = gpt.generate_batch(prompts, config.context - 1, {.temperature = 1.f, .seed = a.seed + 1});
  const std::set<std::string> seen(corpus.begin(), corpus.end());
  int64_t finished = 0, parsed = 0, novel = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const bool ended = rows[i].back() == tok.eos_id();
    const std::string text = tok.decode(rows[i]);
    finished += ended;
    const bool ok = ended && fresco::data::Shapes::parse(text).has_value();
    parsed += ok;
    novel += ok && !seen.contains(text);
    if (i < 8) fmt::print("  sample {}: \"{}\"{}\n", i, text, a.dataset == "shapes" ? (ok ? "" : "  [does not parse]") : "");
  }
  const double n = static_cast<double>(rows.size());
  fmt::print("{} samples at temperature 1: {:.1f}% end with <|eos|>", rows.size(), 100.0 * finished / n);
  if (a.dataset == "shapes")
    fmt::print(", {:.1f}% parse under Shapes::parse ({:.1f}% parse and are not in the corpus)", 100.0 * parsed / n,
               100.0 * novel / n);
  fmt::print("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
