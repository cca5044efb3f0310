// SPDX-License-Identifier: Apache-2.0
// The module registry: names, dotted paths, train/eval and the summary.
#include <fresco/nn/module.hpp>

#include <cxxabi.h>

#include <cctype>
#include <cstdlib>
#include <typeinfo>
#include <unordered_set>

#include <fresco/error.hpp>

namespace fresco::nn {

Module::~Module() = default;

void Module::check_new_name(const std::string& name, const char* what) const {
  FRESCO_CHECK(!name.empty(), "{}: the name is empty (in a {})", what, type_name());
  FRESCO_CHECK(name.find('.') == std::string::npos, "{}: name '{}' contains '.', which separates path components",
               what, name);
  auto taken = [&](const auto& list) {
    for (const auto& [n, _] : list)
      if (n == name) return true;
    return false;
  };
  FRESCO_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_),
               "{}: name '{}' is already registered in this {}", what, name, type_name());
}

Tensor& Module::register_parameter(std::string name, Tensor t) {
  check_new_name(name, "register_parameter");
  FRESCO_CHECK(t.defined(), "register_parameter: parameter '{}' is an undefined tensor", name);
  // A parameter is a leaf of the graph: cut it from whatever produced it.
  if (!t.is_leaf()) t = t.detach();
  t.requires_grad_(true);
  parameters_.emplace_back(std::move(name), std::move(t));
  return parameters_.back().second;
}

Tensor& Module::register_buffer(std::string name, Tensor t) {
  check_new_name(name, "register_buffer");
  FRESCO_CHECK(t.defined(), "register_buffer: buffer '{}' is an undefined tensor", name);
  buffers_.emplace_back(std::move(name), std::move(t));
  return buffers_.back().second;
}

void Module::add_child(std::string name, Module* m) {
  check_new_name(name, "register_module");
  FRESCO_CHECK(m != this, "register_module: a module cannot be its own submodule ('{}')", name);
  children_.emplace_back(std::move(name), m);
}

std::vector<std::pair<std::string, Module*>> Module::children() const { return children_; }

namespace {

// Depth-first over the tree (own entries, then each child's), with dotted
// prefixes. Module trees are shallow, so an explicit stack buys nothing here.
template <class Get, class Visit>
void walk(const Module& m, const std::string& prefix, Get get, Visit& visit) {
  for (const auto& [name, t] : get(m)) visit(prefix + name, t);
  for (const auto& [name, child] : m.children()) walk(*child, prefix + name + ".", get, visit);
}

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::unordered_set<const void*> seen;
  auto visit = [&](std::string name, const Tensor& t) {
    if (seen.insert(t.impl().get()).second) out.emplace_back(std::move(name), t);
  };
  walk(*this, "", [](const Module& m) -> const auto& { return m.parameters_; }, visit);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::unordered_set<const void*> seen;
  auto visit = [&](std::string name, const Tensor& t) {
    if (seen.insert(t.impl().get()).second) out.emplace_back(std::move(name), t);
  };
  walk(*this, "", [](const Module& m) -> const auto& { return m.buffers_; }, visit);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

void Module::eval() { train(false); }

void Module::zero_grad() {
  for (auto& t : parameters()) t.zero_grad();
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& t : parameters()) n += t.numel();
  return n;
}

std::string Module::type_name() const {
  const char* mangled = typeid(*this).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  for (size_t at; (at = name.find("(anonymous namespace)::")) != std::string::npos;) name.erase(at, 23);
  // Drop namespaces, also inside template arguments: ModuleList<TransformerBlock>.
  std::string out;
  size_t word_start = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name.compare(i, 2, "::") == 0) {
      out.resize(word_start);
      ++i;
      continue;
    }
    out += name[i];
    if (!(std::isalnum(static_cast<unsigned char>(name[i])) || name[i] == '_')) word_start = out.size();
  }
  return out;
}

namespace {

void summary_lines(const Module& m, const std::string& name, int depth, std::string& out) {
  std::vector<std::string> own;
  for (const auto& [n, t] : m.named_parameters())
    if (n.find('.') == std::string::npos) own.push_back(n + " " + shape_str(t.shape()));
  std::vector<std::string> bufs;
  for (const auto& [n, t] : m.named_buffers())
    if (n.find('.') == std::string::npos) bufs.push_back(n + " " + shape_str(t.shape()));
  std::string head = std::string(2 * depth, ' ') + (name.empty() ? "" : name + ": ") + m.type_name();
  std::string line = fmt::format("{:<40} {:>12}", head, with_commas(m.num_parameters()));
  if (!own.empty()) line += "  " + fmt::format("{}", fmt::join(own, ", "));
  if (!bufs.empty()) line += "  buffers: " + fmt::format("{}", fmt::join(bufs, ", "));
  out += line + "\n";
  for (const auto& [n, child] : m.children()) summary_lines(*child, n, depth + 1, out);
}

}  // namespace

std::string Module::summary() const {
  std::string out;
  summary_lines(*this, "", 0, out);
  out += fmt::format("Total parameters: {}", with_commas(num_parameters()));
  return out;
}

}  // namespace fresco::nn
