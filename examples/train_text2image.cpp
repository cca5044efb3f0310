// SPDX-License-Identifier: Apache-2.0
// Trains a text-to-image model end to end within a time budget: a BPE
// tokenizer and a GPT pretrained on the dataset's captions (unless --gpt gives
// one), then the GAN; writes sample grids during training and the finished
// model to OUT/model.safetensors.
//
//   train_text2image --dataset shapes --minutes 7 --out runs/shapes
//   train_text2image --dataset folder:my_images --minutes 30 --out runs/mine --gpt runs/shapes/gpt.safetensors
//   train_text2image --family transformer --dataset shapes --minutes 0 --vq-steps 3000 --steps 6000 --out runs/exact
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include <fresco/fresco.hpp>
#include <fresco/data/image_folder.hpp>
#include <fresco/data/registry.hpp>
#include <fresco/eval/augment.hpp>
#include <fresco/gan/captioned_images.hpp>
#include <fresco/gan/discriminator.hpp>
#include <fresco/gan/generator.hpp>
#include <fresco/gan/text_to_image.hpp>
#include <fresco/gan/trainer.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/text/pretrain.hpp>
#include <fresco/text/tokenizer.hpp>
#include <fresco/vq/image_gpt.hpp>
#include <fresco/vq/image_gpt_trainer.hpp>
#include <fresco/vq/image_tokenizer.hpp>
#include <fresco/vq/text_to_image.hpp>
#include <fresco/vq/trainer.hpp>

#include "common/cli.hpp"
#include "common/distributed.hpp"
#include "common/memory.hpp"
#include "common/run_dir.hpp"
#include "common/token_stages.hpp"

namespace {

namespace cli = fresco::cli;

struct Args {
  // The data and the run.
  std::string family = "gan";
  // The caption read with ALiBi's recency bias, each word its own clause first: what binds the
  // words of a two-object caption to their object (docs/text-to-image.md, "Two objects: what was tried").
  cli::TransformerArgs transformer{.gpt = {.d_model = 128, .heads = 4, .layers = 4, .caption_recency = true}};
  cli::RerankerArgs rerank;
  // --guidance / --top-p given: a model with a reranker keeps them instead of RerankerArgs' own.
  bool guidance_given = false, top_p_given = false;
  std::string dataset, out = "run", gpt;
  double minutes = 7;   // 0: no clock, every phase runs its step count (reproducible)
  // The GAN reads the GPT's first block only (gan::encode_tokens), which a short pretraining shapes.
  double text_share = 0.1;
  uint64_t seed = 0;
  int64_t limit = 0, image_size = 32;
  // Shapes: single-object scenes, the scenes the metrics judge (--two-objects 0.3 adds pairs).
  float two_objects = 0.f;
  // Folders: which captions, which images left out, and perturbed copies of each image.
  std::string captions_file, exclude;
  std::vector<std::string> caption_keys;
  int64_t augment = 0;
  // The nets. Small nets, small batches and a lazy MA-GP: on 2 shared cores, the number of steps
  // is what a conditional GAN needs most.
  int64_t g_width = 64, d_width = 16;
  bool no_attention = false, finetune_text = false;
  // GAN training. Adam as DF-GAN (Tao et al. 2022): lr 1e-4 for G, 4e-4 for D, betas (0, 0.9).
  // Where no reason is given, the defaults are GanTrainerOptions' own.
  std::string loss = "hinge";
  // Steps of the image model (GAN or token transformer) and of the GPT pretraining; without them
  // the time budget decides.
  std::optional<int64_t> steps, text_steps;
  int64_t batch = 32, ma_gp_every = 4;
  float ma_gp = fresco::gan::GanPenaltyOptions{}.weight, lr_g = 1e-4f, lr_d = 4e-4f, beta1 = 0.f, beta2 = 0.9f,
        ema = fresco::gan::GanOptimizerOptions{}.ema_decay;
  // Alignment and contrastive losses: what makes the images follow the caption
  // (docs/text-to-image.md, "Conditioning"). No --align-steps: 100 per minute of budget, at most 2000.
  std::optional<int64_t> align_steps;
  float contrastive = 1.f, temperature = fresco::gan::GanContrastiveOptions{}.temperature,
        hard_mismatch = fresco::gan::GanContrastiveOptions{}.hard_mismatch, lr_align = fresco::gan::AlignOptions{}.lr,
        align_text_weight = fresco::gan::AlignOptions{}.text_loss_weight;
  int64_t negatives = fresco::gan::GanContrastiveOptions{}.negatives,
          hard_negatives = fresco::gan::GanContrastiveOptions{}.hard_negatives;
  bool align_text_head = false;
  // Output.
  int64_t sample_every = 100, checkpoint_every = 500;
};

void add_run_options(CLI::App& app, Args& a) {
  app.add_option("--family", a.family, "the model: a GAN or a token transformer (image tokenizer + GPT)")
      ->check(CLI::IsMember({"gan", "transformer"}));
  app.add_option("--dataset", a.dataset, "the captioned images to learn")
      ->required()
      ->check(cli::dataset_name({"shapes", "fashion-mnist"}, "folder:", "DIR", CLI::ExistingDirectory));
  cli::add_number(app, "--minutes", a.minutes,
                  "time budget of the whole run (0: none; every phase runs its step count, reproducibly)")
      ->check(cli::non_negative());
  app.add_option("--out", a.out, "the run's directory (samples, checkpoints, the model)");
  app.add_option("--gpt", a.gpt, "a pretrained text model to use instead of pretraining one")
      ->check(cli::existing_file("pretrain one with pretrain_gpt, or leave --gpt out"));
  cli::add_number(app, "--seed", a.seed, "seed of the data, the initialisation and the training");
  cli::add_number(app, "--text-share", a.text_share, "share of the budget for pretraining the GPT")
      ->check(cli::half_open(0, 1));
  cli::add_number(app, "--steps", a.steps,
                  "steps of the GAN or the token transformer, at most (the time budget may end training first)")
      ->check(cli::positive());
  cli::add_number(app, "--text-steps", a.text_steps, "GPT pretraining steps, at most (GAN family)")
      ->check(cli::positive());
  cli::add_number(app, "--batch", a.batch, "image-caption pairs per step")->check(cli::at_least(2));
  cli::add_number(app, "--limit", a.limit, "training images (0: the dataset's default; Shapes 20000, others all)")
      ->check(cli::non_negative());
  cli::add_number(app, "--image-size", a.image_size, "image side for Shapes and folders (Fashion-MNIST is 32)")
      ->check(CLI::IsMember({8, 16, 32, 64, 128, 256}));
  cli::add_number(app, "--two-objects", a.two_objects, "share of Shapes scenes with two objects")
      ->check(cli::closed(0, 1));
}

void add_folder_options(CLI::App& app, Args& a) {
  app.option_defaults()->group("Folders (--dataset folder:DIR)");
  app.add_option("--captions-file", a.captions_file,
                 "the captions file in DIR (default: captions.tsv or captions.jsonl, whichever exists)");
  app.add_option("--caption-keys", a.caption_keys,
                 "JSONL fields whose texts are captions, comma-separated; each non-empty one (or each string of "
                 "an array) is an image-caption pair of its own (default: caption)")
      ->delimiter(',');
  app.add_option("--exclude", a.exclude, "a file listing images (one per line, as the captions file names them) "
                                         "to leave out, e.g. a held-out split")
      ->check(cli::existing_file("write the list, or leave --exclude out"));
  cli::add_number(app, "--augment", a.augment,
                  "perturbed copies of each training image added to the set: small shifts, scaling, blur and noise, "
                  "colours kept (0: none)")
      ->check(cli::closed(0, 8));
}

void add_gan_options(CLI::App& app, Args& a) {
  app.option_defaults()->group("GAN");
  cli::add_number(app, "--g-width", a.g_width, "generator width")->check(cli::positive());
  cli::add_number(app, "--d-width", a.d_width, "discriminator width")->check(cli::positive());
  app.add_flag("--no-attention", a.no_attention, "no cross-attention from the generator to the caption's words");
  app.add_flag("--finetune-text", a.finetune_text, "fine-tune the text model in the GAN instead of freezing it");
  app.add_option("--loss", a.loss, "the adversarial loss")->check(CLI::IsMember({"hinge", "bce"}));
  cli::add_number(app, "--ma-gp", a.ma_gp, "weight of the matching-aware gradient penalty (0: off)")
      ->check(cli::non_negative());
  cli::add_number(app, "--ma-gp-every", a.ma_gp_every, "apply the penalty every this many steps")
      ->check(cli::positive());
  cli::add_number(app, "--lr-g", a.lr_g, "Adam learning rate of the generator")->check(cli::positive());
  cli::add_number(app, "--lr-d", a.lr_d, "Adam learning rate of the discriminator")->check(cli::positive());
  cli::add_number(app, "--beta1", a.beta1, "Adam beta1 of both nets")->check(cli::half_open(0, 1));
  cli::add_number(app, "--beta2", a.beta2, "Adam beta2 of both nets")->check(cli::half_open(0, 1));
  cli::add_number(app, "--ema", a.ema, "decay of the moving average of the generator's weights")
      ->check(cli::half_open(0, 1));
}

void add_conditioning_options(CLI::App& app, Args& a) {
  app.option_defaults()->group("Conditioning");
  cli::add_number(app, "--contrastive", a.contrastive, "weight of the image-caption contrastive losses (0: off)")
      ->check(cli::non_negative());
  cli::add_number(app, "--temperature", a.temperature, "temperature of the contrastive similarities")
      ->check(cli::positive());
  cli::add_number(app, "--negatives", a.negatives, "extra random captions per step as contrastive negatives")
      ->check(cli::non_negative());
  cli::add_number(app, "--hard-negatives", a.hard_negatives, "negatives per image that differ in one attribute")
      ->check(cli::non_negative());
  cli::add_number(app, "--hard-mismatch", a.hard_mismatch, "share of mismatched pairs taken from hard negatives")
      ->check(cli::closed(0, 1));
  cli::add_number(app, "--align-steps", a.align_steps,
                  "text-image alignment steps before the GAN (default 100 per budget minute, at most 2000)")
      ->check(cli::non_negative());
  cli::add_number(app, "--lr-align", a.lr_align, "Adam learning rate of the alignment")->check(cli::positive());
  cli::add_number(app, "--align-text-weight", a.align_text_weight, "weight of the next-token loss in alignment")
      ->check(cli::non_negative());
  app.add_flag("--align-text-head", a.align_text_head,
               "align through the discriminator's text head, not the sentence vectors themselves");
}

void add_output_options(CLI::App& app, Args& a) {
  app.option_defaults()->group("Output");
  cli::add_number(app, "--sample-every", a.sample_every, "sample grid every this many steps (0: at the end only)")
      ->check(cli::non_negative());
  cli::add_number(app, "--checkpoint-every", a.checkpoint_every,
                  "checkpoint every this many steps of each phase (0: at the end only)")
      ->check(cli::non_negative());
}

fresco::data::DatasetSpec dataset_spec(const Args& a) {
  return {.name = a.dataset, .limit = a.limit, .seed = a.seed, .image_size = a.image_size,
          .two_object_fraction = a.two_objects, .exclude_file = a.exclude, .captions_file = a.captions_file,
          .caption_keys = a.caption_keys};
}

// The set followed by `copies` perturbed versions of each image, with its caption and labels: shifts,
// scaling, blur and noise as the judges' augmentation, colour jitter off (captions name colours).
fresco::gan::CaptionedImages with_augmented_copies(fresco::gan::CaptionedImages data, int64_t copies, uint64_t seed) {
  if (copies == 0) return data;
  fresco::eval::AugmentOptions augment{.enabled = true, .brightness = 0.f, .contrast = 0.f, .channel_gain = 0.f};
  fresco::Generator rng(seed ^ 0x61756721ULL);
  const fresco::Tensor unit = (data.images + 1.f) * 0.5f;   // augment_images works in [0, 1]
  std::vector<fresco::Tensor> parts{data.images};
  const auto captions = data.captions;
  const auto labels = data.labels;
  for (int64_t c = 0; c < copies; ++c) {
    parts.push_back(fresco::eval::augment_images(unit, augment, rng) * 2.f - 1.f);
    data.captions.insert(data.captions.end(), captions.begin(), captions.end());
    data.labels.insert(data.labels.end(), labels.begin(), labels.end());
  }
  data.images = fresco::cat(parts, 0);
  return data;
}

constexpr int64_t kUnbounded = cli::kUnboundedSteps;

// The progress bar, with the resident memory; OUT/memory.jsonl logs it every 10 seconds.
fresco::ProgressCallback progress(const Args& a) {
  return cli::with_memory(fresco::progress_bar(), a.out + "/memory.jsonl");
}

// Without a time budget (--minutes 0), every phase that runs needs its step count.
void check_steps(const Args& a) {
  if (a.minutes > 0) return;
  std::vector<std::string> missing;
  if (!a.steps) missing.push_back("--steps");
  if (a.family == "gan" && a.gpt.empty() && !a.text_steps) missing.push_back("--text-steps");
  if (a.family == "gan" && !a.align_steps) missing.push_back("--align-steps");
  if (a.family == "transformer" && a.transformer.image_tokenizer.empty() && !a.transformer.vq_steps)
    missing.push_back("--vq-steps");
  if (a.family == "transformer" && a.rerank.share > 0 && !a.rerank.steps &&
      !std::filesystem::exists(a.out + "/reranker.safetensors"))
    missing.push_back("--rerank-steps (or --rerank-share 0)");
  if (!missing.empty())
    throw CLI::ValidationError("--minutes 0", fmt::format("a run without a time budget needs the step count of each "
                                                          "phase; give {}",
                                                          fmt::join(missing, " and ")));
}

// The budget of a phase that gets `minutes` of the run: none when the run has none.
double phase_minutes(const Args& a, double minutes) { return cli::phase_minutes(a.minutes, minutes); }

// The trainer's options from the command line; `minutes` is what is left of the budget.
fresco::gan::GanTrainerOptions gan_trainer_options(const Args& a, double minutes) {
  fresco::gan::GanTrainerOptions o{.loss = fresco::gan::parse_gan_loss(a.loss),
                                   .batch_size = a.batch,
                                   .steps = a.steps.value_or(kUnbounded),
                                   .minutes = minutes,
                                   .seed = a.seed};
  o.optimizer = {.lr_g = a.lr_g, .lr_d = a.lr_d, .beta1 = a.beta1, .beta2 = a.beta2, .ema_decay = a.ema};
  o.penalty = {.weight = a.ma_gp, .every = a.ma_gp_every};
  o.contrastive = {.weight = a.contrastive,
                   .negatives = a.negatives,
                   .hard_negatives = a.hard_negatives,
                   .temperature = a.temperature,
                   .hard_mismatch = a.hard_mismatch};
  o.alignment = {.steps = a.align_steps.value_or(std::min<int64_t>(2000, static_cast<int64_t>(100 * a.minutes))),
                 .align_sentences = !a.align_text_head,
                 .lr = a.lr_align,
                 .text_loss_weight = a.align_text_weight};
  o.text.finetune = a.finetune_text;
  o.output.dir = a.out;
  o.output.checkpoint_every = a.checkpoint_every;
  o.output.sample_every = a.sample_every;
  o.on_progress = progress(a);
  o.group = cli::joined_world();
  return o;
}

using cli::Stopwatch;

struct TextModel {
  std::unique_ptr<fresco::text::Gpt> gpt;
  fresco::text::BpeTokenizer tokenizer;
};

// Stage 1: the text model, from --gpt or OUT/gpt.safetensors, or pretrained on the captions.
TextModel text_model(const Args& a, const fresco::gan::CaptionedImages& data) {
  const std::string saved = a.out + "/gpt.safetensors";
  const std::string path = !a.gpt.empty() ? a.gpt : std::filesystem::exists(saved) ? saved : "";
  TextModel text;
  if (!path.empty()) {
    fmt::print(stderr, "[2/4] text model from {}\n", path);
    auto loaded = fresco::text::load_gpt(path);
    text.gpt = std::move(loaded.gpt);
    text.tokenizer = std::move(loaded.tokenizer);
    return text;
  }
  const double minutes = a.minutes * a.text_share;
  fmt::print(stderr, "[2/4] tokenizer and GPT pretraining on the captions ({})\n",
             a.minutes > 0 ? fmt::format("{:.1f} min", minutes) : fmt::format("{} steps", *a.text_steps));
  text.tokenizer = fresco::text::BpeTokenizer::train(data.captions, 512);
  text.gpt = std::make_unique<fresco::text::Gpt>(fresco::text::GptConfig{
      .vocab_size = 512, .context = 32, .d_model = 128, .heads = 4, .layers = 4, .seed = a.seed});
  auto s = fresco::text::pretrain(*text.gpt, text.tokenizer, data.captions,
                                  {.batch_size = 64, .steps = a.text_steps.value_or(100000),
                                   .minutes = a.minutes > 0 ? minutes : 0.0, .lr = 1e-3f, .min_lr = 1e-4f,
                                   .warmup_steps = 50, .seed = a.seed, .on_progress = progress(a),
                                   .group = cli::joined_world()});
  fmt::print(stderr, "      {} steps, validation loss {:.3f} (perplexity {:.2f})\n", s.steps, s.final_val_loss,
             s.final_val_perplexity);
  if (cli::writes_files(*cli::joined_world())) fresco::text::save_gpt(*text.gpt, text.tokenizer, saved);
  return text;
}

// Stage 2: alignment and the GAN, for what is left of the budget; then the finished model.
void train_gan(const Args& a, TextModel& text, fresco::gan::CaptionedImages data, const Stopwatch& clock) {
  const int64_t channels = data.images.size(1), size = data.images.size(2);
  const int64_t d_model = text.gpt->config().d_model;
  fresco::gan::Generator g({.image_size = size, .channels = channels, .text_dim = d_model,
                            .base_width = a.g_width, .min_width = std::min<int64_t>(32, a.g_width),
                            .cross_attention = !a.no_attention, .seed = a.seed});
  fresco::gan::Discriminator d({.image_size = size, .channels = channels, .text_dim = d_model,
                                .base_width = a.d_width, .seed = a.seed + 1});
  const auto opt = gan_trainer_options(a, phase_minutes(a, a.minutes - clock.minutes()));
  const int ranks = cli::joined_world()->world_size();
  fmt::print(stderr, "[3/4] alignment and GAN training for {}: G {} parameters, D {} parameters, batch {}{}\n",
             opt.minutes > 0 ? fmt::format("{:.1f} min", opt.minutes) : fmt::format("{} steps", opt.steps),
             g.num_parameters(), d.num_parameters(), opt.batch_size,
             ranks > 1 ? fmt::format(" per process ({} in all)", opt.batch_size * ranks) : "");
  fresco::gan::GanTrainer trainer(g, d, *text.gpt, text.tokenizer, std::move(data), opt);
  const auto summary = trainer.train();
  fmt::print(stderr,
             "      {} GAN steps ({} this run) in {:.1f} s with the alignment: {:.2f} GAN steps/s, {:.1f} images/s\n",
             summary.steps, summary.steps_run, summary.seconds, summary.steps_per_second,
             summary.steps_per_second * static_cast<double>(opt.batch_size * cli::joined_world()->world_size()));

  if (!cli::writes_files(*cli::joined_world())) return;
  fmt::print(stderr, "[4/4] writing {}/model.safetensors\n", a.out);
  auto model = fresco::gan::TextToImage::from_parts(text.tokenizer, *text.gpt, trainer.ema_generator());
  model.save(a.out + "/model.safetensors");
}

void train_transformer(const Args& a, const fresco::gan::CaptionedImages& data, const Stopwatch& clock) {
  fresco::text::BpeTokenizer bpe;
  if (!a.gpt.empty()) {
    bpe = fresco::text::load_gpt(a.gpt).tokenizer;
  } else {
    fmt::print(stderr, "[1/4] BPE tokenizer on the captions\n");
    bpe = fresco::text::BpeTokenizer::train(data.captions, 512);
  }
  auto vq = cli::image_tokenizer_stage(a.transformer, data.images,
                                       {.out = a.out, .seed = a.seed,
                                        .minutes = phase_minutes(a, a.minutes * a.transformer.vq_share),
                                        .checkpoint_every = a.checkpoint_every, .sample_every = a.sample_every,
                                        .progress = progress(a)});
  vq->eval();
  fmt::print(stderr, "[3/4] encoding {} images ...\n", data.size());
  std::vector<int64_t> codes = cli::encode_all(*vq, data.images);
  fresco::vq::Reranker reranker;
  auto sampling = a.transformer.train.sampling;
  if (a.rerank.share > 0) {
    reranker = cli::reranker_stage(a.rerank, bpe, data.images, data.captions,
                                   {.out = a.out, .seed = a.seed,
                                    .minutes = phase_minutes(a, a.minutes * a.rerank.share),
                                    .progress = progress(a), .label = "[3/4]"});
    sampling.candidates = a.rerank.candidates;
    if (!a.guidance_given) sampling.guidance = a.rerank.guidance;
    if (!a.top_p_given) sampling.top_p = a.rerank.top_p;
  }

  const auto gpt = cli::transformer_stage(a.transformer, bpe, *vq, data.captions, std::move(codes),
                                         {.out = a.out, .seed = a.seed,
                                          .minutes = phase_minutes(a, a.minutes - clock.minutes()),
                                          .steps = a.steps.value_or(kUnbounded), .sample_every = a.sample_every,
                                          .checkpoint_every = a.checkpoint_every, .progress = progress(a)});
  if (!cli::writes_files(*cli::joined_world())) return;
  fmt::print(stderr, "[4/4] writing {}/model.safetensors\n", a.out);
  fresco::vq::save_text_to_image(a.out + "/model.safetensors", bpe, *gpt, *vq, sampling,
                                 reranker.encoder ? &reranker : nullptr);
}

int train(const Args& a) {
  const Stopwatch clock;
  check_steps(a);
  // Under mpirun: data parallel, rank 0 prints and writes (docs/distributed.md).
  const auto group = cli::join_world();
  // Before anything long: a directory that cannot take files is reported now, not after the training.
  if (cli::writes_files(*group))
    if (const int removed = cli::prepare_run_directory(a.out); removed > 0)
      fmt::print(stderr, "      removed {} temporary file(s) an interrupted run left in {}\n", removed, a.out);
  group->barrier();  // the directory exists before any process looks into it
  fmt::print(stderr, "[1/4] loading {} ...\n", a.dataset);
  const auto dataset = fresco::data::open_dataset(dataset_spec(a));
  fresco::gan::CaptionedImages data = fresco::gan::CaptionedImages::from_dataset(*dataset);
  if (const auto* folder = dynamic_cast<const fresco::data::ImageFolder*>(dataset.get());
      folder != nullptr && folder->excluded() > 0)
    fmt::print(stderr, "      left out {} entries the exclude file lists\n", folder->excluded());
  data = with_augmented_copies(std::move(data), a.augment, a.seed);
  fmt::print(stderr, "      {} images {}{}, e.g. \"{}\" ({:.1f} s)\n", data.size(),
             fresco::shape_str(data.images.shape()),
             a.augment > 0 ? fmt::format(" ({} perturbed cop{} of each)", a.augment, a.augment == 1 ? "y" : "ies") : "", data.captions[0],
             clock.minutes() * 60);
  if (a.family == "transformer") {
    train_transformer(a, data, clock);
  } else {
    TextModel text = text_model(a, data);
    train_gan(a, text, std::move(data), clock);
  }
  fmt::print("model: {}/model.safetensors\nsamples: {}/samples/final.png\ntotal: {:.1f} min\n", a.out, a.out,
             clock.minutes());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains a text-to-image model end to end within a time budget: a BPE tokenizer and a GPT\n"
               "pretrained on the dataset's captions (unless --gpt gives one), then the GAN; writes sample\n"
               "grids during training and the finished model to OUT/model.safetensors.",
               "train_text2image"};
  app.footer(
      "Pretrains a GPT on the captions for --text-share of the budget unless --gpt is given or\n"
      "OUT/gpt.safetensors exists, aligns it with the discriminator's image features on real pairs\n"
      "(--align-steps), then trains the GAN for the rest (resuming from OUT/checkpoint.safetensors if\n"
      "present) with the contrastive losses at weight --contrastive. Shapes scenes hold one object\n"
      "unless --two-objects F. Writes OUT/samples/*.png and OUT/model.safetensors.\n"
      "\n"
      "--minutes 0 runs without a clock, each phase for its step count (--vq-steps, or --text-steps\n"
      "and --align-steps; and --steps): a run killed at any moment and started again then ends with\n"
      "the same model, bit for bit (docs/reliability.md). The resident memory goes to the progress\n"
      "lines and to OUT/memory.jsonl.\n"
      "\n"
      "Examples:\n"
      "  train_text2image --dataset shapes --minutes 7 --out runs/shapes\n"
      "  train_text2image --dataset folder:my_images --minutes 30 --out runs/mine --gpt runs/shapes/gpt.safetensors\n"
      "  train_text2image --family transformer --dataset folder:data/emoji --image-size 64 --exclude "
      "data/emoji/heldout.txt --minutes 30 --out runs/emoji\n"
      "  mpirun -np 2 --bind-to none -x OMP_NUM_THREADS=1 train_text2image --family transformer --dataset shapes \\\n"
      "      --minutes 10 --t-batch 16 --out runs/shapes   (data parallel, batches per process: docs/distributed.md)");
  Args args;
  add_run_options(app, args);
  add_folder_options(app, args);
  cli::add_transformer_options(app, args.transformer);
  cli::add_reranker_options(app, args.rerank);
  add_gan_options(app, args);
  add_conditioning_options(app, args);
  add_output_options(app, args);
  return cli::run(app, argc, argv, [&] {
    args.guidance_given = app.count("--guidance") > 0;
    args.top_p_given = app.count("--top-p") > 0;
    return train(args);
  });
}
