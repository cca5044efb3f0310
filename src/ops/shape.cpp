// SPDX-License-Identifier: Apache-2.0
// Joining (cat, stack) and gathering (index_select, with index_add as its
// backward). Every backward is itself a recorded op, so all differentiate twice.
#include <fresco/ops/shape.hpp>

#include <cstring>

#include "kernels/parallel.hpp"
#include "kernels/strided.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

using detail::needs_grad;
using detail::record;

namespace {

// Sizes of x around dim d, as [outer, n, inner].
void split_around(const Shape& shape, int64_t d, int64_t& outer, int64_t& inner) {
  outer = inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= shape[i];
  for (int64_t i = d + 1; i < static_cast<int64_t>(shape.size()); ++i) inner *= shape[i];
}

std::string index_str(const std::vector<int64_t>& index) {
  std::string s = "[";
  for (size_t i = 0; i < index.size() && i < 8; ++i) s += (i ? ", " : "") + std::to_string(index[i]);
  if (index.size() > 8) s += ", ...";
  return s + "]";
}

// zeros(shape) with g's slices added at `index` along d: out[.., index[j], ..] += g[.., j, ..].
// The backward of index_select; its own backward is index_select.
Tensor index_add_zeros(const Tensor& g, int64_t d, const std::vector<int64_t>& index, const Shape& shape) {
  FRESCO_PROFILE("index_add");
  Tensor out = zeros(shape);
  const Tensor gc = g.contiguous();
  int64_t outer, inner;
  split_around(shape, d, outer, inner);
  const int64_t n = shape[d], m = static_cast<int64_t>(index.size());
  float* po = out.data();
  const float* pg = gc.data();
  // Split the columns across threads; each element sums its rows in index order (repeatable).
  kernels::parallel_for(inner, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, outer * m)),
                        [&](int64_t c0, int64_t c1) {
                          for (int64_t o = 0; o < outer; ++o)
                            for (int64_t j = 0; j < m; ++j) {
                              float* dst = po + (o * n + index[j]) * inner;
                              const float* src = pg + (o * m + j) * inner;
                              for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
                            }
                        });
  if (needs_grad({&g}))
    record(out, "index_add", {g}, [d, index](const Tensor& gg) { return std::vector<Tensor>{index_select(gg, d, index)}; });
  return out;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  FRESCO_PROFILE("cat");
  FRESCO_CHECK(!tensors.empty(), "cat: expected at least one tensor, got none");
  for (const Tensor& t : tensors) detail::check_defined(t, "cat");
  const Shape& first = tensors[0].shape();
  FRESCO_CHECK_SHAPE(!first.empty(), "cat: cannot join 0-d tensors; use stack");
  const int64_t d = detail::wrap_dim(dim, static_cast<int64_t>(first.size()), "cat");
  Shape out_shape = first;
  out_shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Shape& s = tensors[i].shape();
    bool ok = s.size() == first.size();
    for (size_t k = 0; ok && k < s.size(); ++k) ok = static_cast<int64_t>(k) == d || s[k] == first[k];
    FRESCO_CHECK_SHAPE(ok, "cat: tensor {} has shape {} but tensor 0 has shape {}; sizes must match except in dim {}",
                       i, shape_str(s), shape_str(first), d);
    out_shape[d] += s[d];
  }
  Tensor y = detail::make_tensor(out_shape);
  const Shape& ys = y.strides();
  int64_t off = 0;
  std::vector<int64_t> offsets;
  for (const Tensor& t : tensors) {
    offsets.push_back(off);
    if (t.numel() > 0)
      kernels::copy_strided2(y.data() + off * ys[d], ys, t.impl()->ptr(), t.strides(), t.shape());
    off += t.size(d);
  }
  if (needs_grad(tensors)) {
    std::vector<int64_t> sizes;
    std::vector<char> wants;
    for (const Tensor& t : tensors) sizes.push_back(t.size(d)), wants.push_back(t.requires_grad());
    record(y, "cat", tensors, [d, offsets, sizes, wants](const Tensor& g) {
      std::vector<Tensor> out(sizes.size());
      for (size_t i = 0; i < sizes.size(); ++i)
        if (wants[i]) out[i] = g.slice(d, offsets[i], offsets[i] + sizes[i]);
      return out;
    });
  }
  return y;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  FRESCO_CHECK(!tensors.empty(), "stack: expected at least one tensor, got none");
  for (const Tensor& t : tensors) detail::check_defined(t, "stack");
  const Shape& first = tensors[0].shape();
  for (size_t i = 1; i < tensors.size(); ++i)
    FRESCO_CHECK_SHAPE(tensors[i].shape() == first, "stack: tensor {} has shape {}, expected {} (as tensor 0)", i,
                       shape_str(tensors[i].shape()), shape_str(first));
  const int64_t d = detail::wrap_dim(dim, static_cast<int64_t>(first.size()) + 1, "stack");
  std::vector<Tensor> parts;
  parts.reserve(tensors.size());
  for (const Tensor& t : tensors) parts.push_back(t.unsqueeze(d));
  return cat(parts, d);
}

Tensor index_select(const Tensor& x, int64_t dim, const std::vector<int64_t>& index) {
  detail::check_defined(x, "index_select");
  FRESCO_PROFILE("index_select");
  FRESCO_CHECK_SHAPE(x.dim() > 0, "index_select: expected a tensor with at least 1 dim, got a 0-d tensor");
  const int64_t d = detail::wrap_dim(dim, x.dim(), "index_select");
  const int64_t n = x.size(d), m = static_cast<int64_t>(index.size());
  for (size_t j = 0; j < index.size(); ++j)
    FRESCO_CHECK(index[j] >= 0 && index[j] < n,
                 "index_select: index {} (position {} of {}) is out of range for dim {} of size {} (shape {})",
                 index[j], j, index_str(index), d, n, shape_str(x.shape()));
  Shape out_shape = x.shape();
  out_shape[d] = m;
  Tensor y = detail::make_tensor(out_shape);
  const Tensor xc = x.contiguous();
  int64_t outer, inner;
  split_around(x.shape(), d, outer, inner);
  const float* px = xc.data();
  float* py = y.data();
  // Rows of `inner` contiguous floats, one per (outer, j).
  kernels::parallel_for(outer * m, std::max<int64_t>(1, 32768 / std::max<int64_t>(inner, 1)),
                        [&](int64_t r0, int64_t r1) {
                          for (int64_t r = r0; r < r1; ++r) {
                            const int64_t o = r / m, j = r % m;
                            if (inner > 0)
                              std::memcpy(py + r * inner, px + (o * n + index[j]) * inner, inner * sizeof(float));
                          }
                        });
  if (needs_grad({&x}))
    record(y, "index_select", {x}, [d, index, shape = x.shape()](const Tensor& g) {
      return std::vector<Tensor>{index_add_zeros(g, d, index, shape)};
    });
  return y;
}

}  // namespace fresco
