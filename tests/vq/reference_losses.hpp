// SPDX-License-Identifier: Apache-2.0
#pragma once
// Losses computed independently of fresco's ops, in double, for tests to compare against.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace fresco::test {

// Mean over rows of −log softmax(row)[target] for row-major `logits` [rows, classes]; targets < 0 skipped.
inline double mean_cross_entropy(const std::vector<float>& logits, int64_t classes,
                                 const std::vector<int64_t>& targets) {
  double total = 0;
  int64_t counted = 0;
  for (size_t r = 0; r < targets.size(); ++r) {
    if (targets[r] < 0) continue;
    const float* row = logits.data() + r * static_cast<size_t>(classes);
    double top = row[0], sum = 0;
    for (int64_t k = 0; k < classes; ++k) top = std::max(top, double(row[k]));
    for (int64_t k = 0; k < classes; ++k) sum += std::exp(row[k] - top);
    total += top + std::log(sum) - row[targets[r]];
    ++counted;
  }
  return total / static_cast<double>(counted);
}

}  // namespace fresco::test
