// SPDX-License-Identifier: Apache-2.0
// Views: new shape/strides/offset over the same storage, no copies. Each is
// differentiable; its backward maps the gradient back to the source's shape.
#include <numeric>

#include "kernels/strided.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/profiler_scope.hpp"

namespace fresco {

using detail::make_view;
using detail::needs_grad;
using detail::record;

namespace {

Shape infer_shape(Shape shape, int64_t numel, const Shape& from, const char* op) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      FRESCO_CHECK_SHAPE(infer < 0, "{}: only one size may be -1, got {}", op, shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      FRESCO_CHECK_SHAPE(shape[i] >= 0, "{}: invalid size {} in {}", op, shape[i], shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    FRESCO_CHECK_SHAPE(known != 0 && numel % known == 0, "{}: shape {} is invalid for a tensor of shape {} ({} elements)",
                       op, shape_str(shape), shape_str(from), numel);
    shape[infer] = numel / known;
  }
  FRESCO_CHECK_SHAPE(shape_numel(shape) == numel, "{}: shape {} is invalid for a tensor of shape {} ({} elements)", op,
                     shape_str(shape), shape_str(from), numel);
  return shape;
}

Tensor with_reshape_grad(Tensor y, const Tensor& x, const char* name) {
  if (needs_grad({&x}))
    record(y, name, {x}, [shape = x.shape()](const Tensor& g) { return std::vector<Tensor>{g.reshape(shape)}; });
  return y;
}

// The gradient of a slice: zeros of the input's shape with g in the slice.
Tensor slice_backward(const Tensor& g, const Shape& in_shape, int64_t dim, int64_t start, int64_t end, int64_t step) {
  Tensor out = zeros(in_shape);
  Tensor view = out.slice(dim, start, end, step);  // out is a fresh leaf: no recording
  Tensor gc = g.contiguous();
  kernels::copy_strided2(view.impl()->ptr(), view.strides(), gc.impl()->ptr(), gc.strides(), gc.shape());
  if (needs_grad({&g}))
    record(out, "slice_backward", {g},
           [dim, start, end, step](const Tensor& gg) { return std::vector<Tensor>{gg.slice(dim, start, end, step)}; });
  return out;
}

}  // namespace

Tensor Tensor::view(Shape shape) const {
  detail::check_defined(*this, "view");
  FRESCO_CHECK(is_contiguous(), "view: the tensor of shape {} is not contiguous; use reshape() or contiguous()",
               shape_str(this->shape()));
  shape = infer_shape(std::move(shape), numel(), this->shape(), "view");
  Tensor y = make_view(*this, shape, detail::contiguous_strides(shape), offset());
  return with_reshape_grad(y, *this, "view");
}

Tensor Tensor::reshape(Shape shape) const {
  detail::check_defined(*this, "reshape");
  shape = infer_shape(std::move(shape), numel(), this->shape(), "reshape");
  if (is_contiguous()) return view(shape);
  return contiguous().view(shape);
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  detail::check_defined(*this, "flatten");
  if (dim() == 0) return reshape({1});
  const int64_t s = detail::wrap_dim(start, dim(), "flatten"), e = detail::wrap_dim(end, dim(), "flatten");
  FRESCO_CHECK_SHAPE(s <= e, "flatten: start dim {} is after end dim {}", start, end);
  Shape out(shape().begin(), shape().begin() + s);
  int64_t merged = 1;
  for (int64_t d = s; d <= e; ++d) merged *= shape()[d];
  out.push_back(merged);
  out.insert(out.end(), shape().begin() + e + 1, shape().end());
  return reshape(out);
}

Tensor Tensor::permute(Shape dims) const {
  detail::check_defined(*this, "permute");
  FRESCO_CHECK_SHAPE(static_cast<int64_t>(dims.size()) == dim(), "permute: expected {} dims for shape {}, got {}", dim(),
                     shape_str(shape()), shape_str(dims));
  Shape seen(dim(), 0), shape_out(dim()), strides_out(dim()), inverse(dim());
  for (int64_t i = 0; i < dim(); ++i) {
    const int64_t d = detail::wrap_dim(dims[i], dim(), "permute");
    FRESCO_CHECK_SHAPE(!seen[d], "permute: dim {} repeated in {}", d, shape_str(dims));
    seen[d] = 1;
    shape_out[i] = shape()[d];
    strides_out[i] = strides()[d];
    inverse[d] = i;
  }
  Tensor y = make_view(*this, shape_out, strides_out, offset());
  if (needs_grad({this}))
    record(y, "permute", {*this}, [inverse](const Tensor& g) { return std::vector<Tensor>{g.permute(inverse)}; });
  return y;
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  detail::check_defined(*this, "transpose");
  const int64_t da = detail::wrap_dim(a, dim(), "transpose"), db = detail::wrap_dim(b, dim(), "transpose");
  Shape dims(dim());
  std::iota(dims.begin(), dims.end(), 0);
  if (dim() > 0) std::swap(dims[da], dims[db]);
  return permute(dims);
}

Tensor Tensor::slice(int64_t dim_in, int64_t start, int64_t end, int64_t step) const {
  detail::check_defined(*this, "slice");
  FRESCO_CHECK_SHAPE(dim() > 0, "slice: cannot slice a 0-d tensor");
  FRESCO_CHECK(step >= 1, "slice: step must be positive, got {}", step);
  const int64_t d = detail::wrap_dim(dim_in, dim(), "slice");
  const int64_t n = shape()[d];
  auto clampi = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  start = clampi(start);
  end = std::max(start, clampi(end));
  Shape s = shape(), st = strides();
  s[d] = (end - start + step - 1) / step;
  st[d] *= step;
  Tensor y = make_view(*this, s, st, offset() + start * strides()[d]);
  if (needs_grad({this}))
    record(y, "slice", {*this}, [in_shape = shape(), d, start, end, step](const Tensor& g) {
      return std::vector<Tensor>{slice_backward(g, in_shape, d, start, end, step)};
    });
  return y;
}

Tensor Tensor::unsqueeze(int64_t dim_in) const {
  detail::check_defined(*this, "unsqueeze");
  const int64_t d = detail::wrap_dim(dim_in, dim() + 1, "unsqueeze");
  Shape s = shape(), st = strides();
  const int64_t stride = d < dim() ? st[d] * s[d] : 1;
  s.insert(s.begin() + d, 1);
  st.insert(st.begin() + d, stride);
  return with_reshape_grad(make_view(*this, s, st, offset()), *this, "unsqueeze");
}

Tensor Tensor::squeeze(int64_t dim_in) const {
  detail::check_defined(*this, "squeeze");
  const int64_t d = detail::wrap_dim(dim_in, dim(), "squeeze");
  FRESCO_CHECK_SHAPE(dim() > 0 && shape()[d] == 1, "squeeze: dim {} of shape {} has size {}, expected 1", d,
                     shape_str(shape()), dim() > 0 ? shape()[d] : 0);
  Shape s = shape(), st = strides();
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  return with_reshape_grad(make_view(*this, s, st, offset()), *this, "squeeze");
}

Tensor Tensor::expand(Shape shape_out) const {
  detail::check_defined(*this, "expand");
  const int64_t lead = static_cast<int64_t>(shape_out.size()) - dim();
  FRESCO_CHECK_SHAPE(lead >= 0, "expand: cannot expand shape {} to fewer dims {}", shape_str(shape()), shape_str(shape_out));
  Shape st(shape_out.size(), 0);
  for (int64_t i = 0; i < dim(); ++i) {
    const int64_t o = i + lead;
    if (shape_out[o] == -1) shape_out[o] = shape()[i];
    FRESCO_CHECK_SHAPE(shape()[i] == shape_out[o] || shape()[i] == 1, "expand: cannot expand shape {} to {}",
                       shape_str(shape()), shape_str(shape_out));
    st[o] = shape()[i] == shape_out[o] ? strides()[i] : 0;
  }
  if (shape_out == shape()) return *this;
  Tensor y = make_view(*this, shape_out, st, offset());
  if (needs_grad({this}))
    record(y, "expand", {*this}, [in_shape = shape()](const Tensor& g) { return std::vector<Tensor>{sum_to(g, in_shape)}; });
  return y;
}

Tensor Tensor::contiguous() const {
  detail::check_defined(*this, "contiguous");
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  detail::check_defined(*this, "clone");
  FRESCO_PROFILE("copy");
  Tensor y = detail::make_tensor(shape());
  kernels::copy_strided(y.impl()->ptr(), impl()->ptr(), shape(), strides());
  if (needs_grad({this})) record(y, "clone", {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return y;
}

Tensor Tensor::detach() const {
  detail::check_defined(*this, "detach");
  return make_view(*this, shape(), strides(), offset());
}

}  // namespace fresco
