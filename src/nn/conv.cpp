// SPDX-License-Identifier: Apache-2.0
#include <fresco/nn/conv.hpp>

#include <fresco/error.hpp>
#include <fresco/nn/init.hpp>
#include <fresco/ops/conv.hpp>


namespace fresco::nn {

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, Conv2dOptions options)
    : in_(in), out_(out), kernel_(kernel), options_(options) {
  FRESCO_CHECK(in > 0 && out > 0 && kernel > 0, "Conv2d: in, out and kernel must be positive, got {}, {}, {}", in, out,
               kernel);
  FRESCO_CHECK(options.stride > 0, "Conv2d: stride must be positive, got {}", options.stride);
  FRESCO_CHECK(options.padding >= 0, "Conv2d: padding must be >= 0, got {}", options.padding);
  FRESCO_CHECK(options.dilation > 0, "Conv2d: dilation must be positive, got {}", options.dilation);
  FRESCO_CHECK(options.groups > 0 && in % options.groups == 0 && out % options.groups == 0,
               "Conv2d: groups must be positive and divide in ({}) and out ({}), got {}", in, out, options.groups);
  const int64_t fan_in = in / options.groups * kernel * kernel;
  const float bound = init::default_bound(fan_in);
  weight = register_parameter("weight", init::uniform({out, in / options.groups, kernel, kernel}, bound));
  if (options.bias) bias = register_parameter("bias", init::uniform({out}, bound));
}

Tensor Conv2d::forward(const Tensor& x) const {
  FRESCO_CHECK(x.defined(), "Conv2d: the input is undefined");
  FRESCO_CHECK_SHAPE(x.dim() == 4 && x.size(1) == in_, "Conv2d: expected input [N, {}, H, W], got {}", in_,
                     shape_str(x.shape()));
  const int64_t span = options_.dilation * (kernel_ - 1) + 1;
  FRESCO_CHECK_SHAPE(x.size(2) + 2 * options_.padding >= span && x.size(3) + 2 * options_.padding >= span,
                     "Conv2d: input {} with padding {} is smaller than the (dilated) kernel {}x{}",
                     shape_str(x.shape()), options_.padding, span, span);
  Conv2dParams p;
  p.stride = {options_.stride, options_.stride};
  p.padding = {options_.padding, options_.padding};
  p.dilation = {options_.dilation, options_.dilation};
  p.groups = options_.groups;
  return conv2d(x, weight, bias, p);
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, int64_t kernel, ConvTranspose2dOptions options)
    : in_(in), out_(out), kernel_(kernel), options_(options) {
  FRESCO_CHECK(in > 0 && out > 0 && kernel > 0, "ConvTranspose2d: in, out and kernel must be positive, got {}, {}, {}",
               in, out, kernel);
  FRESCO_CHECK(options.stride > 0, "ConvTranspose2d: stride must be positive, got {}", options.stride);
  FRESCO_CHECK(options.padding >= 0, "ConvTranspose2d: padding must be >= 0, got {}", options.padding);
  FRESCO_CHECK(options.output_padding >= 0 && options.output_padding < options.stride,
               "ConvTranspose2d: output_padding must be in [0, stride = {}), got {}", options.stride,
               options.output_padding);
  // PyTorch computes fan_in from weight.size(1) · k · k, which for the
  // transposed layout [in, out, k, k] is out · k · k.
  const float bound = init::default_bound(out * kernel * kernel);
  weight = register_parameter("weight", init::uniform({in, out, kernel, kernel}, bound));
  if (options.bias) bias = register_parameter("bias", init::uniform({out}, bound));
}

Tensor ConvTranspose2d::forward(const Tensor& x) const {
  FRESCO_CHECK(x.defined(), "ConvTranspose2d: the input is undefined");
  FRESCO_CHECK_SHAPE(x.dim() == 4 && x.size(1) == in_, "ConvTranspose2d: expected input [N, {}, H, W], got {}", in_,
                     shape_str(x.shape()));
  const int64_t oh = (x.size(2) - 1) * options_.stride - 2 * options_.padding + kernel_ + options_.output_padding;
  const int64_t ow = (x.size(3) - 1) * options_.stride - 2 * options_.padding + kernel_ + options_.output_padding;
  FRESCO_CHECK_SHAPE(oh > 0 && ow > 0, "ConvTranspose2d: input {} gives an empty output ({}x{}) with padding {}",
                     shape_str(x.shape()), oh, ow, options_.padding);
  Conv2dParams p;
  p.stride = {options_.stride, options_.stride};
  p.padding = {options_.padding, options_.padding};
  p.output_padding = {options_.output_padding, options_.output_padding};
  return conv_transpose2d(x, weight, bias, p);
}

}  // namespace fresco::nn
