// SPDX-License-Identifier: Apache-2.0
// The Tensor handle: accessors, autograd state, creation functions.
// View-making members (reshape, permute, ...) are differentiable ops and
// live in src/ops/view.cpp.
#include <fresco/tensor/tensor.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

#include <fresco/autograd/autograd.hpp>
#include <fresco/error.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/tensor/random.hpp>

#include "autograd/engine.hpp"
#include "kernels/parallel.hpp"
#include "kernels/strided.hpp"
#include "tensor/tensor_impl.hpp"

namespace fresco {

namespace detail {

void assert_fail(const char* expr, const char* file, int line, const std::string& msg) {
  throw Error(fmt::format("internal error: {} failed at {}:{}{}{}", expr, file, line, msg.empty() ? "" : ": ", msg));
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    strides[d] = s;
    s *= std::max<int64_t>(shape[d], 1);
  }
  return strides;
}

Tensor make_tensor(const Shape& shape) {
  for (int64_t s : shape) FRESCO_CHECK_SHAPE(s >= 0, "tensor: sizes must be non-negative, got {}", shape_str(shape));
  // The product of the sizes (empty dimensions count as 1, as the strides do) must fit in
  // bytes: a size read from a file could otherwise wrap around to a small allocation.
  int64_t span = 1;
  for (int64_t s : shape)
    FRESCO_CHECK_SHAPE(!__builtin_mul_overflow(span, std::max<int64_t>(s, 1), &span) &&
                           span <= std::numeric_limits<int64_t>::max() / 8,
                       "tensor: the shape {} has too many elements", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(shape_numel(shape));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  return Tensor(std::move(impl));
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  const int64_t n = std::max<int64_t>(ndim, 1);
  FRESCO_CHECK_SHAPE(dim >= -n && dim < n, "{}: dim {} is out of range for a tensor with {} dims", op, dim, ndim);
  return dim < 0 ? dim + n : dim;
}

}  // namespace detail

using detail::TensorImpl;

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

std::string shape_str(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

Tensor::Tensor() = default;
Tensor::Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

bool Tensor::defined() const { return impl_ != nullptr; }

#define FRESCO_NEED_DEFINED(what) FRESCO_CHECK(impl_, "{}: the tensor is undefined (default-constructed)", what)

const Shape& Tensor::shape() const {
  FRESCO_NEED_DEFINED("shape");
  return impl_->shape;
}
const Shape& Tensor::strides() const {
  FRESCO_NEED_DEFINED("strides");
  return impl_->strides;
}
int64_t Tensor::dim() const { return static_cast<int64_t>(shape().size()); }
int64_t Tensor::size(int64_t d) const {
  FRESCO_CHECK_SHAPE(dim() > 0, "size: a 0-d tensor has no dim {}", d);
  return impl_->shape[detail::wrap_dim(d, dim(), "size")];
}
int64_t Tensor::stride(int64_t d) const {
  FRESCO_CHECK_SHAPE(dim() > 0, "stride: a 0-d tensor has no dim {}", d);
  return impl_->strides[detail::wrap_dim(d, dim(), "stride")];
}
int64_t Tensor::offset() const {
  FRESCO_NEED_DEFINED("offset");
  return impl_->offset;
}
int64_t Tensor::numel() const { return shape_numel(shape()); }
bool Tensor::is_set_to(const Tensor& other) const {
  if (impl_ == other.impl_) return true;
  if (!impl_ || !other.impl_) return false;
  return impl_->storage == other.impl_->storage && impl_->offset == other.impl_->offset &&
         impl_->shape == other.impl_->shape && impl_->strides == other.impl_->strides;
}
DType Tensor::dtype() const { return DType::f32; }

bool Tensor::is_contiguous() const {
  FRESCO_NEED_DEFINED("is_contiguous");
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (impl_->shape[d] == 1) continue;
    if (impl_->strides[d] != expected) return false;
    expected *= impl_->shape[d];
  }
  return true;
}

float* Tensor::data() {
  FRESCO_NEED_DEFINED("data");
  FRESCO_CHECK(is_contiguous(), "data: the tensor of shape {} with strides {} is not contiguous; call contiguous() first",
               shape_str(impl_->shape), shape_str(impl_->strides));
  return impl_->ptr();
}
const float* Tensor::data() const { return const_cast<Tensor*>(this)->data(); }

float Tensor::item() const {
  FRESCO_CHECK(numel() == 1, "item: expected a tensor with one element, got shape {}", shape_str(shape()));
  return *impl_->ptr();
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> out(numel());
  if (out.empty()) return out;
  if (is_contiguous())
    std::memcpy(out.data(), impl_->ptr(), out.size() * sizeof(float));
  else
    kernels::copy_strided(out.data(), impl_->ptr(), impl_->shape, impl_->strides);
  return out;
}

bool Tensor::requires_grad() const {
  FRESCO_NEED_DEFINED("requires_grad");
  return impl_->requires_grad || impl_->grad_fn != nullptr;
}

Tensor& Tensor::requires_grad_(bool on) {
  FRESCO_NEED_DEFINED("requires_grad_");
  FRESCO_CHECK(impl_->grad_fn == nullptr,
               "requires_grad_: only leaf tensors can be marked; this one was produced by {} (use detach() first)",
               impl_->grad_fn->name);
  impl_->requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const {
  FRESCO_NEED_DEFINED("is_leaf");
  return impl_->grad_fn == nullptr;
}

Tensor Tensor::grad() const {
  FRESCO_NEED_DEFINED("grad");
  return impl_->grad;
}

void Tensor::set_grad(const Tensor& g) {
  FRESCO_NEED_DEFINED("set_grad");
  if (g.defined())
    FRESCO_CHECK_SHAPE(g.shape() == shape(), "set_grad: expected a gradient of shape {}, got {}", shape_str(shape()),
                       shape_str(g.shape()));
  impl_->grad = g;
}

void Tensor::zero_grad() {
  FRESCO_NEED_DEFINED("zero_grad");
  impl_->grad = Tensor();
}

void Tensor::backward() const {
  FRESCO_NEED_DEFINED("backward");
  FRESCO_CHECK(numel() == 1,
               "backward: without a gradient argument the tensor must have one element, got shape {}; "
               "pass backward(grad_output)",
               shape_str(shape()));
  backward(ones(shape()));
}

void Tensor::backward(const Tensor& grad_output, BackwardOptions options) const {
  FRESCO_NEED_DEFINED("backward");
  detail::run_backward({*this}, {grad_output}, options, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, BackwardOptions options) {
  FRESCO_CHECK(!outputs.empty(), "grad: expected at least one output");
  std::vector<Tensor> seeds = grad_outputs;
  if (seeds.empty()) {
    for (const Tensor& o : outputs) {
      FRESCO_CHECK(o.numel() == 1, "grad: grad_outputs are needed for an output of shape {}", shape_str(o.shape()));
      seeds.push_back(ones(o.shape()));
    }
  }
  FRESCO_CHECK(seeds.size() == outputs.size(), "grad: {} outputs but {} grad_outputs", outputs.size(), seeds.size());
  for (const Tensor& in : inputs)
    FRESCO_CHECK(in.defined() && in.requires_grad(), "grad: every input must require a gradient");
  std::vector<Tensor> result = inputs;
  detail::run_backward(outputs, seeds, options, &result);
  for (size_t i = 0; i < result.size(); ++i)
    if (!result[i].defined()) result[i] = zeros(inputs[i].shape());
  return result;
}

// ---- creation -------------------------------------------------------------

Tensor tensor(std::vector<float> values, Shape shape) {
  FRESCO_CHECK_SHAPE(shape_numel(shape) == static_cast<int64_t>(values.size()),
                     "tensor: shape {} holds {} elements but {} values were given", shape_str(shape), shape_numel(shape),
                     values.size());
  Tensor t = detail::make_tensor(shape);
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor scalar_tensor(float value) { return full({}, value); }
Tensor empty(Shape shape) { return detail::make_tensor(shape); }

Tensor full(Shape shape, float value) {
  Tensor t = detail::make_tensor(shape);
  float* p = t.data();
  kernels::parallel_for(t.numel(), 1 << 16, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, value); });
  return t;
}
Tensor zeros(Shape shape) { return full(std::move(shape), 0.f); }
Tensor ones(Shape shape) { return full(std::move(shape), 1.f); }

Tensor arange(int64_t n) {
  FRESCO_CHECK(n >= 0, "arange: expected n >= 0, got {}", n);
  Tensor t = detail::make_tensor({n});
  for (int64_t i = 0; i < n; ++i) t.data()[i] = static_cast<float>(i);
  return t;
}

// Sampling is sequential on purpose: one stream from one generator is what
// makes manual_seed repeatable whatever the thread count.
Tensor randn(Shape shape) {
  Tensor t = detail::make_tensor(shape);
  Generator& g = default_generator();
  float* p = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = g.normal();
  return t;
}

Tensor uniform(Shape shape, float low, float high) {
  Tensor t = detail::make_tensor(shape);
  Generator& g = default_generator();
  float* p = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = low + (high - low) * g.uniform();
  return t;
}
Tensor rand(Shape shape) { return uniform(std::move(shape), 0.f, 1.f); }

Tensor zeros_like(const Tensor& t) { return zeros(t.shape()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape()); }
Tensor empty_like(const Tensor& t) { return empty(t.shape()); }

void manual_seed(uint64_t seed) { default_generator().seed_(seed); }

void set_num_threads(int n) {
  FRESCO_CHECK(n >= 1, "set_num_threads: expected at least 1 thread, got {}", n);
  kernels::set_threads(n);
}
int num_threads() { return kernels::threads(); }

}  // namespace fresco
