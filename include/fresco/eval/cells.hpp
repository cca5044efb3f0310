// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Judging Shapes scenes cell by cell, for prompts that name two objects.
///
/// Shapes' objects never leave their cell of the 3×3 grid, so a scene is read
/// by looking at each cell on its own: `cell_crops` cuts a crop of half the
/// image side around each cell's centre (16×16 of a 32×32 scene: the 10.7 px
/// cell and a margin into its neighbours), and a *cell judge*, an
/// `eval::Classifier` with heads {shape or none, colour or none, size or
/// none} (`cell_judge_config`), reads each crop. A two-object image is right
/// when both named objects' cells read their shape, colour and size
/// (`score_two_objects`). `ShapesCellCrops` gives the judge's training crops
/// from real scenes; `eval::save_judges` stores it beside the scene
/// classifier in one file.
///
///     auto judges = fresco::eval::load_judges("shapes_classifier.safetensors");
///     fresco::Tensor crops = fresco::eval::cell_crops(images);   // [N, 3, 32, 32] -> [9 N, 3, 16, 16]
///     auto cells = judges.cell->predict(crops);                 // cells[h][9 n + p]

#include <array>
#include <cstdint>
#include <vector>

#include <fresco/data/dataset.hpp>
#include <fresco/data/shapes.hpp>
#include <fresco/eval/augment.hpp>
#include <fresco/eval/classifier.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::eval {

/// Cells of the Shapes grid (row-major: top left, top, ..., bottom right).
inline constexpr int64_t kCells = 9;
/// The cell judge's "no object" class of each head: shape 4, colour 6, size 2
/// (one past the attribute's last class).
inline constexpr std::array<int64_t, 3> kCellNone = {data::kShapesNumShapes, data::kShapesNumColours,
                                                     data::kShapesNumSizes};

/// A cell judge's architecture: 3 channels, crops of `crop_size` (a multiple
/// of 16; 16 for 32×32 scenes), heads {5, 7, 3} (shape, colour, size, each
/// with "none" last), the given width and a 64-wide feature layer.
ClassifierConfig cell_judge_config(int64_t width = 16, int64_t crop_size = 16);

/// True when `config` has the cell judge's heads {5, 7, 3} and 3 channels.
bool is_cell_judge_config(const ClassifierConfig& config);

/// The crops of every cell of every image: images [N, C, S, S] (S even) ->
/// [9 N, C, S/2, S/2], row 9 n + p the crop of cell p of image n. A crop is
/// centred on its cell's centre S (2 col + 1) / 6: its first column is
/// round(S (2 col + 1) / 6 − S / 4) (−3, 8 and 19 at S = 32), likewise its
/// first row; pixels beyond the image repeat its nearest edge. Throws
/// `fresco::ShapeError` for images that are not square 4-D with an even side >= 6.
Tensor cell_crops(const Tensor& images);

/// The crop of one cell: images [N, C, S, S] -> [N, C, S/2, S/2] (see `cell_crops`).
Tensor cell_crop(const Tensor& images, int64_t cell);

/// The cell judge's labels of cell `cell` of a scene with `objects`: the
/// object in that cell as {shape, colour, size}, or `kCellNone` when no
/// object sits there. Throws `fresco::Error` for a cell outside 0..8.
std::array<int64_t, 3> cell_labels(const std::vector<data::ShapesObject>& objects, int64_t cell);

/// Crops of real Shapes scenes with their cell labels, to train a cell judge.
/// Example i is a crop of scene i of `scenes`: with probability
/// `occupied_share` the cell of one of its objects (each equally likely),
/// otherwise a random empty cell. With `augment.enabled` the whole scene is
/// perturbed (`augment_images`) before it is cropped, so that a shift moves
/// the neighbours' edges into the crop as it would in a generated scene.
/// Everything depends only on (seed, i). Labels: `cell_labels` of that cell;
/// caption: the scene's.
class ShapesCellCrops : public data::Dataset {
public:
  /// Throws `fresco::Error` unless `occupied_share` is in [0, 1], the scenes'
  /// side is even and `augment` is valid (`check_augment_options`).
  explicit ShapesCellCrops(data::Shapes scenes, uint64_t seed = 0, double occupied_share = 0.6,
                           AugmentOptions augment = {});
  /// One example per scene.
  int64_t size() const override { return scenes_.size(); }
  /// A crop [3, S/2, S/2] in [0, 1], the scene's caption, the cell's three labels.
  data::Example get(int64_t i) const override;
  /// The cell example i crops.
  int64_t cell_of(int64_t i) const;
  /// The scenes the crops are cut from.
  const data::Shapes& scenes() const { return scenes_; }

private:
  data::Shapes scenes_;
  uint64_t seed_;
  double occupied_share_;
  AugmentOptions augment_;
};

/// How well images show the objects their prompts name. Shares in [0, 1].
struct TwoObjectScores {
  /// Images scored (0: nothing scored, every share 0).
  int64_t images = 0;
  /// Images in which every named object's cell reads its shape, colour and size.
  double all_right = 0;
  /// Over the named objects: their cell reads the right shape, colour, size
  /// (in that order), and all three.
  std::array<double, 3> attributes{};
  double object_right = 0;
  /// Images with an object read in a cell no prompt object names.
  double extra_object = 0;
  /// Named objects whose cell holds an object, right or wrong (the place is right).
  double object_placed = 0;
  /// Share of the images (all of them, as `all_right`) that name two objects
  /// differing in at least one attribute and in which each object's cell reads
  /// the *other* object's shape, colour and size: the objects were drawn,
  /// each at the wrong one of the two places.
  double swapped = 0;
};

/// Scores images against the objects their prompts name: `objects[n]` the
/// named objects of image n (one or two, in distinct cells), `cells[h][9 n + p]`
/// the cell judge's label of head h for cell p of image n (as
/// `Classifier::predict` of `cell_crops` returns). No images gives all zeros.
/// Throws `fresco::Error` when the counts disagree.
TwoObjectScores score_two_objects(const std::vector<std::vector<data::ShapesObject>>& objects,
                                  const std::vector<std::vector<int64_t>>& cells);

}  // namespace fresco::eval
