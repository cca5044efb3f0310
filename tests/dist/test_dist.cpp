// SPDX-License-Identifier: Apache-2.0
// Process groups and distributed data parallel. The same program runs as
// one process (ctest "dist") and under mpirun with 2 and 3 processes
// ("dist_mpi2", "dist_mpi3"): every expectation is computed on each process
// from what every rank contributes, so it holds for any world size.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "dist_helpers.hpp"
#include "support/check.hpp"

using namespace fresco;

namespace {

// Value i of rank r's buffer: distinct per rank and element, not round.
float value_of(int rank, int64_t i) { return std::sin(0.37f * float(i) + 1.3f * float(rank)) * (1.f + float(rank)); }

std::vector<float> to_vector(const Tensor& t) { return {t.data(), t.data() + t.numel()}; }



// Two linear layers, one of them used twice (a weight shared across the
// graph must reach its final gradient before its bucket starts).
struct TinyNet : nn::Module {
  nn::Linear a{5, 16}, b{16, 16}, c{16, 3};
  TinyNet() {
    register_module("a", a);
    register_module("b", b);
    register_module("c", c);
  }
  Tensor forward(const Tensor& x) const { return c(gelu(b(gelu(b(a(x)))))); }
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

}  // namespace

TEST_CASE("the world is the launcher's, or one process", "[dist]") {
  auto g = dist::world();
  REQUIRE(g->world_size() >= 1);
  CHECK(g->rank() >= 0);
  CHECK(g->rank() < g->world_size());
  CHECK(g == dist::world());  // one world per process
  const char* launched = std::getenv("OMPI_COMM_WORLD_SIZE");
  CHECK(g->world_size() == (launched ? std::atoi(launched) : 1));
  CHECK(g->backend() == (g->world_size() > 1 ? "mpi" : "single"));
}

TEST_CASE("all_reduce sums, averages and takes extremes on odd sizes", "[dist]") {
  auto g = dist::world();
  const int n = g->world_size();
  for (int64_t size : {1, 7, 1001, 65537}) {
    Tensor t = empty({size});
    for (int64_t i = 0; i < size; ++i) t.data()[i] = value_of(g->rank(), i);
    Tensor mean = t.clone(), mx = t.clone(), mn = t.clone();
    g->all_reduce(t, dist::ReduceOp::Sum);
    g->all_reduce(mean, dist::ReduceOp::Mean);
    g->all_reduce(mx, dist::ReduceOp::Max);
    g->all_reduce(mn, dist::ReduceOp::Min);
    double worst = 0;
    bool extremes = true;
    for (int64_t i = 0; i < size; ++i) {
      double sum = 0;
      float hi = -INFINITY, lo = INFINITY;
      for (int r = 0; r < n; ++r) {
        sum += value_of(r, i);
        hi = std::max(hi, value_of(r, i));
        lo = std::min(lo, value_of(r, i));
      }
      worst = std::max({worst, std::fabs(t.data()[i] - sum), std::fabs(mean.data()[i] - sum / n)});
      extremes = extremes && mx.data()[i] == hi && mn.data()[i] == lo;
    }
    INFO("size " << size << ", world " << n);
    CHECK(worst < 1e-5);
    CHECK(extremes);
    CHECK(testing::identical_everywhere(*g, to_vector(t)));
    CHECK(testing::identical_everywhere(*g, to_vector(mean)));
  }
}

TEST_CASE("all_reduce of a list packs buckets and gives the per-tensor result", "[dist]") {
  auto g = dist::world();
  std::vector<Tensor> list, each;
  for (int64_t size : {3, 17, 1, 40, 5, 129}) {
    Tensor t = empty({size});
    for (int64_t i = 0; i < size; ++i) t.data()[i] = value_of(g->rank(), i + size);
    list.push_back(t);
    each.push_back(t.clone());
  }
  // 64-byte buckets: several tensors a bucket, the larger ones alone.
  g->all_reduce(list, dist::ReduceOp::Mean, 64);
  for (Tensor& t : each) g->all_reduce(t, dist::ReduceOp::Mean);
  for (size_t k = 0; k < list.size(); ++k)
    CHECK(testing::max_abs_diff(to_vector(list[k]), to_vector(each[k])) < 1e-6);
  CHECK_THROWS_WITH(g->all_reduce(list, dist::ReduceOp::Sum, 0), Catch::Contains("bucket_bytes > 0"));
  CHECK_THROWS_WITH(g->all_reduce(empty({4, 4}).transpose(0, 1)), Catch::Contains("expected a contiguous tensor"));
}

TEST_CASE("broadcast copies the root's tensors, lists and bytes", "[dist]") {
  auto g = dist::world();
  const int root = g->world_size() - 1;
  Tensor t = full({33}, float(g->rank()));
  g->broadcast(t, root);
  CHECK(to_vector(t) == std::vector<float>(33, float(root)));
  std::vector<Tensor> list{full({2}, float(g->rank())), full({1000}, float(10 + g->rank()))};
  g->broadcast(list, root);
  CHECK(to_vector(list[0]) == std::vector<float>(2, float(root)));
  CHECK(to_vector(list[1]) == std::vector<float>(1000, float(10 + root)));
  std::string text = g->rank() == root ? std::string("from the root\0with a zero", 25) : std::string("x");
  g->broadcast(text, root);
  CHECK(text == std::string("from the root\0with a zero", 25));
  CHECK(g->all_reduce(double(g->rank()), dist::ReduceOp::Max) == g->world_size() - 1);
  g->barrier();
  g->check_same(42.0, "the answer");  // the same everywhere: no error
  if (g->world_size() > 1)
    CHECK_THROWS_WITH(g->check_same(double(g->rank()), "the step resumed from"),
                      Catch::Contains("disagree on the step resumed from: from 0 to"));
  CHECK_THROWS_WITH(g->broadcast(t, g->world_size()), Catch::Contains("is not a rank"));
  CHECK_THROWS_WITH(g->set_timeout_seconds(0), Catch::Contains("seconds > 0"));
}

TEST_CASE("data parallel training equals one process with the whole batch", "[dist][ddp]") {
  auto g = dist::world();
  const int n = g->world_size();
  constexpr int64_t kBatch = 12, kSteps = 6, kSamples = kBatch * kSteps;
  manual_seed(7);
  const Tensor x = randn({kSamples, 5});
  const Tensor y = randn({kSamples, 3});

  // The reference: one process, batch 12, no wrapper.
  manual_seed(1);
  TinyNet ref;
  optim::SGD ref_opt(ref.parameters(), {.lr = 0.1f, .momentum = 0.9f});
  for (int64_t k = 0; k < kSteps; ++k) {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < kBatch; ++i) rows.push_back(k * kBatch + i);
    ref_opt.zero_grad();
    mse_loss(ref(index_select(x, 0, rows)), index_select(y, 0, rows)).backward();
    ref_opt.step();
  }

  // Each rank starts from other weights (rank 0's must win), trains on its
  // interleaved share of each batch (as the DataLoader's shards), with
  // buckets small enough to make several.
  manual_seed(g->rank() == 0 ? 1 : 100 + uint64_t(g->rank()));
  TinyNet net;
  dist::DistributedDataParallel ddp(net, g, {.bucket_cap_mb = 0.001});
  if (n > 1) CHECK(ddp.bucket_count() >= 3);
  optim::SGD opt(net.parameters(), {.lr = 0.1f, .momentum = 0.9f});
  for (int64_t k = 0; k < kSteps; ++k) {
    std::vector<int64_t> rows;
    for (int64_t i = g->rank(); i < kBatch; i += n) rows.push_back(k * kBatch + i);
    opt.zero_grad();
    mse_loss(net(index_select(x, 0, rows)), index_select(y, 0, rows)).backward();
    opt.step();
  }
  const std::vector<float> mine = testing::flat_values(net);
  {
    CHECK(testing::max_abs_diff(mine, testing::flat_values(ref)) < 2e-5);
    CHECK(ddp.synchronized_passes() == (n > 1 ? kSteps : 0));
  }
  CHECK(testing::identical_everywhere(*g, mine));
}

TEST_CASE("buckets start their all-reduce while the backward pass is still running", "[dist][ddp]") {
  auto g = dist::world();
  if (g->world_size() == 1) return;  // one process starts none
  manual_seed(4);
  TinyNet net;
  dist::DistributedDataParallel ddp(net, g, {.bucket_cap_mb = 0.001});
  REQUIRE(ddp.bucket_count() >= 3);
  // The first layer's weight is registered first, so its gradient is among the last finished: by
  // then the buckets of the later layers are on their way.
  int64_t started_when_first_layer_done = -1;
  auto h = register_post_accumulate_grad_hook(net.a.weight, [&](const Tensor&) {
    started_when_first_layer_done = ddp.started_buckets();
  });
  sum(net(ones({2, 5}))).backward();
  CHECK(started_when_first_layer_done >= 1);
  CHECK(ddp.started_buckets() == 0);  // the pass is over
}

TEST_CASE("no_sync accumulates locally; the next pass averages the total", "[dist][ddp]") {
  auto g = dist::world();
  const int n = g->world_size();
  manual_seed(3);
  TinyNet net;
  dist::DistributedDataParallel ddp(net, g);
  manual_seed(11);
  const Tensor x1 = randn({4, 5}), x2 = randn({4, 5});
  // Each rank's inputs: the shared ones scaled by (rank + 1).
  const float s = float(g->rank() + 1);
  {
    auto guard = ddp.no_sync();
    sum(net(x1 * s)).backward();
  }
  const std::vector<float> local_after_first = to_vector(net.a.weight.grad());
  sum(net(x2 * s)).backward();
  const std::vector<float> averaged = to_vector(net.a.weight.grad());
  CHECK(ddp.synchronized_passes() == (n > 1 ? 1 : 0));  // one process: nothing to synchronise
  CHECK(testing::identical_everywhere(*g, averaged));
  // Against the same sums computed here for every rank's inputs.
  std::vector<double> expected(averaged.size(), 0.0);
  for (int r = 0; r < n; ++r) {
    net.zero_grad();
    {
      auto guard = ddp.no_sync();
      sum(net(x1 * float(r + 1))).backward();
      sum(net(x2 * float(r + 1))).backward();
    }
    const std::vector<float> gr = to_vector(net.a.weight.grad());
    for (size_t i = 0; i < gr.size(); ++i) expected[i] += gr[i] / n;
  }
  double worst = 0;
  for (size_t i = 0; i < averaged.size(); ++i) worst = std::max(worst, std::fabs(averaged[i] - expected[i]));
  CHECK(worst < 1e-5);
  CHECK(local_after_first.size() == averaged.size());
}

TEST_CASE("a parameter no process used keeps no gradient; one some used is averaged", "[dist][ddp]") {
  auto g = dist::world();
  const int n = g->world_size();
  manual_seed(5);
  TinyNet net;
  dist::DistributedDataParallel ddp(net, g);
  const Tensor x = ones({2, 5});
  // c is never used; b only on rank 0.
  Tensor h = gelu(net.a(x));
  if (g->rank() == 0) h = net.b(h);
  sum(h).backward();
  CHECK_FALSE(net.c.weight.grad().defined());
  REQUIRE(net.b.weight.grad().defined());  // on every rank: rank 0 had one
  // rank 0's gradient divided by n; compute rank 0's locally for comparison.
  const std::vector<float> got = to_vector(net.b.weight.grad());
  net.zero_grad();
  {
    auto guard = ddp.no_sync();
    sum(net.b(gelu(net.a(x)))).backward();
  }
  std::vector<float> want = to_vector(net.b.weight.grad());
  for (float& v : want) v /= float(n);
  CHECK(testing::max_abs_diff(got, want) < 1e-6);
}

TEST_CASE("buckets hold the parameters in reverse order; synchronize_gradients averages on demand", "[dist][ddp]") {
  auto g = dist::world();
  const int n = g->world_size();
  manual_seed(6);
  TinyNet net;
  dist::DistributedDataParallel ddp(net, g, {.bucket_cap_mb = 0.001});
  if (n > 1) {
    // Concatenated, the buckets list the parameters from the last registered to the first.
    std::vector<int64_t> order;
    for (int64_t k = 0; k < ddp.bucket_count(); ++k)
      for (int64_t p : ddp.bucket_parameters(k)) order.push_back(p);
    std::vector<int64_t> reversed;
    for (int64_t p = int64_t(net.parameters().size()) - 1; p >= 0; --p) reversed.push_back(p);
    CHECK(order == reversed);
    CHECK_THROWS_WITH(ddp.bucket_parameters(ddp.bucket_count()), Catch::Contains("bucket"));
  }
  // Gradients set by hand on each rank (rank + 1 everywhere), averaged: (n + 1) / 2.
  for (Tensor p : net.parameters()) p.set_grad(full(p.shape(), float(g->rank() + 1)));
  ddp.synchronize_gradients();
  const float want = n > 1 ? float(n + 1) / 2.f : 1.f;
  for (const Tensor& p : net.parameters()) CHECK(p.grad().to_vector() == std::vector<float>(size_t(p.numel()), want));
}

TEST_CASE("the wrapper refuses replicas of different models", "[dist][ddp]") {
  auto g = dist::world();
  if (g->world_size() == 1) return;  // nothing to compare with
  nn::Linear small(3, g->rank() == 0 ? 4 : 5);
  CHECK_THROWS_WITH(dist::DistributedDataParallel(small, g), Catch::Contains("differ"));
}
