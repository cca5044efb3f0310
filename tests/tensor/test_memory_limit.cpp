// SPDX-License-Identifier: Apache-2.0
// MemoryLimit: a thread's cap on new tensor memory; shape products that overflow.
#include <catch2/catch.hpp>

#include <thread>

#include <fresco/error.hpp>
#include <fresco/tensor/memory_limit.hpp>
#include <fresco/tensor/tensor.hpp>

using namespace fresco;

namespace {
// A tensor of 1024 floats is charged 4096 bytes (a size class of its own) plus the overhead.
constexpr int64_t kCharge = 4096 + MemoryLimit::kTensorOverheadBytes;
}  // namespace

TEST_CASE("MemoryLimit: charges live tensors, gives back freed ones, throws past the cap", "[tensor][memory_limit]") {
  MemoryLimit limit(3 * kCharge, "test scope");
  CHECK(limit.used_bytes() == 0);
  Tensor a = zeros({1024});
  CHECK(limit.used_bytes() == kCharge);
  {
    Tensor b = zeros({32, 32});
    CHECK(limit.used_bytes() == 2 * kCharge);
  }
  CHECK(limit.used_bytes() == kCharge);   // b was freed in the scope
  Tensor c = zeros({1024}), d = zeros({1024});
  CHECK(limit.used_bytes() == 3 * kCharge);
  CHECK(limit.peak_bytes() == 3 * kCharge);
  // A fourth does not fit: nothing is allocated or charged.
  CHECK_THROWS_AS(zeros({1024}), MemoryLimitError);
  CHECK_THROWS_WITH(zeros({1024}), Catch::StartsWith("test scope: more than"));
  CHECK(limit.used_bytes() == 3 * kCharge);
  // Views share storage and cost nothing.
  Tensor v = a.reshape({32, 32});
  CHECK(limit.used_bytes() == 3 * kCharge);
}

TEST_CASE("MemoryLimit: nests, ends with its scope, and leaves other threads alone", "[tensor][memory_limit]") {
  Tensor kept;
  {
    MemoryLimit outer(2 * kCharge, "outer");
    {
      MemoryLimit inner(10 * kCharge, "inner");
      kept = zeros({1024});
      CHECK(inner.used_bytes() == kCharge);
      CHECK(outer.used_bytes() == kCharge);
      Tensor second = zeros({1024});
      // The inner limit has room; the outer one has not.
      CHECK_THROWS_WITH(zeros({1024}), Catch::StartsWith("outer: more than"));
    }
    CHECK(outer.used_bytes() == kCharge);   // `second` came back to the outer limit too
    // Another thread has no limit.
    bool other_ok = false;
    std::thread t([&] { other_ok = zeros({64, 1024}).numel() == 65536; });
    t.join();
    CHECK(other_ok);
    kept = Tensor();   // freed after the inner limit ended: still returned to the outer one
    CHECK(outer.used_bytes() == 0);
  }
  // No limit any more.
  CHECK(zeros({64, 1024}).numel() == 65536);
  CHECK_THROWS_WITH(MemoryLimit(-1, "x"), Catch::Contains("non-negative"));
}

TEST_CASE("tensor: a shape whose element count overflows is refused before allocating", "[tensor][memory_limit]") {
  const int64_t big = int64_t{1} << 40;
  CHECK_THROWS_AS(empty({big, big}), ShapeError);
  CHECK_THROWS_WITH(empty({big, big}), Catch::Contains("too many elements"));
  CHECK_THROWS_AS(zeros({int64_t{1} << 62}), ShapeError);   // fits in int64_t, not in bytes
  CHECK(empty({0, big}).numel() == 0);                       // empty: no storage to speak of
}
