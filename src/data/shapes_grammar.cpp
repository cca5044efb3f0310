// SPDX-License-Identifier: Apache-2.0
// The caption grammar of data::Shapes: word tables, caption generation and
// the exact parser. Generation and parsing read the same tables, and the
// parser is the generator run backwards: every clause the grammar can
// produce is put in a hash map from its text to its object, so a caption is
// accepted exactly when it splits into a known prefix and known clauses.

#include <string_view>
#include <unordered_map>

#include <fresco/error.hpp>

#include "data/shapes_internal.hpp"

namespace fresco::data {

namespace detail {

const Words& shape_words() {
  static const Words w = {{"circle", "disc"}, {"square", "box"}, {"triangle"}, {"diamond", "rhombus"}};
  return w;
}
const Words& colour_words() {
  static const Words w = {{"red"}, {"green"}, {"blue"}, {"yellow"}, {"purple", "violet"}, {"orange"}};
  return w;
}
const Words& size_words() {
  static const Words w = {{"small", "tiny", "little"}, {"large", "big"}};
  return w;
}
}  // namespace detail

namespace {

using detail::colour_words;
using detail::shape_words;
using detail::size_words;
using detail::Words;

// Whole prepositional phrases: the preposition that reads naturally depends
// on the place ("on the left", "in the middle", "at the top").
const Words& position_words() {
  static const Words w = {
      {"at the top left", "in the upper left", "in the top left corner"},
      {"at the top", "in the top middle"},
      {"at the top right", "in the upper right", "in the top right corner"},
      {"on the left", "at the left"},
      {"in the center", "in the middle", "at the center"},
      {"on the right", "at the right"},
      {"at the bottom left", "in the lower left", "in the bottom left corner"},
      {"at the bottom", "in the bottom middle"},
      {"at the bottom right", "in the lower right", "in the bottom right corner"},
  };
  return w;
}

// Templates 0-3 put the object first ("a small red circle at the top"),
// template 4 the place first ("at the top there is a small red circle").
struct Template {
  std::string_view prefix;
  bool place_first;
};
constexpr Template kTemplates[] = {
    {"", false}, {"there is ", false}, {"a picture of ", false}, {"an image of ", false}, {"", true},
};
constexpr int kNumTemplates = static_cast<int>(std::size(kTemplates));
constexpr std::string_view kJoin = " and ";

std::string clause(bool place_first, const std::string& size, const std::string& colour, const std::string& shape,
                   const std::string& where) {
  if (place_first) return where + " there is a " + size + " " + colour + " " + shape;
  return "a " + size + " " + colour + " " + shape + " " + where;
}

// Calls f(clause text, object) for every clause of one form, in a fixed order
// (position, size, colour, shape, then synonyms).
template <class F>
void for_each_clause(bool place_first, F&& f) {
  for (int p = 0; p < kShapesNumPositions; ++p)
    for (const auto& where : position_words()[p])
      for (int z = 0; z < kShapesNumSizes; ++z)
        for (const auto& size : size_words()[z])
          for (int c = 0; c < kShapesNumColours; ++c)
            for (const auto& colour : colour_words()[c])
              for (int s = 0; s < kShapesNumShapes; ++s)
                for (const auto& shape : shape_words()[s])
                  f(clause(place_first, size, colour, shape, where), ShapesObject{s, c, z, p});
}

using ClauseMap = std::unordered_map<std::string, ShapesObject>;

// [place_first] -> every clause of that form.
const ClauseMap& clause_map(bool place_first) {
  static const std::array<ClauseMap, 2> table = [] {
    std::array<ClauseMap, 2> m;
    for (int form = 0; form < 2; ++form)
      for_each_clause(form == 1, [&](std::string text, const ShapesObject& o) { m[form].emplace(std::move(text), o); });
    return m;
  }();
  return table[place_first ? 1 : 0];
}

std::vector<std::string> canonical(const Words& words) {
  std::vector<std::string> names;
  for (const auto& synonyms : words) names.push_back(synonyms.front());
  return names;
}

}  // namespace

const std::vector<std::string>& Shapes::attribute_names() {
  static const std::vector<std::string> names = {"shape", "colour", "size", "position"};
  return names;
}
std::array<int64_t, 4> Shapes::num_classes() {
  return {kShapesNumShapes, kShapesNumColours, kShapesNumSizes, kShapesNumPositions};
}
const std::vector<std::string>& Shapes::shape_names() {
  static const std::vector<std::string> names = canonical(shape_words());
  return names;
}
const std::vector<std::string>& Shapes::colour_names() {
  static const std::vector<std::string> names = canonical(colour_words());
  return names;
}
const std::vector<std::string>& Shapes::size_names() {
  static const std::vector<std::string> names = canonical(size_words());
  return names;
}
// The canonical position names drop the preposition: "top left", "center".
const std::vector<std::string>& Shapes::position_names() {
  static const std::vector<std::string> names = {"top left", "top",         "top right", "left",        "center",
                                                 "right",    "bottom left", "bottom",    "bottom right"};
  return names;
}
int Shapes::num_templates() { return kNumTemplates; }

void Shapes::check_objects(const std::vector<ShapesObject>& objects) {
  FRESCO_CHECK(objects.size() == 1 || objects.size() == 2, "Shapes: a scene holds one or two objects, got {}",
               objects.size());
  for (const auto& o : objects) {
    FRESCO_CHECK(o.shape >= 0 && o.shape < kShapesNumShapes, "Shapes: shape index {} is not in [0, {})", o.shape,
                 kShapesNumShapes);
    FRESCO_CHECK(o.colour >= 0 && o.colour < kShapesNumColours, "Shapes: colour index {} is not in [0, {})",
                 o.colour, kShapesNumColours);
    FRESCO_CHECK(o.size >= 0 && o.size < kShapesNumSizes, "Shapes: size index {} is not in [0, {})", o.size,
                 kShapesNumSizes);
    FRESCO_CHECK(o.position >= 0 && o.position < kShapesNumPositions, "Shapes: position index {} is not in [0, {})",
                 o.position, kShapesNumPositions);
  }
  FRESCO_CHECK(objects.size() == 1 || objects[0].position != objects[1].position,
               "Shapes: the two objects of a scene must sit in different positions, both are at '{}'",
               position_names()[objects[0].position]);
}

std::string detail::shapes_caption(const std::vector<ShapesObject>& objects, ShapesRng& rng) {
  const Template& t = kTemplates[rng.below(kNumTemplates)];
  std::string caption(t.prefix);
  for (size_t k = 0; k < objects.size(); ++k) {
    const ShapesObject& o = objects[k];
    auto pick = [&](const Words& words, int cls) -> const std::string& {
      const auto& synonyms = words[cls];
      return synonyms[rng.below(static_cast<int>(synonyms.size()))];
    };
    const std::string& shape = pick(shape_words(), o.shape);
    const std::string& colour = pick(colour_words(), o.colour);
    const std::string& size = pick(size_words(), o.size);
    const std::string& where = pick(position_words(), o.position);
    if (k > 0) caption += kJoin;
    caption += clause(t.place_first, size, colour, shape, where);
  }
  return caption;
}

std::string Shapes::describe(const std::vector<ShapesObject>& objects) {
  check_objects(objects);
  std::string caption;
  for (size_t k = 0; k < objects.size(); ++k) {
    const ShapesObject& o = objects[k];
    if (k > 0) caption += kJoin;
    caption += clause(false, size_words()[o.size][0], colour_words()[o.colour][0], shape_words()[o.shape][0],
                      position_words()[o.position][0]);
  }
  return caption;
}

std::string Shapes::describe(const std::vector<ShapesObject>& objects, uint64_t seed) {
  check_objects(objects);
  detail::ShapesRng rng(mix_seed(seed, 0xc0ffee5eedull));
  return detail::shapes_caption(objects, rng);
}

std::optional<std::vector<ShapesObject>> Shapes::parse(const std::string& caption) {
  const std::string_view text(caption);
  for (const Template& t : kTemplates) {
    if (!text.starts_with(t.prefix)) continue;
    const std::string_view rest = text.substr(t.prefix.size());
    // " and " appears in no word or phrase of the grammar, so it splits clauses unambiguously.
    const size_t join = rest.find(kJoin);
    std::vector<std::string_view> parts;
    if (join == std::string_view::npos) {
      parts = {rest};
    } else {
      parts = {rest.substr(0, join), rest.substr(join + kJoin.size())};
      if (parts[1].find(kJoin) != std::string_view::npos) continue;  // more than two objects
    }
    const ClauseMap& clauses = clause_map(t.place_first);
    std::vector<ShapesObject> objects;
    for (std::string_view part : parts) {
      auto it = clauses.find(std::string(part));
      if (it == clauses.end()) break;
      objects.push_back(it->second);
    }
    if (objects.size() != parts.size()) continue;
    if (objects.size() == 2 && objects[0].position == objects[1].position) continue;
    return objects;
  }
  return std::nullopt;
}

std::vector<std::string> Shapes::all_captions() {
  std::vector<std::string> captions;
  for (const Template& t : kTemplates)
    for_each_clause(t.place_first,
                    [&](std::string text, const ShapesObject&) { captions.push_back(std::string(t.prefix) + text); });
  return captions;
}

}  // namespace fresco::data
