// SPDX-License-Identifier: Apache-2.0
// Training and evaluation loops of the evaluation classifier.
//
// The schedule is laid out over a budget that may be steps (epochs) or
// wall-clock minutes: progress p = max(step / total_steps, elapsed / budget)
// drives a linear warm-up then a cosine decay to zero, and training stops at
// p = 1. A time budget therefore still ends on a small learning rate, which
// is where most of the final accuracy comes from.
#include <fresco/eval/classifier.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include <fresco/autograd/autograd.hpp>
#include <fresco/data/loader.hpp>
#include <fresco/dist/data_parallel.hpp>
#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/loss.hpp>
#include <fresco/ops/reduce.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/optim/schedule.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco::eval {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Labels of head h for every sample of a batch; an example without label h is a user error.
std::vector<int64_t> head_labels(const data::Batch& b, size_t h, int64_t classes) {
  std::vector<int64_t> out;
  out.reserve(b.labels.size());
  for (size_t n = 0; n < b.labels.size(); ++n) {
    FRESCO_CHECK(b.labels[n].size() > h, "train_classifier: sample {} has {} labels, the classifier has a head {}",
                 b.indices[n], b.labels[n].size(), h);
    const int64_t y = b.labels[n][h];
    FRESCO_CHECK(y >= 0 && y < classes, "train_classifier: sample {} has label {} for head {} of {} classes",
                 b.indices[n], y, h, classes);
    out.push_back(y);
  }
  return out;
}

int64_t count_correct(const Tensor& logits, const std::vector<int64_t>& y) {
  const std::vector<float> pred = argmax(logits, 1).to_vector();
  int64_t correct = 0;
  for (size_t n = 0; n < y.size(); ++n) correct += static_cast<int64_t>(pred[n]) == y[n];
  return correct;
}

}  // namespace

std::vector<double> evaluate_classifier(Classifier& model, std::shared_ptr<const data::Dataset> dataset,
                                        int64_t batch_size) {
  data::DataLoader loader(std::move(dataset), {.batch_size = batch_size, .shuffle = false});
  const auto& heads = model.config().heads;
  std::vector<int64_t> correct(heads.size(), 0);
  int64_t total = 0;
  NoGradGuard guard;
  for (data::Batch& b : loader.epoch(0)) {
    const std::vector<Tensor> logits = model.logits(b.images);
    for (size_t h = 0; h < heads.size(); ++h) correct[h] += count_correct(logits[h], head_labels(b, h, heads[h]));
    total += static_cast<int64_t>(b.labels.size());
  }
  std::vector<double> acc;
  for (int64_t c : correct) acc.push_back(static_cast<double>(c) / static_cast<double>(total));
  return acc;
}

namespace {

// What the steps since the last report add up to.
struct Window {
  double loss_sum = 0;
  int64_t correct = 0, seen = 0, steps = 0;
};

// The batch's images in [-1, 1], each perturbed at random when augmentation is on.
Tensor training_images(const data::Batch& b, const AugmentOptions& augment, Generator& rng) {
  if (!augment.enabled) return b.images;
  NoGradGuard guard;
  return augment_images((b.images + 1.f) * 0.5f, augment, rng) * 2.f - 1.f;
}

// The summed cross-entropy of every head on `images` (labels from `b`), counting right answers into `w`.
Tensor heads_loss(Classifier& model, const Tensor& images, const data::Batch& b, Window& w) {
  const auto& heads = model.config().heads;
  const std::vector<Tensor> logits = model.logits(images);
  Tensor loss;
  for (size_t h = 0; h < heads.size(); ++h) {
    const std::vector<int64_t> y = head_labels(b, h, heads[h]);
    const Tensor l = cross_entropy(logits[h], y);
    loss = loss.defined() ? loss + l : l;
    w.correct += count_correct(logits[h].detach(), y);
    w.seen += static_cast<int64_t>(y.size());
  }
  return loss;
}

// The report after `step` steps, `now` seconds in.
Progress step_progress(const Window& w, int64_t step, int64_t total_steps, int64_t epoch, float lr, double now,
                       double fraction, double budget_s) {
  Progress p;
  p.stage = "classifier";
  p.step = step;
  p.total = total_steps;
  p.elapsed = now;
  p.fraction = fraction;
  // ETA from whichever budget binds: the steps left at the current pace, or the clock.
  if (total_steps > 0) p.eta = now / static_cast<double>(step) * static_cast<double>(total_steps - step);
  if (budget_s > 0) p.eta = std::max(0.0, total_steps > 0 ? std::min(p.eta, budget_s - now) : budget_s - now);
  p.values = {{"epoch", static_cast<double>(epoch)},
              {"loss", w.loss_sum / static_cast<double>(std::max<int64_t>(w.steps, 1))},
              {"acc %", 100.0 * static_cast<double>(w.correct) / static_cast<double>(std::max<int64_t>(w.seen, 1))},
              {"lr", lr}};
  return p;
}

// The final report: the test accuracy of each head.
Progress final_progress(const ClassifierReport& r, int64_t total_steps) {
  Progress p;
  p.stage = "classifier";
  p.step = r.steps;
  p.total = total_steps;
  p.elapsed = r.train_seconds;
  p.fraction = 1;
  p.eta = 0;
  p.done = true;
  for (size_t h = 0; h < r.test_accuracy.size(); ++h)
    p.values.emplace_back(r.test_accuracy.size() == 1 ? std::string("test acc %") : fmt::format("test acc {} %", h),
                          100.0 * r.test_accuracy[h]);
  return p;
}

}  // namespace

ClassifierReport train_classifier(Classifier& model, std::shared_ptr<const data::Dataset> train,
                                  std::shared_ptr<const data::Dataset> test, TrainClassifierOptions o) {
  FRESCO_CHECK(o.epochs > 0 || o.minutes > 0 || o.max_steps > 0,
               "train_classifier: set .epochs, .minutes or .max_steps (all are 0)");
  FRESCO_CHECK(o.epochs >= 0 && o.minutes >= 0 && o.max_steps >= 0 && o.lr > 0 && o.warmup_steps >= 0,
               "train_classifier: negative budget or non-positive lr (epochs {}, minutes {}, max_steps {}, lr {})",
               o.epochs, o.minutes, o.max_steps, o.lr);
  const auto group = o.group ? o.group : dist::single_process_group();
  if (group->rank() != 0) o.on_progress = {};
  o.minutes = group->all_reduce(o.minutes, dist::ReduceOp::Min);  // one budget for every process
  data::DataLoader loader(std::move(train), {.batch_size = o.batch_size,
                                             .shuffle = true,
                                             .seed = o.seed,
                                             .drop_last = true,
                                             .horizontal_flip = o.horizontal_flip,
                                             .num_replicas = group->world_size(),
                                             .rank = group->rank()});
  const int64_t per_epoch = loader.batches_per_epoch();
  int64_t total_steps = o.epochs > 0 ? o.epochs * per_epoch : 0;
  if (o.max_steps > 0) total_steps = total_steps > 0 ? std::min(total_steps, o.max_steps) : o.max_steps;
  const double budget_s = o.minutes * 60.0;
  // Warm-up, then cosine from lr to 0 over the whole progress, the warm-up line capping it.
  const optim::WarmupCosineLr schedule(
      o.lr, total_steps, {.warmup_steps = o.warmup_steps, .budget_seconds = budget_s, .decay_from_start = true});
  // Rank 0's initial weights everywhere; gradients averaged in backward().
  dist::DistributedDataParallel ddp(model, group);
  optim::AdamW opt(model.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay});
  check_augment_options(o.augment);
  Generator augment_rng(group->rank() == 0 ? mix_seed(o.seed, 0xa09e)
                                           : mix_seed(mix_seed(o.seed, 0xa09e), uint64_t(group->rank())));
  model.train();
  const auto t0 = Clock::now();
  Window window;
  int64_t step = 0;
  bool done = false;
  for (int64_t epoch = 0; !done; ++epoch) {
    for (data::Batch& b : loader.epoch(epoch)) {
      // The slowest clock: every process stops at the same step.
      const double elapsed = group->all_reduce(seconds_since(t0), dist::ReduceOp::Max);
      if ((done = schedule.progress(step, elapsed) >= 1.0)) break;
      const float lr = schedule.lr_at(step, elapsed);
      opt.set_lr(lr);
      const Tensor loss = heads_loss(model, training_images(b, o.augment, augment_rng), b, window);
      loss.backward();
      opt.step();
      opt.zero_grad();
      window.loss_sum += loss.item();
      ++window.steps;
      ++step;
      if (o.log_every > 0 && step % o.log_every == 0) {
        const double now = seconds_since(t0);
        if (o.on_progress)
          o.on_progress(step_progress(window, step, total_steps, epoch, lr, now, schedule.progress(step, now), budget_s));
        window = {};
      }
    }
  }
  ClassifierReport report;
  report.steps = step;
  report.epochs = static_cast<double>(step) / static_cast<double>(per_epoch);
  report.train_seconds = seconds_since(t0);
  model.eval();
  const auto t1 = Clock::now();
  report.test_accuracy = evaluate_classifier(model, std::move(test));
  report.eval_seconds = seconds_since(t1);
  if (o.on_progress) o.on_progress(final_progress(report, total_steps));
  return report;
}

}  // namespace fresco::eval
