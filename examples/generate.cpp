// SPDX-License-Identifier: Apache-2.0
// Images from a caption with a trained text-to-image model: a PNG grid, and
// optionally an animated GIF morphing to a second caption; with --video, clips
// from a text-to-video model: a GIF of the clips playing and a sheet of their frames.
//
//   generate --model run/model.safetensors --prompt "a large red circle in the center" --n 16 --seed 7 --out grid.png
//   generate --model run/model.safetensors --prompt "a red circle" --gif morph.gif --to "a blue square" --frames 24
//   generate --model runs/video/model.safetensors --video --prompt "a big red circle moves up" --n 4 --gif up.gif
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fresco/fresco.hpp>
#include <fresco/gan/text_to_image.hpp>
#include <fresco/text_to_image.hpp>
#include <fresco/io/file.hpp>
#include <fresco/io/gif.hpp>
#include <fresco/io/image.hpp>
#include <fresco/vq/text_to_video.hpp>

#include "common/cli.hpp"
#include "common/memory.hpp"
#include "common/sampling.hpp"

namespace {

namespace cli = fresco::cli;

struct Args {
  std::string model, prompt, out, gif, to;
  int64_t n = 16;
  int64_t columns = 0;  // 0: the smallest c with c * c >= n
  int64_t frames = 24;
  int64_t soak = 0;   // images to generate and drop, in batches of n (a memory check)
  bool video = false;
  int delay = 80, scale = 4;
  uint64_t seed = 7;
  fresco::cli::SamplingArgs sampling;
};

void add_options(CLI::App& app, Args& a) {
  app.add_option("--model", a.model, "the trained model (OUT/model.safetensors of train_text2image)")
      ->required()
      ->check(cli::existing_file("train one with train_text2image"));
  app.add_option("--prompt", a.prompt, "the caption to draw")->required();
  cli::add_number(app, "--n", a.n, "images in the grid")->check(cli::positive());
  cli::add_number(app, "--seed", a.seed, "seed of the noise: the same seed gives the same images");
  app.add_option("--out", a.out, "the PNG grid to write (default grid.png; none when only --gif is given)");
  cli::add_number(app, "--columns", a.columns, "columns of the grid, 0 for a square one")->check(cli::non_negative());
  CLI::Option* to = app.add_option("--to", a.to, "the caption the GIF morphs to");
  app.add_option("--gif", a.gif,
                 "also write an animated GIF from --prompt to --to (with --video: the clips playing; default "
                 "clips.gif)");
  app.add_flag("--video", a.video,
               "a text-to-video model (train_text2video): --n clips of --prompt, written as a GIF of the clips "
               "playing (--gif) and a PNG sheet of their frames, a clip a row (--out, default clips.png)")
      ->excludes(to)
      ->excludes(cli::add_number(app, "--frames", a.frames, "frames of the morphing GIF")->check(cli::at_least(2)));
  cli::add_number(app, "--delay", a.delay, "milliseconds each GIF frame is shown")->check(cli::closed(0, 655350));
  cli::add_number(app, "--scale", a.scale, "each GIF pixel becomes a scale x scale block")->check(cli::closed(1, 64));
  cli::add_number(app, "--soak", a.soak,
                  "generate this many images in batches of --n and keep none, printing the resident memory "
                  "(a check that a long-lived process does not grow); writes no file")
      ->check(cli::non_negative());
  cli::add_sampling_options(app, a.sampling);
}

// The directory a file goes to, checked before the model is even loaded.
void prepare_parent(const std::string& file) {
  const auto parent = std::filesystem::path(file).parent_path();
  fresco::io::prepare_output_directory(parent.empty() ? std::string(".") : parent.string());
}

// --soak: batch after batch of images, none kept; the resident memory at the start, after the
// first batch (the allocator's working set), every tenth of the run and at the end.
void soak(const fresco::TextToImageModel& model, const Args& a) {
  const std::vector<std::string> captions(static_cast<size_t>(a.n), a.prompt);
  const double before = cli::resident_mib();
  fmt::print("soak: {} images of \"{}\" in batches of {}; resident memory {:.1f} MiB after loading the model\n",
             a.soak, a.prompt, a.n, before);
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t batches = (a.soak + a.n - 1) / a.n;
  double first = 0, peak = before;
  double checksum = 0;   // reads each batch, so that nothing is skipped
  for (int64_t b = 0; b < batches; ++b) {
    const fresco::Tensor images = model.generate(captions, a.seed + static_cast<uint64_t>(b));
    checksum += static_cast<double>(images.to_vector()[0]);
    const double rss = cli::resident_mib();
    peak = std::max(peak, rss);
    if (b == 0) first = rss;
    if (b == 0 || (b + 1) * 10 / batches != b * 10 / batches)
      fmt::print("soak: {:>8} images  {:>7.1f} s  resident {:.1f} MiB\n", std::min(a.soak, (b + 1) * a.n),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), rss);
    std::fflush(stdout);
  }
  const double last = cli::resident_mib();
  fmt::print("soak: done; resident memory first batch {:.1f} MiB, last {:.1f} MiB ({:+.1f} MiB), peak {:.1f} MiB "
             "(checksum {:.4f})\n",
             first, last, last - first, peak, checksum);
}

void write_grid(const fresco::TextToImageModel& model, const Args& a) {
  const auto t0 = std::chrono::steady_clock::now();
  const fresco::Tensor images = model.generate(std::vector<std::string>(static_cast<size_t>(a.n), a.prompt), a.seed);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  int64_t columns = a.columns;
  if (columns == 0) {
    columns = 1;
    while (columns * columns < a.n) ++columns;
  }
  fresco::io::write_image_grid(images, a.out, columns);
  fmt::print("{}: {} images of \"{}\" (seed {}) in {:.1f} ms\n", a.out, a.n, a.prompt, a.seed, ms);
}

void write_morph(const fresco::TextToImageModel& model, const Args& a) {
  const auto* gan = dynamic_cast<const fresco::gan::TextToImage*>(&model);
  if (gan == nullptr)
    throw fresco::Error(fmt::format("--gif morphs between captions through a GAN's noise and caption vectors; {} is a "
                                    "{}-family model, which has none",
                                    a.model, model.family()));
  const auto sequence = gan->animate(a.prompt, a.to, a.frames, a.seed);
  fresco::io::write_gif(sequence, a.gif, {.delay_ms = a.delay, .scale = a.scale});
  fmt::print("{}: {} frames from \"{}\" to \"{}\"\n", a.gif, a.frames, a.prompt, a.to);
}

// --video: n clips of the prompt, a GIF of them playing and a sheet of their frames (a clip a row).
void write_video(const Args& a) {
  auto model = fresco::vq::TextToVideo::load(a.model);
  cli::apply_sampling(model.sampling(), a.sampling);
  const auto t0 = std::chrono::steady_clock::now();
  const fresco::Tensor clips = model.generate(std::vector<std::string>(static_cast<size_t>(a.n), a.prompt), a.seed);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const int64_t t = clips.size(1);
  fresco::io::write_image_grid(clips.reshape({a.n * t, clips.size(2), clips.size(3), clips.size(4)}), a.out, t);
  int64_t columns = a.columns;
  if (columns == 0) {
    columns = 1;
    while (columns * columns < a.n) ++columns;
  }
  fresco::io::write_clips_gif(clips, a.gif, columns, {.delay_ms = a.delay, .scale = a.scale});
  fmt::print("{}: {} clips of {} frames of \"{}\" (seed {}) in {:.1f} ms\n{}: the clips playing\n", a.out, a.n, t,
             a.prompt, a.seed, ms, a.gif);
}

int generate(Args a) {
  if (!a.video && !a.gif.empty() && a.to.empty())
    throw CLI::ValidationError("--gif", "morphs from --prompt to --to: give --to (or --video for a text-to-video model)");
  if (a.video) {
    if (a.soak > 0) throw CLI::ValidationError("--soak", "measures text-to-image models; leave out --video");
    if (a.out.empty()) a.out = "clips.png";
    if (a.gif.empty()) a.gif = "clips.gif";
    prepare_parent(a.out);
    prepare_parent(a.gif);
    if (!fresco::vq::is_text_to_video(a.model))
      throw fresco::Error(fmt::format("--video needs a text-to-video model (train_text2video); {} is a text-to-image "
                                      "model: leave out --video",
                                      a.model));
    write_video(a);
    return 0;
  }
  if (a.soak > 0) {
    auto model = fresco::load_text_to_image(a.model);
    cli::apply_sampling(*model, a.sampling, a.model);
    soak(*model, a);
    return 0;
  }
  if (a.out.empty() && a.gif.empty()) a.out = "grid.png";
  if (!a.out.empty()) prepare_parent(a.out);
  if (!a.gif.empty()) prepare_parent(a.gif);
  auto model = fresco::load_text_to_image(a.model);
  cli::apply_sampling(*model, a.sampling, a.model);
  if (!a.out.empty()) write_grid(*model, a);
  if (!a.gif.empty()) write_morph(*model, a);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Images from a caption with a trained text-to-image model: a PNG grid, and optionally an\n"
               "animated GIF morphing to a second caption; with --video, clips from a text-to-video model.",
               "generate"};
  app.footer(
      "Examples:\n"
      "  generate --model run/model.safetensors --prompt \"a large red circle in the center\" --n 16 --seed 7 "
      "--out grid.png\n"
      "  generate --model run/model.safetensors --prompt \"a red circle\" --gif morph.gif --to \"a blue square\" "
      "--frames 24\n"
      "  generate --model runs/video/model.safetensors --video --prompt \"a big red circle moves up\" --n 4 --gif "
      "up.gif --out up.png");
  Args args;
  add_options(app, args);
  return cli::run(app, argc, argv, [&] { return generate(args); });
}
