// SPDX-License-Identifier: Apache-2.0
// Images from a caption with a trained text-to-image model: a PNG grid, and
// optionally an animated GIF morphing to a second caption.
//
//   generate --model run/model.safetensors --prompt "a large red circle in the center" --n 16 --seed 7 --out grid.png
//   generate --model run/model.safetensors --prompt "a red circle" --gif morph.gif --to "a blue square" --frames 24
#include <chrono>
#include <cstdio>
#include <string>

#include <fresco/fresco.hpp>
#include <fresco/gan/text_to_image.hpp>
#include <fresco/io/gif.hpp>
#include <fresco/io/image.hpp>

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: generate --model FILE --prompt TEXT [--n N] [--seed S] [--out grid.png] [--columns C]\n"
               "                [--gif out.gif --to TEXT [--frames F] [--delay MS] [--scale K]]\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, prompt, out, gif, to;
  int64_t n = 16, columns = 0, frames = 24;
  int delay = 80, scale = 4;
  uint64_t seed = 7;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw fresco::Error("generate: " + a + " needs a value");
        return argv[++i];
      };
      if (a == "--model") model_path = value();
      else if (a == "--prompt") prompt = value();
      else if (a == "--n") n = std::stoll(value());
      else if (a == "--seed") seed = std::stoull(value());
      else if (a == "--out") out = value();
      else if (a == "--columns") columns = std::stoll(value());
      else if (a == "--gif") gif = value();
      else if (a == "--to") to = value();
      else if (a == "--frames") frames = std::stoll(value());
      else if (a == "--delay") delay = std::stoi(value());
      else if (a == "--scale") scale = std::stoi(value());
      else if (a == "--help" || a == "-h") return usage(), 0;
      else throw fresco::Error("generate: unknown argument '" + a + "' (see --help)");
    }
    if (model_path.empty() || prompt.empty()) throw fresco::Error("generate: --model and --prompt are required");
    if (out.empty() && gif.empty()) out = "grid.png";
    FRESCO_CHECK(n >= 1, "generate: --n must be positive, got {}", n);
    FRESCO_CHECK(gif.empty() || !to.empty(), "generate: --gif needs --to \"second caption\"");

    auto model = fresco::gan::TextToImage::load(model_path);
    if (!out.empty()) {
      const auto t0 = std::chrono::steady_clock::now();
      fresco::Tensor images = model.generate(std::vector<std::string>(static_cast<size_t>(n), prompt), seed);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (columns <= 0) {
        columns = 1;
        while (columns * columns < n) ++columns;
      }
      fresco::io::write_image_grid(images, out, columns);
      fmt::print("{}: {} images of \"{}\" (seed {}) in {:.1f} ms\n", out, n, prompt, seed, ms);
    }
    if (!gif.empty()) {
      auto sequence = model.animate(prompt, to, frames, seed);
      fresco::io::write_gif(sequence, gif, {.delay_ms = delay, .scale = scale});
      fmt::print("{}: {} frames from \"{}\" to \"{}\"\n", gif, frames, prompt, to);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
