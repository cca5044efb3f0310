// SPDX-License-Identifier: Apache-2.0
// Cell crops of Shapes scenes, their labels, the crops as a dataset, and the
// scoring of images against the objects their prompts name.
#include <fresco/eval/cells.hpp>

#include <algorithm>
#include <cmath>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/tensor/random.hpp>

namespace fresco::eval {
namespace {

// First row / column of the crop of grid row / column `k` in an image of side s.
int64_t crop_start(int64_t s, int64_t k) {
  return static_cast<int64_t>(std::lround(static_cast<double>(s) * static_cast<double>(2 * k + 1) / 6.0 -
                                          static_cast<double>(s) / 4.0));
}

void check_images(const Tensor& images, const char* who) {
  FRESCO_CHECK_SHAPE(images.defined() && images.dim() == 4 && images.size(2) == images.size(3) &&
                         images.size(2) % 2 == 0 && images.size(2) >= 6,
                     "{}: expected square images [N, C, S, S] with an even side S >= 6, found {}", who,
                     images.defined() ? shape_str(images.shape()) : std::string("an undefined tensor"));
}

// Copies the crop of `cell` of every image of src [N, C, S, S] into dst rows dst_row(n).
template <typename RowOf>
void copy_crops(const Tensor& src, int64_t cell, float* dst, RowOf dst_row) {
  const int64_t n = src.size(0), c = src.size(1), s = src.size(2), half = s / 2;
  const int64_t y0 = crop_start(s, cell / 3), x0 = crop_start(s, cell % 3);
  const float* p = src.data();
  for (int64_t i = 0; i < n; ++i) {
    float* out = dst + dst_row(i) * c * half * half;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < half; ++y) {
        const int64_t sy = std::clamp<int64_t>(y0 + y, 0, s - 1);
        const float* row = p + ((i * c + ch) * s + sy) * s;
        for (int64_t x = 0; x < half; ++x) out[(ch * half + y) * half + x] = row[std::clamp<int64_t>(x0 + x, 0, s - 1)];
      }
  }
}

}  // namespace

ClassifierConfig cell_judge_config(int64_t width, int64_t crop_size) {
  return {.channels = 3,
          .image_size = crop_size,
          .heads = {kCellNone[0] + 1, kCellNone[1] + 1, kCellNone[2] + 1},
          .width = width,
          .feature_dim = 64};
}

bool is_cell_judge_config(const ClassifierConfig& config) {
  return config.channels == 3 && config.heads == cell_judge_config().heads;
}

Tensor cell_crops(const Tensor& images) {
  check_images(images, "cell_crops");
  NoGradGuard guard;
  const Tensor src = images.detach().contiguous();
  const int64_t n = src.size(0), c = src.size(1), half = src.size(2) / 2;
  Tensor out = zeros({n * kCells, c, half, half});
  for (int64_t p = 0; p < kCells; ++p) copy_crops(src, p, out.data(), [p](int64_t i) { return i * kCells + p; });
  return out;
}

Tensor cell_crop(const Tensor& images, int64_t cell) {
  check_images(images, "cell_crop");
  FRESCO_CHECK(cell >= 0 && cell < kCells, "cell_crop: expected a cell in 0..8, found {}", cell);
  NoGradGuard guard;
  const Tensor src = images.detach().contiguous();
  const int64_t half = src.size(2) / 2;
  Tensor out = zeros({src.size(0), src.size(1), half, half});
  copy_crops(src, cell, out.data(), [](int64_t i) { return i; });
  return out;
}

std::array<int64_t, 3> cell_labels(const std::vector<data::ShapesObject>& objects, int64_t cell) {
  FRESCO_CHECK(cell >= 0 && cell < kCells, "cell_labels: expected a cell in 0..8, found {}", cell);
  for (const data::ShapesObject& o : objects)
    if (o.position == cell) return {o.shape, o.colour, o.size};
  return kCellNone;
}

ShapesCellCrops::ShapesCellCrops(data::Shapes scenes, uint64_t seed, double occupied_share, AugmentOptions augment)
    : scenes_(std::move(scenes)), seed_(seed), occupied_share_(occupied_share), augment_(augment) {
  check_augment_options(augment_);
  FRESCO_CHECK(occupied_share >= 0 && occupied_share <= 1, "ShapesCellCrops: expected occupied_share in [0, 1], found {}",
               occupied_share);
  FRESCO_CHECK(scenes_.image_size() % 2 == 0, "ShapesCellCrops: expected scenes with an even side, found {}",
               scenes_.image_size());
}

int64_t ShapesCellCrops::cell_of(int64_t i) const {
  const std::vector<data::ShapesObject> objects = scenes_.objects(i);
  Generator g(mix_seed(seed_, static_cast<uint64_t>(i)));
  if (g.uniform() < occupied_share_) return objects[g.below(objects.size())].position;
  std::vector<int64_t> empty;
  for (int64_t p = 0; p < kCells; ++p)
    if (cell_labels(objects, p) == kCellNone) empty.push_back(p);
  return empty[g.below(empty.size())];
}

data::Example ShapesCellCrops::get(int64_t i) const {
  const data::ShapesSample s = scenes_.sample(i);
  const int64_t side = scenes_.image_size(), cell = cell_of(i);
  Tensor scene = tensor(s.pixels, {1, 3, side, side});
  if (augment_.enabled) {
    Generator g(mix_seed(mix_seed(seed_, static_cast<uint64_t>(i)), 0xa09e));
    scene = augment_images(scene, augment_, g);
  }
  const auto labels = cell_labels(s.objects, cell);
  return {.image = cell_crop(scene, cell).reshape({3, side / 2, side / 2}),
          .caption = s.caption,
          .labels = {labels.begin(), labels.end()}};
}

TwoObjectScores score_two_objects(const std::vector<std::vector<data::ShapesObject>>& objects,
                                  const std::vector<std::vector<int64_t>>& cells) {
  const auto n = static_cast<int64_t>(objects.size());
  FRESCO_CHECK(cells.size() == 3, "score_two_objects: expected the cell judge's 3 heads, found {}", cells.size());
  for (const auto& head : cells)
    FRESCO_CHECK(static_cast<int64_t>(head.size()) == n * kCells,
                 "score_two_objects: expected 9 cell labels per image ({} for {} images), found {}", n * kCells, n,
                 head.size());
  TwoObjectScores s;
  s.images = n;
  if (n == 0) return s;
  int64_t all = 0, extra = 0, named = 0, objects_right = 0, placed = 0, swapped = 0;
  std::array<int64_t, 3> right{};
  for (int64_t i = 0; i < n; ++i) {
    bool every = true, named_cell[kCells] = {};
    for (const data::ShapesObject& o : objects[i]) {
      FRESCO_CHECK(o.position >= 0 && o.position < kCells, "score_two_objects: image {} names position {}", i,
                   o.position);
      named_cell[o.position] = true;
      const std::array<int64_t, 3> want{o.shape, o.colour, o.size};
      bool whole = true;
      for (size_t h = 0; h < 3; ++h) {
        const bool ok = cells[h][i * kCells + o.position] == want[h];
        right[h] += ok;
        whole = whole && ok;
      }
      objects_right += whole;
      every = every && whole;
      placed += cells[0][i * kCells + o.position] != kCellNone[0];
      ++named;
    }
    all += every;
    if (objects[i].size() == 2) {
      const data::ShapesObject &a = objects[i][0], &b = objects[i][1];
      const std::array<int64_t, 3> wa{a.shape, a.colour, a.size}, wb{b.shape, b.colour, b.size};
      bool crossed = wa != wb;
      for (size_t h = 0; h < 3; ++h)
        crossed = crossed && cells[h][i * kCells + a.position] == wb[h] && cells[h][i * kCells + b.position] == wa[h];
      swapped += crossed;
    }
    bool more = false;
    for (int64_t p = 0; p < kCells; ++p)
      if (!named_cell[p] && cells[0][i * kCells + p] != kCellNone[0]) more = true;
    extra += more;
  }
  const auto share = [](int64_t k, int64_t of) { return of > 0 ? static_cast<double>(k) / static_cast<double>(of) : 0.0; };
  s.all_right = share(all, n);
  s.extra_object = share(extra, n);
  for (size_t h = 0; h < 3; ++h) s.attributes[h] = share(right[h], named);
  s.object_right = share(objects_right, named);
  s.object_placed = share(placed, named);
  s.swapped = share(swapped, n);
  return s;
}

}  // namespace fresco::eval
