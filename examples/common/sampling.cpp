// SPDX-License-Identifier: Apache-2.0
#include "sampling.hpp"

#include <fresco/vq/text_to_image.hpp>

#include "cli.hpp"

namespace fresco::cli {

void add_sampling_options(CLI::App& app, SamplingArgs& a) {
  const std::string group = "Transformer-family sampling (default: as saved in the model)";
  add_number(app, "--guidance", a.guidance, "classifier-free guidance scale (1: the caption alone)")
      ->check(non_negative())
      ->group(group);
  add_number(app, "--guidance-ramp", a.guidance_ramp,
             "codes (in writing order) over which guidance rises from 1 to --guidance, so the first codes follow "
             "the caption's own distribution (0: full guidance from the first code)")
      ->check(non_negative())
      ->group(group);
  add_number(app, "--temperature", a.temperature, "sampling temperature (0: greedy)")->check(non_negative())->group(group);
  add_number(app, "--top-k", a.top_k, "sample among the k most likely codes (0: all)")->check(non_negative())->group(group);
  add_number(app, "--top-p", a.top_p, "nucleus sampling mass in (0, 1] (1: all)")->check(closed(1e-6, 1))->group(group);
  add_number(app, "--draws", a.candidates,
             "images drawn per caption by a model with a reranker, of which the first the reranker accepts is kept "
             "(1: every image as drawn)")
      ->check(closed(1, static_cast<double>(vq::ImageSampleOptions::kMaxCandidates)))
      ->group(group);
}

void apply_sampling(vq::ImageSampleOptions& s, const SamplingArgs& a) {
  s.guidance = a.guidance.value_or(s.guidance);
  s.temperature = a.temperature.value_or(s.temperature);
  s.top_k = a.top_k.value_or(s.top_k);
  s.top_p = a.top_p.value_or(s.top_p);
  s.guidance_ramp = a.guidance_ramp.value_or(s.guidance_ramp);
  s.candidates = a.candidates.value_or(s.candidates);
}

void apply_sampling(TextToImageModel& model, const SamplingArgs& a, const std::string& path) {
  if (auto* transformer = dynamic_cast<vq::TextToImage*>(&model)) {
    if (a.candidates && *a.candidates > 1 && !transformer->reranker().encoder)
      throw CLI::ValidationError("--draws", path + " has no reranker to choose among candidates (train_text2image "
                                 "--rerank-share trains one); use 1 or leave --draws out");
    apply_sampling(transformer->sampling(), a);
  } else if (a.guidance || a.guidance_ramp || a.temperature || a.top_k || a.top_p || a.candidates) {
    throw CLI::ValidationError("--guidance/--guidance-ramp/--temperature/--top-k/--top-p/--draws",
                               "they apply to transformer-family models; " + path + " is a " + model.family());
  }
}

}  // namespace fresco::cli
