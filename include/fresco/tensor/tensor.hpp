// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `fresco::Tensor`: an n-dimensional float32 array with reverse-mode autograd.
///
/// **A Tensor is a cheap handle: copying a Tensor shares its data (and its
/// gradient); `clone()` copies the data.** Views (`reshape` of a contiguous
/// tensor, `view`, `permute`, `transpose`, `slice`) share storage with the
/// tensor they came from and copy nothing.
///
/// Layout: a tensor is `shape` (sizes per dimension), `strides` (elements to
/// step per dimension) and `offset` (elements from the start of its storage)
/// over a shared, 64-byte-aligned block of floats. A tensor is contiguous
/// when its strides are the row-major strides of its shape.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fresco {

/// Element type. Only float32 today; more may follow.
enum class DType { f32 };

/// Sizes per dimension, outermost first (NCHW for images).
using Shape = std::vector<int64_t>;

/// Options of `Tensor::backward(grad, options)` and `fresco::grad`.
struct BackwardOptions {
  /// Keep the graph after the backward pass so that it can be run again.
  bool retain_graph = false;
  /// Record the backward pass itself, so that the gradients it produces can
  /// be differentiated again (gradient penalties). Implies retain_graph.
  bool create_graph = false;
};

namespace detail {
struct TensorImpl;
}

/// An n-dimensional float32 array that can take part in autograd.
///
///     fresco::Tensor x = fresco::randn({2, 3}).requires_grad_();
///     fresco::sum(x * x).backward();   // x.grad() == 2 * x
class Tensor {
public:
  /// An undefined tensor: `defined() == false`. Used for "no tensor" (an absent bias, no mask).
  Tensor();
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl);

  /// True unless default-constructed.
  bool defined() const;

  const Shape& shape() const;
  /// Elements to step per dimension.
  const Shape& strides() const;
  /// Number of dimensions.
  int64_t dim() const;
  /// Size of dimension `d`; negative `d` counts from the end.
  int64_t size(int64_t d) const;
  /// Stride of dimension `d`; negative `d` counts from the end.
  int64_t stride(int64_t d) const;
  /// Offset of the first element in the storage, in elements.
  int64_t offset() const;
  /// Product of the sizes (1 for a 0-d tensor).
  int64_t numel() const;
  DType dtype() const;
  bool is_contiguous() const;
  /// True when both tensors are the same elements: the same handle, or views of one storage
  /// with the same offset, shape and strides (as torch.Tensor.is_set_to). Two undefined
  /// tensors are; an undefined and a defined one are not.
  bool is_set_to(const Tensor& other) const;

  /// Pointer to the first element. Contiguous tensors only (throws otherwise):
  /// call `contiguous()` first when unsure.
  float* data();
  const float* data() const;
  /// The value of a one-element tensor (any shape with numel() == 1).
  float item() const;
  /// The elements in row-major order (works for any strides).
  std::vector<float> to_vector() const;

  /// Same data, new shape (one size may be -1). A view when the strides
  /// allow it, otherwise a copy, as torch.reshape.
  Tensor reshape(Shape shape) const;
  /// Same data, new shape; throws unless the tensor is contiguous.
  Tensor view(Shape shape) const;
  /// Reorders dimensions: result dim i is input dim dims[i]. A view.
  Tensor permute(Shape dims) const;
  /// Swaps dimensions a and b. A view.
  Tensor transpose(int64_t a, int64_t b) const;
  /// Elements start, start+step, ... < end along `dim` (end is clamped, negatives count from the end). A view.
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  /// Inserts a dimension of size 1 at `dim`. A view.
  Tensor unsqueeze(int64_t dim) const;
  /// Removes dimension `dim`, which must have size 1. A view.
  Tensor squeeze(int64_t dim) const;
  /// Broadcasts to `shape` (size-1 dims stretched with stride 0, new dims in front). A view.
  Tensor expand(Shape shape) const;
  /// Merges dims start..end (inclusive) into one: [N,C,H,W].flatten(1) -> [N, C*H*W].
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;
  /// This tensor if contiguous, otherwise a contiguous copy.
  Tensor contiguous() const;
  /// A contiguous copy of the data; stays in the graph (gradients flow back).
  Tensor clone() const;
  /// Same data, cut from the graph: requires_grad() == false.
  Tensor detach() const;

  /// True for a leaf that asked for gradients, and for any result computed from one.
  bool requires_grad() const;
  /// Marks a leaf tensor as wanting gradients (throws for a non-leaf).
  Tensor& requires_grad_(bool on = true);
  /// True when the tensor was not produced by a recorded operation.
  bool is_leaf() const;
  /// The accumulated gradient; undefined until a backward pass reached this tensor.
  Tensor grad() const;
  /// Replaces the accumulated gradient (undefined clears it).
  void set_grad(const Tensor& g);
  /// Drops the accumulated gradient (the next backward starts from zero).
  void zero_grad();
  /// d(self)/d(leaves) for a one-element tensor: seeds d(self) = 1.
  void backward() const;
  /// Backward pass seeded with `grad_output` (same shape as this tensor).
  void backward(const Tensor& grad_output, BackwardOptions options = {}) const;

  /// The implementation object (for the library's own code).
  const std::shared_ptr<detail::TensorImpl>& impl() const { return impl_; }

private:
  std::shared_ptr<detail::TensorImpl> impl_;
};

/// Gradients of `outputs` with respect to `inputs`, returned rather than
/// accumulated into `.grad()`, as torch.autograd.grad. `grad_outputs`
/// defaults to ones for one-element outputs. With `create_graph` the results
/// are differentiable. An input the outputs do not depend on gets zeros.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, BackwardOptions options = {});

// ---- creation -------------------------------------------------------------

/// A tensor holding `values` (row-major) with `shape`; sizes must multiply to values.size().
Tensor tensor(std::vector<float> values, Shape shape);
/// A 0-d tensor holding `value`.
Tensor scalar_tensor(float value);
/// Uninitialised contiguous tensor (the library's own code fills it at once).
Tensor empty(Shape shape);
Tensor zeros(Shape shape);
Tensor ones(Shape shape);
Tensor full(Shape shape, float value);
/// [0, 1, ..., n-1] as floats, shape [n].
Tensor arange(int64_t n);
/// Standard normal samples from the global generator (see manual_seed).
Tensor randn(Shape shape);
/// Uniform samples in [0, 1) from the global generator.
Tensor rand(Shape shape);
/// Uniform samples in [low, high) from the global generator.
Tensor uniform(Shape shape, float low, float high);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor empty_like(const Tensor& t);

/// Seeds the global generator behind randn/rand/dropout/initialisation, so
/// that a program is repeatable run after run.
void manual_seed(uint64_t seed);

/// Sets the threads used by OpenMP loops and oneDNN primitives.
void set_num_threads(int n);
/// The threads in use (the machine's cores unless set).
int num_threads();

/// Number of elements of a shape (1 for []).
int64_t shape_numel(const Shape& shape);
/// "[2, 3, 4]".
std::string shape_str(const Shape& shape);

}  // namespace fresco
