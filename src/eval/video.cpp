// SPDX-License-Identifier: Apache-2.0
// The evaluation of text-to-video models: each clip read by the frame judge
// (shape, colour, size by majority over frames; identity kept or not) and by
// its trajectory (motion, speed), generated clips against real clips of the
// same prompts. Legend: T frames, S frame side, F the judge's feature size.
#include <fresco/eval/video.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <fresco/autograd/autograd.hpp>
#include <fresco/data/moving_shapes.hpp>
#include <fresco/error.hpp>
#include <fresco/eval/evaluate.hpp>
#include <fresco/eval/metrics.hpp>
#include <fresco/nn/mode_guard.hpp>
#include <fresco/ops/shape.hpp>

namespace fresco::eval {

namespace {

using data::MovingShapes;
using data::MovingShapesObject;

constexpr float kObjectThreshold = 0.25f;   // a pixel this far from the background belongs to an object
constexpr int kMotions = data::kMovingShapesNumMotions;

int majority(const std::vector<int64_t>& labels) {
  std::vector<int> counts;
  for (int64_t l : labels) {
    if (l >= static_cast<int64_t>(counts.size())) counts.resize(static_cast<size_t>(l + 1));
    ++counts[static_cast<size_t>(l)];
  }
  return static_cast<int>(std::max_element(counts.begin(), counts.end()) - counts.begin());
}

void check_clip(const Tensor& clip, const char* fn) {
  FRESCO_CHECK_SHAPE(clip.defined() && clip.dim() == 4 && clip.size(0) >= 3 && clip.size(1) == 3 &&
                         clip.size(2) == clip.size(3),
                     "{}: expected a clip [T, 3, S, S] with T >= 3, found {}", fn,
                     clip.defined() ? shape_str(clip.shape()) : std::string("an undefined tensor"));
}

// The centroid of the pixels of frame [3, S, S] that differ from its per-channel median by more than the threshold.
std::optional<std::array<float, 2>> object_centre(const float* frame, int64_t s) {
  const int64_t hw = s * s;
  float background[3];
  std::vector<float> channel(static_cast<size_t>(hw));
  for (int c = 0; c < 3; ++c) {
    std::copy_n(frame + c * hw, hw, channel.begin());
    std::nth_element(channel.begin(), channel.begin() + hw / 2, channel.end());
    background[c] = channel[static_cast<size_t>(hw / 2)];
  }
  double sx = 0, sy = 0, sw = 0;
  for (int64_t y = 0; y < s; ++y)
    for (int64_t x = 0; x < s; ++x) {
      float w = 0;
      for (int c = 0; c < 3; ++c) w = std::max(w, std::fabs(frame[c * hw + y * s + x] - background[c]));
      if (w <= kObjectThreshold) continue;
      sx += w * (static_cast<double>(x) + 0.5);
      sy += w * (static_cast<double>(y) + 0.5);
      sw += w;
    }
  if (sw == 0) return std::nullopt;
  return std::array<float, 2>{static_cast<float>(sx / sw), static_cast<float>(sy / sw)};
}

// The judge's clip features: its features of the first and the last frame, side by side -> [N, 2F].
Tensor clip_features(Classifier& judge, const Tensor& clips) {
  const int64_t n = clips.size(0), t = clips.size(1), s = clips.size(3);
  const Tensor x = clips.contiguous();
  std::vector<Tensor> ends;
  for (int64_t k : {int64_t{0}, t - 1}) {
    const Tensor frames = index_select(x, 1, {k}).reshape({n, 3, s, s});
    ends.push_back(judge.features(to_classifier_input(frames, judge.config())));
  }
  return cat(ends, 1);
}

struct Tally {
  std::array<int64_t, 5> right{};
  int64_t all = 0, consistent = 0, count = 0;
  void add(const ClipReading& r, const MovingShapesObject& o) {
    const std::array<bool, 5> ok = {r.shape == o.shape, r.colour == o.colour, r.size == o.size, r.motion == o.motion,
                                    r.speed == o.speed};
    for (size_t h = 0; h < ok.size(); ++h) right[h] += ok[h] ? 1 : 0;
    all += ok[0] && ok[1] && ok[2] && ok[3] ? 1 : 0;
    consistent += r.consistent ? 1 : 0;
    ++count;
  }
  std::vector<double> shares() const {
    std::vector<double> out;
    for (int64_t r : right) out.push_back(count > 0 ? static_cast<double>(r) / static_cast<double>(count) : 0.0);
    return out;
  }
  double share(int64_t k) const { return count > 0 ? static_cast<double>(k) / static_cast<double>(count) : 0.0; }
};

Tensor clip_of(const std::vector<float>& pixels, int64_t t, int64_t s) { return tensor(pixels, {t, 3, s, s}); }

}  // namespace

ClipReading read_clip(Classifier& frame_judge, const Tensor& clip) {
  check_clip(clip, "read_clip");
  FRESCO_CHECK(frame_judge.config().heads.size() == 3, "read_clip: expected a frame judge with 3 heads (shape, colour, "
                                                       "size), found {}",
               frame_judge.config().heads.size());
  const int64_t t = clip.size(0), s = clip.size(2);
  const Tensor x = clip.contiguous();
  ClipReading r;
  const auto labels = frame_judge.predict(to_classifier_input(x, frame_judge.config()));   // labels[h][frame]
  r.shape = majority(labels[0]);
  r.colour = majority(labels[1]);
  r.size = majority(labels[2]);
  r.consistent = true;
  for (int64_t k = 1; k < t; ++k)
    r.consistent = r.consistent && labels[0][static_cast<size_t>(k)] == labels[0][0] &&
                   labels[1][static_cast<size_t>(k)] == labels[1][0];
  r.found = true;
  for (int64_t k = 0; k < t; ++k) {
    const auto c = object_centre(x.data() + k * 3 * s * s, s);
    if (!c) {
      r.found = false;
      break;
    }
    r.centres.push_back(*c);
  }
  if (r.found && r.size >= 0 && r.size < data::kShapesNumSizes) {
    if (const auto m = MovingShapes::motion_of(r.centres, r.size, s)) {
      r.motion = (*m)[0];
      r.speed = (*m)[1];
    }
  }
  return r;
}

VideoReport evaluate_text_to_video(const ClipGenerateFn& generate, Classifier& frame_judge,
                                   const VideoEvaluateOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  FRESCO_CHECK(o.samples >= 4 && o.held_out_fraction >= 0 && o.held_out_fraction < 1 && o.batch >= 1 &&
                   o.diversity_captions >= 0 && o.diversity_clips >= 2,
               "evaluate_text_to_video: expected samples >= 4, held_out_fraction in [0, 1), batch >= 1, "
               "diversity_captions >= 0 and diversity_clips >= 2, found {}, {}, {}, {} and {}",
               o.samples, o.held_out_fraction, o.batch, o.diversity_captions, o.diversity_clips);
  FRESCO_CHECK(frame_judge.config().heads == std::vector<int64_t>({4, 6, 2}),
               "evaluate_text_to_video: expected a frame judge with heads {{4, 6, 2}} (shape, colour, size; "
               "train_classifier --dataset moving-shapes), found heads {{{}}}",
               fmt::join(frame_judge.config().heads, ", "));
  nn::ModeGuard eval_mode(frame_judge, false);
  NoGradGuard no_grad;
  const int64_t n_held = std::llround(static_cast<double>(o.samples) * o.held_out_fraction);
  const int64_t n_seen = o.samples - n_held, t = o.frames, s = o.image_size;
  FRESCO_CHECK(n_seen >= 2 && (o.held_out_fraction == 0 || n_held >= 1),
               "evaluate_text_to_video: {} samples at held_out_fraction {} give {} seen and {} held-out prompts; "
               "expected at least 2 seen (and 1 held-out when the fraction is not 0)",
               o.samples, o.held_out_fraction, n_seen, n_held);
  const MovingShapes seen({.image_size = s, .frames = t, .size = n_seen, .seed = o.seed + 11, .split = "test",
                           .two_object_fraction = 0.f});
  const MovingShapes held({.image_size = s, .frames = t, .size = n_held, .seed = o.seed + 12,
                           .split = "compositional", .two_object_fraction = 0.f});
  struct PromptClip {
    std::string caption;
    MovingShapesObject object;
    bool held_out;
    int64_t index;   // in its set
  };
  std::vector<PromptClip> prompts;
  for (int64_t i = 0; i < n_seen; ++i) prompts.push_back({seen.caption(i), seen.objects(i)[0], false, i});
  for (int64_t i = 0; i < n_held; ++i) prompts.push_back({held.caption(i), held.objects(i)[0], true, i});

  auto run = [&](const std::vector<std::string>& captions, uint64_t seed) {
    const Tensor clips = generate(captions, seed);
    const auto n = static_cast<int64_t>(captions.size());
    FRESCO_CHECK_SHAPE(clips.defined() && clips.dim() == 5 && clips.size(0) == n && clips.size(1) == t &&
                           clips.size(2) == 3 && clips.size(3) == s && clips.size(4) == s,
                       "evaluate_text_to_video: expected generated clips [{}, {}, 3, {}, {}], found {}", n, t, s, s,
                       clips.defined() ? shape_str(clips.shape()) : std::string("an undefined tensor"));
    return clips.contiguous();
  };
  const int64_t diversity_captions = std::min(o.diversity_captions, n_seen);
  const int64_t calls = (o.samples + o.batch - 1) / o.batch + diversity_captions;
  auto report_progress = [&](int64_t done) {
    if (!o.on_progress) return;
    Progress p;
    p.stage = "evaluate";
    p.step = done;
    p.total = calls;
    p.fraction = static_cast<double>(done) / static_cast<double>(calls);
    p.elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    p.done = done == calls;
    o.on_progress(p);
  };

  Tally gen_seen, gen_held, real_seen, real_held;
  // Named motion x read motion (the last column: none read).
  std::vector<std::vector<int64_t>> confusion(kMotions, std::vector<int64_t>(kMotions + 1, 0));
  std::vector<Tensor> gen_features, real_features, real_features_2;
  int64_t call = 0;
  for (int64_t first = 0; first < o.samples; first += o.batch) {
    const int64_t b = std::min(o.batch, o.samples - first);
    std::vector<std::string> captions;
    for (int64_t i = first; i < first + b; ++i) captions.push_back(prompts[static_cast<size_t>(i)].caption);
    const Tensor clips = run(captions, o.seed + 1000 + static_cast<uint64_t>(first));
    std::vector<int64_t> seen_rows;
    for (int64_t i = 0; i < b; ++i) {
      const PromptClip& p = prompts[static_cast<size_t>(first + i)];
      const ClipReading reading = read_clip(frame_judge, index_select(clips, 0, {i}).reshape({t, 3, s, s}));
      (p.held_out ? gen_held : gen_seen).add(reading, p.object);
      const bool read = reading.motion >= 0 && reading.motion < kMotions;
      ++confusion[static_cast<size_t>(p.object.motion)][static_cast<size_t>(read ? reading.motion : kMotions)];
      const MovingShapes& set = p.held_out ? held : seen;
      const auto real = set.sample(p.index);
      (p.held_out ? real_held : real_seen).add(read_clip(frame_judge, clip_of(real.pixels, t, s)), p.object);
      if (p.held_out) continue;
      seen_rows.push_back(i);
      // The floor's second real set: the same prompt drawn again (other trajectory and jitter).
      const auto again = MovingShapes::render({p.object}, o.seed + 5000 + static_cast<uint64_t>(p.index), s, t);
      real_features.push_back(clip_features(frame_judge, clip_of(real.pixels, t, s).reshape({1, t, 3, s, s})));
      real_features_2.push_back(clip_features(frame_judge, clip_of(again.pixels, t, s).reshape({1, t, 3, s, s})));
    }
    if (!seen_rows.empty()) gen_features.push_back(clip_features(frame_judge, index_select(clips, 0, seen_rows)));
    report_progress(++call);
  }

  VideoReport r;
  r.heads = {"shape", "colour", "size", "motion", "speed"};
  r.seen_count = gen_seen.count;
  r.held_out_count = gen_held.count;
  r.accuracy_seen = gen_seen.shares();
  r.accuracy_held_out = gen_held.shares();
  r.all_right_seen = gen_seen.share(gen_seen.all);
  r.all_right_held_out = gen_held.share(gen_held.all);
  r.motion_names = MovingShapes::motion_names();
  r.motion_confusion = std::move(confusion);
  r.consistency = static_cast<double>(gen_seen.consistent + gen_held.consistent) / static_cast<double>(o.samples);
  r.real_accuracy_seen = real_seen.shares();
  r.real_accuracy_held_out = real_held.shares();
  r.real_consistency = static_cast<double>(real_seen.consistent + real_held.consistent) / static_cast<double>(o.samples);
  if (n_seen >= 2) {
    r.frechet_samples = n_seen;
    const Tensor real = cat(real_features, 0);
    r.frechet_distance = frechet_distance(cat(gen_features, 0), real);
    r.frechet_floor = frechet_distance(cat(real_features_2, 0), real);
  }

  // Diversity: clips of one caption, generated and real.
  std::vector<Tensor> gen_groups, real_groups;
  for (int64_t c = 0; c < diversity_captions; ++c) {
    const PromptClip& p = prompts[static_cast<size_t>(c)];
    const Tensor clips = run(std::vector<std::string>(static_cast<size_t>(o.diversity_clips), p.caption),
                             o.seed + 9000 + static_cast<uint64_t>(c));
    gen_groups.push_back(clip_features(frame_judge, clips));
    std::vector<Tensor> reals;
    for (int64_t k = 0; k < o.diversity_clips; ++k)
      reals.push_back(clip_of(MovingShapes::render({p.object}, o.seed + 7000 + static_cast<uint64_t>(c * 100 + k), s, t)
                                  .pixels,
                              t, s)
                          .reshape({1, t, 3, s, s}));
    real_groups.push_back(clip_features(frame_judge, cat(reals, 0)));
    report_progress(++call);
  }
  r.diversity_captions = static_cast<int64_t>(gen_groups.size());
  r.diversity_clips = o.diversity_clips;
  if (!gen_groups.empty()) {
    r.diversity_generated = diversity(gen_groups);
    r.diversity_real = diversity(real_groups);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

namespace {

// One line per named motion: its clips, the share read right, and its three most frequent misreadings.
std::string motion_lines(const std::vector<std::string>& names, const std::vector<std::vector<int64_t>>& confusion,
                         int name_width, int column_width) {
  if (confusion.empty()) return {};
  std::string t = fmt::format("{:<{}}{:>{}}{:>{}}   {}\n", "motion named (generated clips)", name_width, "clips",
                              column_width, "read right", column_width, "read instead");
  for (size_t m = 0; m < confusion.size() && m < names.size(); ++m) {
    const auto& row = confusion[m];
    const int64_t total = std::accumulate(row.begin(), row.end(), int64_t{0});
    std::vector<size_t> wrong;
    for (size_t k = 0; k < row.size(); ++k)
      if (k != m && row[k] > 0) wrong.push_back(k);
    std::stable_sort(wrong.begin(), wrong.end(), [&](size_t a, size_t b) { return row[a] > row[b]; });
    std::vector<std::string> parts;
    for (size_t i = 0; i < wrong.size() && i < 3; ++i)
      parts.push_back(fmt::format("{} {}", wrong[i] < names.size() ? names[wrong[i]] : std::string("none"),
                                  row[wrong[i]]));
    const std::string right =
        total > 0 && m < row.size()
            ? fmt::format("{:.1f}%", 100.0 * static_cast<double>(row[m]) / static_cast<double>(total))
            : "-";
    t += fmt::format("{:<{}}{:>{}}{:>{}}   {}\n", "  " + names[m], name_width, total, column_width, right,
                     column_width, fmt::join(parts, ", "));
  }
  return t;
}

}  // namespace

std::string VideoReport::to_table() const {
  auto percent = [](const std::vector<double>& v, size_t h) {
    return h < v.size() ? fmt::format("{:.1f}%", 100 * v[h]) : std::string("-");
  };
  constexpr int kName = 34, kCol = 12;
  std::string t = fmt::format("text-to-video evaluation on moving-shapes: {} prompts ({} seen, {} held-out), {:.1f} s\n",
                              seen_count + held_out_count, seen_count, held_out_count, seconds);
  t += fmt::format("{:<{}}{:>{}}{:>{}}{:>{}}{:>{}}\n", "accuracy", kName, "seen", kCol, "held-out", kCol, "real seen",
                   kCol, "real held", kCol);
  for (size_t h = 0; h < heads.size(); ++h)
    t += fmt::format("{:<{}}{:>{}}{:>{}}{:>{}}{:>{}}\n", "  " + heads[h], kName, percent(accuracy_seen, h), kCol,
                     percent(accuracy_held_out, h), kCol, percent(real_accuracy_seen, h), kCol,
                     percent(real_accuracy_held_out, h), kCol);
  t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "  shape, colour, size, motion at once", kName,
                   percent({all_right_seen}, 0), kCol, percent({all_right_held_out}, 0), kCol);
  t += fmt::format("{:<{}}{:>{}}{:>{}}{:>{}}\n", "identity kept in every frame (all)", kName, percent({consistency}, 0),
                   kCol, "", kCol, percent({real_consistency}, 0), kCol);
  t += motion_lines(motion_names, motion_confusion, kName, kCol);
  t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "Fréchet distance (clip features)", kName, "model", kCol, "real floor", kCol);
  t += fmt::format("{:<{}}{:>{}.3f}{:>{}.3f}\n", fmt::format("  {} vs {} clips", frechet_samples, frechet_samples),
                   kName, frechet_distance, kCol, frechet_floor, kCol);
  t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "diversity (mean pairwise distance)", kName, "generated", kCol, "real", kCol);
  t += fmt::format("{:<{}}{:>{}.3f}{:>{}.3f}\n", fmt::format("  {} captions x {} clips", diversity_captions, diversity_clips),
                   kName, diversity_generated, kCol, diversity_real, kCol);
  return t;
}

std::string VideoReport::to_json() const {
  // JSON has no NaN or infinity: such a figure (a diverged model) becomes null.
  const auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  const auto per_head = [&](const std::vector<double>& values) {
    nlohmann::json o = nlohmann::json::object();
    for (size_t h = 0; h < heads.size() && h < values.size(); ++h) o[heads[h]] = number(values[h]);
    return o;
  };
  const nlohmann::json j = {
      {"dataset", "moving-shapes"},
      {"heads", heads},
      {"accuracy", {{"seen", per_head(accuracy_seen)}, {"held_out", per_head(accuracy_held_out)}}},
      {"all_right", {{"seen", number(all_right_seen)}, {"held_out", number(all_right_held_out)}}},
      {"consistency", number(consistency)},
      {"real_accuracy", {{"seen", per_head(real_accuracy_seen)}, {"held_out", per_head(real_accuracy_held_out)}}},
      {"real_consistency", number(real_consistency)},
      {"frechet_distance", number(frechet_distance)},
      {"frechet_floor", number(frechet_floor)},
      {"diversity", {{"generated", number(diversity_generated)}, {"real", number(diversity_real)}}},
      {"motion_confusion", {{"motions", motion_names}, {"counts", motion_confusion}}},
      {"counts",
       {{"seen", seen_count},
        {"held_out", held_out_count},
        {"frechet_samples", frechet_samples},
        {"diversity_captions", diversity_captions},
        {"diversity_clips", diversity_clips}}},
      {"seconds", number(seconds)},
  };
  return j.dump(2);
}

}  // namespace fresco::eval
