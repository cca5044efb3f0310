// SPDX-License-Identifier: Apache-2.0
// Encode speed of the BPE tokenizer on one core. Usage:
//   bench_tokenizer [megabytes=16] [vocab_size=512]
// Prints a human line per measurement and one JSON line at the end. Speeds
// are given by wall time and by this thread's CPU time: on a shared machine
// the second is the steadier measure of one core.
#include <fresco/text/tokenizer.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace {

using Clock = std::chrono::steady_clock;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double wall = 0;  // seconds
  double cpu = 0;   // seconds of this thread's CPU time
};

template <class Fn>
Timing measure(Fn&& fn) {
  const auto wall_start = Clock::now();
  const double cpu_start = thread_cpu_seconds();
  fn();
  return {std::chrono::duration<double>(Clock::now() - wall_start).count(), thread_cpu_seconds() - cpu_start};
}

void report(const char* what, double bytes, Timing t) {
  fmt::print("{}: {:.1f} MB in {:.3f} s wall ({:.3f} s cpu) = {:.1f} MB/s wall, {:.1f} MB/s cpu\n", what, bytes / 1e6,
             t.wall, t.cpu, bytes / t.wall / 1e6, bytes / t.cpu / 1e6);
}

// Shapes-style captions from a fixed generator.
std::vector<std::string> captions(size_t n, uint32_t seed) {
  const char* sizes[] = {"a small", "a large", "a tiny", "a big", "one"};
  const char* colours[] = {"red", "green", "blue", "yellow", "purple", "white", "orange", "grey"};
  const char* shapes[] = {"circle", "square", "triangle", "star", "ring", "cross", "hexagon"};
  const char* places[] = {"at the top left", "at the bottom right", "in the centre", "on the left",
                          "on the right", "near the top", "below the middle"};
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i)
    out.push_back(fmt::format("{} {} {} {}", sizes[rng() % 5], colours[rng() % 8], shapes[rng() % 7],
                              places[rng() % 7]));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const double megabytes = argc > 1 ? std::atof(argv[1]) : 16.0;
  const int64_t vocab_size = argc > 2 ? std::atoll(argv[2]) : 512;

  const std::vector<std::string> corpus = captions(10000, 1);
  fresco::text::BpeTokenizer tok;
  const Timing train = measure([&] { tok = fresco::text::BpeTokenizer::train(corpus, vocab_size); });
  fmt::print("train: {} captions -> vocab {} in {:.3f} s wall ({:.3f} s cpu)\n", corpus.size(), tok.vocab_size(),
             train.wall, train.cpu);

  // Captions encoded one call each, as a data loader does.
  const std::vector<std::string> test = captions(20000, 2);
  size_t test_bytes = 0;
  for (const auto& c : test) test_bytes += c.size();
  const auto target_bytes = static_cast<size_t>(megabytes * 1e6);
  size_t bytes = 0, tokens = 0;
  const Timing caption_t = measure([&] {
    while (bytes < target_bytes) {
      for (const auto& c : test) tokens += tok.encode(c, true, true).size();
      bytes += test_bytes;
    }
  });
  report("encode captions", double(bytes), caption_t);
  fmt::print("  {:.2f} bytes per token\n", double(bytes) / double(tokens));

  // One long text of random words: mostly cache misses.
  std::mt19937 rng(3);
  std::string random_text;
  random_text.reserve(4'000'000);
  while (random_text.size() < 4'000'000) {
    random_text += ' ';
    const size_t len = 1 + rng() % 10;
    for (size_t i = 0; i < len; ++i) random_text += static_cast<char>('a' + rng() % 26);
  }
  const Timing random_t = measure([&] { tokens = tok.encode(random_text).size(); });
  report("encode random words", double(random_text.size()), random_t);

  // One long run without spaces: the uncached merge loop on a long word.
  std::string letters(1'000'000, 'a');
  for (char& c : letters) c = "aeioutrnslcdh"[rng() % 13];
  const Timing long_t = measure([&] { tokens = tok.encode(letters).size(); });
  report("encode one long word", double(letters.size()), long_t);

  auto mbps = [](double b, double s) { return b / s / 1e6; };
  fmt::print(
      "{{\"benchmark\":\"tokenizer\",\"vocab_size\":{},\"train_seconds\":{:.4f},"
      "\"encode_captions_mb_per_s\":{:.2f},\"encode_captions_mb_per_cpu_s\":{:.2f},"
      "\"encode_random_words_mb_per_s\":{:.2f},\"encode_random_words_mb_per_cpu_s\":{:.2f},"
      "\"encode_long_word_mb_per_s\":{:.2f},\"encode_long_word_mb_per_cpu_s\":{:.2f}}}\n",
      tok.vocab_size(), train.wall, mbps(double(bytes), caption_t.wall), mbps(double(bytes), caption_t.cpu),
      mbps(double(random_text.size()), random_t.wall), mbps(double(random_text.size()), random_t.cpu),
      mbps(double(letters.size()), long_t.wall), mbps(double(letters.size()), long_t.cpu));
  return 0;
}
