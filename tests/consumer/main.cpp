// SPDX-License-Identifier: Apache-2.0
// Builds against fresco as a user's program does, runs a small op chain with
// a backward pass, and checks the numbers worked out by hand.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/matmul.hpp>
#include <fresco/ops/reduce.hpp>
#include <fresco/tensor/format.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/version.hpp>

namespace {

int failures = 0;

void expect(const char* what, const std::vector<float>& got, const std::vector<float>& want) {
  bool ok = got.size() == want.size();
  for (size_t i = 0; ok && i < got.size(); ++i) ok = std::fabs(got[i] - want[i]) <= 1e-4f;
  fmt::print("{:<5} {} (expected {}) {}\n", what, got, want, ok ? "ok" : "MISMATCH");
  if (!ok) ++failures;
}

}  // namespace

int main() {
  using fresco::Tensor;
  fmt::print("fresco {} (headers {})\n", fresco::version(), FRESCO_VERSION_STRING);
  if (std::string(fresco::version()) != FRESCO_VERSION_STRING) ++failures;

  // loss = sum((x @ w + b)^2), b broadcast over the rows.
  //   z = [[3.5, -1.5], [6.5, -3]], loss = 65.75, dz = 2z = [[7, -3], [13, -6]]
  //   dx = dz w^T, dw = x^T dz, db = column sums of dz.
  Tensor x = fresco::tensor({1, 2, 3, 4}, {2, 2}).requires_grad_();
  Tensor w = fresco::tensor({0.5f, -1, 1, 0.25f}, {2, 2}).requires_grad_();
  Tensor b = fresco::tensor({1, -1}, {2}).requires_grad_();
  Tensor z = fresco::matmul(x, w) + b;
  Tensor loss = fresco::sum(z * z);
  loss.backward();
  fmt::print("z = {}\n", z);

  expect("loss", {loss.item()}, {65.75f});
  expect("dx", x.grad().to_vector(), {6.5f, 6.25f, 12.5f, 11.5f});
  expect("dw", w.grad().to_vector(), {46, -21, 66, -30});
  expect("db", b.grad().to_vector(), {20, -9});

  // A user's mistake arrives as fresco::Error, across the library boundary.
  try {
    fresco::matmul(x, fresco::ones({3, 2}));
    fmt::print("matmul [2, 2] x [3, 2] did not throw\n");
    ++failures;
  } catch (const fresco::Error& e) {
    fmt::print("error ok: {}\n", e.what());
  }

  fmt::print("{}\n", failures == 0 ? "consumer: all checks passed" : "consumer: FAILED");
  return failures == 0 ? 0 : 1;
}
