// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Umbrella header: everything a program using fresco needs.
///
///     #include <fresco/fresco.hpp>
///     auto x = fresco::randn({4, 3}).requires_grad_();
///     fresco::sum(fresco::relu(x)).backward();

#include <fresco/autograd/autograd.hpp>
#include <fresco/data/dataset.hpp>
#include <fresco/data/fashion_mnist.hpp>
#include <fresco/data/image_folder.hpp>
#include <fresco/data/loader.hpp>
#include <fresco/data/registry.hpp>
#include <fresco/data/shapes.hpp>
#include <fresco/error.hpp>
#include <fresco/eval/classifier.hpp>
#include <fresco/eval/evaluate.hpp>
#include <fresco/eval/metrics.hpp>
#include <fresco/gan/captioned_images.hpp>
#include <fresco/gan/conditioning.hpp>
#include <fresco/gan/discriminator.hpp>
#include <fresco/gan/generator.hpp>
#include <fresco/gan/text_to_image.hpp>
#include <fresco/gan/trainer.hpp>
#include <fresco/io/checkpoint.hpp>
#include <fresco/io/file.hpp>
#include <fresco/io/gif.hpp>
#include <fresco/io/image.hpp>
#include <fresco/io/safetensors.hpp>
#include <fresco/nn/activation.hpp>
#include <fresco/nn/attention.hpp>
#include <fresco/nn/conv.hpp>
#include <fresco/nn/dropout.hpp>
#include <fresco/nn/embedding.hpp>
#include <fresco/nn/linear.hpp>
#include <fresco/nn/module.hpp>
#include <fresco/nn/mode_guard.hpp>
#include <fresco/nn/module_list.hpp>
#include <fresco/nn/norm.hpp>
#include <fresco/nn/pool.hpp>
#include <fresco/nn/positional.hpp>
#include <fresco/nn/sequential.hpp>
#include <fresco/nn/transformer.hpp>
#include <fresco/ops/attention.hpp>
#include <fresco/ops/conv.hpp>
#include <fresco/ops/elementwise.hpp>
#include <fresco/ops/loss.hpp>
#include <fresco/ops/matmul.hpp>
#include <fresco/ops/nn.hpp>
#include <fresco/ops/reduce.hpp>
#include <fresco/ops/shape.hpp>
#include <fresco/optim/adam.hpp>
#include <fresco/optim/optimizer.hpp>
#include <fresco/optim/schedule.hpp>
#include <fresco/optim/sgd.hpp>
#include <fresco/progress.hpp>
#include <fresco/tensor/format.hpp>
#include <fresco/tensor/profiler.hpp>
#include <fresco/tensor/random.hpp>
#include <fresco/tensor/tensor.hpp>
#include <fresco/text/gpt.hpp>
#include <fresco/text/pretrain.hpp>
#include <fresco/text/tokenizer.hpp>
#include <fresco/version.hpp>
