// SPDX-License-Identifier: Apache-2.0
#pragma once
// The sampling options of the programs that load a text-to-image model
// (generate, evaluate): they override a transformer-family model's saved
// sampling settings, and are refused for a GAN.
#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include <fresco/text_to_image.hpp>
#include <fresco/vq/image_gpt.hpp>

namespace fresco::cli {

struct SamplingArgs {
  std::optional<float> guidance, temperature, top_p;
  std::optional<int64_t> top_k, guidance_ramp, candidates;
};

/// --guidance, --guidance-ramp, --temperature, --top-k, --top-p, --draws in their own group of --help.
void add_sampling_options(CLI::App& app, SamplingArgs& a);

/// Applies the options given to a token model's sampling settings (a text-to-video model's, say).
void apply_sampling(vq::ImageSampleOptions& sampling, const SamplingArgs& a);

/// Applies the options given to a transformer-family `model`; throws
/// CLI::ValidationError when they are given for a GAN (`path` names it).
void apply_sampling(TextToImageModel& model, const SamplingArgs& a, const std::string& path);

}  // namespace fresco::cli
