// SPDX-License-Identifier: Apache-2.0
#pragma once
// Golden files written by tests/golden/make_golden.py from PyTorch: a
// safetensors file holding param.<name> (weights under fresco's parameter
// names), input.<name>, expect.<name> (outputs and, as expect.grad.<name>,
// gradients) and the sizes in its metadata.
#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/check.hpp"

namespace fresco::testing {

class Golden {
public:
  /// `file` is relative to tests/ (e.g. "nn/data/mha_golden.safetensors").
  explicit Golden(const std::string& file)
      : path_(std::string(FRESCO_TEST_DATA_DIR) + "/" + file),
        tensors_(io::load_safetensors(path_)),
        metadata_(io::load_safetensors_metadata(path_)) {}

  const std::string& path() const { return path_; }
  bool has(const std::string& name) const { return tensors_.count(name) == 1; }

  const Tensor& at(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::runtime_error(path_ + " has no tensor \"" + name + "\"");
    return it->second;
  }

  /// A size from the metadata ("heads", "d_model", ...).
  int64_t size(const std::string& key) const {
    auto it = metadata_.find(key);
    if (it == metadata_.end()) throw std::runtime_error(path_ + " has no metadata \"" + key + "\"");
    return std::stoll(it->second);
  }

  /// A fresh copy of input.<name> that requires a gradient.
  Tensor input(const std::string& name) const { return at("input." + name).clone().requires_grad_(); }

  /// input.<name> as token ids (stored as I64, loaded as exact floats).
  std::vector<int64_t> ids(const std::string& name) const {
    std::vector<int64_t> out;
    for (float v : at("input." + name).to_vector()) out.push_back(static_cast<int64_t>(v));
    return out;
  }

  /// Copies param.<prefix><name> into every parameter of `module`. Throws when
  /// a parameter is missing or has another shape, or when the file holds a
  /// param.<prefix>* the module does not have (a name that differs).
  void load_parameters(nn::Module& module, const std::string& prefix = "") const {
    const std::string head = "param." + prefix;
    const auto params = module.named_parameters();
    NoGradGuard guard;
    for (const auto& [name, p] : params) {
      const Tensor& src = at(head + name);
      if (src.shape() != p.shape())
        throw std::runtime_error(path_ + ": " + head + name + " is " + shape_str(src.shape()) + ", the module's " +
                                 shape_str(p.shape()));
      const std::vector<float> v = src.to_vector();
      Tensor dst = p;
      std::copy(v.begin(), v.end(), dst.data());
    }
    const auto in_file = std::count_if(tensors_.begin(), tensors_.end(),
                                       [&](const auto& kv) { return kv.first.rfind(head, 0) == 0; });
    if (static_cast<size_t>(in_file) != params.size())
      throw std::runtime_error(path_ + " holds " + std::to_string(in_file) + " tensors " + head + "*, the module " +
                               std::to_string(params.size()) + " parameters");
  }

  /// The tolerance `tol` scaled by the largest |value| of expect.<name> (at least 1).
  double scaled(const std::string& name, double tol) const {
    double m = 1;
    for (float v : at("expect." + name).to_vector()) m = std::max(m, std::fabs(static_cast<double>(v)));
    return tol * m;
  }

private:
  std::string path_;
  std::map<std::string, Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace fresco::testing

/// Checks `actual` against expect.<name> of a Golden within tol · max(1, max|expected|),
/// with the largest difference in the message.
#define CHECK_GOLDEN(golden, name, actual, tol)                                                       \
  do {                                                                                                \
    const std::string gname_ = (name);                                                                \
    const ::fresco::Tensor& gexpect_ = (golden).at("expect." + gname_);                               \
    INFO("expect." << gname_ << " of " << (golden).path());                                          \
    CHECK_TENSOR((actual), gexpect_.shape(), gexpect_.to_vector(), (golden).scaled(gname_, (tol)));   \
  } while (0)
