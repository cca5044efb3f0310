// SPDX-License-Identifier: Apache-2.0
// Stage 1 of the text-to-image pipeline: trains a BPE tokenizer and pretrains
// the GPT on captions, saves both, then samples captions from <|bos|>.
//
//   pretrain_gpt --dataset shapes --minutes 3 --out runs/gpt
//   pretrain_gpt --dataset text:captions.txt --minutes 10 --vocab 1024 --out runs/mine
#include <algorithm>
#include <cmath>
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

#include "common/cli.hpp"
#include "common/distributed.hpp"
#include "common/run_dir.hpp"

namespace {

namespace cli = fresco::cli;

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

void add_options(CLI::App& app, Args& a) {
  app.add_option("--dataset", a.dataset, "the captions: a dataset's, or one caption a line from FILE")
      ->check(cli::dataset_name({"shapes", "fashion-mnist"}, "text:", "FILE", CLI::ExistingFile));
  cli::add_number(app, "--minutes", a.minutes, "training time budget (0: none, then --steps ends it)")
      ->check(cli::non_negative());
  cli::add_number(app, "--steps", a.steps, "training steps (0: as many as --minutes allows)")
      ->check(cli::non_negative());
  app.add_option("--out", a.out, "the directory for tokenizer.json, gpt.safetensors and checkpoint/");
  cli::add_number(app, "--vocab", a.vocab, "tokenizer vocabulary size (256 bytes, 3 special tokens, then merges)")
      ->check(cli::at_least(259));
  cli::add_number(app, "--seed", a.seed, "seed of the data, the initialisation and the sampling");
  cli::add_number(app, "--captions", a.captions, "captions in the corpus, at most")->check(cli::positive());
  cli::add_number(app, "--batch", a.batch, "captions per step (of each process under mpirun)")->check(cli::positive());
  cli::add_number(app, "--samples", a.samples, "captions sampled from the trained model")->check(cli::non_negative());
  cli::add_number(app, "--threads", a.threads, "threads")->check(cli::positive());
}

// Checks across options: a bad combination is a command-line error (exit status 2).
void check(const Args& a) {
  if (a.minutes == 0 && a.steps == 0)
    throw CLI::ValidationError("--minutes and --steps", "give one of them a value above 0");
}

// The training options: stage 1 of train_text2image's schedule, longer.
fresco::text::PretrainOptions pretrain_options(const Args& a, std::shared_ptr<fresco::dist::ProcessGroup> group) {
  return {.batch_size = a.batch, .steps = a.steps > 0 ? a.steps : 1'000'000'000, .minutes = a.minutes,
          .lr = 2e-3f, .min_lr = 2e-4f, .warmup_steps = 30, .eval_every = 100, .checkpoint_dir = a.out + "/checkpoint",
          .checkpoint_every = 2000, .seed = a.seed, .on_progress = fresco::progress_bar(), .group = std::move(group)};
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

// The longest caption in tokens, <|bos|> and <|eos|> included: the context the model needs.
int64_t longest_caption(const fresco::text::BpeTokenizer& tok, const std::vector<std::string>& corpus) {
  size_t longest = 0;
  for (const auto& c : corpus) longest = std::max(longest, tok.encode(c, true, true).size());
  return static_cast<int64_t>(longest);
}

void train_and_save(fresco::text::Gpt& gpt, const fresco::text::BpeTokenizer& tok,
                    const std::vector<std::string>& corpus, const Args& a,
                    const std::shared_ptr<fresco::dist::ProcessGroup>& group) {
  const int64_t vocab_size = gpt.config().vocab_size;
  const auto summary = fresco::text::pretrain(gpt, tok, corpus, pretrain_options(a, group));
  if (!cli::writes_files(*group)) return;
  tok.save(a.out + "/tokenizer.json");
  fresco::text::save_gpt(gpt, tok, a.out + "/gpt.safetensors");
  fmt::print("trained {} steps in {:.1f} s ({:.0f} tokens/s)\n", summary.steps_run, summary.seconds,
             summary.tokens_per_second);
  fmt::print("validation loss {:.4f} (perplexity {:.2f}); at initialisation {:.4f} (ln {} = {:.4f})\n",
             summary.final_val_loss, summary.final_val_perplexity, summary.initial_loss, vocab_size,
             std::log(static_cast<double>(vocab_size)));
  fmt::print("saved {0}/tokenizer.json and {0}/gpt.safetensors\n", a.out);
}

// Samples --samples captions from <|bos|> and reports how many end, and for Shapes how many parse.
void sample_captions(fresco::text::Gpt& gpt, const fresco::text::BpeTokenizer& tok,
                     const std::vector<std::string>& corpus, const Args& a) {
  gpt.eval();
  const std::vector<std::vector<int64_t>> prompts(static_cast<size_t>(a.samples), {tok.bos_id()});
  const auto rows = gpt.generate_batch(prompts, gpt.config().context - 1, {.temperature = 1.f, .seed = a.seed + 1});
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
}

int pretrain(const Args& a) {
  check(a);
  fresco::set_num_threads(a.threads);
  const auto group = cli::join_world();
  if (cli::writes_files(*group)) fresco::cli::prepare_run_directory(a.out);  // before the training, not after it
  const std::vector<std::string> corpus = build_corpus(a);
  fmt::print("corpus: {} captions from {}, e.g. \"{}\"\n", corpus.size(), a.dataset, corpus.empty() ? "" : corpus[0]);
  const auto tok = fresco::text::BpeTokenizer::train(corpus, a.vocab);
  const int64_t longest = longest_caption(tok, corpus);
  fmt::print("tokenizer: {} tokens; longest caption {} tokens with <|bos|>/<|eos|>\n", tok.vocab_size(), longest);

  // The model predicts exactly the tokenizer's ids (a small corpus may stop BPE below --vocab).
  fresco::text::Gpt gpt({.vocab_size = tok.vocab_size(),
                         .context = std::max<int64_t>(32, longest),
                         .seed = a.seed});
  fmt::print("model: {} parameters, context {}\n", gpt.num_parameters(), gpt.config().context);
  train_and_save(gpt, tok, corpus, a, group);
  if (a.samples > 0 && cli::writes_files(*group)) sample_captions(gpt, tok, corpus, a);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Stage 1 of the text-to-image pipeline: trains a BPE tokenizer and pretrains the GPT on captions,\n"
               "saves both (OUT/tokenizer.json, OUT/gpt.safetensors), then samples captions from <|bos|>.",
               "pretrain_gpt"};
  app.footer(
      "Examples:\n"
      "  pretrain_gpt --dataset shapes --minutes 3 --out runs/gpt\n"
      "  pretrain_gpt --dataset text:captions.txt --minutes 10 --vocab 1024 --out runs/mine\n"
      "  mpirun -np 2 pretrain_gpt --dataset shapes --minutes 3 --threads 1 --out runs/gpt   (data parallel: docs/distributed.md)");
  Args args;
  add_options(app, args);
  return cli::run(app, argc, argv, [&] { return pretrain(args); });
}
