// SPDX-License-Identifier: Apache-2.0
#include <fresco/eval/evaluate.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include <fresco/autograd/autograd.hpp>
#include <fresco/data/dataset.hpp>
#include <fresco/data/fashion_mnist.hpp>
#include <fresco/data/shapes.hpp>
#include <fresco/error.hpp>
#include <fresco/eval/cells.hpp>
#include <fresco/eval/metrics.hpp>
#include <fresco/io/image.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/shape.hpp>
#include <fresco/tensor/random.hpp>

#include <fmt/ranges.h>

namespace fresco::eval {

namespace {

// Independent streams of one evaluation seed (prompts, generator calls,
// real-image picks), so changing one count does not shift the others.
enum Stream : uint64_t {
  kPrompts = 1, kGenerate = 2, kDiversity = 3, kReal = 4, kRealDiversity = 5, kTwoGenerate = 6, kTwoReal = 7
};

uint64_t derive_seed(uint64_t seed, uint64_t stream, uint64_t index) { return mix_seed(mix_seed(seed, stream), index); }

const std::vector<int64_t>& expected_heads(DatasetKind kind) {
  static const std::vector<int64_t> fashion{10};
  static const std::vector<int64_t> shapes{data::kShapesNumShapes, data::kShapesNumColours, data::kShapesNumSizes,
                                           data::kShapesNumPositions};
  return kind == DatasetKind::shapes ? shapes : fashion;
}

void check_judge(const ImageJudge& judge, DatasetKind kind) {
  FRESCO_CHECK(judge.features && judge.predict, "evaluate_text_to_image: the judge needs both features and predict");
  const int64_t channels = kind == DatasetKind::shapes ? 3 : 1;
  FRESCO_CHECK(judge.config.heads == expected_heads(kind) && judge.config.channels == channels,
               "evaluate_text_to_image: a {} classifier has {} channel(s) and heads [{}], found {} channel(s) and "
               "heads [{}] (was it trained on another dataset?)",
               dataset_kind_name(kind), channels, fmt::join(expected_heads(kind), ", "), judge.config.channels,
               fmt::join(judge.config.heads, ", "));
  if (kind != DatasetKind::shapes || !judge.predict_cells) return;
  const ClassifierConfig& c = judge.cell_config;
  FRESCO_CHECK(is_cell_judge_config(c) && 2 * c.image_size == judge.config.image_size,
               "evaluate_text_to_image: a cell judge reads 3-channel crops of {} px (half the judge's {}) with heads "
               "[{}], found {} channel(s), {} px and heads [{}]",
               judge.config.image_size / 2, judge.config.image_size, fmt::join(cell_judge_config().heads, ", "),
               c.channels, c.image_size, fmt::join(c.heads, ", "));
}

void check_options(const EvaluateOptions& o) {
  FRESCO_CHECK(o.samples >= 4, "evaluate_text_to_image: expected samples >= 4, found {}", o.samples);
  FRESCO_CHECK(o.batch >= 1, "evaluate_text_to_image: expected batch >= 1, found {}", o.batch);
  FRESCO_CHECK(o.held_out_fraction >= 0 && o.held_out_fraction < 1,
               "evaluate_text_to_image: expected held_out_fraction in [0, 1), found {}", o.held_out_fraction);
  FRESCO_CHECK(o.diversity_captions >= 1 && o.diversity_images >= 2,
               "evaluate_text_to_image: expected diversity_captions >= 1 and diversity_images >= 2, found {} and {}",
               o.diversity_captions, o.diversity_images);
  FRESCO_CHECK(o.two_object_samples >= 0, "evaluate_text_to_image: expected two_object_samples >= 0, found {}",
               o.two_object_samples);
}

// Calls the model and checks what comes back, then adapts it for the judge.
Tensor generate_checked(const GenerateFn& generate, const std::vector<std::string>& captions, uint64_t seed,
                        const ClassifierConfig& config) {
  const Tensor images = generate(captions, seed);
  FRESCO_CHECK_SHAPE(images.defined() && images.dim() == 4 && images.size(0) == static_cast<int64_t>(captions.size()),
                     "evaluate_text_to_image: the model returned {} for {} captions, expected [{}, C, H, W]",
                     images.defined() ? shape_str(images.shape()) : std::string("an undefined tensor"),
                     captions.size(), captions.size());
  return to_classifier_input(images, config);
}

// Real images with the judge's labels, one per row: test images of the dataset.
class RealImages {
public:
  RealImages(DatasetKind kind, const EvaluateOptions& o, int64_t image_size) : kind_(kind), size_(image_size) {
    if (kind == DatasetKind::fashion_mnist)
      fashion_ = std::make_unique<data::FashionMnist>(
          data::FashionMnistOptions{.root = o.fashion_mnist_root, .split = "test", .pad_to_32 = false});
  }
  // `count` distinct test images [count, C, 28 or S, ...] in [0, 1], drawn from `seed`.
  Tensor test_images(int64_t count, uint64_t seed) const {
    if (kind_ == DatasetKind::shapes) {
      // The test split (single objects, as the classifier was trained on) at the judge's size.
      data::Shapes test({.image_size = size_, .size = count, .seed = seed, .split = "test",
                         .two_object_fraction = 0.f});
      std::vector<Tensor> rows;
      for (int64_t i = 0; i < count; ++i) rows.push_back(test.image(i));
      return stack(rows, 0);
    }
    std::vector<int64_t> index(static_cast<size_t>(fashion_->size()));
    for (size_t i = 0; i < index.size(); ++i) index[i] = static_cast<int64_t>(i);
    Generator g(seed);  // partial Fisher-Yates: the first `count` of a random permutation
    for (int64_t i = 0; i < count; ++i) std::swap(index[i], index[i + g.below(index.size() - i)]);
    index.resize(static_cast<size_t>(count));
    return fashion_->images(index);
  }
  int64_t max_test_images() const { return kind_ == DatasetKind::shapes ? (int64_t{1} << 40) : fashion_->size(); }
  // `count` real images [count, C, H, W] with the labels of `prompt`: the
  // Shapes object rendered with different jitter seeds, or Fashion-MNIST test
  // images of the class.
  Tensor like(const Prompt& prompt, int64_t count, uint64_t seed) const {
    std::vector<Tensor> rows;
    if (kind_ == DatasetKind::shapes) {
      const auto& l = prompt.labels;
      const std::vector<data::ShapesObject> objects{{.shape = static_cast<int>(l[0]), .colour = static_cast<int>(l[1]),
                                                     .size = static_cast<int>(l[2]), .position = static_cast<int>(l[3])}};
      for (int64_t k = 0; k < count; ++k)
        rows.push_back(tensor(data::Shapes::render(objects, size_, derive_seed(seed, kRealDiversity, k)), {3, size_, size_}));
      return stack(rows, 0);
    }
    std::vector<int64_t> of_class;
    for (int64_t i = 0; i < fashion_->size(); ++i)
      if (fashion_->label(i) == prompt.labels[0]) of_class.push_back(i);
    FRESCO_CHECK(static_cast<int64_t>(of_class.size()) >= count,
                 "evaluate_text_to_image: the Fashion-MNIST test split has {} images of class {}, {} needed",
                 of_class.size(), prompt.labels[0], count);
    Generator g(seed);
    for (int64_t k = 0; k < count; ++k) std::swap(of_class[k], of_class[k + g.below(of_class.size() - k)]);
    of_class.resize(static_cast<size_t>(count));
    return fashion_->images(of_class);
  }

private:
  DatasetKind kind_;
  int64_t size_;
  std::unique_ptr<data::FashionMnist> fashion_;
};

// Features of many real images, in batches.
Tensor features_of(const ImageJudge& judge, const Tensor& images01, int64_t batch) {
  std::vector<Tensor> parts;
  for (int64_t b = 0; b < images01.size(0); b += batch)
    parts.push_back(judge.features(to_classifier_input(images01.slice(0, b, std::min(b + batch, images01.size(0))),
                                                       judge.config)));
  return cat(parts, 0);
}

}  // namespace

DatasetKind parse_dataset_kind(const std::string& name) {
  if (name == "shapes") return DatasetKind::shapes;
  if (name == "fashion-mnist" || name == "fashion_mnist") return DatasetKind::fashion_mnist;
  throw Error(fmt::format("parse_dataset_kind: expected \"shapes\" or \"fashion-mnist\", found \"{}\"", name));
}

std::string dataset_kind_name(DatasetKind kind) { return kind == DatasetKind::shapes ? "shapes" : "fashion-mnist"; }

std::vector<std::vector<int64_t>> read_at_position(std::vector<std::vector<int64_t>> scene,
                                                   const std::vector<std::vector<int64_t>>& cells) {
  FRESCO_CHECK(scene.size() == 4 && cells.size() == 3,
               "read_at_position: expected 4 scene heads and 3 cell heads, found {} and {}", scene.size(),
               cells.size());
  const size_t n = scene[3].size();
  for (size_t h = 0; h < 4; ++h)
    FRESCO_CHECK(scene[h].size() == n, "read_at_position: scene head {} has {} labels, head 3 has {}", h,
                 scene[h].size(), n);
  for (size_t h = 0; h < 3; ++h)
    FRESCO_CHECK(cells[h].size() == n * kCells, "read_at_position: cell head {} has {} labels for {} images", h,
                 cells[h].size(), n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t p = scene[3][i];
    FRESCO_CHECK(p >= 0 && p < kCells, "read_at_position: image {} has position {}", i, p);
    const size_t row = i * kCells + static_cast<size_t>(p);
    if (cells[0][row] == kCellNone[0]) continue;  // nothing read there: keep the scene's reading
    for (size_t h = 0; h < 3; ++h)
      if (cells[h][row] != kCellNone[h]) scene[h][i] = cells[h][row];
  }
  return scene;
}

ImageJudge judge_of(Classifier& classifier, Classifier* cell_judge) {
  classifier.eval();
  ImageJudge judge{.config = classifier.config(),
                   .features = [&classifier](const Tensor& x) {
                     NoGradGuard guard;
                     return classifier.features(x).detach();
                   },
                   .predict = [&classifier](const Tensor& x) { return classifier.predict(x); }};
  if (cell_judge != nullptr) {
    cell_judge->eval();
    judge.cell_config = cell_judge->config();
    judge.predict_cells = [cell_judge](const Tensor& x) { return cell_judge->predict(x); };
    if (classifier.config().heads == expected_heads(DatasetKind::shapes) && is_cell_judge_config(cell_judge->config()) &&
        2 * cell_judge->config().image_size == classifier.config().image_size)
      judge.predict = [&classifier, cell_judge](const Tensor& x) {
        return read_at_position(classifier.predict(x), cell_judge->predict(cell_crops(x)));
      };
  }
  return judge;
}

Tensor to_classifier_input(const Tensor& images, const ClassifierConfig& config) {
  FRESCO_CHECK_SHAPE(images.defined() && images.dim() == 4 && images.size(2) == images.size(3) && images.size(2) >= 1,
                     "to_classifier_input: expected square images [N, C, H, H], found {}",
                     images.defined() ? shape_str(images.shape()) : std::string("an undefined tensor"));
  FRESCO_CHECK_SHAPE(images.size(1) == config.channels,
                     "to_classifier_input: the classifier reads {} channel(s), found images {}", config.channels,
                     shape_str(images.shape()));
  NoGradGuard guard;
  Tensor x = clamp(images.detach(), 0.f, 1.f);
  const int64_t h = x.size(2), s = config.image_size;
  if (h == 28 && s == 32) {
    // Fashion-MNIST's own 32×32 form: the 28×28 image in the middle of a black border.
    const int64_t n = x.size(0), c = x.size(1);
    Tensor padded = zeros({n, c, 32, 32});
    const Tensor src = x.contiguous();
    for (int64_t p = 0; p < n * c; ++p)
      for (int64_t r = 0; r < 28; ++r)
        std::copy_n(src.data() + (p * 28 + r) * 28, 28, padded.data() + (p * 32 + r + 2) * 32 + 2);
    x = padded;
  } else if (h > s) {
    x = io::resize_area(x.contiguous(), s, s);
  } else if (h < s) {
    x = io::resize_bilinear(x.contiguous(), s, s);
  }
  return x * 2.f - 1.f;
}

std::vector<Prompt> make_prompts(DatasetKind kind, int64_t count, uint64_t seed, double held_out_fraction,
                                 int objects) {
  FRESCO_CHECK(count >= 0 && held_out_fraction >= 0 && held_out_fraction < 1,
               "make_prompts: expected count >= 0 and held_out_fraction in [0, 1), found {} and {}", count,
               held_out_fraction);
  FRESCO_CHECK(objects == 1 || (objects == 2 && kind == DatasetKind::shapes),
               "make_prompts: expected 1 object per prompt (or 2 on Shapes), found {} on {}", objects,
               dataset_kind_name(kind));
  Generator g(derive_seed(seed, kPrompts, objects == 1 ? 0 : 2));
  std::vector<Prompt> prompts;
  if (kind == DatasetKind::fashion_mnist) {
    for (int64_t i = 0; i < count; ++i) {
      const auto label = static_cast<int64_t>(g.below(10));
      const auto phrasings = data::FashionMnist::captions_for_class(label);
      prompts.push_back({.caption = phrasings[g.below(phrasings.size())], .labels = {label}});
    }
    return prompts;
  }
  const auto held = data::shapes_default_held_out();
  std::vector<data::ShapesCombination> seen;
  for (int c = 0; c < data::kShapesNumColours; ++c)
    for (int s = 0; s < data::kShapesNumShapes; ++s)
      if (std::find(held.begin(), held.end(), data::ShapesCombination{c, s}) == held.end()) seen.push_back({c, s});
  const auto seen_count = static_cast<int64_t>(std::llround(static_cast<double>(count) * (1 - held_out_fraction)));
  if (objects == 2) {
    std::vector<data::ShapesCombination> all = seen;
    all.insert(all.end(), held.begin(), held.end());
    for (int64_t i = 0; i < count; ++i) {
      const bool is_held = i >= seen_count;
      const int64_t held_slot = is_held ? static_cast<int64_t>(g.below(2)) : -1;
      const int first = static_cast<int>(g.below(data::kShapesNumPositions));
      int second = static_cast<int>(g.below(data::kShapesNumPositions - 1));
      if (second >= first) ++second;
      std::vector<data::ShapesObject> both;
      std::vector<int64_t> labels;
      for (int k = 0; k < 2; ++k) {
        const auto& pairs = held_slot == k ? held : is_held ? all : seen;
        const auto pair = pairs[g.below(pairs.size())];
        both.push_back({.shape = pair.shape, .colour = pair.colour,
                        .size = static_cast<int>(g.below(data::kShapesNumSizes)), .position = k == 0 ? first : second});
        const auto l = both.back().labels();
        labels.insert(labels.end(), l.begin(), l.end());
      }
      prompts.push_back({.caption = data::Shapes::describe(both, g.next_u64()), .labels = labels, .held_out = is_held});
    }
    return prompts;
  }
  for (int64_t i = 0; i < count; ++i) {
    const bool is_held = i >= seen_count;
    const auto& pairs = is_held ? held : seen;
    const auto pair = pairs[g.below(pairs.size())];
    const data::ShapesObject o{.shape = pair.shape, .colour = pair.colour,
                               .size = static_cast<int>(g.below(data::kShapesNumSizes)),
                               .position = static_cast<int>(g.below(data::kShapesNumPositions))};
    const auto l = o.labels();
    prompts.push_back({.caption = data::Shapes::describe({o}, g.next_u64()), .labels = {l.begin(), l.end()},
                       .held_out = is_held});
  }
  return prompts;
}

EvaluationReport evaluate_text_to_image(const GenerateFn& generate, Classifier& classifier, DatasetKind kind,
                                        const EvaluateOptions& options) {
  return evaluate_text_to_image(generate, judge_of(classifier), kind, options);
}

namespace {

// Counts the generator's calls (the part that takes the time) and reports each.
class CallProgress {
public:
  CallProgress(const ProgressCallback& on_progress, int64_t total)
      : on_progress_(on_progress), total_(total), start_(std::chrono::steady_clock::now()) {}
  void done() {
    ++calls_;
    if (!on_progress_) return;
    Progress p = report();
    p.fraction = std::min(1.0, static_cast<double>(calls_) / static_cast<double>(total_));
    p.eta = p.elapsed / static_cast<double>(calls_) * static_cast<double>(std::max<int64_t>(total_ - calls_, 0));
    on_progress_(p);
  }
  void finish(const EvaluationReport& r) {
    if (!on_progress_) return;
    Progress p = report();
    p.fraction = 1;
    p.eta = 0;
    p.done = true;
    double seen = 0;
    for (double a : r.accuracy_seen) seen += a;
    p.values = {{"seen acc %", 100.0 * seen / static_cast<double>(std::max<size_t>(r.accuracy_seen.size(), 1))},
                {"FD", r.frechet_distance},
                {"FD floor", r.frechet_floor}};
    if (r.two_object_seen.images > 0) p.values.emplace_back("two right %", 100.0 * r.two_object_seen.all_right);
    on_progress_(p);
  }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

private:
  Progress report() const {
    Progress p;
    p.stage = "evaluate";
    p.step = calls_;
    p.total = total_;
    p.elapsed = seconds();
    return p;
  }
  const ProgressCallback& on_progress_;
  int64_t total_, calls_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// Step 1: generated images of every prompt, their predicted labels, and the features of the seen prompts.
struct Judged {
  std::vector<std::vector<int64_t>> intended, predicted;
  std::vector<bool> held_out;
  std::vector<Tensor> seen_features;
};

// `kept`, when given, receives the generated images as the judge reads them.
Judged judge_prompts(const GenerateFn& generate, const ImageJudge& judge, const std::vector<Prompt>& prompts,
                     const EvaluateOptions& options, CallProgress& progress, std::vector<Tensor>* kept = nullptr) {
  Judged j;
  j.predicted.resize(judge.config.heads.size());
  for (int64_t b = 0, call = 0; b < options.samples; b += options.batch, ++call) {
    const int64_t e = std::min(b + options.batch, options.samples);
    std::vector<std::string> captions;
    for (int64_t i = b; i < e; ++i) {
      captions.push_back(prompts[i].caption);
      j.intended.push_back(prompts[i].labels);
      j.held_out.push_back(prompts[i].held_out);
    }
    const Tensor x = generate_checked(generate, captions, derive_seed(options.seed, kGenerate, call), judge.config);
    if (kept) kept->push_back(x);
    const auto labels = judge.predict(x);
    FRESCO_CHECK(labels.size() == j.predicted.size(), "evaluate_text_to_image: the judge predicted {} heads, expected {}",
                 labels.size(), j.predicted.size());
    for (size_t h = 0; h < labels.size(); ++h)
      j.predicted[h].insert(j.predicted[h].end(), labels[h].begin(), labels[h].end());
    const Tensor f = judge.features(x);
    std::vector<int64_t> seen_rows;
    for (int64_t i = b; i < e; ++i)
      if (!prompts[i].held_out) seen_rows.push_back(i - b);
    if (!seen_rows.empty()) j.seen_features.push_back(index_select(f, 0, seen_rows));
    progress.done();
  }
  return j;
}

// The objects a Shapes prompt names (four labels each).
std::vector<data::ShapesObject> objects_of(const Prompt& p) {
  std::vector<data::ShapesObject> out;
  for (size_t k = 0; k + 3 < p.labels.size(); k += 4)
    out.push_back({.shape = static_cast<int>(p.labels[k]), .colour = static_cast<int>(p.labels[k + 1]),
                   .size = static_cast<int>(p.labels[k + 2]), .position = static_cast<int>(p.labels[k + 3])});
  return out;
}

// The cell judge's labels of every cell of images (the judge's input convention).
std::vector<std::vector<int64_t>> read_cells(const ImageJudge& judge, const Tensor& x) {
  const auto cells = judge.predict_cells(cell_crops(x));
  FRESCO_CHECK(cells.size() == 3, "evaluate_text_to_image: the cell judge predicted {} heads, expected 3",
               cells.size());
  for (const auto& head : cells)
    FRESCO_CHECK(static_cast<int64_t>(head.size()) == x.size(0) * kCells,
                 "evaluate_text_to_image: the cell judge gave {} labels for {} crops", head.size(), x.size(0) * kCells);
  return cells;
}

// Step 4 (Shapes with a cell judge): prompts naming two objects, generated and
// real, scored cell by cell, seen and held-out apart.
void judge_two_objects(const GenerateFn& generate, const ImageJudge& judge, const std::vector<Prompt>& prompts,
                       const EvaluateOptions& options, CallProgress& progress, EvaluationReport& r) {
  const int64_t s = judge.config.image_size;
  // Per kind (0 seen, 1 held-out): the prompts' objects and the cell labels of generated and real images.
  std::vector<std::vector<data::ShapesObject>> objects[2];
  std::vector<std::vector<int64_t>> generated[2] = {std::vector<std::vector<int64_t>>(3),
                                                    std::vector<std::vector<int64_t>>(3)};
  std::vector<std::vector<int64_t>> real[2] = {std::vector<std::vector<int64_t>>(3),
                                               std::vector<std::vector<int64_t>>(3)};
  const auto n = static_cast<int64_t>(prompts.size());
  for (int64_t b = 0, call = 0; b < n; b += options.batch, ++call) {
    const int64_t e = std::min(b + options.batch, n);
    std::vector<std::string> captions;
    std::vector<Tensor> scenes;
    for (int64_t i = b; i < e; ++i) {
      captions.push_back(prompts[i].caption);
      scenes.push_back(tensor(data::Shapes::render(objects_of(prompts[i]), s, derive_seed(options.seed, kTwoReal, i)),
                              {3, s, s}));
    }
    const auto fake_cells = read_cells(judge, generate_checked(generate, captions,
                                                               derive_seed(options.seed, kTwoGenerate, call),
                                                               judge.config));
    const auto real_cells = read_cells(judge, to_classifier_input(stack(scenes, 0), judge.config));
    for (int64_t i = b; i < e; ++i) {
      const int kind = prompts[i].held_out ? 1 : 0;
      objects[kind].push_back(objects_of(prompts[i]));
      for (size_t h = 0; h < 3; ++h) {
        const auto from = static_cast<std::ptrdiff_t>((i - b) * kCells);
        generated[kind][h].insert(generated[kind][h].end(), fake_cells[h].begin() + from,
                                  fake_cells[h].begin() + from + kCells);
        real[kind][h].insert(real[kind][h].end(), real_cells[h].begin() + from, real_cells[h].begin() + from + kCells);
      }
    }
    progress.done();
  }
  r.two_object_seen = score_two_objects(objects[0], generated[0]);
  r.two_object_held_out = score_two_objects(objects[1], generated[1]);
  r.two_object_real_seen = score_two_objects(objects[0], real[0]);
  r.two_object_real_held_out = score_two_objects(objects[1], real[1]);
}

// Step 3: diversity among K images of one caption, generated and real, for the first seen prompts.
void measure_diversity(const GenerateFn& generate, const ImageJudge& judge, const std::vector<Prompt>& prompts,
                       const RealImages& real, const EvaluateOptions& options, CallProgress& progress,
                       EvaluationReport& r) {
  std::vector<Tensor> generated_groups, real_groups;
  std::vector<const Prompt*> chosen;
  for (const Prompt& p : prompts)
    if (!p.held_out && static_cast<int64_t>(chosen.size()) < options.diversity_captions) chosen.push_back(&p);
  for (size_t d = 0; d < chosen.size(); ++d) {
    const std::vector<std::string> same(static_cast<size_t>(options.diversity_images), chosen[d]->caption);
    generated_groups.push_back(
        judge.features(generate_checked(generate, same, derive_seed(options.seed, kDiversity, d), judge.config)));
    real_groups.push_back(features_of(
        judge, real.like(*chosen[d], options.diversity_images, derive_seed(options.seed, kRealDiversity, d)),
        options.batch));
    progress.done();
  }
  r.diversity_generated = diversity(generated_groups);
  r.diversity_real = diversity(real_groups);
  r.diversity_captions = static_cast<int64_t>(chosen.size());
  r.diversity_images = options.diversity_images;
}

}  // namespace

namespace {

// The figures both evaluations end with: accuracies, the Fréchet distance of `generated`
// (features of m images) to real set a and the floor between real sets a and b; then the
// final progress report.
EvaluationReport finish_report(EvaluationReport& r, const ConditionalAccuracy& accuracy, const Tensor& generated,
                               const FeatureStatistics& real_a, const FeatureStatistics& real_b,
                               CallProgress& progress) {
  r.accuracy_seen = accuracy.seen;
  r.accuracy_held_out = accuracy.held_out;
  r.all_right_seen = accuracy.all_seen;
  r.all_right_held_out = accuracy.all_held_out;
  r.seen_count = accuracy.seen_count;
  r.held_out_count = accuracy.held_out_count;
  r.frechet_distance = frechet_distance(feature_statistics(generated), real_a);
  r.frechet_floor = frechet_distance(real_a, real_b);
  r.frechet_samples = generated.size(0);
  r.seconds = progress.seconds();
  progress.finish(r);
  return r;
}

}  // namespace

EvaluationReport evaluate_text_to_image(const GenerateFn& generate, const ImageJudge& judge, DatasetKind kind,
                                        const EvaluateOptions& options) {
  FRESCO_CHECK(static_cast<bool>(generate), "evaluate_text_to_image: expected a generate function, found an empty one");
  check_options(options);
  check_judge(judge, kind);
  const double held_fraction = kind == DatasetKind::shapes ? options.held_out_fraction : 0.0;
  const auto prompts = make_prompts(kind, options.samples, options.seed, held_fraction);
  const RealImages real(kind, options, judge.config.image_size);
  const auto seen_prompts = std::count_if(prompts.begin(), prompts.end(), [](const Prompt& p) { return !p.held_out; });
  const bool two_objects = kind == DatasetKind::shapes && judge.predict_cells && options.two_object_samples > 0;
  const auto two_prompts = two_objects ? make_prompts(kind, options.two_object_samples, options.seed, held_fraction, 2)
                                       : std::vector<Prompt>{};
  const auto calls = [&](int64_t count) { return (count + options.batch - 1) / options.batch; };
  CallProgress progress(options.on_progress, calls(options.samples) +
                                                 std::min<int64_t>(options.diversity_captions, seen_prompts) +
                                                 calls(static_cast<int64_t>(two_prompts.size())));
  const Judged judged = judge_prompts(generate, judge, prompts, options, progress);
  const auto accuracy = conditional_accuracy(judged.intended, judged.predicted, judged.held_out);

  // 2. Fréchet distance of generated (seen prompts) to real test images, and
  // the floor between two disjoint real sets of the same size: the estimate
  // is biased upwards for small sets, so both use the same count.
  const Tensor generated = cat(judged.seen_features, 0);
  const int64_t m = std::min(generated.size(0), real.max_test_images() / 2);
  FRESCO_CHECK(m >= 2, "evaluate_text_to_image: {} seen prompts are too few for a Fréchet distance", m);
  const Tensor real_features = features_of(judge, real.test_images(2 * m, derive_seed(options.seed, kReal, 0)),
                                           options.batch);
  const auto real_a = feature_statistics(real_features.slice(0, 0, m));
  const auto real_b = feature_statistics(real_features.slice(0, m, 2 * m));

  EvaluationReport r;
  measure_diversity(generate, judge, prompts, real, options, progress, r);
  if (two_objects) judge_two_objects(generate, judge, two_prompts, options, progress, r);
  r.cell_judge = kind == DatasetKind::shapes && static_cast<bool>(judge.predict_cells);
  r.dataset = dataset_kind_name(kind);
  r.heads = kind == DatasetKind::shapes ? data::Shapes::attribute_names() : std::vector<std::string>{"class"};
  return finish_report(r, accuracy, generated.slice(0, 0, m), real_a, real_b, progress);
}

namespace {

// `count` distinct indices of [0, n) drawn from `seed` (a partial Fisher-Yates), in draw order.
std::vector<int64_t> draw_distinct(int64_t n, int64_t count, uint64_t seed) {
  std::vector<int64_t> index(static_cast<size_t>(n));
  for (size_t i = 0; i < index.size(); ++i) index[i] = static_cast<int64_t>(i);
  Generator g(seed);
  for (int64_t i = 0; i < count; ++i) std::swap(index[i], index[i + g.below(index.size() - i)]);
  index.resize(static_cast<size_t>(count));
  return index;
}

// Entries of `d` at `rows`: images [N, C, H, W] in [0, 1].
Tensor images_at(const data::Dataset& d, const std::vector<int64_t>& rows) {
  std::vector<Tensor> out;
  for (int64_t i : rows) out.push_back(d.get(i).image);
  return stack(out, 0);
}

}  // namespace

EvaluationReport evaluate_on_dataset(const GenerateFn& generate, const ImageJudge& judge, const DatasetPrompts& source,
                                     const EvaluateOptions& options, ImageTextEncoder* retrieval, int64_t candidates) {
  FRESCO_CHECK(static_cast<bool>(generate), "evaluate_on_dataset: expected a generate function, found an empty one");
  FRESCO_CHECK(judge.features && judge.predict, "evaluate_on_dataset: the judge needs both features and predict");
  check_options(options);
  FRESCO_CHECK(source.seen && source.seen->size() >= 4, "evaluate_on_dataset: expected at least 4 seen entries, found {}",
               source.seen ? source.seen->size() : 0);
  FRESCO_CHECK(judge.config.heads.size() == source.heads.size() && !source.heads.empty(),
               "evaluate_on_dataset: the judge has {} head(s), the prompts name {} ({})", judge.config.heads.size(),
               source.heads.size(), fmt::join(source.heads, ", "));
  const bool has_held = source.held_out && source.held_out->size() > 0;
  const double held_fraction = has_held ? options.held_out_fraction : 0.0;
  const int64_t n_held = std::min<int64_t>(
      has_held ? source.held_out->size() : 0,
      static_cast<int64_t>(std::llround(static_cast<double>(options.samples) * held_fraction)));
  const int64_t n_seen = std::min(options.samples - n_held, source.seen->size() / 2);
  FRESCO_CHECK(n_seen >= 2, "evaluate_on_dataset: {} seen entries leave {} prompts; need at least 2",
               source.seen->size(), n_seen);
  // Seen prompts are the first half of one draw, the real images of the Fréchet distance the rest of it.
  const auto seen_rows = draw_distinct(source.seen->size(), source.seen->size(), derive_seed(options.seed, kPrompts, 0));
  const auto held_rows =
      has_held ? draw_distinct(source.held_out->size(), n_held, derive_seed(options.seed, kPrompts, 1)) : std::vector<int64_t>{};
  const size_t heads = source.heads.size();
  std::vector<Prompt> prompts;
  const auto add = [&](const data::Dataset& d, int64_t row, bool held) {
    data::Example e = d.get(row);
    FRESCO_CHECK(e.labels.size() >= heads, "evaluate_on_dataset: entry {} of {} has {} label(s), the judge {} heads",
                 row, source.name, e.labels.size(), heads);
    e.labels.resize(heads);
    for (size_t h = 0; h < heads; ++h)
      FRESCO_CHECK(e.labels[h] >= 0 && e.labels[h] < judge.config.heads[h],
                   "evaluate_on_dataset: entry {} has label {} for head {} ({}), which has {} classes", row,
                   e.labels[h], h, source.heads[h], judge.config.heads[h]);
    prompts.push_back({.caption = e.caption, .labels = std::move(e.labels), .held_out = held});
  };
  for (int64_t i = 0; i < n_seen; ++i) add(*source.seen, seen_rows[static_cast<size_t>(i)], false);
  for (int64_t row : held_rows) add(*source.held_out, row, true);
  EvaluateOptions o = options;
  o.samples = static_cast<int64_t>(prompts.size());

  const auto calls = [&](int64_t count) { return (count + o.batch - 1) / o.batch; };
  CallProgress progress(o.on_progress, calls(o.samples) + std::min<int64_t>(o.diversity_captions, n_seen));
  std::vector<Tensor> generated_images;
  const Judged judged = judge_prompts(generate, judge, prompts, o, progress, retrieval ? &generated_images : nullptr);
  const auto accuracy = conditional_accuracy(judged.intended, judged.predicted, judged.held_out);

  // The judge on the real images of the same prompts.
  std::vector<std::vector<int64_t>> real_predicted(heads);
  const auto judge_real = [&](const data::Dataset& d, const std::vector<int64_t>& rows) {
    for (size_t b = 0; b < rows.size(); b += static_cast<size_t>(o.batch)) {
      const std::vector<int64_t> part(rows.begin() + static_cast<std::ptrdiff_t>(b),
                                      rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), b + o.batch)));
      const auto labels = judge.predict(to_classifier_input(images_at(d, part), judge.config));
      for (size_t h = 0; h < heads; ++h) real_predicted[h].insert(real_predicted[h].end(), labels[h].begin(), labels[h].end());
    }
  };
  judge_real(*source.seen, {seen_rows.begin(), seen_rows.begin() + n_seen});
  if (has_held) judge_real(*source.held_out, held_rows);
  const auto real_accuracy = conditional_accuracy(judged.intended, real_predicted, judged.held_out);

  // Fréchet distance: generated images of the seen prompts against real images of other seen entries.
  const Tensor generated = cat(judged.seen_features, 0);
  const int64_t m = std::min<int64_t>(generated.size(0), (source.seen->size() - n_seen) / 2);
  FRESCO_CHECK(m >= 2, "evaluate_on_dataset: {} seen entries are too few for a Fréchet distance", source.seen->size());
  const std::vector<int64_t> real_rows(seen_rows.begin() + n_seen, seen_rows.begin() + n_seen + 2 * m);
  const Tensor real_features = features_of(judge, images_at(*source.seen, real_rows), o.batch);
  const auto real_a = feature_statistics(real_features.slice(0, 0, m));
  const auto real_b = feature_statistics(real_features.slice(0, m, 2 * m));

  EvaluationReport r;
  // Diversity: images of one caption; the real side is every seen entry of that caption (2 or more).
  // Every seen entry's caption, read once (diversity's real groups and the retrieval pool).
  std::vector<std::string> seen_captions;
  for (int64_t i = 0; i < source.seen->size(); ++i) seen_captions.push_back(source.seen->get(i).caption);
  std::map<std::string, std::vector<int64_t>> by_caption;
  for (size_t i = 0; i < seen_captions.size(); ++i) by_caption[seen_captions[i]].push_back(static_cast<int64_t>(i));
  std::vector<Tensor> generated_groups, real_groups;
  for (int64_t i = 0, d = 0; i < n_seen && d < o.diversity_captions; ++i) {
    const std::string& caption = prompts[static_cast<size_t>(i)].caption;
    const std::vector<std::string> same(static_cast<size_t>(o.diversity_images), caption);
    generated_groups.push_back(
        judge.features(generate_checked(generate, same, derive_seed(o.seed, kDiversity, d), judge.config)));
    const auto& real_of = by_caption[caption];
    if (real_of.size() >= 2) real_groups.push_back(features_of(judge, images_at(*source.seen, real_of), o.batch));
    progress.done();
    ++d;
  }
  r.diversity_generated = diversity(generated_groups);
  r.diversity_real = real_groups.empty() ? 0.0 : diversity(real_groups);
  r.diversity_captions = static_cast<int64_t>(generated_groups.size());
  r.diversity_images = o.diversity_images;

  if (retrieval) {
    std::vector<std::string> pool = seen_captions, captions;
    if (has_held)
      for (int64_t i = 0; i < source.held_out->size(); ++i) pool.push_back(source.held_out->get(i).caption);
    for (const Prompt& p : prompts) captions.push_back(p.caption);
    const Tensor images01 = (cat(generated_images, 0) + 1.f) * 0.5f;   // the judge's input back to [0, 1]
    r.retrieval_precision = caption_retrieval_precision(
        *retrieval, to_classifier_input(images01, retrieval->config().image), captions, pool,
        {.candidates = candidates, .seed = derive_seed(o.seed, kReal, 1)});
    r.retrieval_candidates = candidates;
  }
  r.dataset = source.name;
  r.heads = source.heads;
  r.real_accuracy_seen = real_accuracy.seen;
  r.real_accuracy_held_out = real_accuracy.held_out;
  return finish_report(r, accuracy, generated.slice(0, 0, m), real_a, real_b, progress);
}

}  // namespace fresco::eval
