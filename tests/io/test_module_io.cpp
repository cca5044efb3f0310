// SPDX-License-Identifier: Apache-2.0
// Module and optimizer checkpoints: round trips reproduce outputs bit for
// bit; strict loading lists missing, unexpected and mismatched names.
#include "io/temp_dir.hpp"
#include "support/check.hpp"

using namespace fresco;

namespace {

struct SmallCnn : nn::Module {
  nn::Conv2d conv{1, 4, 3, {.stride = 1, .padding = 1}};
  nn::BatchNorm2d bn{4};
  nn::Linear head{4 * 2 * 2, 3};
  SmallCnn() {
    register_module("conv", conv);
    register_module("bn", bn);
    register_module("head", head);
  }
  Tensor forward(const Tensor& x) { return head(max_pool2d(relu(bn(conv(x))), {2, 2}, {2, 2}).flatten(1)); }
};

}  // namespace

TEST_CASE("io::save / io::load reproduce a model's outputs bit for bit", "[io][checkpoint]") {
  test::TempDir dir;
  manual_seed(50);
  SmallCnn a;
  Tensor x = randn({2, 1, 4, 4});
  a.forward(x);  // moves the BatchNorm running statistics away from their initial values
  a.eval();
  const auto expected = a.forward(x).to_vector();
  io::save(a, dir.file("cnn.safetensors"), {{"note", "test"}});
  auto stored = io::load_safetensors(dir.file("cnn.safetensors"));
  CHECK(stored.size() == 8);  // 6 parameters and 2 BatchNorm buffers
  CHECK(stored.count("bn.running_mean"));
  CHECK(stored.count("bn.running_var"));
  manual_seed(999);
  SmallCnn b;
  b.eval();
  CHECK(b.forward(x).to_vector() != expected);
  Tensor handle = b.conv.weight;  // loading writes in place: existing handles see the values
  io::load(b, dir.file("cnn.safetensors"));
  CHECK(b.forward(x).to_vector() == expected);
  CHECK(handle.to_vector() == a.conv.weight.to_vector());
  CHECK(b.bn.running_var.to_vector() == a.bn.running_var.to_vector());
}

TEST_CASE("io::load is strict: missing, unexpected and mismatched names with shapes", "[io][checkpoint]") {
  test::TempDir dir;
  nn::Linear fc(3, 2);
  std::map<std::string, Tensor> wrong{{"weight", zeros({2, 4})}, {"extra", zeros({5})}};
  io::save_safetensors(wrong, dir.file("wrong.safetensors"));
  const auto before = fc.weight.to_vector();
  try {
    io::load(fc, dir.file("wrong.safetensors"));
    FAIL("no error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK_THAT(msg, Catch::Contains("wrong.safetensors does not match the Linear"));
    CHECK_THAT(msg, Catch::Contains("missing: bias [2]"));
    CHECK_THAT(msg, Catch::Contains("unexpected: extra [5]"));
    CHECK_THAT(msg, Catch::Contains("mismatched: weight (expected [2, 3], found [2, 4])"));
  }
  CHECK(fc.weight.to_vector() == before);  // nothing changed
  CHECK_THROWS_AS(io::load(fc, dir.file("absent.safetensors")), IoError);
}

TEST_CASE("Optimizer state saved with io::save resumes identically", "[io][checkpoint]") {
  test::TempDir dir;
  manual_seed(51);
  nn::Linear m1(3, 2), m2(3, 2);
  io::save(m1, dir.file("m.safetensors"));
  io::load(m2, dir.file("m.safetensors"));
  Tensor x = randn({4, 3});
  optim::AdamW o1(m1.parameters(), {.lr = 0.01f});
  auto train_step = [&](nn::Linear& m, optim::Optimizer& o) {
    sum(m(x) * m(x)).backward();
    o.step();
    o.zero_grad();
  };
  for (int i = 0; i < 3; ++i) train_step(m1, o1);
  io::save(m1, dir.file("m.safetensors"));
  io::save(o1, dir.file("opt.safetensors"));
  for (int i = 0; i < 3; ++i) train_step(m1, o1);
  optim::AdamW o2(m2.parameters(), {.lr = 0.01f});
  io::load(m2, dir.file("m.safetensors"));
  io::load(o2, dir.file("opt.safetensors"));
  for (int i = 0; i < 3; ++i) train_step(m2, o2);
  CHECK(m2.weight.to_vector() == m1.weight.to_vector());
  CHECK(m2.bias.to_vector() == m1.bias.to_vector());
}

TEST_CASE("with_prefix and strip_prefix: several modules' states in one map", "[io][checkpoint]") {
  const std::map<std::string, Tensor> state{{"fc.weight", ones({2})}, {"fc.bias", zeros({1})}};
  const auto prefixed = io::with_prefix(state, "g.");
  REQUIRE(prefixed.size() == 2);
  CHECK(prefixed.count("g.fc.weight") == 1);
  CHECK(prefixed.at("g.fc.bias").is_set_to(state.at("fc.bias")));   // the same tensors, not copies
  auto both = prefixed;
  both.merge(io::with_prefix(state, "d."));
  const auto back = io::strip_prefix(both, "g.");
  REQUIRE(back.size() == 2);
  CHECK(back.at("fc.weight").is_set_to(state.at("fc.weight")));
  CHECK(io::strip_prefix(both, "x.").empty());
  CHECK(io::strip_prefix({{"g", ones({1})}, {"gfc", ones({1})}}, "g.").empty());   // a prefix, not a substring
}
