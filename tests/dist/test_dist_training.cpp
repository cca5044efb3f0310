// SPDX-License-Identifier: Apache-2.0
// A trainer under data parallelism (text::pretrain), and what happens when
// a process dies or hangs. The hidden test cases ([.resume-write],
// [.resume-read], [.dies], [.hangs]) are run by ctest under mpirun with
// particular process counts (tests/CMakeLists.txt).
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fresco/data/shapes.hpp>
#include <fresco/text/pretrain.hpp>
#include <fresco/vq/quantizer.hpp>

#include "dist_helpers.hpp"
#include "support/check.hpp"

using namespace fresco;

namespace {

std::vector<std::string> captions() {
  data::Shapes shapes({.size = 120, .seed = 5});
  std::vector<std::string> out;
  for (int64_t i = 0; i < shapes.size(); ++i) out.push_back(shapes.caption(i));
  return out;
}

const text::GptConfig kTiny{.vocab_size = 300, .context = 64, .d_model = 16, .heads = 2, .layers = 1, .mlp_ratio = 2,
                            .seed = 4};

// 4 captions per process and step: the global batch is 4 · world size.
text::PretrainOptions options(std::shared_ptr<dist::ProcessGroup> group) {
  return {.batch_size = 4, .steps = 12, .lr = 2e-3f, .warmup_steps = 2, .eval_every = 0, .seed = 3,
          .group = std::move(group)};
}



std::string resume_dir() {
  const char* d = std::getenv("FRESCO_TEST_RESUME_DIR");
  return d ? d : "dist_resume";
}

// What one process computes with the batch of all `ranks` together (from `resume` if given).
struct Reference {
  std::unique_ptr<text::Gpt> model = std::make_unique<text::Gpt>(kTiny);
  text::PretrainSummary summary;
};
Reference one_process(const std::vector<std::string>& corpus, const text::BpeTokenizer& tok, int ranks,
                      const std::string& resume = "") {
  Reference r;
  auto one = options(nullptr);
  one.batch_size *= ranks;
  one.resume = resume;
  r.summary = text::pretrain(*r.model, tok, corpus, one);
  return r;
}

}  // namespace

TEST_CASE("pretrain on N processes with batch b equals one process with batch N·b", "[dist][pretrain]") {
  auto g = dist::world();
  const auto corpus = captions();
  const auto tok = text::BpeTokenizer::train(corpus, 300);
  const Reference ref = one_process(corpus, tok, g->world_size());
  const text::PretrainSummary& ref_summary = ref.summary;

  text::GptConfig mine = kTiny;
  mine.seed += uint64_t(g->rank());  // ranks > 0 start elsewhere: rank 0's weights must win
  text::Gpt gpt(mine);
  const auto s = text::pretrain(gpt, tok, corpus, options(g));
  CHECK(s.steps == 12);
  CHECK(testing::max_abs_diff(testing::flat_values(gpt), testing::flat_values(*ref.model)) < 5e-5);
  CHECK(std::fabs(s.train_losses.back() - ref_summary.train_losses.back()) < 1e-4);
  CHECK(testing::identical_everywhere(*g, testing::flat_values(gpt)));
  CHECK(testing::identical_everywhere(*g, s.train_losses));
}

TEST_CASE("a checkpoint of N processes: written", "[.resume-write]") {
  auto g = dist::world();
  const auto corpus = captions();
  const auto tok = text::BpeTokenizer::train(corpus, 300);
  text::Gpt gpt(kTiny);
  auto o = options(g);
  o.checkpoint_dir = resume_dir();
  o.stop_at_step = 6;
  const auto s = text::pretrain(gpt, tok, corpus, o);
  CHECK(s.steps == 6);
  g->barrier();
  CHECK(std::filesystem::exists(resume_dir() + "/model.safetensors"));
}

TEST_CASE("a checkpoint of N processes: resumed by M", "[.resume-read]") {
  // Every process resumes at step 6 and finishes with the same weights as
  // one process resuming the same checkpoint with the M processes' batch.
  auto g = dist::world();
  const auto corpus = captions();
  const auto tok = text::BpeTokenizer::train(corpus, 300);
  const Reference ref = one_process(corpus, tok, g->world_size(), resume_dir());
  REQUIRE(ref.summary.steps_run == 6);

  text::Gpt gpt(kTiny);
  auto o = options(g);
  o.resume = resume_dir();
  const auto s = text::pretrain(gpt, tok, corpus, o);
  CHECK(s.steps == 12);
  CHECK(s.steps_run == 6);
  CHECK(testing::max_abs_diff(testing::flat_values(gpt), testing::flat_values(*ref.model)) < 5e-5);
  CHECK(testing::identical_everywhere(*g, testing::flat_values(gpt)));
}

namespace {
// All-reduces 50 times; the last rank sends itself `signal` at step 5.
void stop_last_rank_at_step_5(int signal) {
  auto g = dist::world();
  Tensor t = ones({1000});
  for (int step = 0; step < 50; ++step) {
    if (step == 5 && g->rank() == g->world_size() - 1) std::raise(signal);
    g->all_reduce(t, dist::ReduceOp::Mean);
  }
  FAIL("the last rank was to stop at step 5");
}
}  // namespace

TEST_CASE("a process that dies mid-training ends the run", "[.dies]") { stop_last_rank_at_step_5(SIGKILL); }

TEST_CASE("a process that hangs makes the others give up after the timeout", "[.hangs]") {
  stop_last_rank_at_step_5(SIGSTOP);
}

TEST_CASE("the codebook of N processes follows their global batch and stays identical", "[dist][vq]") {
  auto g = dist::world();
  const int64_t n = g->world_size(), b = 3;
  manual_seed(21);
  const Tensor z = randn({b * n, 4, 2, 2});
  std::vector<int64_t> mine;
  for (int64_t i = g->rank(); i < b * n; i += n) mine.push_back(i);
  const Tensor z_mine = index_select(z, 0, mine);
  for (float dead : {0.f, 0.5f}) {
    INFO("dead_threshold " << dead);
    vq::VectorQuantizer one(16, 4, {.decay = 0.9f, .dead_threshold = dead, .seed = 5});
    vq::VectorQuantizer part(16, 4, {.decay = 0.9f, .dead_threshold = dead, .seed = 5});
    part.set_process_group(g);
    for (int step = 0; step < 3; ++step) {
      one.forward(z * float(step + 1));
      part.forward(z_mine * float(step + 1));
    }
    CHECK(testing::identical_everywhere(*g, part.codebook.to_vector()));
    CHECK(testing::identical_everywhere(*g, part.embed_sum.to_vector()));
    // Without restarts, the codebook is the one of one process with the whole batch.
    if (dead == 0.f) CHECK(testing::max_abs_diff(part.codebook.to_vector(), one.codebook.to_vector()) < 1e-5);
  }
}
