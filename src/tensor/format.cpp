// SPDX-License-Identifier: Apache-2.0
#include <fresco/tensor/format.hpp>

#include <cmath>

#include <fresco/autograd/autograd.hpp>

namespace fresco {
namespace {

constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdgeItems = 3;

// PyTorch's choice: integers print as "3.", otherwise 4 decimals, and
// scientific notation when the magnitudes span too much.
struct NumberStyle {
  bool integral = true;
  bool scientific = false;
  int width = 1;

  std::string format(float v) const {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (scientific) return fmt::format("{:.4e}", v);
    if (integral) return fmt::format("{:.0f}.", v);
    return fmt::format("{:.4f}", v);
  }
};

NumberStyle choose_style(const std::vector<float>& values) {
  NumberStyle s;
  float lo = INFINITY, hi = 0;
  for (float v : values) {
    if (!std::isfinite(v)) continue;
    if (v != std::nearbyint(v)) s.integral = false;
    const float a = std::fabs(v);
    if (a > 0) lo = std::min(lo, a);
    hi = std::max(hi, a);
  }
  if (hi >= 1e8f || (!s.integral && hi > 0 && (lo < 1e-4f || hi / lo > 1000.f))) s.scientific = true;
  for (float v : values) s.width = std::max<int>(s.width, static_cast<int>(s.format(v).size()));
  return s;
}

void render(std::string& out, const std::vector<float>& v, const Shape& shape, const Shape& strides, int64_t dim,
            int64_t offset, bool summarize, const NumberStyle& style, int indent) {
  const int64_t n = shape[dim];
  out += '[';
  for (int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
      out += dim + 1 == static_cast<int64_t>(shape.size()) ? "..., " : fmt::format("...,\n{:{}}", "", indent + 1);
      i = n - kEdgeItems;
    }
    if (dim + 1 == static_cast<int64_t>(shape.size())) {
      out += fmt::format("{:>{}}", style.format(v[offset + i * strides[dim]]), style.width);
    } else {
      render(out, v, shape, strides, dim + 1, offset + i * strides[dim], summarize, style, indent + 1);
    }
    if (i + 1 < n) {
      if (dim + 1 == static_cast<int64_t>(shape.size()))
        out += ", ";
      else
        out += fmt::format(",{}{:{}}", std::string(shape.size() - dim - 1, '\n'), "", indent + 1);
    }
  }
  out += ']';
}

Shape contiguous_strides_of(const Shape& shape) {
  Shape s(shape.size());
  int64_t st = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    s[d] = st;
    st *= shape[d];
  }
  return s;
}

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  const std::vector<float> v = t.to_vector();
  const Shape& shape = t.shape();
  const bool summarize = t.numel() > kSummarizeAbove;
  std::string out = "tensor(";
  if (shape.empty()) {
    out += choose_style(v).format(v[0]);
  } else if (t.numel() == 0) {
    out += "[]";
  } else {
    std::vector<float> shown;
    if (summarize) {  // style from the printed entries only, as PyTorch
      for (size_t i = 0; i < std::min<size_t>(v.size(), kEdgeItems); ++i) shown.push_back(v[i]);
      for (size_t i = v.size() - std::min<size_t>(v.size(), kEdgeItems); i < v.size(); ++i) shown.push_back(v[i]);
    }
    const NumberStyle style = choose_style(summarize ? shown : v);
    render(out, v, shape, contiguous_strides_of(shape), 0, 0, summarize, style, 7);
  }
  if (summarize || t.numel() == 0) out += fmt::format(", shape={}", shape_str(shape));
  const std::string fn = detail::grad_fn_name(t);
  if (!fn.empty())
    out += fmt::format(", grad_fn=<{}>", fn);
  else if (t.requires_grad())
    out += ", requires_grad=True";
  out += ')';
  return out;
}

}  // namespace fresco
