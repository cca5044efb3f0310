// SPDX-License-Identifier: Apache-2.0
// Module registry: dotted names, counts, train/eval, zero_grad, summary, errors.
#include "support/check.hpp"

using namespace fresco;

namespace {

struct Block : nn::Module {
  nn::Linear fc{3, 4};
  nn::BatchNorm2d bn{2};
  Tensor scale;
  Block() {
    scale = register_parameter("scale", ones({2}));
    register_module("fc", fc);
    register_module("bn", bn);
  }
};

struct Net : nn::Module {
  nn::Embedding embed{10, 3};
  nn::ModuleList<Block> blocks;
  nn::Linear head{3, 2, false};
  Net() {
    register_module("embed", embed);
    register_module("blocks", blocks);
    blocks.emplace_back();
    blocks.emplace_back();
    register_module("head", head);
  }
};

struct BadNames : nn::Module {
  void dup() {
    register_parameter("w", zeros({1}));
    register_parameter("w", zeros({1}));
  }
  void dotted() { register_parameter("a.b", zeros({1})); }
};

struct Tied : nn::Module {
  nn::Embedding embed{5, 2};
  Tensor head;
  Tied() {
    register_module("embed", embed);
    head = register_parameter("head", embed.weight);
  }
};

struct Mode : nn::Module {
  int calls = 0;
  void train(bool on) override {
    ++calls;
    nn::Module::train(on);
  }
};

}  // namespace

TEST_CASE("named_parameters gives dotted paths in registration order", "[nn][module]") {
  Net net;
  std::vector<std::string> names;
  for (auto& [n, t] : net.named_parameters()) names.push_back(n);
  const std::vector<std::string> expected{"embed.weight",       "blocks.0.scale", "blocks.0.fc.weight",
                                          "blocks.0.fc.bias",   "blocks.0.bn.weight", "blocks.0.bn.bias",
                                          "blocks.1.scale",     "blocks.1.fc.weight", "blocks.1.fc.bias",
                                          "blocks.1.bn.weight", "blocks.1.bn.bias",   "head.weight"};
  CHECK(names == expected);
  std::vector<std::string> buffers;
  for (auto& [n, t] : net.named_buffers()) buffers.push_back(n);
  CHECK(buffers == std::vector<std::string>{"blocks.0.bn.running_mean", "blocks.0.bn.running_var",
                                            "blocks.1.bn.running_mean", "blocks.1.bn.running_var"});
  // 30 + 2 * (2 + 12 + 4 + 2 + 2) + 6
  CHECK(net.num_parameters() == 30 + 2 * (2 + 16 + 4) + 6);
  CHECK(net.parameters().size() == 12);
  for (auto& p : net.parameters()) CHECK(p.requires_grad());
  for (auto& [n, b] : net.named_buffers()) CHECK_FALSE(b.requires_grad());
  // The registry hands out the members themselves: same storage.
  CHECK(net.named_parameters()[2].second.impl() == net.blocks[0].fc.weight.impl());
}

TEST_CASE("train and eval reach every submodule", "[nn][module]") {
  Net net;
  CHECK(net.is_training());
  net.eval();
  CHECK_FALSE(net.is_training());
  CHECK_FALSE(net.blocks.is_training());
  CHECK_FALSE(net.blocks[1].bn.is_training());
  CHECK_FALSE(net.blocks[1].fc.is_training());
  net.train();
  CHECK(net.blocks[0].bn.is_training());
  Mode m;
  struct Outer : nn::Module {
    Mode& inner;
    explicit Outer(Mode& i) : inner(i) { register_module("inner", inner); }
  } outer(m);
  outer.eval();
  CHECK(m.calls == 1);  // the override is reached through the virtual
  CHECK_FALSE(m.is_training());
}

TEST_CASE("zero_grad drops every gradient", "[nn][module]") {
  nn::Linear fc(3, 2);
  sum(fc(ones({4, 3}))).backward();
  REQUIRE(fc.weight.grad().defined());
  REQUIRE(fc.bias.grad().defined());
  CHECK(fc.bias.grad().to_vector() == std::vector<float>{4, 4});
  fc.zero_grad();
  CHECK_FALSE(fc.weight.grad().defined());
  CHECK_FALSE(fc.bias.grad().defined());
}

TEST_CASE("tied parameters are listed and counted once", "[nn][module]") {
  Tied t;
  REQUIRE(t.named_parameters().size() == 1);
  CHECK(t.named_parameters()[0].first == "head");  // own parameters come first, as PyTorch
  CHECK(t.num_parameters() == 10);
}

TEST_CASE("registration errors name the problem", "[nn][module]") {
  BadNames b;
  CHECK_THROWS_WITH(b.dup(), Catch::Contains("'w' is already registered"));
  CHECK_THROWS_WITH(b.dotted(), Catch::Contains("contains '.'"));
  nn::ModuleList<nn::Linear> list;
  CHECK_THROWS_WITH(list[0], Catch::Contains("index 0 out of range"));
}

TEST_CASE("summary shows the tree, shapes, counts and total", "[nn][module]") {
  Net net;
  const std::string s = fmt::format("{}", net);
  CHECK(s == net.summary());
  INFO(s);
  CHECK_THAT(s, Catch::StartsWith("Net"));
  CHECK_THAT(s, Catch::Contains("  embed: Embedding"));
  CHECK_THAT(s, Catch::Contains("weight [10, 3]"));
  CHECK_THAT(s, Catch::Contains("blocks: ModuleList<Block>"));
  CHECK_THAT(s, Catch::Contains("      fc: Linear"));
  CHECK_THAT(s, Catch::Contains("weight [4, 3], bias [4]"));
  CHECK_THAT(s, Catch::Contains("buffers: running_mean [2], running_var [2]"));
  CHECK_THAT(s, Catch::Contains("Total parameters: 80"));
  nn::Linear big(1000, 1000);
  CHECK_THAT(big.summary(), Catch::EndsWith("Total parameters: 1,001,000"));
  CHECK(fmt::format("{}", big) == big.summary());
}

TEST_CASE("Sequential runs its stages in order and numbers them", "[nn][module]") {
  manual_seed(3);
  nn::Sequential seq;
  auto& fc1 = seq.emplace_back<nn::Linear>(3, 4);
  seq.emplace_back<nn::ReLU>();
  seq.push_back([](const Tensor& x) { return x * 2.f; });
  auto& fc2 = seq.add("out", std::make_unique<nn::Linear>(4, 2));
  std::vector<std::string> names;
  for (auto& [n, t] : seq.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "out.weight", "out.bias"});
  CHECK(seq.size() == 4);
  Tensor x = randn({5, 3});
  Tensor expected = fc2(relu(fc1(x)) * 2.f);
  CHECK(testing::max_abs_diff(seq(x).to_vector(), expected.to_vector()) == 0.0);
  nn::Sequential empty;
  CHECK(empty(x).impl() == x.impl());
  nn::Dropout d;
  CHECK(d.p() == 0.5f);
}
