// SPDX-License-Identifier: Apache-2.0
#include "kernels/dnnl_context.hpp"

#include <array>
#include <cstdlib>
#include <new>

#include <fresco/error.hpp>

namespace fresco::kernels::dnnl_context {

dnnl::engine& engine() {
  // Function-local static: created once, thread-safe initialisation.
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

void* scratchpad(size_t bytes) {
  struct Buffer {
    void* data = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffer;
  if (bytes > buffer.size) {
    const size_t size = (bytes + 63) / 64 * 64;
    void* data = std::aligned_alloc(64, size);
    if (!data) throw std::bad_alloc();
    std::free(buffer.data);
    buffer.data = data;
    buffer.size = size;
  }
  return buffer.data;
}

void execute(const dnnl::primitive& primitive, std::initializer_list<Arg> args) {
  constexpr size_t kMaxArgs = 9;   // eight and the scratchpad
  FRESCO_ASSERT(args.size() < kMaxArgs, "dnnl execute: {} arguments", args.size());
  const dnnl_engine_t eng = engine().get();
  std::array<dnnl_exec_arg_t, kMaxArgs> exec_args{};
  int n = 0;
  dnnl_status_t status = dnnl_success;
  for (const Arg& a : args) {
    if (status != dnnl_success) break;
    status = dnnl_memory_create(&exec_args[n].memory, &a.desc->data, eng, const_cast<void*>(a.data));
    if (status == dnnl_success) exec_args[n++].arg = a.role;
  }
  // A primitive created with a user scratchpad reports its size here (zero with the
  // library's own); the library's is shared, so it must not run on several threads at once.
  bool has_scratchpad = false;
  for (int i = 0; i < n; ++i) has_scratchpad = has_scratchpad || exec_args[i].arg == DNNL_ARG_SCRATCHPAD;
  const_dnnl_primitive_desc_t pd = nullptr;
  if (status == dnnl_success && !has_scratchpad) status = dnnl_primitive_get_primitive_desc(primitive.get(), &pd);
  if (status == dnnl_success && !has_scratchpad) {
    const dnnl_memory_desc_t* md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    const size_t bytes = md ? dnnl_memory_desc_get_size(md) : 0;
    if (bytes > 0) {
      status = dnnl_memory_create(&exec_args[n].memory, md, eng, scratchpad(bytes));
      if (status == dnnl_success) exec_args[n++].arg = DNNL_ARG_SCRATCHPAD;
    }
  }
  if (status == dnnl_success) status = dnnl_primitive_execute(primitive.get(), stream().get(), n, exec_args.data());
  for (int i = 0; i < n; ++i) dnnl_memory_destroy(exec_args[i].memory);
  FRESCO_ASSERT(status == dnnl_success, "oneDNN primitive failed with status {}", static_cast<int>(status));
}

}  // namespace fresco::kernels::dnnl_context
