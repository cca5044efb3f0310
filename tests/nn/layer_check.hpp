// SPDX-License-Identifier: Apache-2.0
#pragma once
// gradcheck through a module: the checker hands the function fresh copies of
// its inputs, so the function points the module's parameter members at them.
#include <functional>
#include <vector>

#include "support/check.hpp"

namespace fresco::test {

/// gradcheck of `forward(x...)` w.r.t. the inputs `xs` and the module tensors `members`
/// (which are pointed at the checker's copies during the check and restored after).
inline bool module_gradcheck(const std::vector<Tensor*>& members, const std::vector<Tensor>& xs,
                             const std::function<Tensor(const std::vector<Tensor>&)>& forward,
                             GradcheckOptions options = {}) {
  std::vector<Tensor> saved, inputs = xs;
  for (Tensor* m : members) {
    saved.push_back(*m);
    inputs.push_back(*m);
  }
  auto f = [&](const std::vector<Tensor>& in) {
    for (size_t i = 0; i < members.size(); ++i) *members[i] = in[xs.size() + i];
    return forward(std::vector<Tensor>(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(xs.size())));
  };
  bool ok = false;
  try {
    ok = gradcheck(f, inputs, options);
  } catch (...) {
    for (size_t i = 0; i < members.size(); ++i) *members[i] = saved[i];
    throw;
  }
  for (size_t i = 0; i < members.size(); ++i) *members[i] = saved[i];
  return ok;
}

/// Values of a tensor as doubles.
inline std::vector<double> values(const Tensor& t) {
  auto v = t.to_vector();
  return {v.begin(), v.end()};
}

}  // namespace fresco::test
