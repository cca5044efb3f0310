// SPDX-License-Identifier: Apache-2.0
// Typed reads of safetensors metadata: values, and errors naming the key, what was expected and what was found.
#include <string>

#include <fresco/error.hpp>
#include <fresco/io/metadata.hpp>

#include "support/check.hpp"

using namespace fresco;

TEST_CASE("metadata: typed reads", "[io][metadata]") {
  const io::Metadata m{{"n", "-42"},
                       {"seed", "18446744073709551615"},
                       {"x", "0.1"},
                       {"name", "fresco-gpt"},
                       {"empty", ""},
                       {"spaced", " 5"},
                       {"trailing", "5x"},
                       {"big", "9223372036854775808"}};
  CHECK(io::metadata_int(m, "n") == -42);
  CHECK(io::metadata_uint(m, "seed") == 18446744073709551615ull);
  CHECK(io::metadata_double(m, "x") == 0.1);
  CHECK(io::metadata_float(m, "x") == 0.1f);
  CHECK(io::metadata_string(m, "name") == "fresco-gpt");
  CHECK(io::metadata_uint(m, "big") == 9223372036854775808ull);

  CHECK_THROWS_AS(io::metadata_int(m, "missing"), Error);
  CHECK_THROWS_WITH(io::metadata_int(m, "missing", "GptConfig::from_metadata"),
                    "GptConfig::from_metadata: metadata \"missing\" is missing");
  CHECK_THROWS_WITH(io::metadata_int(m, "name", "load"),
                    "load: metadata \"name\" must be an integer, found \"fresco-gpt\"");
  CHECK_THROWS_WITH(io::metadata_int(m, "empty"), "metadata \"empty\" must be an integer, found \"\"");
  CHECK_THROWS_WITH(io::metadata_int(m, "spaced"), Catch::Contains("must be an integer"));
  CHECK_THROWS_WITH(io::metadata_int(m, "trailing"), Catch::Contains("found \"5x\""));
  CHECK_THROWS_WITH(io::metadata_int(m, "big"), Catch::Contains("must be an integer"));   // out of range
  CHECK_THROWS_WITH(io::metadata_uint(m, "n"), Catch::Contains("must be an integer >= 0, found \"-42\""));
  CHECK_THROWS_WITH(io::metadata_double(m, "name"), Catch::Contains("must be a number"));
  CHECK_THROWS_WITH(io::metadata_float(m, "trailing"), Catch::Contains("\"trailing\" must be a number"));
}

TEST_CASE("metadata: a float written with fmt reads back to the bit", "[io][metadata]") {
  for (float v : {0.1f, 0.2f, 1e-7f, 3.4028235e38f, 0.3333333f, 0.f}) {
    const io::Metadata m{{"v", fmt::format("{}", v)}};
    CHECK(io::metadata_float(m, "v") == v);
    CHECK(static_cast<float>(io::metadata_double(m, "v")) == v);
  }
}

TEST_CASE("metadata: a writer and a reader share one list of fields", "[io][metadata]") {
  struct Config {
    int64_t layers = 4;
    uint64_t seed = 18446744073709551615ull;
    bool flag = true;
    float rate = 0.1f;
    std::string name = "gpt";
  };
  auto fields = [](auto& c, auto&& field) {
    field("layers", c.layers), field("seed", c.seed), field("flag", c.flag), field("rate", c.rate);
    field("name", c.name);
  };
  const Config in{.layers = -3, .seed = 7, .flag = false, .rate = 1e-7f, .name = "x y"};
  io::MetadataWriter writer("cfg.");
  fields(in, writer);
  CHECK(writer.metadata == io::Metadata{{"cfg.layers", "-3"}, {"cfg.seed", "7"}, {"cfg.flag", "0"},
                                        {"cfg.rate", "1e-07"}, {"cfg.name", "x y"}});
  Config out;
  fields(out, io::MetadataReader(writer.metadata, "cfg.", "Config"));
  CHECK(out.layers == -3);
  CHECK(out.seed == 7);
  CHECK_FALSE(out.flag);
  CHECK(out.rate == 1e-7f);
  CHECK(out.name == "x y");
  writer.metadata["cfg.layers"] = "four";
  CHECK_THROWS_WITH(fields(out, io::MetadataReader(writer.metadata, "cfg.", "Config")),
                    Catch::Contains("Config") && Catch::Contains("cfg.layers") && Catch::Contains("four"));
  writer.metadata.erase("cfg.name");
  writer.metadata["cfg.layers"] = "1";
  CHECK_THROWS_WITH(fields(out, io::MetadataReader(writer.metadata, "cfg.", "Config")), Catch::Contains("cfg.name"));
}

TEST_CASE("metadata: require_format names the file, what it should be and what it says it is", "[io][metadata]") {
  io::require_format({{"format", "fresco-gpt"}}, "fresco-gpt", "m.safetensors", "load_gpt", "a GPT file");
  CHECK_THROWS_AS(io::require_format({{"format", "other"}}, "fresco-gpt", "m.safetensors", "load_gpt", "a GPT file"),
                  IoError);
  CHECK_THROWS_WITH(io::require_format({{"format", "other"}}, "fresco-gpt", "m.safetensors", "load_gpt", "a GPT file"),
                    "load_gpt: m.safetensors is not a GPT file (metadata \"format\" is \"other\", expected "
                    "\"fresco-gpt\")");
  CHECK_THROWS_WITH(io::require_format({}, "fresco-gpt", "m.safetensors", "load_gpt", "a GPT file"),
                    Catch::Contains("\"format\" is \"\""));
}
