// SPDX-License-Identifier: Apache-2.0
// IDX files (http://yann.lecun.com/exdb/mnist/, "file formats") and gzip.
#include <algorithm>
#include <limits>

#include <zlib.h>

#include <fresco/data/fashion_mnist.hpp>
#include <fresco/error.hpp>

namespace fresco::data {
namespace {

constexpr size_t kMaxIdxDims = 8;

uint32_t read_u32_be(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

[[noreturn]] void bad_idx(const std::string& name, std::string_view problem) {
  throw IoError(fmt::format("{}: not a valid IDX file: {}", name, problem));
}

}  // namespace

IdxArray parse_idx(std::string_view bytes, const std::string& name) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4) bad_idx(name, fmt::format("it is {} bytes long, shorter than the 4-byte magic number", bytes.size()));
  IdxArray a;
  a.magic = read_u32_be(b);
  if (b[0] != 0 || b[1] != 0)
    bad_idx(name, fmt::format("magic number 0x{:08x} does not start with two zero bytes", a.magic));
  if (b[2] != 0x08)
    bad_idx(name, fmt::format("element type 0x{:02x} is not supported (only unsigned bytes, 0x08)", b[2]));
  const size_t nd = b[3];
  if (nd < 1 || nd > kMaxIdxDims) bad_idx(name, fmt::format("{} dimensions (expected 1..{})", nd, kMaxIdxDims));
  const size_t header = 4 + 4 * nd;
  if (bytes.size() < header)
    bad_idx(name, fmt::format("truncated: {} bytes, but the {} dimension sizes need {}", bytes.size(), nd, header));
  uint64_t count = 1;
  for (size_t d = 0; d < nd; ++d) {
    const uint32_t size = read_u32_be(b + 4 + 4 * d);
    a.dims.push_back(size);
    if (__builtin_mul_overflow(count, uint64_t{size}, &count))
      bad_idx(name, "the dimension sizes overflow");
  }
  const uint64_t available = bytes.size() - header;
  if (available < count)
    bad_idx(name, fmt::format("truncated: the dimensions call for {} bytes of data but only {} follow", count, available));
  if (available > count)
    bad_idx(name, fmt::format("{} unexpected bytes after the {} bytes of data", available - count, count));
  a.data.assign(b + header, b + header + count);
  return a;
}

std::string gunzip(std::string_view bytes, const std::string& name, uint64_t max_bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 2 || b[0] != 0x1f || b[1] != 0x8b)
    throw IoError(fmt::format("{}: not a gzip file (it does not start with the gzip signature 1f 8b)", name));
  if (bytes.size() > std::numeric_limits<uInt>::max())
    throw IoError(fmt::format("{}: the compressed file is too large ({} bytes)", name, bytes.size()));
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header and trailer (CRC-32 and length are checked).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw IoError(fmt::format("{}: cannot initialise zlib", name));
  struct Guard {
    z_stream* z;
    ~Guard() { inflateEnd(z); }
  } guard{&zs};
  zs.next_in = const_cast<Bytef*>(b);
  zs.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  constexpr size_t kChunk = size_t{1} << 20;
  for (;;) {
    if (out.size() >= max_bytes)
      throw IoError(fmt::format("{}: decompresses to more than the limit of {} bytes; the file is not what was "
                                "expected",
                                name, max_bytes));
    const size_t old = out.size();
    const size_t grow = static_cast<size_t>(std::min<uint64_t>(kChunk, max_bytes - old));
    out.resize(old + grow);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    zs.avail_out = static_cast<uInt>(grow);
    const int ret = inflate(&zs, Z_NO_FLUSH);
    out.resize(old + (grow - zs.avail_out));
    if (ret == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member may follow (as `cat a.gz b.gz`); anything else is garbage.
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      throw IoError(fmt::format("{}: {} bytes of garbage after the gzip data", name, zs.avail_in));
    }
    if (ret == Z_OK) continue;
    if (ret == Z_BUF_ERROR && zs.avail_out == 0) continue;  // output full: grow and go on
    if (ret == Z_BUF_ERROR) throw IoError(fmt::format("{}: the gzip data is truncated", name));
    throw IoError(fmt::format("{}: the gzip data is corrupt ({})", name, zs.msg ? zs.msg : zError(ret)));
  }
  return out;
}

}  // namespace fresco::data
