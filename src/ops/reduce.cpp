// SPDX-License-Identifier: Apache-2.0
// Reductions: sum, mean, max, argmax, and sum_to (the one place broadcast
// gradients are reduced).
#include <fresco/ops/reduce.hpp>

#include <algorithm>

#include "kernels/reduce.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

using detail::needs_grad;
using detail::record;

namespace {

// Sorted, unique, non-negative dims; empty means every dim (as PyTorch).
std::vector<int64_t> normalize_dims(const Shape& dims, int64_t ndim, const char* op) {
  std::vector<int64_t> out;
  for (int64_t d : dims) out.push_back(detail::wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  FRESCO_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), "{}: dim repeated in {}", op, shape_str(dims));
  if (out.empty())
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
  return out;
}

Shape keepdim_shape(const Shape& shape, const std::vector<int64_t>& dims) {
  Shape s = shape;
  for (int64_t d : dims) s[d] = 1;
  return s;
}

Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims) {
  Shape s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) s.push_back(shape[d]);
  return s;
}

// Σ over `dims` into a contiguous tensor of keepdim shape. Reduced dims that
// form one block are summed in place; others are first moved to the end.
Tensor sum_kernel(const Tensor& x, const std::vector<int64_t>& dims) {
  FRESCO_PROFILE("sum");
  const Shape& shape = x.shape();
  const int64_t nd = x.dim();
  Tensor out = detail::make_tensor(keepdim_shape(shape, dims));
  if (x.numel() == 0) {
    std::fill(out.data(), out.data() + out.numel(), 0.f);
    return out;
  }
  const bool block = dims.empty() || dims.back() - dims.front() + 1 == static_cast<int64_t>(dims.size());
  Tensor src = x;
  int64_t outer = 1, R = 1, inner = 1;
  if (block) {
    src = x.contiguous();
    for (int64_t d = 0; d < nd; ++d) {
      if (!dims.empty() && d < dims.front()) outer *= shape[d];
      else if (!dims.empty() && d > dims.back()) inner *= shape[d];
      else R *= shape[d];
    }
  } else {
    Shape perm;
    for (int64_t d = 0; d < nd; ++d)
      if (!std::binary_search(dims.begin(), dims.end(), d)) perm.push_back(d), outer *= shape[d];
    for (int64_t d : dims) perm.push_back(d), R *= shape[d];
    NoGradGuard guard;
    src = x.detach().permute(perm).contiguous();
  }
  kernels::sum_block(out.data(), src.data(), outer, R, inner);
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, Shape dims_in, bool keepdim) {
  detail::check_defined(x, "sum");
  const std::vector<int64_t> dims = normalize_dims(dims_in, x.dim(), "sum");
  Tensor y = sum_kernel(x, dims);
  if (!keepdim) y = detail::make_view(y, reduced_shape(x.shape(), dims), detail::contiguous_strides(reduced_shape(x.shape(), dims)), 0);
  if (needs_grad({&x}))
    record(y, "sum", {x}, [shape = x.shape(), kshape = keepdim_shape(x.shape(), dims)](const Tensor& g) {
      return std::vector<Tensor>{g.reshape(kshape).expand(shape)};
    });
  return y;
}

Tensor sum(const Tensor& x) { return sum(x, Shape{}, false); }

Tensor mean(const Tensor& x, Shape dims_in, bool keepdim) {
  detail::check_defined(x, "mean");
  const std::vector<int64_t> dims = normalize_dims(dims_in, x.dim(), "mean");
  int64_t count = 1;
  for (int64_t d : dims) count *= x.shape().empty() ? 1 : x.shape()[d];
  return sum(x, dims_in, keepdim) * (1.f / static_cast<float>(std::max<int64_t>(count, 1)));
}

Tensor mean(const Tensor& x) { return mean(x, Shape{}, false); }

namespace {
// Values and indices of the maximum along `dim`; the reduced shape is x's without dim.
std::pair<Tensor, std::vector<int64_t>> max_along(const Tensor& x, int64_t dim, const char* op) {
  FRESCO_PROFILE(op);
  detail::check_defined(x, op);
  FRESCO_CHECK_SHAPE(x.dim() > 0, "{}: expected a tensor with at least one dim, got a 0-d tensor", op);
  const int64_t d = detail::wrap_dim(dim, x.dim(), op);
  FRESCO_CHECK_SHAPE(x.shape()[d] > 0, "{}: cannot reduce the empty dim {} of shape {}", op, d, shape_str(x.shape()));
  Shape perm;
  for (int64_t i = 0; i < x.dim(); ++i)
    if (i != d) perm.push_back(i);
  perm.push_back(d);
  Tensor rows;
  {
    NoGradGuard guard;
    rows = x.detach().permute(perm).contiguous();
  }
  const int64_t R = x.shape()[d];
  const int64_t n = x.numel() / R;
  Shape out_shape = x.shape();
  out_shape.erase(out_shape.begin() + d);
  Tensor values = detail::make_tensor(out_shape);
  std::vector<int64_t> idx(n);
  kernels::max_rows(values.data(), idx.data(), rows.data(), n, R);
  return {values, idx};
}
}  // namespace

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  auto [values, idx] = max_along(x, dim, "max");
  const int64_t d = detail::wrap_dim(dim, x.dim(), "max");
  if (keepdim) values = values.unsqueeze(d);
  if (needs_grad({&x})) {
    // The gradient goes to the chosen element: a constant one-hot mask.
    Tensor mask = zeros(x.shape());
    {
      const int64_t R = x.shape()[d];
      int64_t inner = 1;
      for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[i];
      float* m = mask.data();
      for (int64_t r = 0; r < static_cast<int64_t>(idx.size()); ++r) {
        const int64_t o = r / inner, i = r % inner;
        m[(o * R + idx[r]) * inner + i] = 1.f;
      }
    }
    record(values, "max", {x}, [mask, d, keepdim](const Tensor& g) {
      return std::vector<Tensor>{(keepdim ? g : g.unsqueeze(d)) * mask};
    });
  }
  return values;
}

Tensor argmax(const Tensor& x, int64_t dim) {
  auto [values, idx] = max_along(x, dim, "argmax");
  Tensor out = detail::make_tensor(values.shape());
  for (size_t i = 0; i < idx.size(); ++i) out.data()[i] = static_cast<float>(idx[i]);
  return out;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  FRESCO_CHECK_SHAPE(lead >= 0, "sum_to: cannot reduce shape {} to {}", shape_str(x.shape()), shape_str(shape));
  Shape dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
    } else if (shape[d - lead] == 1 && x.shape()[d] != 1) {
      dims.push_back(d);
    } else {
      FRESCO_CHECK_SHAPE(shape[d - lead] == x.shape()[d], "sum_to: cannot reduce shape {} to {}", shape_str(x.shape()),
                         shape_str(shape));
    }
  }
  if (dims.empty()) return x.reshape(shape);
  return sum(x, dims, true).reshape(shape);
}

}  // namespace fresco
