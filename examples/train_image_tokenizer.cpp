// SPDX-License-Identifier: Apache-2.0
// Trains the image tokenizer of the token-transformer family (a VQGAN-style
// encoder, codebook and decoder) on a dataset's images within a time budget,
// saves it to OUT/tokenizer.safetensors and reports how well it reconstructs
// test images: PSNR, codebook usage and, with --classifier, whether the
// evaluation classifier still reads every attribute of the reconstructions.
//
//   train_image_tokenizer --dataset shapes --minutes 5 --out runs/vq --classifier shapes_classifier.safetensors
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <fresco/fresco.hpp>
#include <fresco/vq/image_tokenizer.hpp>
#include <fresco/vq/trainer.hpp>

#include "common/cli.hpp"
#include "common/run_dir.hpp"

namespace {

namespace cli = fresco::cli;

struct Args {
  std::string dataset, out = "vq", classifier, report_only, test_split = "test";
  double minutes = 5;
  uint64_t seed = 0;
  int64_t limit = 0, test = 1000;
  // The library's defaults (docs/image-tokenizer.md), with the discriminator only once the
  // reconstructions hold: on 2 cores a few minutes are a thousand or two steps.
  fresco::vq::ImageTokenizerConfig config;
  fresco::vq::ImageTokenizerTrainerOptions train{
      .steps = 1'000'000'000, .disc_start = 2000, .checkpoint_every = 1000, .sample_every = 250};
  fresco::vq::QuantizerOptions quantizer{.normalize = true};
  std::string reconstruction = "l1";
};

void add_options(CLI::App& app, Args& a) {
  app.add_option("--dataset", a.dataset, "the images to learn")
      ->required()
      ->check(cli::dataset_name({"shapes", "fashion-mnist"}, "folder:", "DIR", CLI::ExistingDirectory));
  cli::add_number(app, "--minutes", a.minutes,
                  "time budget of the training (0: none; --steps alone ends it, and a resumed run is exact)")
      ->check(cli::non_negative());
  app.add_option("--out", a.out, "the run's directory (samples, checkpoint, tokenizer.safetensors)");
  cli::add_number(app, "--seed", a.seed, "seed of the data, the initialisation and the training");
  cli::add_number(app, "--limit", a.limit, "training images (0: the dataset's default)")->check(cli::non_negative());
  cli::add_number(app, "--test", a.test, "test images the report reconstructs")->check(cli::positive());
  app.add_option("--test-split", a.test_split,
                 "Shapes split the report reconstructs: test (seen colour-shape pairs) or compositional (scenes "
                 "with a held-out pair, which the tokenizer never saw)")
      ->check(CLI::IsMember({"test", "compositional"}))
      ->capture_default_str();
  app.add_option("--classifier", a.classifier,
                 "the evaluation classifier that judges the reconstructions (with a Shapes cell judge in the file, "
                 "shape, colour and size are read by it, as evaluate reads generated images)")
      ->check(cli::existing_file("train one with train_classifier"));
  app.add_option("--report-only", a.report_only,
                 "train nothing: report on this trained tokenizer (OUT/tokenizer.safetensors of an earlier run, or a "
                 "transformer run's image_tokenizer.safetensors)")
      ->check(cli::existing_file("train one with train_image_tokenizer"));
  cli::add_number(app, "--image-size", a.config.image_size, "side of the images (Fashion-MNIST: 32)")
      ->check(CLI::IsMember({8, 16, 32, 64, 128, 256}));
  cli::add_number(app, "--downsample", a.config.downsample, "image pixels per token side (32x32 -> 8x8 at 4)")
      ->check(CLI::IsMember({2, 4, 8, 16}));
  cli::add_number(app, "--width", a.config.width, "channels at full resolution")->check(cli::positive());
  cli::add_number(app, "--max-width", a.config.max_width, "most channels at any resolution")->check(cli::positive());
  cli::add_number(app, "--res-blocks", a.config.res_blocks, "residual blocks at each resolution finer than the tokens'")
      ->check(cli::non_negative());
  cli::add_number(app, "--grid-blocks", a.config.grid_blocks, "residual blocks at the tokens' resolution")
      ->check(cli::non_negative());
  cli::add_number(app, "--codes", a.config.codes, "codebook size")->check(cli::closed(2, 1 << 20));
  cli::add_number(app, "--code-dim", a.config.code_dim, "size of a code vector")->check(cli::closed(1, 4096));
  cli::add_number(app, "--batch", a.train.batch_size, "images per step")->check(cli::positive());
  cli::add_number(app, "--steps", a.train.steps, "at most this many steps")->check(cli::positive());
  cli::add_number(app, "--lr", a.train.lr, "Adam's peak learning rate")->check(cli::positive());
  cli::add_number(app, "--warmup", a.train.warmup_steps, "steps of linear warm-up of the learning rate")
      ->check(cli::non_negative());
  cli::add_number(app, "--min-lr-fraction", a.train.min_lr_fraction,
                  "learning rate at the end of the cosine decay, as a share of --lr (1: no decay)")
      ->check(cli::closed(0, 1));
  app.add_option("--reconstruction", a.reconstruction, "reconstruction loss")
      ->check(CLI::IsMember({"l1", "l2"}))
      ->capture_default_str();
  cli::add_number(app, "--foreground-weight", a.train.foreground_weight,
                  "extra weight of the pixels unlike the background in the reconstruction loss")
      ->check(cli::non_negative());
  cli::add_number(app, "--foreground-radius", a.train.foreground_radius,
                  "pixels around the objects the foreground weight reaches")
      ->check(cli::closed(0, 16));
  cli::add_number(app, "--disc-weight", a.train.disc_weight, "weight of the adversarial loss (0: none)")
      ->check(cli::non_negative());
  cli::add_number(app, "--disc-start", a.train.disc_start, "steps before the discriminator joins")
      ->check(cli::non_negative());
  cli::add_number(app, "--commitment", a.quantizer.commitment, "weight of the codebook's commitment loss")
      ->check(cli::non_negative());
  cli::add_number(app, "--decay", a.quantizer.decay, "decay of the codebook's moving averages")
      ->check(cli::half_open(0, 1));
  cli::add_number(app, "--dead-threshold", a.quantizer.dead_threshold,
                  "a code used less than this many times a step (moving average) restarts")
      ->check(cli::non_negative());
  app.add_option("--normalize-codes", a.quantizer.normalize, "search the codebook by cosine (unit-length codes)")
      ->capture_default_str();
  cli::add_number(app, "--sample-every", a.train.sample_every, "steps between sample grids (0: at the end)")
      ->check(cli::non_negative());
}

// Images [N, C, S, S] in [0, 1] and their labels.
struct Images {
  fresco::Tensor pixels;
  std::vector<std::vector<int64_t>> labels;
};

Images read_images(const fresco::data::Dataset& ds, int64_t limit) {
  const int64_t n = limit > 0 ? std::min(limit, ds.size()) : ds.size();
  std::vector<fresco::Tensor> images;
  Images out;
  for (int64_t i = 0; i < n; ++i) {
    auto e = ds.get(i);
    images.push_back(e.image);
    out.labels.push_back(std::move(e.labels));
  }
  out.pixels = fresco::stack(images, 0);
  return out;
}

// The test images: Shapes' test or compositional split (single-object scenes, the ones the
// classifier judges) and Fashion-MNIST's test split; a folder has none, so its first training
// images stand in.
Images test_images(const Args& a) {
  if (a.dataset == "shapes")
    return read_images(fresco::data::ShapesDataset(fresco::data::Shapes(
                           {.image_size = a.config.image_size, .size = a.test, .seed = a.seed, .split = a.test_split,
                            .two_object_fraction = 0.f})),
                       a.test);
  if (a.dataset == "fashion-mnist")
    return read_images(fresco::data::FashionMnistDataset(fresco::data::FashionMnist({.split = "test", .pad_to_32 = true})),
                       a.test);
  return read_images(*fresco::data::open_dataset({.name = a.dataset, .image_size = a.config.image_size}), a.test);
}

void report(fresco::vq::ImageTokenizer& tok, const Args& a) {
  tok.eval();
  const Images test = test_images(a);
  const int64_t n = test.pixels.size(0);
  const std::vector<int64_t> ids = tok.encode(test.pixels);
  const fresco::Tensor back = tok.decode(ids, n);
  std::vector<int64_t> count(static_cast<size_t>(a.config.codes), 0);
  for (int64_t id : ids) ++count[static_cast<size_t>(id)];
  const auto used = std::count_if(count.begin(), count.end(), [](int64_t c) { return c > 0; });
  double entropy = 0;   // of the test tokens' code usage
  for (int64_t c : count)
    if (c > 0) entropy -= double(c) / double(ids.size()) * std::log(double(c) / double(ids.size()));
  fmt::print("test images: {}{}\nPSNR: {:.2f} dB\ncodes used: {} of {}\ncode perplexity: {:.1f}\n", n,
             a.dataset == "shapes" ? fmt::format(" (the {} split)", a.test_split) : "",
             fresco::vq::psnr(back, test.pixels), used, a.config.codes, std::exp(entropy));
  if (a.classifier.empty()) return;
  // The judge evaluate uses: with a cell judge, a single object's shape, colour and size
  // are read in its cell, its position by the scene classifier.
  const auto judges = fresco::eval::load_judges(a.classifier);
  const fresco::eval::ImageJudge judge = fresco::eval::judge_of(*judges.scene, judges.cell.get());
  for (const auto& labels : test.labels)
    FRESCO_CHECK(labels.size() == judge.config.heads.size(),
                 "train_image_tokenizer: the classifier has {} heads but the test images have {} labels each; "
                 "--classifier needs labelled data (shapes or fashion-mnist)",
                 judge.config.heads.size(), labels.size());
  if (judges.cell) fmt::print("judge: the scene classifier and its cell judge (as evaluate reads images)\n");
  const auto real = judge.predict(test.pixels * 2.f - 1.f), rebuilt = judge.predict(back * 2.f - 1.f);
  for (size_t h = 0; h < real.size(); ++h) {
    int64_t right_real = 0, right_rebuilt = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t want = test.labels[static_cast<size_t>(i)][h];
      right_real += real[h][static_cast<size_t>(i)] == want;
      right_rebuilt += rebuilt[h][static_cast<size_t>(i)] == want;
    }
    fmt::print("classifier head {}: {:.2f}% on reconstructions, {:.2f}% on the real images\n", h,
               100.0 * right_rebuilt / n, 100.0 * right_real / n);
  }
}

int run(Args a) {
  if (a.test_split != "test" && a.dataset != "shapes")
    throw CLI::ValidationError("--test-split", "only Shapes has a compositional split");
  if (a.dataset == "fashion-mnist" && a.config.image_size != 32)
    throw CLI::ValidationError("--image-size", "Fashion-MNIST is read at 32x32");
  a.config.seed = a.seed;
  a.config.channels = a.dataset == "fashion-mnist" ? 1 : 3;
  a.train.seed = a.seed;
  a.train.minutes = a.minutes;
  a.train.out_dir = a.out;
  a.train.reconstruction = a.reconstruction == "l1" ? fresco::vq::ReconstructionLoss::l1 : fresco::vq::ReconstructionLoss::l2;
  a.train.on_progress = fresco::progress_bar();
  if (!a.classifier.empty()) {   // before the training, not after it
    const auto clf = fresco::eval::Classifier::load(a.classifier);
    if (clf->config().image_size != a.config.image_size || clf->config().channels != a.config.channels)
      throw CLI::ValidationError(
          "--classifier", fmt::format("{} reads {}x{} images of {} channels, the tokenizer's are {}x{} of {}",
                                      a.classifier, clf->config().image_size, clf->config().image_size,
                                      clf->config().channels, a.config.image_size, a.config.image_size,
                                      a.config.channels));
  }
  if (!a.report_only.empty()) {
    auto trained = fresco::vq::ImageTokenizer::load(a.report_only);
    const auto& c = trained->config();
    if (c.image_size != a.config.image_size || c.channels != a.config.channels)
      throw CLI::ValidationError("--report-only", fmt::format("{} reads {}x{} images of {} channels; {} has {}x{} of {}",
                                                              a.report_only, c.image_size, c.image_size, c.channels,
                                                              a.dataset, a.config.image_size, a.config.image_size,
                                                              a.config.channels));
    a.config = c;
    report(*trained, a);
    return 0;
  }
  fresco::cli::prepare_run_directory(a.out);   // before the training, not after it
  fmt::print(stderr, "loading {} ...\n", a.dataset);
  const auto ds = fresco::data::open_dataset(
      {.name = a.dataset, .limit = a.limit, .seed = a.seed, .image_size = a.config.image_size, .two_object_fraction = 0.3f});
  const Images train = read_images(*ds, 0);
  fresco::vq::ImageTokenizer tok(a.config, a.quantizer);
  fmt::print(stderr, "{} images {}, tokenizer of {} parameters: {}x{} tokens of {} codes\n", train.pixels.size(0),
             fresco::shape_str(train.pixels.shape()), tok.num_parameters(), a.config.grid(), a.config.grid(),
             a.config.codes);
  fresco::vq::ImageTokenizerTrainer trainer(tok, train.pixels * 2.f - 1.f, a.train);
  const auto summary = trainer.train();
  tok.save(a.out + "/tokenizer.safetensors");
  fmt::print("steps: {} in {:.1f} s\ntokenizer: {}/tokenizer.safetensors\nsamples: {}/samples/final.png\n", summary.steps,
             summary.seconds, a.out, a.out);
  report(tok, a);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains an image tokenizer (encoder, codebook, decoder; VQGAN's losses) on a dataset's images\n"
               "and reports how well it reconstructs test images.",
               "train_image_tokenizer"};
  app.footer(
      "Examples:\n  train_image_tokenizer --dataset shapes --minutes 5 --out runs/vq\n"
      "  train_image_tokenizer --dataset shapes --report-only runs/shapes/image_tokenizer.safetensors "
      "--classifier runs/shapes_judges.safetensors");
  Args args;
  add_options(app, args);
  return cli::run(app, argc, argv, [&] { return run(args); });
}
