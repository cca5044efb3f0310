// SPDX-License-Identifier: Apache-2.0
// VQGAN's training of the image tokenizer. Legend: B batch, C channels, S image side.
#include <fresco/vq/trainer.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/image.hpp>
#include <fresco/io/metadata.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/nn/init.hpp>
#include <fresco/nn/mode_guard.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/loss.hpp>
#include <fresco/ops/reduce.hpp>
#include <fresco/ops/shape.hpp>
#include <fresco/dist/data_parallel.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/optim/schedule.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco::vq {

namespace {

constexpr const char* kCheckpointFormat = "fresco-image-tokenizer-checkpoint";
constexpr float kSlope = 0.2f;

float norm(const Tensor& t) {
  double s = 0;
  for (float v : t.to_vector()) s += double(v) * v;
  return static_cast<float>(std::sqrt(s));
}

void check(const ImageTokenizerTrainerOptions& o) {
  FRESCO_CHECK(o.batch_size >= 1 && o.steps >= 1 && o.minutes >= 0,
               "ImageTokenizerTrainer: need batch_size >= 1, steps >= 1 and minutes >= 0, got {}, {} and {}",
               o.batch_size, o.steps, o.minutes);
  FRESCO_CHECK(o.lr > 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1,
               "ImageTokenizerTrainer: need lr > 0 and betas in [0, 1), got {}, {} and {}", o.lr, o.beta1, o.beta2);
  FRESCO_CHECK(o.warmup_steps >= 0 && o.min_lr_fraction >= 0 && o.min_lr_fraction <= 1,
               "ImageTokenizerTrainer: need warmup_steps >= 0 and min_lr_fraction in [0, 1], got {} and {}",
               o.warmup_steps, o.min_lr_fraction);
  FRESCO_CHECK(o.foreground_weight >= 0 && o.foreground_radius >= 0,
               "ImageTokenizerTrainer: need foreground_weight >= 0 and foreground_radius >= 0, got {} and {}",
               o.foreground_weight, o.foreground_radius);
  FRESCO_CHECK(o.disc_weight >= 0 && o.disc_start >= 0 && o.clip_grad >= 0,
               "ImageTokenizerTrainer: need disc_weight, disc_start and clip_grad >= 0, got {}, {} and {}",
               o.disc_weight, o.disc_start, o.clip_grad);
  FRESCO_CHECK(o.discriminator.width >= 1 && o.discriminator.layers >= 1,
               "ImageTokenizerTrainer: the discriminator needs width >= 1 and layers >= 1, got {} and {}",
               o.discriminator.width, o.discriminator.layers);
  FRESCO_CHECK(o.log_every >= 1 && o.checkpoint_every >= 0 && o.sample_every >= 0,
               "ImageTokenizerTrainer: need log_every >= 1, checkpoint_every and sample_every >= 0");
}

}  // namespace

namespace {

// The channels of the last stride-2 convolution, once the options are checked.
int64_t last_width(int64_t channels, const PatchDiscriminator::Options& options) {
  FRESCO_CHECK(channels >= 1 && options.width >= 1 && options.layers >= 1 && options.layers <= 8,
               "PatchDiscriminator: need channels >= 1, width >= 1 and layers in [1, 8], got {}, {} and {}", channels,
               options.width, options.layers);
  return options.width << (options.layers - 1);
}

}  // namespace

PatchDiscriminator::PatchDiscriminator(int64_t channels, Options options)
    : out(last_width(channels, options), 1, 3, {.padding = 1}) {
  for (int64_t l = 0; l < options.layers; ++l)
    downs.emplace_back(l == 0 ? channels : options.width << (l - 1), options.width << l, 4,
                       nn::Conv2dOptions{.stride = 2, .padding = 1});
  register_module("downs", downs);
  register_module("out", out);
  nn::init::reset_uniform_(*this, options.seed);
}

Tensor PatchDiscriminator::forward(const Tensor& images) const {
  Tensor h = images;
  for (const auto& conv : downs) h = leaky_relu(conv(h), kSlope);
  return out(h);
}

struct ImageTokenizerTrainer::State {
  State(ImageTokenizer& tok, Tensor data, ImageTokenizerTrainerOptions o)
      : tokenizer(tok),
        images(std::move(data)),
        options(std::move(o)),
        d(tok.config().channels, [&] {
          auto d_options = options.discriminator;
          d_options.seed = mix_seed(options.seed, 0xD15Cull);
          return d_options;
        }()),
        group(options.group ? options.group : dist::single_process_group()),
        // The quantizer keeps its buffers identical itself (global statistics), so no buffer copies.
        ddp_tok(tok, group, {.broadcast_buffers = false}),
        ddp_d(d, group),
        opt_tok(tok.parameters(), {.lr = options.lr, .beta1 = options.beta1, .beta2 = options.beta2}),
        opt_d(d.parameters(), {.lr = options.lr, .beta1 = options.beta1, .beta2 = options.beta2}),
        schedule(options.lr, options.steps,
                 {.warmup_steps = options.warmup_steps,
                  .min_lr = options.lr * options.min_lr_fraction,
                  // One budget for every process (each may have spent another time before).
                  .budget_seconds = (options.minutes = group->all_reduce(options.minutes, dist::ReduceOp::Min)) * 60}) {}

  ImageTokenizer& tokenizer;
  Tensor images;
  ImageTokenizerTrainerOptions options;
  PatchDiscriminator d;
  std::shared_ptr<dist::ProcessGroup> group;  // this process alone unless options.group
  dist::DistributedDataParallel ddp_tok, ddp_d;
  optim::Adam opt_tok, opt_d;
  optim::WarmupCosineLr schedule;
  int64_t step = 0;
  // When train() started: the schedule follows the clock under a budget (0 outside train()).
  std::chrono::steady_clock::time_point started{};
  mutable int64_t cached_epoch = -1;
  mutable std::vector<int64_t> order;

  // The slowest process's clock as train() last read it (the schedule must be the same everywhere).
  double clock = 0;

  double elapsed() const { return started == std::chrono::steady_clock::time_point{} ? 0 : clock; }
  void apply(nn::Module& module, optim::Adam& opt) const {
    if (options.clip_grad > 0) optim::clip_grad_norm(module.parameters(), options.clip_grad);
    opt.step();
    module.zero_grad();
  }
  void check_finite(float value, const char* what) const {
    if (std::isfinite(value)) return;
    throw Error(fmt::format("ImageTokenizerTrainer: step {}: the {} is {}; training stopped (try a lower lr); the "
                            "last checkpoint is unchanged",
                            step, what, value));
  }
};

ImageTokenizerTrainer::ImageTokenizerTrainer(ImageTokenizer& tokenizer, Tensor images,
                                             ImageTokenizerTrainerOptions options) {
  check(options);
  const auto& c = tokenizer.config();
  FRESCO_CHECK_SHAPE(images.defined() && images.dim() == 4 && images.size(1) == c.channels &&
                         images.size(2) == c.image_size && images.size(3) == c.image_size,
                     "ImageTokenizerTrainer: expected images [N, {}, {}, {}] in [-1, 1], got {}", c.channels,
                     c.image_size, c.image_size, images.defined() ? shape_str(images.shape()) : "none");
  FRESCO_CHECK(options.batch_size <= images.size(0), "ImageTokenizerTrainer: batch_size {} is more than the {} images",
               options.batch_size, images.size(0));
  FRESCO_CHECK((c.image_size >> options.discriminator.layers) >= 2,
               "ImageTokenizerTrainer: {} stride-2 discriminator layers leave less than 2x2 of {}x{} images; use at "
               "most {}",
               options.discriminator.layers, c.image_size, c.image_size, std::countr_zero(static_cast<uint64_t>(c.image_size)) - 1);
  s_ = std::make_unique<State>(tokenizer, images.contiguous(), std::move(options));
  tokenizer.train();
}

ImageTokenizerTrainer::~ImageTokenizerTrainer() = default;

int64_t ImageTokenizerTrainer::step() const { return s_->step; }
PatchDiscriminator& ImageTokenizerTrainer::discriminator() { return s_->d; }

Tensor ImageTokenizerTrainer::batch(int64_t step) const {
  const State& s = *s_;
  const int64_t n = s.images.size(0), b = s.options.batch_size;
  std::vector<int64_t> rows;
  // Process r of R takes rows r, r + R, ... of the global batch of R · b.
  const int64_t ranks = s.group->world_size(), rank = s.group->rank();
  for (int64_t j = 0; j < b; ++j) {
    const int64_t pos = (step * b + j) * ranks + rank, epoch = pos / n;
    if (epoch != s.cached_epoch) {
      fresco::Generator gen(mix_seed(s.options.seed, 0x0DA7A000ull + static_cast<uint64_t>(epoch)));
      s.order = randperm(n, gen);
      s.cached_epoch = epoch;
    }
    rows.push_back(s.order[static_cast<size_t>(pos % n)]);
  }
  NoGradGuard guard;
  return index_select(s.images, 0, rows);
}

ImageTokenizerStepLosses ImageTokenizerTrainer::train_step() {
  State& s = *s_;
  const auto& o = s.options;
  const Tensor x = batch(s.step);
  const float lr = s.schedule.lr_at(s.step, s.elapsed());
  s.opt_tok.set_lr(lr);
  s.opt_d.set_lr(lr);
  const auto out = s.tokenizer(x);
  ImageTokenizerStepLosses l;
  l.lr = lr;
  Tensor rec = reconstruction_loss(out.reconstruction, x, o.reconstruction, o.foreground_weight, o.foreground_radius);
  Tensor total = rec + out.quantized.commitment_loss;
  const bool disc_on = o.disc_weight > 0 && s.step >= o.disc_start;
  if (disc_on) {
    nn::FreezeGuard frozen(s.d);
    Tensor adv = -mean(s.d(out.reconstruction));
    // VQGAN's adaptive weight: the adversarial gradient at the decoder's last layer scaled to the
    // reconstruction's, so that neither loss drowns the other whatever their scales.
    const Tensor& last = s.tokenizer.decoder.conv_out.weight;
    const float g_rec = norm(fresco::grad({rec}, {last}, {}, {.retain_graph = true})[0]);
    const float g_adv = norm(fresco::grad({adv}, {last}, {}, {.retain_graph = true})[0]);
    l.adaptive_weight = std::clamp(g_rec / (g_adv + 1e-4f), 0.f, 1e4f) * o.disc_weight;
    l.g_adversarial = adv.item();
    total = total + adv * l.adaptive_weight;
  }
  l.reconstruction = rec.item();
  l.commitment = out.quantized.commitment_loss.item();
  l.perplexity = out.quantized.perplexity;
  l.restarted = out.quantized.restarted;
  s.check_finite(total.item(), "tokenizer loss");
  s.tokenizer.zero_grad();
  {
    // The adversarial term reaches D's parameters too (zeroed before D's own step): no all-reduce of those.
    auto local = s.ddp_d.no_sync();
    total.backward();
  }
  s.apply(s.tokenizer, s.opt_tok);
  if (disc_on) {
    // Hinge loss on real images and the (detached) reconstructions, halved as in VQGAN.
    Tensor d_loss = (mean(relu(1.f - s.d(x))) + mean(relu(1.f + s.d(out.reconstruction.detach())))) * 0.5f;
    l.d_loss = d_loss.item();
    s.check_finite(l.d_loss, "discriminator loss");
    s.d.zero_grad();
    d_loss.backward();
    s.apply(s.d, s.opt_d);
  }
  ++s.step;
  return l;
}

void ImageTokenizerTrainer::save_checkpoint(const std::string& path) const {
  const State& s = *s_;
  std::map<std::string, Tensor> t;
  t.merge(io::with_prefix(io::module_state(s.tokenizer), "tokenizer."));
  t.merge(io::with_prefix(io::module_state(s.d), "d."));
  t.merge(io::with_prefix(s.opt_tok.state_dict(), "opt_tokenizer."));
  t.merge(io::with_prefix(s.opt_d.state_dict(), "opt_d."));
  auto meta = s.tokenizer.config().to_metadata();
  meta["format"] = kCheckpointFormat;
  meta["step"] = std::to_string(s.step);
  io::save_safetensors(t, path, meta);
}

void ImageTokenizerTrainer::load_checkpoint(const std::string& path) {
  State& s = *s_;
  const auto meta = io::load_safetensors_metadata(path);
  io::require_format(meta, kCheckpointFormat, path, "ImageTokenizerTrainer::load_checkpoint",
                     "an image tokenizer checkpoint");
  const auto t = io::load_safetensors(path);
  try {
    io::load_module_state(s.tokenizer, io::strip_prefix(t, "tokenizer."), path);
    io::load_module_state(s.d, io::strip_prefix(t, "d."), path);
    s.opt_tok.load_state_dict(io::strip_prefix(t, "opt_tokenizer."));
    s.opt_d.load_state_dict(io::strip_prefix(t, "opt_d."));
    s.step = io::metadata_int(meta, "step");
  } catch (const IoError&) {
    throw;
  } catch (const Error& e) {
    throw Error(fmt::format("ImageTokenizerTrainer::load_checkpoint: {}: {}", path, e.what()));
  }
}

void ImageTokenizerTrainer::write_samples(const std::string& path) const {
  const State& s = *s_;
  const int64_t n = std::min<int64_t>(8, s.images.size(0));
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i * (s.images.size(0) / n);
  const Tensor real = index_select(s.images, 0, rows) * 0.5f + 0.5f;   // [0, 1]
  nn::ModeGuard eval(s.tokenizer, false);
  const Tensor back = s.tokenizer.decode(s.tokenizer.encode(real), n);
  io::write_image_grid(cat({real, back}, 0), path, n);
}

ImageTokenizerTrainSummary ImageTokenizerTrainer::train() {
  using Clock = std::chrono::steady_clock;
  State& s = *s_;
  // Every process reads the checkpoint; rank 0 alone writes files and reports.
  const bool writer = s.group->rank() == 0;
  const ImageTokenizerTrainerOptions o = [&] {
    ImageTokenizerTrainerOptions mine = s.options;
    if (!writer) mine.on_progress = {};
    return mine;
  }();
  const std::string ckpt = o.out_dir.empty() ? "" : o.out_dir + "/checkpoint.safetensors";
  if (!o.out_dir.empty() && !writer && o.resume && std::filesystem::exists(ckpt)) load_checkpoint(ckpt);
  if (!o.out_dir.empty() && writer) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(o.out_dir) / "samples", ec);
    if (ec) throw IoError(fmt::format("ImageTokenizerTrainer: cannot create {}/samples: {}", o.out_dir, ec.message()));
    if (o.resume && std::filesystem::exists(ckpt)) load_checkpoint(ckpt);
  }
  s.group->check_same(double(s.step), "the step resumed from");
  s.tokenizer.quantizer.set_process_group(s.group);
  struct Detach {
    VectorQuantizer& q;
    ~Detach() { q.set_process_group(nullptr); }
  } detach{s.tokenizer.quantizer};
  const auto start = Clock::now();
  s.started = start;
  // The slowest process's clock (a collective) for the budget and the schedule; this process's for reports.
  auto local_elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  auto elapsed = [&] { return s.group->all_reduce(local_elapsed(), dist::ReduceOp::Max); };
  const double budget = o.minutes * 60;
  ImageTokenizerTrainSummary summary;
  const int64_t first = s.step;
  for (;;) {
    s.clock = elapsed();
    if (s.step >= o.steps || (budget > 0 && s.clock >= budget)) break;
    const auto l = train_step();
    summary.history.push_back(l);
    if (!o.out_dir.empty() && writer) {
      if (s.step % o.log_every == 0) {
        std::ofstream log(o.out_dir + "/metrics.jsonl", std::ios::app);
        if (!log) throw IoError(fmt::format("ImageTokenizerTrainer: cannot append to {}/metrics.jsonl", o.out_dir));
        log << fmt::format("{{\"step\": {}, \"reconstruction\": {}, \"commitment\": {}, \"perplexity\": {}, "
                           "\"restarted\": {}, \"g_adversarial\": {}, \"adaptive_weight\": {}, \"d_loss\": {}, "
                           "\"lr\": {}}}\n",
                           s.step, l.reconstruction, l.commitment, l.perplexity, l.restarted, l.g_adversarial,
                           l.adaptive_weight, l.d_loss, l.lr);
        if (!log.flush())
          throw IoError(fmt::format("ImageTokenizerTrainer: writing {}/metrics.jsonl failed (disk full?)", o.out_dir));
      }
      if (o.sample_every > 0 && s.step % o.sample_every == 0)
        write_samples(fmt::format("{}/samples/step_{:06}.png", o.out_dir, s.step));
      if (o.checkpoint_every > 0 && s.step % o.checkpoint_every == 0) save_checkpoint(ckpt);
    }
    if (o.on_progress) {
      Progress p;
      p.stage = "vq";
      p.step = s.step;
      p.total = o.steps;
      p.elapsed = local_elapsed();
      const double rate = (s.step - first) / std::max(p.elapsed, 1e-9);
      p.fraction = std::clamp(std::max(double(s.step) / double(o.steps), budget > 0 ? p.elapsed / budget : 0.0), 0.0, 1.0);
      p.eta = budget > 0 ? std::max(0.0, budget - p.elapsed) : (o.steps - s.step) / std::max(rate, 1e-9);
      p.values = {{"rec", l.reconstruction}, {"perplexity", l.perplexity}, {"d", l.d_loss}, {"step/s", rate}};
      p.done = s.step >= o.steps;
      o.on_progress(p);
    }
  }
  if (!o.out_dir.empty() && writer && s.step > first) {
    save_checkpoint(ckpt);
    write_samples(o.out_dir + "/samples/final.png");
  }
  s.started = {};
  summary.steps = s.step;
  summary.steps_run = s.step - first;
  summary.seconds = elapsed();
  return summary;
}

Tensor foreground_weights(const Tensor& images, float weight, int64_t radius) {
  FRESCO_CHECK_SHAPE(images.defined() && images.dim() == 4 && images.size(2) >= 2 && images.size(3) >= 2,
                     "foreground_weights: expected images [B, C, H, W] with H, W >= 2, got {}",
                     images.defined() ? shape_str(images.shape()) : "none");
  FRESCO_CHECK(weight >= 0 && std::isfinite(weight) && radius >= 0,
               "foreground_weights: need a finite weight >= 0 and a radius >= 0, got {} and {}", weight, radius);
  constexpr float kScale = 0.2f;   // a difference of 0.2 (0.1 in [0, 1] units) is fully foreground
  const int64_t b = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const std::vector<float> x = images.contiguous().to_vector();
  std::vector<float> out(static_cast<size_t>(b * h * w), 1.f);
  std::vector<float> border, bg(static_cast<size_t>(c)), m(static_cast<size_t>(h * w));
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* p = x.data() + (i * c + ch) * h * w;
      border.clear();
      for (int64_t col = 0; col < w; ++col) border.push_back(p[col]), border.push_back(p[(h - 1) * w + col]);
      for (int64_t row = 1; row + 1 < h; ++row) border.push_back(p[row * w]), border.push_back(p[row * w + w - 1]);
      const auto mid = border.begin() + static_cast<std::ptrdiff_t>(border.size() / 2);
      std::nth_element(border.begin(), mid, border.end());
      bg[static_cast<size_t>(ch)] = *mid;   // the upper median: the border has an even count
    }
    for (int64_t q = 0; q < h * w; ++q) {
      float far = 0;
      for (int64_t ch = 0; ch < c; ++ch)
        far = std::max(far, std::abs(x[static_cast<size_t>((i * c + ch) * h * w + q)] - bg[static_cast<size_t>(ch)]));
      m[static_cast<size_t>(q)] = std::min(1.f, far / kScale);
    }
    for (int64_t row = 0; row < h; ++row)
      for (int64_t col = 0; col < w; ++col) {
        float near = 0;   // the largest m within radius
        for (int64_t r = std::max<int64_t>(0, row - radius); r <= std::min(h - 1, row + radius); ++r)
          for (int64_t s = std::max<int64_t>(0, col - radius); s <= std::min(w - 1, col + radius); ++s)
            near = std::max(near, m[static_cast<size_t>(r * w + s)]);
        out[static_cast<size_t>(i * h * w + row * w + col)] = 1.f + weight * near;
      }
  }
  return tensor(std::move(out), {b, 1, h, w});
}

Tensor reconstruction_loss(const Tensor& reconstruction, const Tensor& images, ReconstructionLoss kind,
                           float foreground_weight, int64_t foreground_radius) {
  FRESCO_CHECK_SHAPE(reconstruction.defined() && images.defined() && reconstruction.shape() == images.shape(),
                     "reconstruction_loss: the reconstruction and the images differ in shape: {} and {}",
                     reconstruction.defined() ? shape_str(reconstruction.shape()) : "none",
                     images.defined() ? shape_str(images.shape()) : "none");
  if (foreground_weight == 0)
    return kind == ReconstructionLoss::l1 ? l1_loss(reconstruction, images) : mse_loss(reconstruction, images);
  const Tensor w = foreground_weights(images.detach(), foreground_weight, foreground_radius);
  const Tensor diff = reconstruction - images.detach();
  const Tensor err = kind == ReconstructionLoss::l1 ? abs(diff) : diff * diff;
  const float total = sum(w).item() * static_cast<float>(images.size(1));
  return sum(err * w) / total;
}

double psnr(const Tensor& a, const Tensor& b) {
  FRESCO_CHECK_SHAPE(a.shape() == b.shape() && a.numel() > 0, "psnr: the images differ in shape: {} and {}",
                     shape_str(a.shape()), shape_str(b.shape()));
  const auto x = a.to_vector(), y = b.to_vector();
  double mse = 0;
  for (size_t i = 0; i < x.size(); ++i) mse += (double(x[i]) - y[i]) * (double(x[i]) - y[i]) / double(x.size());
  return mse == 0 ? INFINITY : 10.0 * std::log10(1.0 / mse);
}

}  // namespace fresco::vq
