// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `fresco::data::Shapes`: a procedural dataset of small RGB scenes with
/// captions whose words carry compositional meaning.
///
/// A scene is a dark grey square image (32×32 by default, 64×64 on request)
/// holding one or two anti-aliased objects. Each object has four attributes,
/// stored as indices into the name tables below:
///
/// | attribute | classes (index order)                                                           |
/// | --------- | ------------------------------------------------------------------------------- |
/// | shape     | circle, square, triangle, diamond                                               |
/// | colour    | red, green, blue, yellow, purple, orange                                        |
/// | size      | small, large                                                                    |
/// | position  | top left, top, top right, left, center, right, bottom left, bottom, bottom right |
///
/// Positions are the cells of a 3×3 grid; the two objects of a scene sit in
/// different cells and never overlap (an object never leaves its cell). Each
/// object's centre, size and hue are jittered a little (±1.5% of the image
/// side, ±5% of the size, ±6° of hue; saturation and brightness vary too).
/// Edges are anti-aliased analytically (coverage from a signed distance).
///
/// ## The caption grammar
/// A caption is lowercase ASCII words separated by single spaces, with no
/// punctuation. It lists the scene's objects in order, joined by `" and "`:
///
///     caption  := prefix clause ( " and " clause )?
///     clause   := "a " size " " colour " " shape " " where      (templates 0-3)
///               | where " there is a " size " " colour " " shape  (template 4)
///     prefix   := ""  |  "there is "  |  "a picture of "  |  "an image of "   (templates 0-3)
///               | ""                                                          (template 4)
///
/// Synonyms (the first is the canonical word, used by `describe(objects)`):
///
/// | class        | words                                                       |
/// | ------------ | ----------------------------------------------------------- |
/// | circle       | circle, disc                                                |
/// | square       | square, box                                                 |
/// | triangle     | triangle                                                    |
/// | diamond      | diamond, rhombus                                            |
/// | purple       | purple, violet (other colours have their name only)         |
/// | small        | small, tiny, little                                         |
/// | large        | large, big                                                  |
/// | top left     | at the top left, in the upper left, in the top left corner  |
/// | top          | at the top, in the top middle                               |
/// | top right    | at the top right, in the upper right, in the top right corner |
/// | left         | on the left, at the left                                    |
/// | center       | in the center, in the middle, at the center                 |
/// | right        | on the right, at the right                                  |
/// | bottom left  | at the bottom left, in the lower left, in the bottom left corner |
/// | bottom       | at the bottom, in the bottom middle                         |
/// | bottom right | at the bottom right, in the lower right, in the bottom right corner |
///
/// Every object names its size, colour, shape and position, so a caption
/// determines the attribute labels exactly: `parse(caption) == objects`.
/// Examples: `"a large red circle at the top left"`,
/// `"there is a tiny violet box on the right and a big green disc in the middle"`,
/// `"in the lower left there is a small orange triangle"`.
///
/// ## Splits and held-out combinations
/// `"train"` and `"test"` draw scenes in which no object has a held-out
/// (colour, shape) combination; `"compositional"` draws only scenes in which
/// at least one object has one (a scene is held out when any of its objects
/// is). The default held-out combinations are red triangle, blue circle and
/// yellow square: every colour and every shape is still seen in training,
/// just never in those pairings. The three splits use independent random
/// streams, and sample `i` of a (split, seed) is always the same scene, so
/// samples can be read in any order.
///
///     fresco::data::Shapes train({.size = 50000, .seed = 1});
///     auto s = train.sample(7);   // s.pixels [3, 32, 32], s.caption, s.objects

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fresco/data/dataset.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::data {

/// Shape classes, in the index order of `Shapes::shape_names()`.
enum class ShapeKind { circle, square, triangle, diamond };
/// Colour classes, in the index order of `Shapes::colour_names()`.
enum class ShapeColour { red, green, blue, yellow, purple, orange };
/// Size classes, in the index order of `Shapes::size_names()`.
enum class ShapeSize { small, large };
/// Position classes (cells of the 3×3 grid, row-major), in the index order of `Shapes::position_names()`.
enum class ShapePosition { top_left, top, top_right, left, center, right, bottom_left, bottom, bottom_right };

/// Number of classes of each attribute.
inline constexpr int kShapesNumShapes = 4;
inline constexpr int kShapesNumColours = 6;
inline constexpr int kShapesNumSizes = 2;
inline constexpr int kShapesNumPositions = 9;

/// One object of a scene: its attributes as class indices into the name
/// tables (`Shapes::shape_names()` ...). Build one from the enums with
/// `ShapesObject::of(ShapeKind::triangle, ShapeColour::red, ShapeSize::small, ShapePosition::top)`.
struct ShapesObject {
  int shape = 0;     ///< index into `Shapes::shape_names()`
  int colour = 0;    ///< index into `Shapes::colour_names()`
  int size = 0;      ///< index into `Shapes::size_names()`
  int position = 0;  ///< index into `Shapes::position_names()`

  /// The object with these attributes.
  static ShapesObject of(ShapeKind shape, ShapeColour colour, ShapeSize size, ShapePosition position) {
    return {static_cast<int>(shape), static_cast<int>(colour), static_cast<int>(size), static_cast<int>(position)};
  }
  /// The four labels in `Shapes::attribute_names()` order: shape, colour, size, position.
  std::array<int64_t, 4> labels() const { return {shape, colour, size, position}; }
  bool operator==(const ShapesObject&) const = default;
};

/// A (colour, shape) pairing, as held out of the training split.
struct ShapesCombination {
  int colour = 0;  ///< index into `Shapes::colour_names()`
  int shape = 0;   ///< index into `Shapes::shape_names()`
  bool operator==(const ShapesCombination&) const = default;
};

/// The default held-out combinations: red triangle, blue circle, yellow square.
std::vector<ShapesCombination> shapes_default_held_out();

/// One scene: pixels, caption and the attribute labels of each object.
struct ShapesSample {
  /// [3, H, W] row-major (channel planes R, G, B), values in [0, 1].
  std::vector<float> pixels;
  /// A caption of the scene produced by the grammar (see the file comment).
  std::string caption;
  /// The scene's objects (one or two), in the order the caption names them.
  std::vector<ShapesObject> objects;
};

/// Options of `Shapes`. Checked in the constructor.
struct ShapesOptions {
  /// Side of the square images, in pixels: 32 (default) or 64; any value in [16, 256] works.
  int64_t image_size = 32;
  /// Number of samples in the dataset (samples are generated on demand, nothing is stored).
  int64_t size = 10000;
  /// Seed of the whole dataset; sample i depends only on (seed, split, i).
  uint64_t seed = 0;
  /// "train", "test" or "compositional" (scenes with a held-out combination).
  std::string split = "train";
  /// Share of scenes with two objects, in [0, 1].
  float two_object_fraction = 0.3f;
  /// (colour, shape) combinations excluded from "train" and "test" and
  /// present in every "compositional" scene.
  std::vector<ShapesCombination> held_out = shapes_default_held_out();
};

/// The procedural Shapes dataset. Cheap to construct; each sample is drawn
/// when asked for (over 200,000 samples a second on one core at 32×32;
/// `bench_shapes` measures it).
///
///     fresco::data::Shapes held_out({.split = "compositional", .size = 1000});
///     fresco::Tensor x = held_out.image(3);                  // [3, 32, 32]
///     auto objs = fresco::data::Shapes::parse(held_out.caption(3));
class Shapes {
public:
  /// Checks the options (image size, split name, fraction, held-out indices,
  /// and that the split can produce any scene at all).
  explicit Shapes(ShapesOptions options = {});

  /// Number of samples.
  int64_t size() const { return options_.size; }
  /// Side of the images in pixels.
  int64_t image_size() const { return options_.image_size; }
  const ShapesOptions& options() const { return options_; }

  /// Sample i (0 <= i < size()): pixels [3, H, W], caption and labels.
  ShapesSample sample(int64_t i) const;
  /// The image of sample i as a tensor [3, H, W] in [0, 1].
  Tensor image(int64_t i) const;
  /// The caption of sample i (without rendering the image).
  std::string caption(int64_t i) const;
  /// The objects of sample i (without rendering the image).
  std::vector<ShapesObject> objects(int64_t i) const;

  /// True when any object has a (colour, shape) pair held out by this dataset's options.
  bool is_held_out(const std::vector<ShapesObject>& objects) const;

  /// Attribute names in label order: "shape", "colour", "size", "position".
  static const std::vector<std::string>& attribute_names();
  /// Number of classes per attribute, in `attribute_names()` order: {4, 6, 2, 9}.
  static std::array<int64_t, 4> num_classes();
  /// Canonical class names (the first synonym of each class).
  static const std::vector<std::string>& shape_names();
  static const std::vector<std::string>& colour_names();
  static const std::vector<std::string>& size_names();
  static const std::vector<std::string>& position_names();
  /// Number of sentence templates of the grammar (5).
  static int num_templates();

  /// The attributes of a caption the grammar produces, in the caption's
  /// order; `std::nullopt` for any other string (the grammar is matched
  /// exactly: lowercase, single spaces, no punctuation, one or two objects,
  /// two objects in different positions).
  static std::optional<std::vector<ShapesObject>> parse(const std::string& caption);

  /// The canonical caption of one or two objects: template 0 with the first
  /// synonym of each word, e.g. "a small red triangle at the top left".
  /// Throws `fresco::Error` on an invalid object list (see `check_objects`).
  static std::string describe(const std::vector<ShapesObject>& objects);
  /// A caption of the objects with template and synonyms drawn from `seed`.
  static std::string describe(const std::vector<ShapesObject>& objects, uint64_t seed);

  /// Renders the objects (with jitter drawn from `seed`) into [3, H, W]
  /// pixels in [0, 1], H = W = image_size. Throws `fresco::Error` on an
  /// invalid object list or image size.
  static std::vector<float> render(const std::vector<ShapesObject>& objects, int64_t image_size, uint64_t seed);

  /// Throws `fresco::Error` unless there are one or two objects, every
  /// index is in range, and two objects sit in different positions.
  static void check_objects(const std::vector<ShapesObject>& objects);

  /// Every caption the grammar can produce for a single object: every
  /// template × every synonym × every attribute combination (5 templates ×
  /// 7 shape words × 7 colour words × 5 size words × 23 places = 28,175 captions).
  static std::vector<std::string> all_captions();

private:
  struct Plan;
  Plan plan(int64_t i) const;

  ShapesOptions options_;
  int split_id_ = 0;
  std::vector<ShapesCombination> allowed_;  // (colour, shape) pairs a train/test object may have
};

/// `Shapes` as a `Dataset`. Labels are the objects' attributes in
/// `Shapes::attribute_names()` order, four per object: {shape, colour, size,
/// position} for a one-object scene, eight for a two-object scene (the first
/// object's four, then the second's). Build the Shapes with
/// `.two_object_fraction = 0` for exactly four labels per sample.
///
///     fresco::data::ShapesDataset ds(fresco::data::Shapes({.size = 5000, .two_object_fraction = 0.f}));
///     ds.get(0).labels;   // e.g. {2, 0, 1, 4}: a large red triangle in the center
class ShapesDataset : public Dataset {
public:
  explicit ShapesDataset(Shapes shapes) : shapes_(std::move(shapes)) {}
  int64_t size() const override { return shapes_.size(); }
  /// Image [3, S, S], the sample's caption, the labels described above.
  Example get(int64_t i) const override;
  const Shapes& shapes() const { return shapes_; }

private:
  Shapes shapes_;
};

}  // namespace fresco::data
