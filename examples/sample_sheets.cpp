// SPDX-License-Identifier: Apache-2.0
// Writes the sample sheets of the docs: 32 Shapes scenes and 32 Fashion-MNIST
// images as 8x4 grids (upscaled 3x, nearest neighbour, so the pixels show),
// each with a Markdown file listing the captions in grid order.
//
//   sample_sheets [--out-dir docs/images] [--seed 0] [--fashion-root DIR]
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fresco/fresco.hpp>

#include "common/cli.hpp"

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
};

void add_options(CLI::App& app, Args& a) {
  app.add_option("--out-dir", a.out_dir, "where the PNG and Markdown files go");
  cli::add_number(app, "--seed", a.seed, "seed of the Shapes scenes and of the caption phrasings");
  app.add_option("--fashion-root", a.fashion_root, "where the Fashion-MNIST files are")->check(CLI::ExistingDirectory);
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
  std::filesystem::create_directories(a.out_dir);
  shapes_sheet(a);
  fashion_mnist_sheet(a);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Writes the sample sheets of the docs: 32 Shapes scenes and 32 Fashion-MNIST images as 8x4 grids\n"
               "(upscaled 3x, nearest neighbour, so the pixels show), each with a Markdown file listing the\n"
               "captions in grid order.",
               "sample_sheets"};
  Args args;
  add_options(app, args);
  return cli::run(app, argc, argv, [&] { return write_sheets(args); });
}
