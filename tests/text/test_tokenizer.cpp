// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <fresco/error.hpp>
#include <fresco/text/tokenizer.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

using fresco::text::BpeTokenizer;
using fresco::text::Merge;

namespace {

// Captions in the style of the Shapes data set, from a fixed generator
// (raw mt19937 output, which is the same on every platform).
std::vector<std::string> caption_corpus(size_t n, uint32_t seed = 1) {
  const std::vector<std::string> sizes = {"a small", "a large", "a tiny", "a big"};
  const std::vector<std::string> colours = {"red", "green", "blue", "yellow", "purple", "white"};
  const std::vector<std::string> shapes = {"circle", "square", "triangle", "star", "ring"};
  const std::vector<std::string> places = {"at the top left", "at the bottom right", "in the centre",
                                           "on the left", "on the right"};
  std::mt19937 rng(seed);
  std::vector<std::string> corpus;
  corpus.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    corpus.push_back(sizes[rng() % sizes.size()] + " " + colours[rng() % colours.size()] + " " +
                     shapes[rng() % shapes.size()] + " " + places[rng() % places.size()]);
  }
  return corpus;
}

}  // namespace

TEST_CASE("BpeTokenizer: untrained tokenizer maps bytes to themselves", "[text][tokenizer]") {
  BpeTokenizer tok;
  CHECK(tok.vocab_size() == 259);
  CHECK(tok.merges().empty());
  CHECK(tok.bos_id() == 256);
  CHECK(tok.eos_id() == 257);
  CHECK(tok.pad_id() == 258);
  CHECK(tok.encode(std::string_view("ab\0c", 4)) == std::vector<int64_t>{97, 98, 0, 99});
  CHECK(tok.encode("").empty());
  CHECK(tok.token_text(65) == "A");
  CHECK(tok.token_text(256) == "<|bos|>");
  CHECK(tok.token_text(257) == "<|eos|>");
  CHECK(tok.token_text(258) == "<|pad|>");
}

TEST_CASE("BpeTokenizer: merges on a hand-made corpus", "[text][tokenizer]") {
  // Word counts: aaab 1, aab 1, ab 2.
  // Pairs: (a,a) = 2 + 1 = 3, (a,b) = 1 + 1 + 2 = 4 -> merge (97, 98) -> 259 "ab".
  // Words now a a X, a X, X: (a,a) = 1, (a,X) = 2 -> merge (97, 259) -> 260 "aab".
  // Words now a Y, Y, X: (a,Y) = 1 < 2 -> stop.
  const std::vector<std::string> corpus = {"aaab", "aab", "ab", "ab"};
  BpeTokenizer tok = BpeTokenizer::train(corpus, 1000);
  REQUIRE(tok.merges() == std::vector<Merge>{{97, 98}, {97, 259}});
  CHECK(tok.vocab_size() == 261);
  CHECK(tok.token_text(259) == "ab");
  CHECK(tok.token_text(260) == "aab");

  CHECK(tok.encode("aaab") == std::vector<int64_t>{97, 260});
  CHECK(tok.encode("aab") == std::vector<int64_t>{260});
  CHECK(tok.encode("ab") == std::vector<int64_t>{259});
  CHECK(tok.encode("b") == std::vector<int64_t>{98});
  CHECK(tok.encode("abab") == std::vector<int64_t>{259, 259});
  // a a a a b: (a,b) has rank 0 -> a a a X; then (a,X) at the right end -> a a Y.
  CHECK(tok.encode("aaaab") == std::vector<int64_t>{97, 97, 260});
  CHECK(tok.decode({97, 97, 260}) == "aaaab");

  // A vocabulary one above the minimum keeps only the first merge.
  BpeTokenizer small = BpeTokenizer::train(corpus, 260);
  CHECK(small.merges() == std::vector<Merge>{{97, 98}});
  CHECK(small.encode("aaab") == std::vector<int64_t>{97, 97, 259});
}

TEST_CASE("BpeTokenizer: ties go to the smallest pair", "[text][tokenizer]") {
  // (x,y) = (120, 121) and (b,a) = (98, 97) both occur twice: (98, 97) first.
  BpeTokenizer tok = BpeTokenizer::train({"xy", "ba", "xy", "ba"}, 300);
  CHECK(tok.merges() == std::vector<Merge>{{98, 97}, {120, 121}});
}

TEST_CASE("BpeTokenizer: overlapping pairs merge left to right", "[text][tokenizer]") {
  // aaaa twice: (a,a) = 6 -> 259; words X X: (X,X) = 2 -> 260.
  BpeTokenizer tok = BpeTokenizer::train({"aaaa", "aaaa"}, 300);
  REQUIRE(tok.merges() == std::vector<Merge>{{97, 97}, {259, 259}});
  CHECK(tok.encode("aaaa") == std::vector<int64_t>{260});
  CHECK(tok.encode("aaa") == std::vector<int64_t>{259, 97});
  CHECK(tok.encode("aaaaa") == std::vector<int64_t>{260, 97});
  CHECK(tok.encode("aaaaaa") == std::vector<int64_t>{260, 259});
}

TEST_CASE("BpeTokenizer: the space starts a word and never merges backwards", "[text][tokenizer]") {
  // Words: "a" and " b" twice; "a " never appears, " b" does.
  BpeTokenizer tok = BpeTokenizer::train({"a b", "a b"}, 300);
  REQUIRE(tok.merges() == std::vector<Merge>{{32, 98}});
  CHECK(tok.encode("a b") == std::vector<int64_t>{97, 259});
  CHECK(tok.encode("a  b") == std::vector<int64_t>{97, 32, 259});
  CHECK(tok.encode(" b b ") == std::vector<int64_t>{259, 259, 32});
  CHECK(tok.decode(tok.encode("a  b")) == "a  b");
}

TEST_CASE("BpeTokenizer: encode with bos and eos, decode special tokens", "[text][tokenizer]") {
  BpeTokenizer tok = BpeTokenizer::train({"aaab", "aab", "ab", "ab"}, 1000);
  CHECK(tok.encode("ab", true, false) == std::vector<int64_t>{256, 259});
  CHECK(tok.encode("ab", false, true) == std::vector<int64_t>{259, 257});
  CHECK(tok.encode("ab", true, true) == std::vector<int64_t>{256, 259, 257});
  CHECK(tok.encode("", true, true) == std::vector<int64_t>{256, 257});
  const std::vector<int64_t> ids = {256, 259, 98, 257, 258, 258};
  CHECK(tok.decode(ids) == "abb");
  CHECK(tok.decode(ids, {.keep_special = true}) == "<|bos|>abb<|eos|><|pad|><|pad|>");
  // Special-token text in the input is ordinary bytes.
  const std::vector<int64_t> literal = tok.encode("<|eos|>");
  CHECK(literal.size() == 7);
  CHECK(tok.decode(literal) == "<|eos|>");
}

TEST_CASE("BpeTokenizer: decode and token_text reject ids outside the vocabulary", "[text][tokenizer]") {
  BpeTokenizer tok = BpeTokenizer::train({"aaab", "aab", "ab", "ab"}, 1000);
  CHECK_THROWS_AS(tok.decode({97, 261}), fresco::Error);
  CHECK_THROWS_AS(tok.decode({-1}), fresco::Error);
  CHECK_THROWS_AS(tok.decode({std::numeric_limits<int64_t>::max()}), fresco::Error);
  CHECK_THROWS_WITH(tok.decode({97, 261}), Catch::Contains("261") && Catch::Contains("[0, 261)"));
  CHECK_THROWS_AS(tok.token_text(261), fresco::Error);
  CHECK_THROWS_AS(tok.token_text(-5), fresco::Error);
  CHECK(tok.decode({97, 260}) == "aaab");
}

TEST_CASE("BpeTokenizer: vocab_size limits", "[text][tokenizer]") {
  const std::vector<std::string> corpus = caption_corpus(200);
  CHECK_THROWS_AS(BpeTokenizer::train(corpus, 258), fresco::Error);
  CHECK_THROWS_AS(BpeTokenizer::train(corpus, 0), fresco::Error);
  CHECK_THROWS_AS(BpeTokenizer::train(corpus, -1), fresco::Error);
  CHECK_THROWS_WITH(BpeTokenizer::train(corpus, 100), Catch::Contains("259") && Catch::Contains("100"));
  CHECK(BpeTokenizer::train(corpus, 259).vocab_size() == 259);
  CHECK(BpeTokenizer::train(corpus, 300).vocab_size() == 300);
  // The corpus runs out of pairs seen twice long before a huge vocabulary.
  const BpeTokenizer big = BpeTokenizer::train(corpus, 1 << 20);
  CHECK(big.vocab_size() > 300);
  CHECK(big.vocab_size() < 1000);
  CHECK(BpeTokenizer::train({}, 512).vocab_size() == 259);
  CHECK(BpeTokenizer::train({"", "", "x"}, 512).vocab_size() == 259);
}

TEST_CASE("BpeTokenizer: training is deterministic and compresses captions", "[text][tokenizer]") {
  const std::vector<std::string> corpus = caption_corpus(10000);
  const BpeTokenizer a = BpeTokenizer::train(corpus, 512);
  std::vector<std::string> reversed(corpus.rbegin(), corpus.rend());
  const BpeTokenizer b = BpeTokenizer::train(reversed, 512);
  CHECK(a.merges() == b.merges());
  // Every whole word of the grammar becomes one token (there are few of them).
  const std::vector<int64_t> ids = a.encode("a large purple triangle at the bottom right");
  CHECK(ids.size() == 8);
  CHECK(a.decode(ids) == "a large purple triangle at the bottom right");
  CHECK(a.token_text(ids[3]) == " triangle");
}

TEST_CASE("BpeTokenizer: every byte string round-trips", "[text][tokenizer]") {
  const BpeTokenizer tok = BpeTokenizer::train(caption_corpus(2000), 400);
  std::mt19937 rng(42);
  // Bias towards bytes the merges know (letters, spaces) so merges do fire,
  // but draw every byte value, 0 and invalid UTF-8 included.
  const std::string common = "aeiou rtnslcdhgb ";
  int64_t merged_tokens = 0;
  int failures = 0;
  std::string first_failure;
  for (int trial = 0; trial < 10000; ++trial) {
    const size_t length = rng() % 65;
    std::string s(length, '\0');
    for (char& c : s) c = (rng() % 2) ? common[rng() % common.size()] : static_cast<char>(rng() % 256);
    const std::vector<int64_t> ids = tok.encode(s);
    bool ok = tok.decode(ids) == s;
    for (int64_t id : ids) {
      ok = ok && id >= 0 && id < tok.vocab_size() && (id < 256 || id >= 259);
      merged_tokens += id >= 259;
    }
    if (!ok && failures++ == 0) first_failure = s;
  }
  // Plain counting keeps the loop fast under the sanitizers.
  INFO("first failing string: " << first_failure);
  CHECK(failures == 0);
  CHECK(merged_tokens > 1000);

  const std::vector<std::string> specials = {
      "", std::string(1, '\0'), std::string(5, '\0'), "\xff\xfe\x80", "\xc3\x28", "\xed\xa0\x80",
      "a red \xF0\x9F\x94\xB4 circle \xF0\x9F\x98\x80", "   ", "\n\t\r", "<|bos|>", std::string(1000, 'a'),
      std::string(3000, ' ')};
  for (const std::string& s : specials) CHECK(tok.decode(tok.encode(s)) == s);
}

TEST_CASE("BpeTokenizer: the cache does not change results", "[text][tokenizer]") {
  const BpeTokenizer tok = BpeTokenizer::train(caption_corpus(500), 350);
  const std::string text = "a small blue star on the left of a big red ring";
  const std::vector<int64_t> first = tok.encode(text);
  const std::vector<int64_t> second = tok.encode(text);
  CHECK(first == second);
  const BpeTokenizer copy = tok;  // fresh cache
  CHECK(copy.encode(text) == first);
  BpeTokenizer assigned;
  assigned = copy;
  CHECK(assigned.encode(text) == first);
  BpeTokenizer moved = std::move(assigned);
  CHECK(moved.encode(text) == first);
}

TEST_CASE("BpeTokenizer: JSON and file round trip", "[text][tokenizer]") {
  const std::vector<std::string> corpus = caption_corpus(1000);
  const BpeTokenizer tok = BpeTokenizer::train(corpus, 400);
  const std::string json = tok.to_json();
  CHECK(json.find("\"version\":1") != std::string::npos);
  const BpeTokenizer parsed = BpeTokenizer::from_json(json);
  CHECK(parsed.merges() == tok.merges());
  CHECK(parsed.vocab_size() == tok.vocab_size());
  CHECK(parsed.to_json() == json);

  // A directory of its own, so that concurrent runs (sanitizer builds) do not collide.
  const auto dir = std::filesystem::temp_directory_path() / ("fresco_test_tokenizer_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "tok.json").string();
  tok.save(path);
  // Only the file itself remains: the temporary file was renamed.
  CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 1);
  const BpeTokenizer loaded = BpeTokenizer::load(path);
  CHECK(loaded.merges() == tok.merges());
  for (size_t i = 0; i < 200; ++i) CHECK(loaded.encode(corpus[i], true, true) == tok.encode(corpus[i], true, true));
  CHECK(loaded.encode("unseen words: \xF0\x9F\x98\x80 zebra") == tok.encode("unseen words: \xF0\x9F\x98\x80 zebra"));

  // Errors name the file.
  const std::string missing = (dir / "missing.json").string();
  CHECK_THROWS_AS(BpeTokenizer::load(missing), fresco::IoError);
  CHECK_THROWS_WITH(BpeTokenizer::load(missing), Catch::Contains("missing.json"));
  const std::string garbage = (dir / "garbage.json").string();
  std::ofstream(garbage) << "{not json";
  CHECK_THROWS_AS(BpeTokenizer::load(garbage), fresco::IoError);
  CHECK_THROWS_WITH(BpeTokenizer::load(garbage), Catch::Contains("garbage.json"));
  CHECK_THROWS_AS(tok.save((dir / "no_such_dir" / "tok.json").string()), fresco::IoError);
  CHECK_THROWS_WITH(tok.save((dir / "no_such_dir" / "tok.json").string()), Catch::Contains("no_such_dir"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("BpeTokenizer: from_json rejects malformed documents", "[text][tokenizer]") {
  const std::string head = R"({"format":"fresco-bpe","version":1,"special_tokens":["<|bos|>","<|eos|>","<|pad|>"],)";
  // A valid document to make sure the prefix itself is fine.
  CHECK(BpeTokenizer::from_json(head + R"("merges":[[97,98],[259,99]]})").vocab_size() == 261);
  CHECK(BpeTokenizer::from_json(head + R"("merges":[]})").vocab_size() == 259);

  const std::vector<std::string> broken = {
      "",
      "   ",
      "{",
      "[]",
      "null",
      "42",
      "\"text\"",
      "{}",
      std::string("{\"merges\":[]}\0", 14),
      R"({"format":"fresco-bpe","version":1,"merges":[]})",             // no special_tokens
      R"({"format":"fresco-bpe","special_tokens":["<|bos|>","<|eos|>","<|pad|>"],"merges":[]})",  // no version
      R"({"version":1,"special_tokens":["<|bos|>","<|eos|>","<|pad|>"],"merges":[]})",  // no format
      head.substr(0, head.size() - 1) + "}",                               // no merges
      R"({"format":"gpt2","version":1,"special_tokens":["<|bos|>","<|eos|>","<|pad|>"],"merges":[]})",
      R"({"format":"fresco-bpe","version":2,"special_tokens":["<|bos|>","<|eos|>","<|pad|>"],"merges":[]})",
      R"({"format":"fresco-bpe","version":"1","special_tokens":["<|bos|>","<|eos|>","<|pad|>"],"merges":[]})",
      R"({"format":"fresco-bpe","version":1.0,"special_tokens":["<|bos|>","<|eos|>","<|pad|>"],"merges":[]})",
      R"({"format":"fresco-bpe","version":1,"special_tokens":["<|eos|>","<|bos|>","<|pad|>"],"merges":[]})",
      R"({"format":"fresco-bpe","version":1,"special_tokens":"<|bos|>","merges":[]})",
      head + R"("merges":{}})",
      head + R"("merges":"97 98"})",
      head + R"("merges":[97,98]})",
      head + R"("merges":[[97]]})",
      head + R"("merges":[[97,98,99]]})",
      head + R"("merges":[[97,"b"]]})",
      head + R"("merges":[[97,98.5]]})",
      head + R"("merges":[[97,1e3]]})",
      head + R"("merges":[[true,98]]})",
      head + R"("merges":[[null,98]]})",
      head + R"("merges":[[-1,98]]})",
      head + R"("merges":[[97,256]]})",                         // special token
      head + R"("merges":[[258,97]]})",                         // special token
      head + R"("merges":[[97,259]]})",                         // refers to itself
      head + R"("merges":[[97,98],[97,261]]})",                 // refers to a later id
      head + R"("merges":[[97,98],[97,98]]})",                  // repeated
      head + R"("merges":[[97,98],[9999999999,98]]})",
      head + R"("merges":[[97,18446744073709551615]]})",
      head + R"("merges":[[97,98]]} trailing)",
      head + R"("merges":[[97,98]])",                            // truncated
      head + R"("merges":[[[97],98]]})",
      std::string(100000, '[') + std::string(100000, ']'),        // deep nesting
      head + R"("merges":[[97,98]],"x":)" + std::string(50000, '[') + std::string(50000, ']') + "}",
      "{\"format\":\"fresco-bpe\xff\"}",                          // invalid UTF-8 in a string
  };
  for (size_t i = 0; i < broken.size(); ++i) {
    INFO("document " << i << ": " << broken[i].substr(0, 120));
    CHECK_THROWS_AS(BpeTokenizer::from_json(broken[i]), fresco::Error);
  }
  CHECK_THROWS_WITH(BpeTokenizer::from_json(head + R"("merges":[[97,98],[97,261]]})"),
                    Catch::Contains("from_json") && Catch::Contains("merge 1"));
}

TEST_CASE("BpeTokenizer: from_merges validates", "[text][tokenizer]") {
  CHECK(BpeTokenizer::from_merges({{97, 98}, {259, 259}}).token_text(260) == "abab");
  CHECK_THROWS_AS(BpeTokenizer::from_merges({{97, 257}}), fresco::Error);
  CHECK_THROWS_AS(BpeTokenizer::from_merges({{97, 98}, {260, 97}}), fresco::Error);
  CHECK_THROWS_AS(BpeTokenizer::from_merges({{97, 98}, {97, 98}}), fresco::Error);
}

namespace {

// Naive twins of training and encoding, straight from the definition.
std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 0 || text[i] == ' ') words.emplace_back();
    words.back() += text[i];
  }
  return words;
}

// Merge (left, right) -> id everywhere in `s`, left to right without overlaps.
void apply_merge(std::vector<int64_t>& s, const Merge& m, int64_t id) {
  size_t out = 0;
  for (size_t i = 0; i < s.size();) {
    if (i + 1 < s.size() && s[i] == m.left && s[i + 1] == m.right) {
      s[out++] = id;
      i += 2;
    } else {
      s[out++] = s[i++];
    }
  }
  s.resize(out);
}

std::vector<int64_t> bytes_of(const std::string& w) {
  std::vector<int64_t> s;
  for (char c : w) s.push_back(static_cast<unsigned char>(c));
  return s;
}

std::vector<Merge> naive_train(const std::vector<std::string>& corpus, int64_t vocab_size) {
  std::map<std::string, int64_t> counts;
  for (const auto& c : corpus)
    for (const auto& w : split_words(c)) ++counts[w];
  std::vector<std::pair<std::vector<int64_t>, int64_t>> words;
  for (const auto& [w, n] : counts) words.emplace_back(bytes_of(w), n);
  std::vector<Merge> merges;
  while (259 + static_cast<int64_t>(merges.size()) < vocab_size) {
    std::map<std::pair<int64_t, int64_t>, int64_t> pairs;  // ordered: smallest pair first on ties
    for (const auto& [s, n] : words)
      for (size_t i = 0; i + 1 < s.size(); ++i) pairs[{s[i], s[i + 1]}] += n;
    std::pair<int64_t, int64_t> best{};
    int64_t best_count = 0;
    for (const auto& [p, n] : pairs)
      if (n > best_count) best = p, best_count = n;
    if (best_count < 2) break;
    const Merge m{best.first, best.second};
    const int64_t id = 259 + static_cast<int64_t>(merges.size());
    for (auto& [s, n] : words) apply_merge(s, m, id);
    merges.push_back(m);
  }
  return merges;
}

std::vector<int64_t> naive_encode(const std::vector<Merge>& merges, const std::string& text) {
  std::vector<int64_t> ids;
  for (const auto& w : split_words(text)) {
    std::vector<int64_t> s = bytes_of(w);
    for (size_t r = 0; r < merges.size(); ++r) apply_merge(s, merges[r], 259 + static_cast<int64_t>(r));
    ids.insert(ids.end(), s.begin(), s.end());
  }
  return ids;
}

std::vector<std::string> random_corpus(size_t n, const std::string& alphabet, size_t max_length, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> corpus(n);
  for (auto& s : corpus) {
    s.resize(rng() % (max_length + 1));
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
  }
  return corpus;
}

}  // namespace

TEST_CASE("BpeTokenizer: training matches the naive definition", "[text][tokenizer]") {
  const std::vector<std::string> captions = caption_corpus(300, 7);
  CHECK(BpeTokenizer::train(captions, 330).merges() == naive_train(captions, 330));
  // Few letters and many repeats: long merge chains, overlaps and ties.
  const std::vector<std::string> letters = random_corpus(200, "aab c", 30, 11);
  const std::vector<Merge> expected = naive_train(letters, 400);
  REQUIRE(expected.size() > 40);
  CHECK(BpeTokenizer::train(letters, 400).merges() == expected);
}

TEST_CASE("BpeTokenizer: encoding matches the naive definition, short and long words", "[text][tokenizer]") {
  const std::vector<std::string> corpus = random_corpus(300, "aab c", 40, 5);
  const BpeTokenizer tok = BpeTokenizer::train(corpus, 360);
  REQUIRE(tok.vocab_size() > 300);
  // Lengths up to 300 without spaces exercise both the short-word scan
  // (<= 64 bytes) and the heap used for longer words.
  for (const std::string& alphabet : {std::string("aab c"), std::string("aab")}) {
    const std::vector<std::string> texts = random_corpus(150, alphabet, 300, 9);
    for (const std::string& text : texts) {
      INFO(text);
      REQUIRE(tok.encode(text) == naive_encode(tok.merges(), text));
    }
  }
}
