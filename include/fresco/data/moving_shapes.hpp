// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `fresco::data::MovingShapes`: clips of Shapes objects that move as their
/// captions say, for text-to-video.
///
/// A clip is `frames` images (8 by default, 3 to 16) of the Shapes scene
/// style (dark grey background, anti-aliased objects, the same jitter of
/// size and colour; see `data::Shapes`) in which each of one or two objects
/// moves along a straight line or bounces. Each object has five attributes:
///
/// | attribute | classes (index order)                                                    |
/// | --------- | ------------------------------------------------------------------------ |
/// | shape     | circle, square, triangle, diamond (as Shapes)                            |
/// | colour    | red, green, blue, yellow, purple, orange (as Shapes)                     |
/// | size      | small, large (as Shapes)                                                 |
/// | motion    | left to right, right to left, up, down, up right, up left, down right, down left, left and right, up and down |
/// | speed     | slow, fast                                                               |
///
/// ## Trajectories
/// An object's pixels lie in the square of half-side "reach" about its
/// centre (nominal radius with the largest size jitter, plus one pixel), and
/// its centre stays at least its reach away from every edge, so every pixel
/// it covers is inside the frame in every frame. Along each axis it moves, a fast object
/// travels 70% of that free span over the clip and a slow one 35%; the
/// start is drawn so that the whole travel fits. Straight motions move at a
/// constant speed (diagonals on both axes at once); bouncing motions go to
/// the far end of their travel and back (out in (T - 1) / 2 frames, rounded
/// down, back in the rest), starting at either end. The axis an object does
/// not move along is drawn uniformly. The two objects of a clip never touch
/// in any frame: their trajectories are drawn again until their squares
/// never meet, and a pair of objects that cannot share the frame that way
/// (after 32 tries) is drawn again whole.
///
/// ## The caption grammar
///
///     caption := clause ( " and " clause )?
///     clause  := "a " size " " colour " " shape " " verb ( " " adverb )? " " path
///
/// with the Shapes words for size, colour and shape (synonyms included) and:
///
/// | motion         | verb and path (the first is canonical)                         |
/// | -------------- | -------------------------------------------------------------- |
/// | left to right  | moves from left to right; moves to the right                   |
/// | right to left  | moves from right to left; moves to the left                    |
/// | up             | moves up; moves from bottom to top                             |
/// | down           | moves down; moves from top to bottom                           |
/// | up right       | moves towards the top right; moves to the upper right          |
/// | up left        | moves towards the top left; moves to the upper left            |
/// | down right     | moves towards the bottom right; moves to the lower right       |
/// | down left      | moves towards the bottom left; moves to the lower left         |
/// | left and right | bounces left and right; bounces from side to side              |
/// | up and down    | bounces up and down                                            |
///
/// The adverb names the speed: "slowly" for slow; none or "quickly" for fast
/// (none is canonical). Examples: "a big red circle moves from left to right",
/// "a small blue square bounces slowly up and down",
/// "a tiny green triangle moves slowly towards the top right and a large
/// violet disc moves down". Every clause names all five attributes, so
/// `parse(caption) == objects` exactly.
///
/// ## Splits and held-out combinations
/// As in Shapes: `"train"` and `"test"` draw clips in which no object has a
/// held-out (shape or colour, motion) combination, `"compositional"` only
/// clips in which at least one object has one. The defaults: circles moving
/// down, triangles bouncing left and right, red objects moving towards the
/// top right, green objects moving from right to left. Every shape, colour
/// and motion is still seen in training, just not in those pairings.
/// Sample i of a (split, seed) is always the same clip.
///
///     fresco::data::MovingShapes clips({.size = 10000, .seed = 1});
///     auto s = clips.sample(0);   // s.pixels [8, 3, 32, 32], s.caption, s.objects, s.centres

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fresco/data/dataset.hpp>
#include <fresco/data/shapes.hpp>
#include <fresco/tensor/tensor.hpp>

namespace fresco::data {

/// Motion classes, in the index order of `MovingShapes::motion_names()`.
enum class ShapeMotion {
  left_to_right, right_to_left, up, down, up_right, up_left, down_right, down_left, bounce_horizontal, bounce_vertical
};
/// Speed classes, in the index order of `MovingShapes::speed_names()`.
enum class ShapeSpeed { slow, fast };

/// Number of motion classes and of speed classes.
inline constexpr int kMovingShapesNumMotions = 10;
inline constexpr int kMovingShapesNumSpeeds = 2;

/// One moving object: its attributes as class indices into the name tables.
struct MovingShapesObject {
  int shape = 0;   ///< index into `Shapes::shape_names()`
  int colour = 0;  ///< index into `Shapes::colour_names()`
  int size = 0;    ///< index into `Shapes::size_names()`
  int motion = 0;  ///< index into `MovingShapes::motion_names()`
  int speed = 1;   ///< index into `MovingShapes::speed_names()` (fast by default)

  /// The object with these attributes.
  static MovingShapesObject of(ShapeKind shape, ShapeColour colour, ShapeSize size, ShapeMotion motion,
                               ShapeSpeed speed = ShapeSpeed::fast) {
    return {static_cast<int>(shape), static_cast<int>(colour), static_cast<int>(size), static_cast<int>(motion),
            static_cast<int>(speed)};
  }
  /// The five labels in `MovingShapes::attribute_names()` order.
  std::array<int64_t, 5> labels() const { return {shape, colour, size, motion, speed}; }
  bool operator==(const MovingShapesObject&) const = default;
};

/// A held-out pairing of a shape or a colour with a motion.
struct MovingShapesCombination {
  enum class Attribute { shape, colour };
  Attribute attribute = Attribute::shape;
  int value = 0;   ///< a shape index or a colour index, as `attribute` says
  int motion = 0;  ///< index into `MovingShapes::motion_names()`
  /// True when the object has this combination.
  bool matches(const MovingShapesObject& o) const {
    return o.motion == motion && (attribute == Attribute::shape ? o.shape : o.colour) == value;
  }
  bool operator==(const MovingShapesCombination&) const = default;
};

/// Circles moving down, triangles bouncing left and right, red objects
/// moving towards the top right, green objects moving from right to left.
std::vector<MovingShapesCombination> moving_shapes_default_held_out();

/// One clip: frames, caption, labels and where each object is in each frame.
struct MovingShapesSample {
  /// [T, 3, H, W] row-major, values in [0, 1].
  std::vector<float> pixels;
  std::string caption;
  /// The clip's objects (one or two), in the order the caption names them.
  std::vector<MovingShapesObject> objects;
  /// centres[k][t]: the centre (x, y) of object k in frame t, in pixels
  /// (pixel (x, y) covers [x, x+1) × [y, y+1)).
  std::vector<std::vector<std::array<float, 2>>> centres;
};

/// Options of `MovingShapes`. Checked in the constructor.
struct MovingShapesOptions {
  /// Side of the square frames, in pixels, in [16, 256].
  int64_t image_size = 32;
  /// Frames per clip, in [3, 16].
  int64_t frames = 8;
  /// Number of clips (drawn on demand, nothing is stored).
  int64_t size = 10000;
  /// Seed of the whole dataset; clip i depends only on (seed, split, i).
  uint64_t seed = 0;
  /// "train", "test" or "compositional" (clips with a held-out combination).
  std::string split = "train";
  /// Share of clips with two objects, in [0, 1].
  float two_object_fraction = 0.3f;
  /// Combinations left out of "train" and "test" and present in every "compositional" clip.
  std::vector<MovingShapesCombination> held_out = moving_shapes_default_held_out();
};

/// The procedural moving-Shapes dataset. Cheap to construct; clips are drawn when asked for.
///
///     fresco::data::MovingShapes held_out({.size = 500, .split = "compositional"});
///     fresco::Tensor clip = held_out.clip(3);   // [8, 3, 32, 32]
///     auto objects = fresco::data::MovingShapes::parse(held_out.caption(3));
class MovingShapes {
public:
  /// Checks the options (sizes, split, fraction, held-out indices, and that the split can draw any clip).
  explicit MovingShapes(MovingShapesOptions options = {});

  /// Number of clips, side of the frames in pixels, frames per clip, the options (checked).
  int64_t size() const { return options_.size; }
  int64_t image_size() const { return options_.image_size; }
  int64_t frames() const { return options_.frames; }
  const MovingShapesOptions& options() const { return options_; }

  /// Clip i (0 <= i < size()): frames, caption, labels and centres.
  MovingShapesSample sample(int64_t i) const;
  /// The frames of clip i as a tensor [T, 3, H, W] in [0, 1].
  Tensor clip(int64_t i) const;
  /// The caption of clip i (without rendering).
  std::string caption(int64_t i) const;
  /// The objects of clip i (without rendering).
  std::vector<MovingShapesObject> objects(int64_t i) const;
  /// True when any object has a combination this dataset's options hold out.
  bool is_held_out(const std::vector<MovingShapesObject>& objects) const;

  /// "shape", "colour", "size", "motion", "speed".
  static const std::vector<std::string>& attribute_names();
  /// {4, 6, 2, 10, 2}.
  static std::array<int64_t, 5> num_classes();
  /// "left to right", "right to left", "up", "down", "up right", "up left",
  /// "down right", "down left", "left and right", "up and down".
  static const std::vector<std::string>& motion_names();
  /// "slow", "fast".
  static const std::vector<std::string>& speed_names();

  /// The objects of a caption the grammar produces, in order; `std::nullopt`
  /// for any other string (matched exactly: lowercase, single spaces, no
  /// punctuation, one or two clauses).
  static std::optional<std::vector<MovingShapesObject>> parse(const std::string& caption);
  /// The canonical caption: the first synonym of every word, no adverb for fast,
  /// e.g. "a small red triangle moves slowly up". Throws on invalid objects.
  static std::string describe(const std::vector<MovingShapesObject>& objects);
  /// A caption with synonyms and adverbs drawn from `seed`.
  static std::string describe(const std::vector<MovingShapesObject>& objects, uint64_t seed);
  /// A clip of these objects (one or two), with trajectories and jitter drawn from
  /// `seed`; its caption is the canonical one. Throws `fresco::Error` on invalid
  /// objects or options, or when 32 draws of the two objects' trajectories all
  /// make them touch (a pair that cannot share the frame, or rarely one that can).
  static MovingShapesSample render(const std::vector<MovingShapesObject>& objects, uint64_t seed,
                                   int64_t image_size = 32, int64_t frames = 8);
  /// Throws `fresco::Error` unless there are one or two objects with every index in range.
  static void check_objects(const std::vector<MovingShapesObject>& objects);
  /// Every caption the grammar can produce for one object: 5 size × 7 colour
  /// × 7 shape words × 19 motion phrases × 3 adverbs ("slowly", none,
  /// "quickly") = 13,965 captions.
  static std::vector<std::string> all_captions();

  /// The motion and speed (`{motion, speed}` indices) that a path of centres
  /// (one per frame, in pixels, at least 3 frames) of an object of `size`
  /// in frames of `image_size` shows: an axis on which the path turns back
  /// and then covers at least a quarter of its travel again is a bounce (unless
  /// the other axis's net move is longer than that travel: a straight move,
  /// wobbling); otherwise
  /// the direction of the net displacement on each axis that moves by more
  /// than 10% of the free span (see the file comment), named as a person would
  /// name it, by the nearest of the eight compass directions (an axis whose
  /// net move is under tan 22.5° ≈ 0.41 of the other's is a drift along a
  /// straight path, not half of a diagonal), and the speed from the
  /// distance covered against the free span. `std::nullopt` when nothing
  /// moves. The inverse of the trajectories this class draws, so that a
  /// judge can read the motion of generated clips from where the object is.
  static std::optional<std::array<int, 2>> motion_of(const std::vector<std::array<float, 2>>& centres, int size,
                                                      int64_t image_size);

private:
  friend class MovingShapesFrames;   // draws one frame of a clip's plan
  struct Plan;
  Plan plan(int64_t i) const;

  MovingShapesOptions options_;
  int split_id_ = 0;
};

/// The frames of `MovingShapes` clips one by one, as a `Dataset` of images: example
/// i is frame i % T of clip i / T, [3, H, W], with the caption of its clip and the
/// labels shape, colour and size of each object (three per object): what a judge of
/// single frames trains on. Build it with `.two_object_fraction = 0` for three labels
/// per example.
class MovingShapesFrames : public Dataset {
public:
  explicit MovingShapesFrames(MovingShapes clips) : clips_(std::move(clips)) {}
  /// Clips × frames.
  int64_t size() const override { return clips_.size() * clips_.frames(); }
  /// Frame i % T of clip i / T (rendered alone), its clip's caption, shape, colour and size per object.
  Example get(int64_t i) const override;
  const MovingShapes& clips() const { return clips_; }

private:
  MovingShapes clips_;
};

/// `MovingShapes` as a `Dataset`: `Example::image` is the clip [T, 3, H, W],
/// labels the objects' five attributes each (five for one object, ten for two).
class MovingShapesDataset : public Dataset {
public:
  explicit MovingShapesDataset(MovingShapes clips) : clips_(std::move(clips)) {}
  /// Number of clips.
  int64_t size() const override { return clips_.size(); }
  /// Clip i [T, 3, H, W], its caption, five labels per object.
  Example get(int64_t i) const override;
  const MovingShapes& clips() const { return clips_; }

private:
  MovingShapes clips_;
};

}  // namespace fresco::data
