// SPDX-License-Identifier: Apache-2.0
// DataLoader: batch shapes and values, every sample once per epoch, seeded
// reshuffling, flips, the worker's exceptions, and the dataset adapters.
#include "support/check.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>

using fresco::Tensor;
using fresco::data::Batch;
using fresco::data::DataLoader;
using fresco::data::DataLoaderOptions;
using fresco::data::Example;

namespace {

// Sample i: image [C, H, W] with value(i, c, y, x) in [0, 1], label {i}, caption "i".
// Throws for the index `throw_at` (when >= 0).
class CountingDataset : public fresco::data::Dataset {
public:
  CountingDataset(int64_t n, int64_t c = 2, int64_t h = 3, int64_t w = 4, int64_t throw_at = -1)
      : n_(n), c_(c), h_(h), w_(w), throw_at_(throw_at) {}
  static float value(int64_t i, int64_t c, int64_t y, int64_t x) {
    return static_cast<float>((i * 7 + c * 3 + y * 5 + x) % 11) / 10.f;
  }
  int64_t size() const override { return n_; }
  Example get(int64_t i) const override {
    ++calls;
    if (i == throw_at_) throw fresco::Error("CountingDataset: sample " + std::to_string(i) + " is broken");
    std::vector<float> v;
    for (int64_t c = 0; c < c_; ++c)
      for (int64_t y = 0; y < h_; ++y)
        for (int64_t x = 0; x < w_; ++x) v.push_back(value(i, c, y, x));
    // Odd samples come back as a non-contiguous view, which the loader must handle.
    Tensor img = fresco::tensor(v, {c_, h_, w_});
    if (i % 2 == 1) img = img.transpose(1, 2).contiguous().transpose(1, 2);
    return {img, std::to_string(i), {i}};
  }
  mutable std::atomic<int64_t> calls{0};

private:
  int64_t n_, c_, h_, w_, throw_at_;
};

std::vector<Batch> collect(DataLoader& loader, int64_t epoch) {
  std::vector<Batch> out;
  for (Batch& b : loader.epoch(epoch)) out.push_back(std::move(b));
  return out;
}

std::vector<int64_t> indices_of(const std::vector<Batch>& batches) {
  std::vector<int64_t> all;
  for (const Batch& b : batches) all.insert(all.end(), b.indices.begin(), b.indices.end());
  return all;
}

}  // namespace

TEST_CASE("DataLoader batches have the right shapes and values in [-1, 1]", "[loader]") {
  auto ds = std::make_shared<CountingDataset>(23);
  for (bool prefetch : {true, false}) {
    DataLoader loader(ds, {.batch_size = 5, .seed = 3, .prefetch = prefetch});
    REQUIRE(loader.batches_per_epoch() == 5);
    const std::vector<Batch> batches = collect(loader, 0);
    REQUIRE(batches.size() == 5);
    for (size_t k = 0; k < batches.size(); ++k) {
      const Batch& b = batches[k];
      const int64_t n = k < 4 ? 5 : 3;
      REQUIRE(b.images.shape() == fresco::Shape{n, 2, 3, 4});
      REQUIRE(b.captions.size() == static_cast<size_t>(n));
      CHECK(b.batch == static_cast<int64_t>(k));
      CHECK(b.epoch == 0);
      const std::vector<float> v = b.images.to_vector();
      for (int64_t s = 0; s < n; ++s) {
        const int64_t i = b.indices[static_cast<size_t>(s)];
        CHECK(b.labels[static_cast<size_t>(s)] == std::vector<int64_t>{i});
        CHECK(b.captions[static_cast<size_t>(s)] == std::to_string(i));
        CHECK_FALSE(b.flipped[static_cast<size_t>(s)]);
        for (int64_t c = 0; c < 2; ++c)
          for (int64_t y = 0; y < 3; ++y)
            for (int64_t x = 0; x < 4; ++x) {
              const float got = v[static_cast<size_t>(((s * 2 + c) * 3 + y) * 4 + x)];
              CHECK(got == 2.f * CountingDataset::value(i, c, y, x) - 1.f);
              CHECK((got >= -1.f && got <= 1.f));
            }
      }
    }
  }
}

TEST_CASE("DataLoader visits every sample exactly once per epoch", "[loader]") {
  auto ds = std::make_shared<CountingDataset>(103, 1, 2, 2);
  std::vector<int64_t> all(103);
  for (int64_t i = 0; i < 103; ++i) all[static_cast<size_t>(i)] = i;
  DataLoader loader(ds, {.batch_size = 10, .seed = 9});
  for (int64_t e = 0; e < 3; ++e) {
    std::vector<int64_t> seen = indices_of(collect(loader, e));
    CHECK(seen == loader.order(e));
    std::sort(seen.begin(), seen.end());
    CHECK(seen == all);
  }
  DataLoader dropping(ds, {.batch_size = 10, .seed = 9, .drop_last = true});
  REQUIRE(dropping.batches_per_epoch() == 10);
  for (int64_t e = 0; e < 3; ++e) {
    const std::vector<Batch> batches = collect(dropping, e);
    REQUIRE(batches.size() == 10);
    for (const Batch& b : batches) CHECK(b.images.size(0) == 10);
    const std::vector<int64_t> seen = indices_of(batches);
    const std::vector<int64_t> order = dropping.order(e);
    CHECK(seen == std::vector<int64_t>(order.begin(), order.begin() + 100));
    CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == 100);  // no repeats
  }
  DataLoader in_order(ds, {.batch_size = 10, .shuffle = false});
  CHECK(indices_of(collect(in_order, 5)) == all);
}

TEST_CASE("DataLoader reshuffles each epoch, repeatably by seed", "[loader]") {
  auto ds = std::make_shared<CountingDataset>(200, 1, 1, 1);
  DataLoader a(ds, {.batch_size = 16, .seed = 42}), b(ds, {.batch_size = 16, .seed = 42}),
      c(ds, {.batch_size = 16, .seed = 43});
  CHECK(a.order(0) != a.order(1));
  CHECK(a.order(1) != a.order(2));
  CHECK(a.order(0) != c.order(0));
  CHECK(a.order(0) != c.order(1));  // seed + 1 is not epoch + 1
  for (int64_t e : {0, 1, 7}) {
    CHECK(indices_of(collect(a, e)) == indices_of(collect(b, e)));
    CHECK(indices_of(collect(a, e)) == a.order(e));  // epochs may be replayed in any order
  }
  // A shuffled order is not the identity, and not reversed.
  std::vector<int64_t> ident(200);
  for (int64_t i = 0; i < 200; ++i) ident[static_cast<size_t>(i)] = i;
  CHECK(a.order(0) != ident);
}

TEST_CASE("DataLoader horizontal flip mirrors the images it marks", "[loader]") {
  auto ds = std::make_shared<CountingDataset>(64, 2, 3, 5);
  DataLoader loader(ds, {.batch_size = 16, .seed = 5, .horizontal_flip = true});
  DataLoader again(ds, {.batch_size = 16, .seed = 5, .horizontal_flip = true, .prefetch = false});
  int64_t flipped = 0;
  const std::vector<Batch> batches = collect(loader, 2), replay = collect(again, 2);
  for (size_t k = 0; k < batches.size(); ++k) {
    const Batch& b = batches[k];
    CHECK(b.flipped == replay[k].flipped);
    CHECK(b.images.to_vector() == replay[k].images.to_vector());
    const std::vector<float> v = b.images.to_vector();
    for (size_t s = 0; s < b.indices.size(); ++s) {
      flipped += b.flipped[s];
      for (int64_t c = 0; c < 2; ++c)
        for (int64_t y = 0; y < 3; ++y)
          for (int64_t x = 0; x < 5; ++x) {
            const int64_t sx = b.flipped[s] ? 4 - x : x;
            CHECK(v[((s * 2 + c) * 3 + y) * 5 + x] == 2.f * CountingDataset::value(b.indices[s], c, y, sx) - 1.f);
          }
    }
  }
  // 64 fair coin flips: far from 0 and from 64.
  CHECK(flipped > 16);
  CHECK(flipped < 48);
}

TEST_CASE("DataLoader rethrows the worker's exceptions in the consumer", "[loader]") {
  for (bool prefetch : {true, false}) {
    auto ds = std::make_shared<CountingDataset>(20, 1, 2, 2, /*throw_at=*/13);
    DataLoader loader(ds, {.batch_size = 4, .shuffle = false, .prefetch = prefetch});
    loader.start_epoch(0);
    for (int k = 0; k < 3; ++k) REQUIRE(loader.next().has_value());
    CHECK_THROWS_WITH(loader.next(), Catch::Contains("sample 13 is broken"));
    CHECK_THROWS_AS(loader.next(), fresco::Error);  // retried, fails again
    loader.start_epoch(1);                          // a new epoch starts cleanly
    REQUIRE(loader.next().has_value());
  }
  CHECK_THROWS_WITH(DataLoader(std::make_shared<CountingDataset>(3), {.batch_size = 0}),
                    Catch::Contains(".batch_size must be >= 1"));
  CHECK_THROWS_WITH(DataLoader(std::make_shared<CountingDataset>(0)), Catch::Contains("the dataset is empty"));
  CHECK_THROWS_WITH(DataLoader(std::make_shared<CountingDataset>(3), {.batch_size = 4, .drop_last = true}),
                    Catch::Contains("gives no batch"));
  DataLoader idle(std::make_shared<CountingDataset>(3));
  CHECK_THROWS_WITH(idle.next(), Catch::Contains("no epoch started"));
}

TEST_CASE("DataLoader refuses images of different shapes in one batch", "[loader]") {
  class Ragged : public fresco::data::Dataset {
  public:
    int64_t size() const override { return 4; }
    Example get(int64_t i) const override { return {fresco::zeros({1, 2, 2 + i}), "", {}}; }
  };
  DataLoader loader(std::make_shared<Ragged>(), {.batch_size = 4});
  loader.start_epoch(0);
  CHECK_THROWS_AS(loader.next(), fresco::ShapeError);
}

TEST_CASE("DataLoader abandons epochs and shuts down mid-epoch cleanly", "[loader]") {
  auto ds = std::make_shared<CountingDataset>(50, 1, 8, 8);
  for (int round = 0; round < 20; ++round) {
    DataLoader loader(ds, {.batch_size = 7, .seed = static_cast<uint64_t>(round)});
    loader.start_epoch(0);
    auto first = loader.next();
    loader.start_epoch(1);  // abandons epoch 0 with a batch in flight
    auto second = loader.next();
    REQUIRE(second.has_value());
    CHECK(second->epoch == 1);
    const std::vector<int64_t> order = loader.order(1);
    CHECK(second->indices == std::vector<int64_t>(order.begin(), order.begin() + 7));
  }  // destroyed with the next batch being prefetched
}

TEST_CASE("Dataset adapters for Shapes and Fashion-MNIST", "[loader]") {
  fresco::data::Shapes shapes({.size = 50, .seed = 4, .two_object_fraction = 0.5f});
  fresco::data::ShapesDataset ds(shapes);
  for (int64_t i = 0; i < ds.size(); ++i) {
    const Example e = ds.get(i);
    const fresco::data::ShapesSample s = shapes.sample(i);
    CHECK(e.caption == s.caption);
    CHECK(e.image.to_vector() == s.pixels);
    REQUIRE(e.labels.size() == 4 * s.objects.size());
    for (size_t o = 0; o < s.objects.size(); ++o)
      for (size_t a = 0; a < 4; ++a) CHECK(e.labels[4 * o + a] == s.objects[o].labels()[a]);
  }
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist); adapter test skipped");
    return;
  }
  fresco::data::FashionMnist mnist({.split = "test", .pad_to_32 = true, .limit = 10});
  fresco::data::FashionMnistDataset fm(mnist, 3);
  REQUIRE(fm.size() == 10);
  for (int64_t i = 0; i < 10; ++i) {
    const Example e = fm.get(i);
    CHECK(e.image.shape() == fresco::Shape{1, 32, 32});
    CHECK(e.labels == std::vector<int64_t>{mnist.label(i)});
    CHECK(e.caption == mnist.caption(i, 3));
  }
}

TEST_CASE("replicas take disjoint shards whose batches together are one process's batches", "[data][loader][dist]") {
  for (int64_t n : {12, 13, 100, 1}) {
    for (int64_t replicas : {2, 3, 4}) {
      auto ds = std::make_shared<CountingDataset>(n);
      const int64_t b = 2;
      DataLoader whole(ds, {.batch_size = b * replicas, .seed = 9, .prefetch = false});
      std::vector<std::unique_ptr<DataLoader>> shards;
      for (int64_t r = 0; r < replicas; ++r)
        shards.push_back(std::make_unique<DataLoader>(
            ds, DataLoaderOptions{.batch_size = b, .seed = 9, .prefetch = false, .num_replicas = replicas, .rank = r}));
      for (int64_t epoch : {0, 3}) {
        INFO("n " << n << ", replicas " << replicas << ", epoch " << epoch);
        // Every shard has ceil(n / R) samples; all together: the epoch's order, padded from its start.
        const std::vector<int64_t> all = whole.order(epoch);
        std::multiset<int64_t> seen;
        for (auto& s : shards) {
          CHECK(s->shard_size() == (n + replicas - 1) / replicas);
          CHECK(s->batches_per_epoch() == shards[0]->batches_per_epoch());
          for (int64_t i : s->order(epoch)) seen.insert(i);
        }
        std::multiset<int64_t> want(all.begin(), all.end());
        for (int64_t i = 0; i < int64_t(seen.size()) - n; ++i) want.insert(all[size_t(i % n)]);
        CHECK(seen == want);
        // Batch k of the replicas together = batch k of one loader with R·b (when n fills it).
        for (auto& s : shards) s->start_epoch(epoch);
        whole.start_epoch(epoch);
        for (int64_t k = 0; k < n / (b * replicas); ++k) {
          std::set<int64_t> together;
          for (auto& s : shards) {
            const Batch batch = *s->next();
            together.insert(batch.indices.begin(), batch.indices.end());
          }
          const auto w = whole.next()->indices;
          CHECK(together == std::set<int64_t>(w.begin(), w.end()));
        }
      }
    }
  }
  auto ds = std::make_shared<CountingDataset>(4);
  CHECK_THROWS_WITH(DataLoader(ds, {.num_replicas = 2, .rank = 2}), Catch::Contains("0 <= .rank < .num_replicas"));
  CHECK_THROWS_WITH(DataLoader(ds, {.batch_size = 3, .drop_last = true, .num_replicas = 2}),
                    Catch::Contains("2 for each of 2 replicas"));
}
