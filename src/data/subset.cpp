// SPDX-License-Identifier: Apache-2.0
#include <fresco/data/dataset.hpp>

#include <fresco/error.hpp>

namespace fresco::data {

Subset::Subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  FRESCO_CHECK(base_ != nullptr, "Subset: the base dataset is null");
  const int64_t n = base_->size();
  for (int64_t i : indices_)
    FRESCO_CHECK(i >= 0 && i < n, "Subset: index {} out of range for a dataset of {} samples", i, n);
}

int64_t Subset::base_index(int64_t i) const {
  FRESCO_CHECK(i >= 0 && i < size(), "Subset: sample {} out of range [0, {})", i, size());
  return indices_[static_cast<size_t>(i)];
}

Example Subset::get(int64_t i) const { return base_->get(base_index(i)); }

}  // namespace fresco::data
