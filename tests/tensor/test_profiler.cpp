// SPDX-License-Identifier: Apache-2.0
#include "support/check.hpp"

using namespace fresco;

TEST_CASE("the profiler counts forward ops and backward passes by name", "[tensor][profiler]") {
  profiler::reset();
  profiler::enable();
  Tensor x = ones({4}).requires_grad_();
  for (int i = 0; i < 3; ++i) sum(exp(x)).backward();
  profiler::disable();
  sum(exp(x));  // not counted
  int64_t exp_calls = -1, exp_backward = -1;
  for (const auto& row : profiler::stats()) {
    if (row.name == "exp") exp_calls = row.calls;
    if (row.name == "exp.backward") exp_backward = row.calls;
    CHECK(row.total_ms >= 0);
  }
  CHECK(exp_calls == 3);
  CHECK(exp_backward == 3);
  const std::string table = profiler::report();
  CHECK_THAT(table, Catch::Contains("exp.backward") && Catch::Contains("calls"));
  profiler::reset();
  CHECK(profiler::stats().empty());
}

TEST_CASE("a profiler::Scope adds a row of its own, only while profiling is on", "[tensor][profiler]") {
  profiler::reset();
  { profiler::Scope off("my_step"); }
  profiler::enable();
  for (int i = 0; i < 2; ++i) profiler::Scope on("my_step");
  profiler::disable();
  int64_t calls = 0;
  for (const auto& row : profiler::stats())
    if (row.name == "my_step") calls = row.calls;
  CHECK(calls == 2);
  profiler::reset();
}
