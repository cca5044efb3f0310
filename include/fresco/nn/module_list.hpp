// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `nn::ModuleList<M>`: a numbered list of submodules held by `unique_ptr`,
/// registered as "0", "1", ... so that their parameters are named
/// "blocks.0.attn.in_proj_weight".
///
///     fresco::nn::ModuleList<fresco::nn::TransformerBlock> blocks;   // register_module("blocks", blocks)
///     for (int i = 0; i < 4; ++i) blocks.emplace_back(128, 4);  for (auto& b : blocks) x = b(x);

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fresco/error.hpp>
#include <fresco/nn/module.hpp>

namespace fresco::nn {

/// A list of modules of type `M` (any module when `M` is `Module`).
template <class M = Module>
class ModuleList : public Module {
public:
  ModuleList() = default;

  /// Takes ownership of `m` and registers it under the next index. Returns it.
  template <class T>
  T& push_back(std::unique_ptr<T> m) {
    FRESCO_CHECK(m != nullptr, "ModuleList::push_back: the module is null");
    T& ref = *m;
    register_module(std::to_string(items_.size()), ref);
    items_.push_back(std::move(m));
    return ref;
  }
  /// Constructs an `M` (or a `T` derived from it) in place and appends it.
  template <class T = M, class... Args>
  T& emplace_back(Args&&... args) {
    return push_back(std::make_unique<T>(std::forward<Args>(args)...));
  }

  int64_t size() const { return static_cast<int64_t>(items_.size()); }
  bool empty() const { return items_.empty(); }
  /// The i-th module; throws for an index out of range.
  M& operator[](int64_t i) const {
    FRESCO_CHECK(i >= 0 && i < size(), "ModuleList: index {} out of range for a list of {}", i, size());
    return *items_[static_cast<size_t>(i)];
  }

  /// Iterates over `M&`.
  class iterator {
  public:
    using Inner = typename std::vector<std::unique_ptr<M>>::const_iterator;
    explicit iterator(Inner it) : it_(it) {}
    M& operator*() const { return **it_; }
    M* operator->() const { return it_->get(); }
    iterator& operator++() { ++it_; return *this; }
    bool operator==(const iterator& o) const { return it_ == o.it_; }
    bool operator!=(const iterator& o) const { return it_ != o.it_; }

  private:
    Inner it_;
  };
  iterator begin() const { return iterator(items_.begin()); }
  iterator end() const { return iterator(items_.end()); }

private:
  std::vector<std::unique_ptr<M>> items_;
};

}  // namespace fresco::nn
