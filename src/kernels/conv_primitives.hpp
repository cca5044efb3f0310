// SPDX-License-Identifier: Apache-2.0
#pragma once
// The oneDNN plumbing shared by the convolution kernels (conv.cpp) and the upsampling
// convolution's phase kernels (upsample_conv.cpp). Callers hold plain NCHW / OIHW memory,
// but each primitive picks its own layouts (format_tag::any), so operands are reordered
// into per-thread workspaces around the call, only when the layouts differ.
// Included only by those two files.

#include <cstddef>

#include "kernels/dnnl_context.hpp"

namespace fresco::kernels::conv_primitives {

using dnnl::memory;
using dnnl_context::Arg;

/// The same shape with the layout left to the primitive.
inline memory::desc any_layout(const memory::desc& d) {
  return memory::desc(d.dims(), d.data_type(), memory::format_tag::any);
}

/// One operand: its plain layout (the caller's), the primitive's, and the reorder between
/// them (plain -> primitive for inputs, primitive -> plain for outputs) when they differ.
struct Operand {
  memory::desc plain, inner;
  dnnl::reorder reorder;
  bool same = true;

  Operand() = default;
  Operand(const memory::desc& plain_desc, const memory::desc& inner_desc, bool is_input)
      : plain(plain_desc), inner(inner_desc), same(plain_desc == inner_desc) {
    if (same) return;
    const dnnl::engine& eng = dnnl_context::engine();
    const dnnl::primitive_attr attr = dnnl_context::user_scratchpad_attr();
    reorder = is_input ? dnnl::reorder(dnnl::reorder::primitive_desc(eng, plain, eng, inner, attr))
                       : dnnl::reorder(dnnl::reorder::primitive_desc(eng, inner, eng, plain, attr));
  }
};

/// Per-thread scratch buffers (64-byte aligned) that grow to the largest operand seen,
/// so reordered copies cost no allocation or page faults after the first call. Slots
/// 0..7, shared by both files: 0-2 the operands of one primitive call, 3-7 the
/// upsampling convolution's phase kernels, phase outputs and partial sums.
float* workspace(int slot, size_t bytes);

/// The pointer the primitive reads an input from: the caller's, or a reordered copy.
inline const void* stage_input(const Operand& op, const float* data, int slot) {
  if (op.same) return data;
  void* inner = workspace(slot, op.inner.get_size());
  dnnl_context::execute(op.reorder, {Arg{DNNL_ARG_FROM, &op.plain, data}, Arg{DNNL_ARG_TO, &op.inner, inner}});
  return inner;
}

/// The pointer the primitive writes an output to; finish_output copies it back if needed.
inline void* output_target(const Operand& op, float* data, int slot) {
  return op.same ? static_cast<void*>(data) : workspace(slot, op.inner.get_size());
}
inline void finish_output(const Operand& op, const void* inner, float* data) {
  if (!op.same)
    dnnl_context::execute(op.reorder, {Arg{DNNL_ARG_FROM, &op.inner, inner}, Arg{DNNL_ARG_TO, &op.plain, data}});
}

struct Forward {
  Operand x, w, y;
  memory::desc b;
  dnnl::convolution_forward prim;
};
struct BackwardData {
  Operand dy, w, dx;
  dnnl::convolution_backward_data prim;
};
struct BackwardWeights {
  Operand x, dy, dw;
  memory::desc db;
  dnnl::convolution_backward_weights prim;
};

/// Runs a primitive on operands already in its layouts (xi, wi, ... as staged above).
inline void run_forward(const Forward& f, const void* xi, const void* wi, const float* b, void* yi) {
  if (b)
    dnnl_context::execute(f.prim, {Arg{DNNL_ARG_SRC, &f.x.inner, xi}, Arg{DNNL_ARG_WEIGHTS, &f.w.inner, wi},
                                   Arg{DNNL_ARG_BIAS, &f.b, b}, Arg{DNNL_ARG_DST, &f.y.inner, yi}});
  else
    dnnl_context::execute(f.prim, {Arg{DNNL_ARG_SRC, &f.x.inner, xi}, Arg{DNNL_ARG_WEIGHTS, &f.w.inner, wi},
                                   Arg{DNNL_ARG_DST, &f.y.inner, yi}});
}

inline void run_backward_data(const BackwardData& bd, const void* dyi, const void* wi, void* dxi) {
  dnnl_context::execute(bd.prim, {Arg{DNNL_ARG_DIFF_DST, &bd.dy.inner, dyi}, Arg{DNNL_ARG_WEIGHTS, &bd.w.inner, wi},
                                  Arg{DNNL_ARG_DIFF_SRC, &bd.dx.inner, dxi}});
}

inline void run_backward_weights(const BackwardWeights& bw, const void* xi, const void* dyi, void* dwi, float* db) {
  if (db)
    dnnl_context::execute(bw.prim, {Arg{DNNL_ARG_SRC, &bw.x.inner, xi}, Arg{DNNL_ARG_DIFF_DST, &bw.dy.inner, dyi},
                                    Arg{DNNL_ARG_DIFF_WEIGHTS, &bw.dw.inner, dwi}, Arg{DNNL_ARG_DIFF_BIAS, &bw.db, db}});
  else
    dnnl_context::execute(bw.prim, {Arg{DNNL_ARG_SRC, &bw.x.inner, xi}, Arg{DNNL_ARG_DIFF_DST, &bw.dy.inner, dyi},
                                    Arg{DNNL_ARG_DIFF_WEIGHTS, &bw.dw.inner, dwi}});
}

}  // namespace fresco::kernels::conv_primitives
