// SPDX-License-Identifier: Apache-2.0
// Writes the sample sheets of the docs: 32 Shapes scenes and 32 Fashion-MNIST
// images as 8x4 grids (upscaled 3x, nearest neighbour, so the pixels show),
// each with a Markdown file listing the captions in grid order. With --model
// and --prompts, a grid of fixed prompts instead: a row a prompt, the real
// images of an image folder with that caption first, then generated ones.
//
//   sample_sheets [--out-dir docs/images] [--seed 0] [--fashion-root DIR]
//   sample_sheets --model runs/emoji/model.safetensors --prompts prompts.txt --folder data/emoji --out grid.png
#include <algorithm>
#include <cstdio>
#include <memory>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fresco/fresco.hpp>
#include <fresco/text_to_image.hpp>

#include "common/cli.hpp"
#include "common/sampling.hpp"

namespace {

namespace cli = fresco::cli;

constexpr int64_t kColumns = 8, kCount = 32, kScale = 3;

// [N, C, H, W] -> [N, C, H*s, W*s], each pixel repeated s x s times.
fresco::Tensor upscale(const fresco::Tensor& x, int64_t s) {
  const fresco::Tensor in = x.contiguous();
  const int64_t n = in.size(0), c = in.size(1), h = in.size(2), w = in.size(3);
  fresco::Tensor out = fresco::empty({n, c, h * s, w * s});
  const float* src = in.data();
  float* dst = out.data();
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t y = 0; y < h * s; ++y)
      for (int64_t xx = 0; xx < w * s; ++xx) dst[(p * h * s + y) * w * s + xx] = src[(p * h + y / s) * w + xx / s];
  return out;
}

void write_sheet(const std::vector<fresco::Tensor>& images, const std::vector<std::string>& captions,
                 const std::filesystem::path& png, const std::string& title, const std::string& source) {
  const fresco::Tensor grid = upscale(fresco::stack(images, 0), kScale);
  fresco::io::write_image_grid(grid, png.string(), kColumns, {.padding = 4, .background = 1.f});
  std::filesystem::path md = png;
  md.replace_extension(".md");
  std::ofstream f(md);
  f << "# " << title << "\n\n![" << title << "](" << png.filename().string() << ")\n\n" << source
    << "\n\nCaptions in grid order (row by row, left to right):\n";
  for (size_t i = 0; i < captions.size(); ++i) {
    if (i % kColumns == 0) f << "\n**Row " << i / kColumns + 1 << "**\n\n";
    f << i % kColumns + 1 << ". " << captions[i] << "\n";
  }
  if (!f) throw fresco::IoError("sample_sheets: cannot write " + md.string());
  std::printf("wrote %s and %s\n", png.string().c_str(), md.string().c_str());
}

struct Args {
  std::string out_dir = "docs/images";
  uint64_t seed = 0;
  std::string fashion_root = "/usr/share/datasets/fashion-mnist";
  // The prompt grid: a model, a file of prompts (one a line), a folder of real images, the output.
  std::string model, prompts, folder, out = "prompt_grid.png";
  int64_t n = 5, real = 3;
  fresco::cli::SamplingArgs sampling;
};

void add_options(CLI::App& app, Args& a) {
  app.add_option("--out-dir", a.out_dir, "where the PNG and Markdown files go");
  cli::add_number(app, "--seed", a.seed, "seed of the Shapes scenes, of the caption phrasings and of the model");
  app.add_option("--fashion-root", a.fashion_root, "where the Fashion-MNIST files are")->check(CLI::ExistingDirectory);
  app.option_defaults()->group("Prompt grid");
  auto* model = app.add_option("--model", a.model, "a text-to-image model: write a grid of fixed prompts instead")
                    ->check(cli::existing_file("train one with train_text2image"));
  app.add_option("--prompts", a.prompts, "the prompts, one a line (blank lines and lines starting with # skipped)")
      ->needs(model)
      ->check(CLI::ExistingFile);
  model->needs("--prompts");
  app.add_option("--folder", a.folder, "an image folder whose images of each prompt's caption go first in its row")
      ->needs(model)
      ->check(CLI::ExistingDirectory);
  app.add_option("--out", a.out, "the grid's PNG (a Markdown file of the same name lists the rows)")->needs(model);
  cli::add_number(app, "--n", a.n, "generated images a prompt")->check(cli::positive());
  cli::add_number(app, "--real", a.real, "real images a prompt, at most (blank tiles when the folder has fewer)")
      ->check(cli::non_negative());
  cli::add_sampling_options(app, a.sampling);
}

// A row a prompt: up to --real images of the folder with exactly that caption (white tiles
// when it has fewer), then --n generated images.
int prompt_grid(const Args& a) {
  std::vector<std::string> prompts;
  {
    std::ifstream in(a.prompts);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty() && line[0] != '#') prompts.push_back(line);
    }
  }
  if (prompts.empty()) throw fresco::Error("sample_sheets: " + a.prompts + " lists no prompt");
  const auto model = fresco::load_text_to_image(a.model);
  cli::apply_sampling(*model, a.sampling, a.model);
  std::vector<fresco::Tensor> tiles;
  std::vector<int64_t> found;
  std::unique_ptr<fresco::data::ImageFolder> folder;
  for (size_t p = 0; p < prompts.size(); ++p) {
    const fresco::Tensor generated = model->generate(std::vector<std::string>(static_cast<size_t>(a.n), prompts[p]),
                                                     a.seed + p);
    const int64_t side = generated.size(2), channels = generated.size(1);
    if (!a.folder.empty() && !folder)
      folder = std::make_unique<fresco::data::ImageFolder>(
          fresco::data::ImageFolderOptions{.root = a.folder, .image_size = side, .channels = static_cast<int>(channels)});
    int64_t real = 0;
    if (folder)
      for (int64_t i = 0; i < folder->size() && real < a.real; ++i)
        if (folder->caption(i) == prompts[p]) tiles.push_back(folder->get(i).image), ++real;
    found.push_back(real);
    for (int64_t k = real; k < (folder ? a.real : 0); ++k) tiles.push_back(fresco::ones({channels, side, side}));
    for (int64_t k = 0; k < a.n; ++k) tiles.push_back(generated.slice(0, k, k + 1).reshape({channels, side, side}));
    std::printf("%s: %lld real, %lld generated\n", prompts[p].c_str(), static_cast<long long>(real),
                static_cast<long long>(a.n));
  }
  const int64_t columns = (folder ? a.real : 0) + a.n;
  const int64_t scale = std::max<int64_t>(1, 96 / tiles.front().size(1));   // 32x32 shown 3x, 64x64 as they are
  fresco::io::write_image_grid(upscale(fresco::stack(tiles, 0), scale), a.out, columns,
                               {.padding = 4, .background = 1.f});
  std::filesystem::path md = a.out;
  md.replace_extension(".md");
  std::ofstream f(md);
  f << "# Fixed prompts\n\n![fixed prompts](" << std::filesystem::path(a.out).filename().string() << ")\n\n"
    << "`" << a.model << "`, seed " << a.seed << " + row. A row a prompt"
    << (folder ? fmt::format(": up to {} real images of {} first, then {} generated", a.real, a.folder, a.n)
               : fmt::format(": {} generated images", a.n))
    << ".\n\n";
  for (size_t p = 0; p < prompts.size(); ++p)
    f << p + 1 << ". " << prompts[p] << (folder ? fmt::format(" ({} real)", found[p]) : std::string()) << "\n";
  if (!f) throw fresco::IoError("sample_sheets: cannot write " + md.string());
  std::printf("wrote %s and %s\n", a.out.c_str(), md.string().c_str());
  return 0;
}

void shapes_sheet(const Args& a) {
  fresco::data::Shapes shapes({.size = kCount, .seed = a.seed});
  std::vector<fresco::Tensor> images;
  std::vector<std::string> captions;
  for (int64_t i = 0; i < kCount; ++i) {
    images.push_back(shapes.image(i));
    captions.push_back(shapes.caption(i));
  }
  write_sheet(images, captions, std::filesystem::path(a.out_dir) / "shapes_samples.png", "Shapes samples",
              fmt::format("The first {} scenes of `data::Shapes({{.seed = {}}})` (split \"train\", 32x32, shown 3x).",
                          kCount, a.seed));
}

void fashion_mnist_sheet(const Args& a) {
  fresco::data::FashionMnist mnist({.root = a.fashion_root, .split = "test", .limit = kCount});
  std::vector<fresco::Tensor> images;
  std::vector<std::string> captions;
  for (int64_t i = 0; i < kCount; ++i) {
    images.push_back(mnist.image(i));
    captions.push_back(mnist.caption(i, a.seed) + " (" +
                       fresco::data::FashionMnist::class_names()[static_cast<size_t>(mnist.label(i))] + ")");
  }
  write_sheet(images, captions, std::filesystem::path(a.out_dir) / "fashion_mnist_samples.png",
              "Fashion-MNIST samples",
              fmt::format("The first {} images of the Fashion-MNIST test split (28x28, shown 3x), with "
                          "`FashionMnist::caption(i, {})` and the class name.",
                          kCount, a.seed));
}

int write_sheets(const Args& a) {
  if (!a.model.empty()) return prompt_grid(a);
  std::filesystem::create_directories(a.out_dir);
  shapes_sheet(a);
  fashion_mnist_sheet(a);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Writes the sample sheets of the docs: 32 Shapes scenes and 32 Fashion-MNIST images as 8x4 grids\n"
               "(upscaled 3x, nearest neighbour, so the pixels show), each with a Markdown file listing the\n"
               "captions in grid order. With --model and --prompts: a grid of fixed prompts, a row a prompt,\n"
               "real images of --folder with that caption first, then generated ones.",
               "sample_sheets"};
  Args args;
  add_options(app, args);
  return cli::run(app, argc, argv, [&] { return write_sheets(args); });
}
