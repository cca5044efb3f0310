// SPDX-License-Identifier: Apache-2.0
#pragma once
// What a GanTrainer holds, shared by trainer.cpp (the steps) and trainer_loop.cpp
// (the loop and its files).
#include <memory>
#include <string>
#include <vector>

#include <fresco/dist/data_parallel.hpp>
#include <fresco/gan/ema.hpp>
#include <fresco/gan/negatives.hpp>
#include <fresco/gan/trainer.hpp>
#include <fresco/optim/adam.hpp>

namespace fresco::gan {

struct GanTrainer::State {
  State(Generator& generator, Discriminator& discriminator, text::Gpt& text_model, const text::BpeTokenizer& tok,
        CaptionedImages training_data, GanTrainerOptions trainer_options);

  Generator& g;
  Discriminator& d;
  text::Gpt& gpt;
  text::BpeTokenizer tokenizer;
  CaptionedImages data;
  GanTrainerOptions options;
  // The processes training together (this one alone unless options.group),
  // and the gradient averaging of the three trained models. Before `ema`:
  // the moving average starts from rank 0's generator, copied here.
  std::shared_ptr<dist::ProcessGroup> group;
  dist::DistributedDataParallel ddp_g, ddp_d, ddp_text;
  std::vector<std::vector<int64_t>> tokens;   // the tokenized captions of the data
  NegativeSampler negatives;
  EmaGenerator ema;
  optim::Adam opt_g, opt_d;
  std::unique_ptr<optim::Adam> opt_text;      // when the text model is fine-tuned
  std::vector<std::string> prompts;           // of the sample grids
  int64_t step = 0;
  // The frozen text model's sentence vectors of every training caption [N, d_model], which the GAN
  // steps of train() read their negatives from (undefined outside train() and when the text model
  // is fine-tuned).
  Tensor sentence_cache;
  mutable int64_t cached_epoch = -1;
  mutable std::vector<int64_t> order;

  // Whether d_step gives some mismatched pairs a hard negative's caption (`hard_mismatch`).
  bool hard_mismatches() const;
  // Whether d_step reads the sentence vectors of the batch's negative captions.
  bool d_reads_negatives() const;
  // Whether batches carry negatives (for D or for the alignment stage).
  bool batches_carry_negatives() const;
  // The data order of epoch `epoch` (a permutation seeded by (seed, epoch)).
  const std::vector<int64_t>& epoch_order(int64_t epoch) const;
  // The sentence vectors [n, d_model] of training captions 0..n-1 (text model in eval mode, no gradient).
  Tensor caption_sentences(int64_t n) const;
  // Fills sentence_cache when the steps read negatives from a frozen text model.
  void cache_sentences();
  // The captions D pairs with the real images as mismatches [B, D]: the first hard_mismatch · B
  // images take their first hard negative (from `negatives`), the others their batch neighbour's.
  Tensor mismatched_sentences(const Tensor& sentence, const Tensor& negatives) const;
  // Standard normal noise [n, noise_dim] of stream `stream` of the run.
  Tensor noise(int64_t n, uint64_t stream) const;
  // A seed of stream `stream` of this process: the run's own on rank 0 (and
  // alone), another per rank, so that the processes draw different noise.
  uint64_t process_seed(uint64_t stream) const;
  // Clips `module`'s gradient, steps `opt` and clears the gradient.
  void apply_gradients(nn::Module& module, optim::Adam& opt) const;
  // Throws fresco::Error naming the step and the loss when `value` is not finite.
  void check_finite(float value, const char* what) const;
  // output.dir/checkpoint.safetensors, or "" without an output directory.
  std::string checkpoint_path() const;
};

}  // namespace fresco::gan
