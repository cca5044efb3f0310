// SPDX-License-Identifier: Apache-2.0
#include <fresco/error.hpp>
#include <fresco/eval/metrics.hpp>

#include <cmath>

namespace fresco::eval {

ConditionalAccuracy conditional_accuracy(const std::vector<std::vector<int64_t>>& intended,
                                         const std::vector<std::vector<int64_t>>& predicted,
                                         const std::vector<bool>& held_out) {
  const size_t n = intended.size(), heads = predicted.size();
  FRESCO_CHECK(heads >= 1, "conditional_accuracy: expected predictions of at least one head, found none");
  for (size_t h = 0; h < heads; ++h)
    FRESCO_CHECK(predicted[h].size() == n,
                 "conditional_accuracy: expected {} predictions (one per prompt) for head {}, found {}", n, h,
                 predicted[h].size());
  for (size_t i = 0; i < n; ++i)
    FRESCO_CHECK(intended[i].size() == heads,
                 "conditional_accuracy: expected {} intended labels (one per head) for prompt {}, found {}", heads, i,
                 intended[i].size());
  FRESCO_CHECK(held_out.empty() || held_out.size() == n,
               "conditional_accuracy: expected {} held-out flags (one per prompt) or none, found {}", n,
               held_out.size());

  std::vector<int64_t> correct_seen(heads, 0), correct_held(heads, 0);
  int64_t all_seen = 0, all_held = 0;
  ConditionalAccuracy r;
  for (size_t i = 0; i < n; ++i) {
    const bool held = !held_out.empty() && held_out[i];
    (held ? r.held_out_count : r.seen_count) += 1;
    auto& correct = held ? correct_held : correct_seen;
    bool all = true;
    for (size_t h = 0; h < heads; ++h) {
      const bool right = predicted[h][i] == intended[i][h];
      correct[h] += right;
      all = all && right;
    }
    (held ? all_held : all_seen) += all;
  }
  r.all_seen = r.seen_count > 0 ? static_cast<double>(all_seen) / static_cast<double>(r.seen_count) : 0.0;
  r.all_held_out = r.held_out_count > 0 ? static_cast<double>(all_held) / static_cast<double>(r.held_out_count) : 0.0;
  auto shares = [heads](const std::vector<int64_t>& correct, int64_t count) {
    std::vector<double> s;
    if (count == 0) return s;
    for (size_t h = 0; h < heads; ++h) s.push_back(static_cast<double>(correct[h]) / static_cast<double>(count));
    return s;
  };
  r.seen = shares(correct_seen, r.seen_count);
  r.held_out = shares(correct_held, r.held_out_count);
  return r;
}

double mean_pairwise_distance(const Tensor& features) {
  FRESCO_CHECK(features.defined(), "mean_pairwise_distance: expected features [K, F], found an undefined tensor");
  FRESCO_CHECK_SHAPE(features.dim() == 2 && features.size(0) >= 2,
                     "mean_pairwise_distance: expected features [K, F] with K >= 2, found {}",
                     shape_str(features.shape()));
  const Tensor x = features.detach().contiguous();
  const int64_t k = x.size(0), f = x.size(1);
  const float* p = x.data();
  double total = 0;
  // K is small (images per caption), so the O(K² F) double loop is cheap and exact.
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i + 1; j < k; ++j) {
      double sq = 0;
      for (int64_t c = 0; c < f; ++c) {
        const double d = static_cast<double>(p[i * f + c]) - p[j * f + c];
        sq += d * d;
      }
      total += std::sqrt(sq);
    }
  return total / (static_cast<double>(k) * static_cast<double>(k - 1) / 2);
}

double diversity(const std::vector<Tensor>& groups) {
  FRESCO_CHECK(!groups.empty(), "diversity: expected at least one group of features [K, F], found none");
  double total = 0;
  for (const Tensor& g : groups) total += mean_pairwise_distance(g);
  return total / static_cast<double>(groups.size());
}

}  // namespace fresco::eval
