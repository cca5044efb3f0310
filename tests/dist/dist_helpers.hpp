// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the dist tests share: a model's values as one vector, and the check
// that a vector has the same bits on every process.
#include <vector>

#include <fresco/dist/process_group.hpp>
#include <fresco/nn/module.hpp>

namespace fresco::testing {

/// True when `v` has the same bits on every process of `g` (its maximum and minimum over the processes are it).
inline bool identical_everywhere(dist::ProcessGroup& g, const std::vector<float>& v) {
  Tensor hi = tensor(v, {int64_t(v.size())}), lo = tensor(v, {int64_t(v.size())});
  g.all_reduce(hi, dist::ReduceOp::Max);
  g.all_reduce(lo, dist::ReduceOp::Min);
  return hi.to_vector() == v && lo.to_vector() == v;
}

/// Every parameter of `m` in order, then (with `buffers`) every buffer, as one vector.
inline std::vector<float> flat_values(const nn::Module& m, bool buffers = false) {
  std::vector<float> all;
  for (const Tensor& p : m.parameters()) {
    const auto v = p.to_vector();
    all.insert(all.end(), v.begin(), v.end());
  }
  if (buffers)
    for (const auto& [name, b] : m.named_buffers()) {
      const auto v = b.to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
  return all;
}

}  // namespace fresco::testing
