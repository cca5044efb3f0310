// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/pool.hpp>

#include <fresco/error.hpp>
#include <fresco/ops/conv.hpp>

namespace fresco::nn {

namespace {

void check_pool_input(const Tensor& x, int64_t kernel, const char* name) {
  FRESCO_CHECK(x.defined(), "{}: the input is undefined", name);
  FRESCO_CHECK_SHAPE(x.dim() == 4, "{}: expected input [N, C, H, W], got {}", name, shape_str(x.shape()));
  FRESCO_CHECK_SHAPE(x.size(2) >= kernel && x.size(3) >= kernel, "{}: input {} is smaller than the {}x{} window",
                     name, shape_str(x.shape()), kernel, kernel);
}

}  // namespace

MaxPool2d::MaxPool2d(int64_t kernel, int64_t stride) : kernel_(kernel), stride_(stride == 0 ? kernel : stride) {
  FRESCO_CHECK(kernel > 0, "MaxPool2d: kernel must be positive, got {}", kernel);
  FRESCO_CHECK(stride >= 0, "MaxPool2d: stride must be positive (or 0 for the kernel size), got {}", stride);
}

Tensor MaxPool2d::forward(const Tensor& x) const {
  check_pool_input(x, kernel_, "MaxPool2d");
  return max_pool2d(x, {kernel_, kernel_}, {stride_, stride_});
}

AvgPool2d::AvgPool2d(int64_t kernel, int64_t stride) : kernel_(kernel), stride_(stride == 0 ? kernel : stride) {
  FRESCO_CHECK(kernel > 0, "AvgPool2d: kernel must be positive, got {}", kernel);
  FRESCO_CHECK(stride >= 0, "AvgPool2d: stride must be positive (or 0 for the kernel size), got {}", stride);
}

Tensor AvgPool2d::forward(const Tensor& x) const {
  check_pool_input(x, kernel_, "AvgPool2d");
  return avg_pool2d(x, {kernel_, kernel_}, {stride_, stride_});
}

Upsample::Upsample(int64_t scale_factor) : scale_(scale_factor) {
  FRESCO_CHECK(scale_factor > 0, "Upsample: scale_factor must be positive, got {}", scale_factor);
}

Tensor Upsample::forward(const Tensor& x) const {
  FRESCO_CHECK(x.defined(), "Upsample: the input is undefined");
  FRESCO_CHECK_SHAPE(x.dim() == 4, "Upsample: expected input [N, C, H, W], got {}", shape_str(x.shape()));
  return upsample_nearest2d(x, scale_);
}

}  // namespace fresco::nn
