// SPDX-License-Identifier: Apache-2.0
#include <fresco/gan/negatives.hpp>

#include <algorithm>
#include <string>
#include <unordered_map>

#include <fresco/error.hpp>

namespace fresco::gan {

NegativeSampler::NegativeSampler(const std::vector<std::vector<int64_t>>& labels, int64_t data_size, Counts counts)
    : size_(data_size), counts_(counts) {
  FRESCO_CHECK(counts.random >= 0 && counts.hard >= 0,
               "NegativeSampler: the random and hard counts must be >= 0, got {} and {}", counts.random, counts.hard);
  FRESCO_CHECK(data_size >= 1, "NegativeSampler: the data must hold at least one image, got {}", data_size);
  FRESCO_CHECK(labels.empty() || static_cast<int64_t>(labels.size()) == data_size,
               "NegativeSampler: {} rows of labels for {} images", labels.size(), data_size);
  if (counts.hard == 0 || labels.empty()) return;
  labels_ = labels;
  // Group the images by their labels with one place masked: the key is the labels with place p
  // replaced by -1 (the -1's position tells the masked place, so keys of different places differ).
  std::unordered_map<std::string, int32_t> group_of;
  std::vector<size_t> group_place;
  near_offset_.assign(1, 0);
  for (const auto& row : labels_) {
    std::vector<int64_t> key = row;
    for (size_t p = 0; p < row.size(); ++p) {
      key[p] = -1;
      std::string bytes(reinterpret_cast<const char*>(key.data()), key.size() * sizeof(int64_t));
      auto [it, fresh] = group_of.try_emplace(std::move(bytes), static_cast<int32_t>(near_groups_.size()));
      if (fresh) {
        near_groups_.emplace_back();
        group_place.push_back(p);
      }
      near_groups_[static_cast<size_t>(it->second)].push_back(static_cast<int64_t>(near_offset_.size()) - 1);
      near_.push_back(it->second);
      key[p] = row[p];
    }
    near_offset_.push_back(static_cast<int64_t>(near_.size()));
  }
  for (size_t g = 0; g < near_groups_.size(); ++g) {
    const size_t p = group_place[g];
    std::stable_sort(near_groups_[g].begin(), near_groups_[g].end(), [&](int64_t a, int64_t b) {
      return labels_[static_cast<size_t>(a)][p] < labels_[static_cast<size_t>(b)][p];
    });
  }
}

std::vector<int64_t> NegativeSampler::sample(const std::vector<int64_t>& batch_indices,
                                             fresco::Generator& pick) const {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(rows(static_cast<int64_t>(batch_indices.size()))));
  for (int64_t j = 0; j < counts_.random; ++j) out.push_back(static_cast<int64_t>(pick.below(static_cast<uint64_t>(size_))));
  for (const int64_t i : batch_indices) {
    FRESCO_CHECK(i >= 0 && i < size_, "NegativeSampler::sample: image {} is outside the data's {} images", i, size_);
    const uint64_t start = pick.next_u64();
    for (int64_t k = 0; k < counts_.hard; ++k) out.push_back(hard_negative(i, k, start, pick));
  }
  return out;
}

int64_t NegativeSampler::hard_negative(int64_t i, int64_t attempt, uint64_t start, fresco::Generator& pick) const {
  FRESCO_CHECK(i >= 0 && i < size_ && attempt >= 0,
               "NegativeSampler::hard_negative: need an image in [0, {}) and attempt >= 0, got {} and {}", size_, i,
               attempt);
  const int64_t places = near_offset_.empty() ? 0 : near_offset_[i + 1] - near_offset_[i];
  if (places == 0) return static_cast<int64_t>(pick.below(static_cast<uint64_t>(size_)));
  const auto p = static_cast<size_t>((start + static_cast<uint64_t>(attempt)) % static_cast<uint64_t>(places));
  const auto& group = near_groups_[static_cast<size_t>(near_[static_cast<size_t>(near_offset_[i]) + p])];
  // The group is sorted by the label at p: skip the run that shares i's, draw among the rest.
  const int64_t own = labels_[static_cast<size_t>(i)][p];
  auto label = [&](int64_t j) { return labels_[static_cast<size_t>(j)][p]; };
  const auto lo = std::partition_point(group.begin(), group.end(), [&](int64_t j) { return label(j) < own; });
  const auto hi = std::partition_point(lo, group.end(), [&](int64_t j) { return label(j) == own; });
  const auto others = static_cast<uint64_t>(group.size()) - static_cast<uint64_t>(hi - lo);
  if (others == 0) return static_cast<int64_t>(pick.below(static_cast<uint64_t>(size_)));   // no image differs there
  const auto r = static_cast<int64_t>(pick.below(others));
  return r < lo - group.begin() ? group[static_cast<size_t>(r)] : *(hi + (r - (lo - group.begin())));
}

}  // namespace fresco::gan
