// SPDX-License-Identifier: Apache-2.0
// EvaluationReport as a text table and as JSON.
#include <fresco/eval/evaluate.hpp>

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace fresco::eval {

namespace {
std::string percent(const std::vector<double>& shares, size_t h) {
  return h < shares.size() ? fmt::format("{:.1f}%", 100 * shares[h]) : std::string("-");
}

// JSON has no NaN or infinity: such a figure (a diverged model) becomes null.
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string share(const TwoObjectScores& s, double v) {
  return s.images > 0 ? fmt::format("{:.1f}%", 100 * v) : std::string("-");
}

nlohmann::json scores_json(const TwoObjectScores& s) {
  if (s.images == 0) return nullptr;
  return {{"images", s.images},          {"all_right", number(s.all_right)},
          {"shape", number(s.attributes[0])}, {"colour", number(s.attributes[1])},
          {"size", number(s.attributes[2])},  {"object_right", number(s.object_right)},
          {"extra_object", number(s.extra_object)}, {"object_placed", number(s.object_placed)},
          {"swapped", number(s.swapped)}};
}
}  // namespace

std::string EvaluationReport::to_table() const {
  std::string t = fmt::format("text-to-image evaluation on {}: {} prompts ({} seen, {} held-out), {:.1f} s\n", dataset,
                              seen_count + held_out_count, seen_count, held_out_count, seconds);
  constexpr int kName = 34, kCol = 12;
  t += fmt::format("{:<{}}{:>{}}{:>{}}\n", cell_judge ? "conditional accuracy (cell judge)" : "conditional accuracy",
                   kName, "seen", kCol, "held-out", kCol);
  for (size_t h = 0; h < heads.size(); ++h)
    t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "  " + heads[h], kName, percent(accuracy_seen, h), kCol,
                     percent(accuracy_held_out, h), kCol);
  if (heads.size() > 1)
    t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "  all at once", kName, percent({all_right_seen}, 0), kCol,
                     percent({all_right_held_out}, 0), kCol);
  if (!real_accuracy_seen.empty()) {
    t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "the judge on the real images", kName, "seen", kCol, "held-out", kCol);
    for (size_t h = 0; h < heads.size(); ++h)
      t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "  " + heads[h], kName, percent(real_accuracy_seen, h), kCol,
                       percent(real_accuracy_held_out, h), kCol);
  }
  if (retrieval_precision >= 0)
    t += fmt::format("{:<{}}{:>{}}\n", fmt::format("caption retrieval, top-1 of {}", retrieval_candidates), kName,
                     percent({retrieval_precision}, 0), kCol);
  t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "Fréchet distance (features)", kName, "model", kCol, "real floor", kCol);
  t += fmt::format("{:<{}}{:>{}.3f}{:>{}.3f}\n", fmt::format("  {} vs {} images", frechet_samples, frechet_samples),
                   kName, frechet_distance, kCol, frechet_floor, kCol);
  t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "diversity (mean pairwise distance)", kName, "generated", kCol, "real", kCol);
  t += fmt::format("{:<{}}{:>{}.3f}{:>{}.3f}\n",
                   fmt::format("  {} captions x {} images", diversity_captions, diversity_images), kName,
                   diversity_generated, kCol, diversity_real, kCol);
  if (two_object_seen.images + two_object_held_out.images == 0) return t;
  const TwoObjectScores* cols[4] = {&two_object_seen, &two_object_held_out, &two_object_real_seen,
                                    &two_object_real_held_out};
  t += fmt::format("{:<{}}{:>{}}{:>{}}{:>{}}{:>{}}\n",
                   fmt::format("two objects named ({} + {} prompts)", two_object_seen.images,
                               two_object_held_out.images),
                   kName, "seen", kCol, "held-out", kCol, "real seen", kCol, "real held", kCol);
  auto line = [&](const std::string& name, auto figure) {
    t += fmt::format("{:<{}}", "  " + name, kName);
    for (const TwoObjectScores* c : cols) t += fmt::format("{:>{}}", share(*c, figure(*c)), kCol);
    t += "\n";
  };
  line("both objects right", [](const TwoObjectScores& c) { return c.all_right; });
  line("object: shape", [](const TwoObjectScores& c) { return c.attributes[0]; });
  line("object: colour", [](const TwoObjectScores& c) { return c.attributes[1]; });
  line("object: size", [](const TwoObjectScores& c) { return c.attributes[2]; });
  line("object: all three", [](const TwoObjectScores& c) { return c.object_right; });
  line("object: an object in its cell", [](const TwoObjectScores& c) { return c.object_placed; });
  line("the two objects swapped", [](const TwoObjectScores& c) { return c.swapped; });
  line("an object in an unnamed cell", [](const TwoObjectScores& c) { return c.extra_object; });
  return t;
}

std::string EvaluationReport::to_json() const {
  nlohmann::json seen = nlohmann::json::object(), held = nlohmann::json::object();
  for (size_t h = 0; h < heads.size(); ++h) {
    if (h < accuracy_seen.size()) seen[heads[h]] = number(accuracy_seen[h]);
    if (h < accuracy_held_out.size()) held[heads[h]] = number(accuracy_held_out[h]);
  }
  nlohmann::json real_json = nullptr;
  if (!real_accuracy_seen.empty()) {
    nlohmann::json rs = nlohmann::json::object(), rh = nlohmann::json::object();
    for (size_t h = 0; h < heads.size(); ++h) {
      if (h < real_accuracy_seen.size()) rs[heads[h]] = number(real_accuracy_seen[h]);
      if (h < real_accuracy_held_out.size()) rh[heads[h]] = number(real_accuracy_held_out[h]);
    }
    real_json = {{"seen", rs}, {"held_out", rh}};
  }
  const nlohmann::json j = {
      {"dataset", dataset},
      {"heads", heads},
      {"accuracy", {{"seen", seen}, {"held_out", held}}},
      {"all_right", {{"seen", number(all_right_seen)}, {"held_out", number(all_right_held_out)}}},
      {"counts",
       {{"seen", seen_count},
        {"held_out", held_out_count},
        {"frechet_samples", frechet_samples},
        {"diversity_captions", diversity_captions},
        {"diversity_images", diversity_images}}},
      {"frechet_distance", number(frechet_distance)},
      {"frechet_floor", number(frechet_floor)},
      {"diversity", {{"generated", number(diversity_generated)}, {"real", number(diversity_real)}}},
      {"two_objects",
       {{"generated", {{"seen", scores_json(two_object_seen)}, {"held_out", scores_json(two_object_held_out)}}},
        {"real", {{"seen", scores_json(two_object_real_seen)}, {"held_out", scores_json(two_object_real_held_out)}}}}},
      {"cell_judge", cell_judge},
      {"real_accuracy", real_json},
      {"retrieval", retrieval_precision >= 0 ? nlohmann::json{{"precision", number(retrieval_precision)},
                                                              {"candidates", retrieval_candidates}}
                                             : nlohmann::json(nullptr)},
      {"seconds", number(seconds)},
  };
  return j.dump(2);
}

}  // namespace fresco::eval
