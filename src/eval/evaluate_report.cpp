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
}  // namespace

std::string EvaluationReport::to_table() const {
  std::string t = fmt::format("text-to-image evaluation on {}: {} prompts ({} seen, {} held-out), {:.1f} s\n", dataset,
                              seen_count + held_out_count, seen_count, held_out_count, seconds);
  constexpr int kName = 34, kCol = 12;
  t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "conditional accuracy", kName, "seen", kCol, "held-out", kCol);
  for (size_t h = 0; h < heads.size(); ++h)
    t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "  " + heads[h], kName, percent(accuracy_seen, h), kCol,
                     percent(accuracy_held_out, h), kCol);
  t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "Fréchet distance (features)", kName, "model", kCol, "real floor", kCol);
  t += fmt::format("{:<{}}{:>{}.3f}{:>{}.3f}\n", fmt::format("  {} vs {} images", frechet_samples, frechet_samples),
                   kName, frechet_distance, kCol, frechet_floor, kCol);
  t += fmt::format("{:<{}}{:>{}}{:>{}}\n", "diversity (mean pairwise distance)", kName, "generated", kCol, "real", kCol);
  t += fmt::format("{:<{}}{:>{}.3f}{:>{}.3f}\n",
                   fmt::format("  {} captions x {} images", diversity_captions, diversity_images), kName,
                   diversity_generated, kCol, diversity_real, kCol);
  return t;
}

std::string EvaluationReport::to_json() const {
  nlohmann::json seen = nlohmann::json::object(), held = nlohmann::json::object();
  for (size_t h = 0; h < heads.size(); ++h) {
    if (h < accuracy_seen.size()) seen[heads[h]] = number(accuracy_seen[h]);
    if (h < accuracy_held_out.size()) held[heads[h]] = number(accuracy_held_out[h]);
  }
  const nlohmann::json j = {
      {"dataset", dataset},
      {"heads", heads},
      {"accuracy", {{"seen", seen}, {"held_out", held}}},
      {"counts",
       {{"seen", seen_count},
        {"held_out", held_out_count},
        {"frechet_samples", frechet_samples},
        {"diversity_captions", diversity_captions},
        {"diversity_images", diversity_images}}},
      {"frechet_distance", number(frechet_distance)},
      {"frechet_floor", number(frechet_floor)},
      {"diversity", {{"generated", number(diversity_generated)}, {"real", number(diversity_real)}}},
      {"seconds", number(seconds)},
  };
  return j.dump(2);
}

}  // namespace fresco::eval
