// SPDX-License-Identifier: Apache-2.0
// Trains a text-to-image model end to end within a time budget: a BPE
// tokenizer and a GPT pretrained on the dataset's captions (unless --gpt gives
// one), then the GAN; writes sample grids during training and the finished
// model to OUT/model.safetensors.
//
//   train_text2image --dataset shapes --minutes 7 --out runs/shapes
//   train_text2image --dataset folder:my_images --minutes 30 --out runs/mine --gpt runs/shapes/gpt.safetensors
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <fresco/fresco.hpp>
#include <fresco/data/registry.hpp>
#include <fresco/gan/captioned_images.hpp>
#include <fresco/gan/discriminator.hpp>
#include <fresco/gan/generator.hpp>
#include <fresco/gan/text_to_image.hpp>
#include <fresco/gan/trainer.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/text/pretrain.hpp>
#include <fresco/text/tokenizer.hpp>

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: train_text2image --dataset shapes|fashion-mnist|folder:DIR [--minutes M] [--out DIR]\n"
               "         [--gpt FILE] [--seed S] [--text-share F] [--steps N] [--batch B] [--limit N]\n"
               "         [--image-size S] [--g-width W] [--d-width W] [--loss hinge|bce] [--ma-gp K] [--ma-gp-every N]\n"
               "         [--lr-g LR] [--lr-d LR] [--beta1 B] [--beta2 B] [--ema D] [--no-attention] [--finetune-text]\n"
               "         [--contrastive W] [--temperature T] [--negatives K] [--hard-negatives H] [--hard-mismatch F]\n"
               "         [--align-steps N] [--lr-align LR] [--align-text-weight W] [--align-text-head]\n"
               "         [--two-objects F]\n"
               "         [--sample-every N] [--checkpoint-every N]\n"
               "Pretrains a GPT on the captions for --text-share of the budget (default 0.1) unless --gpt is\n"
               "given or OUT/gpt.safetensors exists, aligns it with the discriminator's image features on\n"
               "real pairs (--align-steps, default 100 per budget minute, at most 2000), then trains the GAN\n"
               "for the rest (resuming from OUT/checkpoint.safetensors if present) with the contrastive\n"
               "losses at weight --contrastive (default 1). Shapes scenes hold one object unless\n"
               "--two-objects F. Writes OUT/samples/*.png and OUT/model.safetensors.\n");
}

}  // namespace

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto elapsed_min = [&] { return std::chrono::duration<double>(Clock::now() - start).count() / 60.0; };
  std::string out = "run", gpt_path;
  fresco::data::DatasetSpec spec;
  // Shapes: single-object scenes, the scenes the metrics judge (--two-objects 0.3 adds pairs).
  spec.two_object_fraction = 0.f;
  // The GAN reads the GPT's first block only (gan::encode_tokens), which a short pretraining shapes.
  double minutes = 7, text_share = 0.1;
  int64_t g_width = 64, d_width = 16;
  bool attention = true;
  // Small nets, small batches and a lazy MA-GP: on 2 shared cores, the number of steps is what a
  // conditional GAN needs most. Adam as DF-GAN (Tao et al. 2022): lr 1e-4 for G, 4e-4 for D, betas (0, 0.9).
  // Alignment and contrastive losses: what makes the images follow the caption (docs/text-to-image.md,
  // "Conditioning"). align_steps < 0: 100 per minute of budget, at most 2000.
  int64_t align_steps = -1;
  fresco::gan::GanTrainerOptions opt{.batch_size = 32,
                                     .steps = 1'000'000'000,
                                     .lr_g = 1e-4f,
                                     .lr_d = 4e-4f,
                                     .beta1 = 0.f,
                                     .beta2 = 0.9f,
                                     .ma_gp_every = 4,
                                     .contrastive = 1.f,
                                     .checkpoint_every = 500,
                                     .sample_every = 100};
  try {
    bool have_dataset = false;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw fresco::Error("train_text2image: " + a + " needs a value");
        return argv[++i];
      };
      if (a == "--dataset") spec.name = value(), have_dataset = true;
      else if (a == "--minutes") minutes = std::stod(value());
      else if (a == "--out") out = value();
      else if (a == "--gpt") gpt_path = value();
      else if (a == "--seed") opt.seed = spec.seed = std::stoull(value());
      else if (a == "--text-share") text_share = std::stod(value());
      else if (a == "--steps") opt.steps = std::stoll(value());
      else if (a == "--batch") opt.batch_size = std::stoll(value());
      else if (a == "--limit") spec.limit = std::stoll(value());
      else if (a == "--image-size") spec.image_size = std::stoll(value());
      else if (a == "--g-width") g_width = std::stoll(value());
      else if (a == "--d-width") d_width = std::stoll(value());
      else if (a == "--loss") opt.loss = value();
      else if (a == "--ma-gp") opt.ma_gp = std::stof(value());
      else if (a == "--ma-gp-every") opt.ma_gp_every = std::stoll(value());
      else if (a == "--lr-g") opt.lr_g = std::stof(value());
      else if (a == "--lr-d") opt.lr_d = std::stof(value());
      else if (a == "--beta1") opt.beta1 = std::stof(value());
      else if (a == "--beta2") opt.beta2 = std::stof(value());
      else if (a == "--ema") opt.ema_decay = std::stof(value());
      else if (a == "--contrastive") opt.contrastive = std::stof(value());
      else if (a == "--align-steps") align_steps = std::stoll(value());
      else if (a == "--lr-align") opt.lr_align = std::stof(value());
      else if (a == "--align-text-weight") opt.align_text_loss_weight = std::stof(value());
      else if (a == "--align-text-head") opt.align_sentences = false;
      else if (a == "--temperature") opt.contrastive_temperature = std::stof(value());
      else if (a == "--negatives") opt.contrastive_negatives = std::stoll(value());
      else if (a == "--hard-negatives") opt.contrastive_hard_negatives = std::stoll(value());
      else if (a == "--hard-mismatch") opt.hard_mismatch = std::stof(value());
      else if (a == "--two-objects") spec.two_object_fraction = std::stof(value());
      else if (a == "--no-attention") attention = false;
      else if (a == "--finetune-text") opt.finetune_text = true;
      else if (a == "--sample-every") opt.sample_every = std::stoll(value());
      else if (a == "--checkpoint-every") opt.checkpoint_every = std::stoll(value());
      else if (a == "--help" || a == "-h") return usage(), 0;
      else throw fresco::Error("train_text2image: unknown argument '" + a + "' (see --help)");
    }
    if (!have_dataset) throw fresco::Error("train_text2image: --dataset is required (see --help)");
    FRESCO_CHECK(minutes > 0, "train_text2image: --minutes must be positive, got {}", minutes);
    opt.align_steps = align_steps >= 0 ? align_steps : std::min<int64_t>(2000, static_cast<int64_t>(100 * minutes));
    FRESCO_CHECK(text_share >= 0 && text_share < 1, "train_text2image: --text-share must be in [0, 1), got {}",
                 text_share);
    std::filesystem::create_directories(out);

    fmt::print(stderr, "[1/4] loading {} ...\n", spec.name);
    fresco::gan::CaptionedImages data = fresco::gan::CaptionedImages::from_dataset(*fresco::data::open_dataset(spec));
    fmt::print(stderr, "      {} images {}, e.g. \"{}\" ({:.1f} s)\n", data.size(),
               fresco::shape_str(data.images.shape()), data.captions[0], elapsed_min() * 60);

    // Stage 1: the text model.
    std::unique_ptr<fresco::text::Gpt> gpt;
    fresco::text::BpeTokenizer tokenizer;
    const std::string saved_gpt = out + "/gpt.safetensors";
    if (gpt_path.empty() && std::filesystem::exists(saved_gpt)) gpt_path = saved_gpt;
    if (!gpt_path.empty()) {
      fmt::print(stderr, "[2/4] text model from {}\n", gpt_path);
      auto loaded = fresco::text::load_gpt(gpt_path);
      gpt = std::move(loaded.gpt);
      tokenizer = std::move(loaded.tokenizer);
    } else {
      fmt::print(stderr, "[2/4] tokenizer and GPT pretraining on the captions ({:.1f} min)\n", minutes * text_share);
      tokenizer = fresco::text::BpeTokenizer::train(data.captions, 512);
      gpt = std::make_unique<fresco::text::Gpt>(fresco::text::GptConfig{
          .vocab_size = 512, .context = 32, .d_model = 128, .heads = 4, .layers = 4, .seed = opt.seed});
      auto s = fresco::text::pretrain(*gpt, tokenizer, data.captions,
                                      {.batch_size = 64, .steps = 100000, .minutes = minutes * text_share,
                                       .lr = 1e-3f, .min_lr = 1e-4f, .warmup_steps = 50, .seed = opt.seed});
      fmt::print(stderr, "      {} steps, validation loss {:.3f} (perplexity {:.2f})\n", s.steps,
                 s.final_val_loss, s.final_val_perplexity);
      fresco::text::save_gpt(*gpt, tokenizer, saved_gpt);
    }

    // Stage 2: the GAN.
    const int64_t channels = data.images.size(1), size = data.images.size(2);
    const int64_t d_model = gpt->config().d_model;
    fresco::gan::Generator g({.image_size = size, .channels = channels, .text_dim = d_model,
                              .base_width = g_width, .min_width = std::min<int64_t>(32, g_width),
                              .cross_attention = attention, .seed = opt.seed});
    fresco::gan::Discriminator d({.image_size = size, .channels = channels, .text_dim = d_model,
                                  .base_width = d_width, .seed = opt.seed + 1});
    opt.out_dir = out;
    opt.minutes = std::max(0.05, minutes - elapsed_min());
    fmt::print(stderr, "[3/4] alignment and GAN training for {:.1f} min: G {} parameters, D {} parameters, batch {}\n",
               opt.minutes, g.num_parameters(), d.num_parameters(), opt.batch_size);
    fresco::gan::GanTrainer trainer(g, d, *gpt, tokenizer, std::move(data), opt);
    auto summary = trainer.train();
    fmt::print(stderr,
               "      {} GAN steps ({} this run) in {:.1f} s with the alignment: {:.2f} GAN steps/s, {:.1f} images/s\n",
               summary.steps, summary.steps_run, summary.seconds, summary.steps_per_second,
               summary.steps_per_second * static_cast<double>(opt.batch_size));

    fmt::print(stderr, "[4/4] writing {}/model.safetensors\n", out);
    auto model = fresco::gan::TextToImage::from_parts(tokenizer, *gpt, trainer.ema_generator());
    model.save(out + "/model.safetensors");
    fmt::print("model: {}/model.safetensors\nsamples: {}/samples/final.png\ntotal: {:.1f} min\n", out, out,
               elapsed_min());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
