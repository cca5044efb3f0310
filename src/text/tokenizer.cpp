// SPDX-License-Identifier: Apache-2.0
#include <fresco/text/tokenizer.hpp>

#include <fresco/error.hpp>
#include <fresco/io/file.hpp>

#include <algorithm>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <queue>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace fresco::text {
namespace {

using Json = nlohmann::json;

constexpr const char* kSpecialText[] = {"<|bos|>", "<|eos|>", "<|pad|>"};
constexpr const char* kFormatName = "fresco-bpe";
constexpr int64_t kFormatVersion = 1;
// Words up to this length are encoded by a quadratic scan and cached:
// captions are made of them. Longer runs without spaces (random data) take
// the O(n log n) heap and would only bloat the cache.
constexpr size_t kMaxCachedWordBytes = 64;
// The cache is cleared when it holds this many words or ids, bounding its
// memory (about 3 MB).
constexpr size_t kMaxCacheEntries = size_t{1} << 15;
constexpr size_t kMaxCacheIds = size_t{1} << 18;
// Our document nests 3 levels deep ({"merges": [[l, r], ...]}); refusing
// deeper input keeps a hostile "[[[[..." from exhausting the stack.
constexpr int kMaxJsonDepth = 2;
// A tokenizer file holds about 12 bytes per merge; 1 GiB is far beyond any
// real vocabulary and keeps a wrong path from reading a huge file.
constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;
constexpr uint64_t kEmptySlot = ~uint64_t{0};
constexpr int64_t kNoRank = std::numeric_limits<int64_t>::max();

bool is_special(int64_t id) { return id >= BpeTokenizer::kBosId && id < BpeTokenizer::kFirstMergeId; }

uint64_t pair_key(int64_t left, int64_t right) {
  return (static_cast<uint64_t>(left) << 32) | static_cast<uint64_t>(static_cast<uint32_t>(right));
}

// Fibonacci hashing: the multiply spreads both ids over the high bits, the
// shift folds them down to where the table mask looks.
size_t slot_hash(uint64_t key) {
  const uint64_t h = key * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(h ^ (h >> 29));
}

// A new word starts at every space after the first byte, so the space stays
// attached to the word that follows it ("a red" -> "a", " red") and the
// concatenation of the words is the text.
template <class Fn>
void for_each_word(std::string_view text, Fn&& fn) {
  size_t start = 0;
  for (size_t i = 1; i < text.size(); ++i) {
    if (text[i] == ' ') {
      fn(text.substr(start, i - start));
      start = i;
    }
  }
  if (start < text.size()) fn(text.substr(start));
}

// A symbol of a long word being merged: a node of a doubly linked list.
struct Symbol {
  int64_t id;    // -1 once merged into its left neighbour
  int32_t prev;  // -1 at the start
  int32_t next;  // -1 at the end
};

// A candidate merge in a long word, (rank << 32 | position of its left
// symbol): ordering the integers orders by rank, then leftmost first. The
// rank names the pair (merges_[rank]), so no ids need storing.
using Candidate = uint64_t;

}  // namespace

// The word cache and the scratch buffers of encode_word, reused across calls
// so that encoding does not allocate per word. The cache is an
// open-addressing table (no allocation per entry, one probe per hit in
// the common case) over two arenas holding the words' bytes and ids.
struct BpeTokenizer::Cache {
  struct Slot {
    uint64_t hash = 0;  // 0: empty (stored hashes have their low bit set)
    uint32_t word_offset = 0;
    uint32_t word_size = 0;
    uint32_t ids_offset = 0;
    uint32_t ids_count = 0;
  };

  // Returns the slot holding `word` or the empty slot where it belongs.
  Slot& find(std::string_view word, uint64_t hash) {
    if (slots.empty()) slots.resize(2 * kMaxCacheEntries);
    const size_t mask = slots.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& s = slots[i];
      if (s.hash == 0) return s;
      if (s.hash == hash && s.word_size == word.size() &&
          std::string_view(bytes).substr(s.word_offset, s.word_size) == word)
        return s;
    }
  }

  void clear() {
    std::fill(slots.begin(), slots.end(), Slot{});
    bytes.clear();
    ids.clear();
    entries = 0;
  }

  std::mutex mutex;
  std::vector<Slot> slots;  // a power of two, at most half full
  std::string bytes;
  std::vector<int64_t> ids;
  size_t entries = 0;
  std::vector<int64_t> word_ids;
  std::vector<int64_t> word_ranks;
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

BpeTokenizer::BpeTokenizer() : cache_(std::make_unique<Cache>()) {
  tokens_.reserve(kFirstMergeId);
  for (int b = 0; b < 256; ++b) tokens_.emplace_back(1, static_cast<char>(b));
  for (const char* text : kSpecialText) tokens_.emplace_back(text);
}

BpeTokenizer::BpeTokenizer(const BpeTokenizer& other)
    : merges_(other.merges_),
      tokens_(other.tokens_),
      rank_table_(other.rank_table_),
      cache_(std::make_unique<Cache>()) {}

BpeTokenizer& BpeTokenizer::operator=(const BpeTokenizer& other) {
  if (this != &other) {
    merges_ = other.merges_;
    tokens_ = other.tokens_;
    rank_table_ = other.rank_table_;
    cache_ = std::make_unique<Cache>();
  }
  return *this;
}

BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;
BpeTokenizer::~BpeTokenizer() = default;

BpeTokenizer BpeTokenizer::from_merges(std::vector<Merge> merges) {
  FRESCO_CHECK(merges.size() < (size_t{1} << 31), "BpeTokenizer::from_merges: expected fewer than 2^31 merges, found {}",
               merges.size());
  BpeTokenizer tok;
  tok.tokens_.reserve(kFirstMergeId + merges.size());
  // A power of two at least twice the number of merges: short probe runs.
  size_t capacity = 16;
  while (capacity < 2 * merges.size()) capacity *= 2;
  if (!merges.empty()) tok.rank_table_.assign(capacity, RankSlot{kEmptySlot, 0});
  for (size_t i = 0; i < merges.size(); ++i) {
    const Merge& m = merges[i];
    const int64_t limit = kFirstMergeId + static_cast<int64_t>(i);
    FRESCO_CHECK(m.left >= 0 && m.left < limit && m.right >= 0 && m.right < limit,
                 "BpeTokenizer::from_merges: merge {} must join ids of earlier tokens, in [0, {}), found ({}, {})",
                 i, limit, m.left, m.right);
    FRESCO_CHECK(!is_special(m.left) && !is_special(m.right),
                 "BpeTokenizer::from_merges: merge {} must not join special tokens (ids 256..258), found ({}, {})",
                 i, m.left, m.right);
    const uint64_t key = pair_key(m.left, m.right);
    size_t slot = slot_hash(key) & (capacity - 1);
    while (tok.rank_table_[slot].key != kEmptySlot) {
      FRESCO_CHECK(tok.rank_table_[slot].key != key, "BpeTokenizer::from_merges: merge {} ({}, {}) repeats merge {}",
                   i, m.left, m.right, tok.rank_table_[slot].rank);
      slot = (slot + 1) & (capacity - 1);
    }
    tok.rank_table_[slot] = {key, static_cast<int64_t>(i)};
    tok.tokens_.push_back(tok.tokens_[m.left] + tok.tokens_[m.right]);
  }
  tok.merges_ = std::move(merges);
  return tok;
}

int64_t BpeTokenizer::merge_rank(int64_t left, int64_t right) const {
  if (rank_table_.empty()) return kNoRank;
  const uint64_t key = pair_key(left, right);
  const size_t mask = rank_table_.size() - 1;
  for (size_t slot = slot_hash(key) & mask;; slot = (slot + 1) & mask) {
    const RankSlot& s = rank_table_[slot];
    if (s.key == key) return s.rank;
    if (s.key == kEmptySlot) return kNoRank;
  }
}

// ---------------------------------------------------------------- training

namespace {

struct TrainWord {
  std::vector<int64_t> symbols;
  int64_t count = 0;
};

struct PairEntry {
  int64_t count;
  int64_t left;
  int64_t right;
};

// std::priority_queue pops the largest: the highest count, then the smallest
// (left, right), which makes training deterministic.
struct PairOrder {
  bool operator()(const PairEntry& a, const PairEntry& b) const {
    if (a.count != b.count) return a.count < b.count;
    if (a.left != b.left) return a.left > b.left;
    return a.right > b.right;
  }
};

// pair -> total count, pair -> words that contain (or once contained) it.
// The heap holds (count, pair) entries; an entry whose count no longer
// matches `counts` is stale and skipped when popped.
struct PairTable {
  std::unordered_map<uint64_t, int64_t> counts;
  std::unordered_map<uint64_t, std::vector<int32_t>> words;
  std::priority_queue<PairEntry, std::vector<PairEntry>, PairOrder> heap;
  std::vector<uint64_t> touched;  // pairs whose count changed in this step
  std::vector<int64_t> merged;    // scratch for one word's new symbols
};

PairEntry pair_entry(uint64_t key, int64_t count) {
  return {count, static_cast<int64_t>(key >> 32), static_cast<int64_t>(key & 0xffffffffu)};
}

// Pairs are counted over the table of distinct words, each weighted by how
// often it occurs, rather than over the running text.
std::vector<TrainWord> count_words(const std::vector<std::string>& corpus) {
  std::unordered_map<std::string_view, int64_t> word_counts;
  for (const std::string& caption : corpus) for_each_word(caption, [&](std::string_view w) { ++word_counts[w]; });
  std::vector<TrainWord> words;
  words.reserve(word_counts.size());
  for (const auto& [text, count] : word_counts) {
    TrainWord w;
    w.symbols.reserve(text.size());
    for (char c : text) w.symbols.push_back(static_cast<unsigned char>(c));
    w.count = count;
    words.push_back(std::move(w));
  }
  return words;
}

void count_pairs(const std::vector<TrainWord>& words, PairTable& pairs) {
  for (size_t wi = 0; wi < words.size(); ++wi) {
    const auto& s = words[wi].symbols;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t key = pair_key(s[i], s[i + 1]);
      pairs.counts[key] += words[wi].count;
      auto& list = pairs.words[key];
      if (list.empty() || list.back() != static_cast<int32_t>(wi)) list.push_back(static_cast<int32_t>(wi));
    }
  }
  for (const auto& [key, count] : pairs.counts) pairs.heap.push(pair_entry(key, count));
}

// The most frequent pair still current, or none when no pair occurs at least twice.
std::optional<PairEntry> pop_best(PairTable& pairs) {
  while (!pairs.heap.empty()) {
    const PairEntry top = pairs.heap.top();
    pairs.heap.pop();
    auto found = pairs.counts.find(pair_key(top.left, top.right));
    if (found == pairs.counts.end() || found->second != top.count) continue;  // stale
    if (top.count < 2) return std::nullopt;
    return top;
  }
  return std::nullopt;
}

// Adds `delta` times the word's count to each of its pairs.
void add_word_pairs(const TrainWord& word, int64_t delta, PairTable& pairs) {
  const auto& s = word.symbols;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    const uint64_t k = pair_key(s[i], s[i + 1]);
    pairs.counts[k] += delta * word.count;
    pairs.touched.push_back(k);
  }
}

// Words are short: take all of this word's pairs out of the counts, merge
// left to right, and put the new pairs back in.
void merge_in_word(TrainWord& word, int32_t wi, const PairEntry& best, int64_t new_id, PairTable& pairs) {
  auto& s = word.symbols;
  bool present = false;
  for (size_t i = 0; i + 1 < s.size() && !present; ++i) present = s[i] == best.left && s[i + 1] == best.right;
  if (!present) return;
  add_word_pairs(word, -1, pairs);
  pairs.merged.clear();
  for (size_t i = 0; i < s.size();) {
    if (i + 1 < s.size() && s[i] == best.left && s[i + 1] == best.right) {
      pairs.merged.push_back(new_id);
      i += 2;
    } else {
      pairs.merged.push_back(s[i]);
      i += 1;
    }
  }
  s.assign(pairs.merged.begin(), pairs.merged.end());
  add_word_pairs(word, +1, pairs);
  // Pairs without the new token were already listed for this word.
  for (size_t i = 0; i + 1 < s.size(); ++i)
    if (s[i] == new_id || s[i + 1] == new_id) {
      auto& list = pairs.words[pair_key(s[i], s[i + 1])];
      if (list.empty() || list.back() != wi) list.push_back(wi);
    }
}

// Drops the pairs that no longer occur and queues the new counts of the others.
void update_heap(PairTable& pairs) {
  std::sort(pairs.touched.begin(), pairs.touched.end());
  pairs.touched.erase(std::unique(pairs.touched.begin(), pairs.touched.end()), pairs.touched.end());
  for (uint64_t k : pairs.touched) {
    auto it = pairs.counts.find(k);
    if (it->second == 0) {
      pairs.counts.erase(it);
    } else {
      pairs.heap.push(pair_entry(k, it->second));
    }
  }
}

// Replaces `best` by `new_id` in every word that holds it, and updates the counts.
void merge_pair(std::vector<TrainWord>& words, const PairEntry& best, int64_t new_id, PairTable& pairs) {
  const uint64_t key = pair_key(best.left, best.right);
  const std::vector<int32_t> affected = std::move(pairs.words[key]);
  pairs.words.erase(key);
  pairs.touched.clear();
  for (int32_t wi : affected) merge_in_word(words[wi], wi, best, new_id, pairs);
  update_heap(pairs);
}

}  // namespace

BpeTokenizer BpeTokenizer::train(const std::vector<std::string>& corpus, int64_t vocab_size) {
  FRESCO_CHECK(vocab_size >= kFirstMergeId,
               "BpeTokenizer::train: vocab_size must be at least {} (256 bytes + 3 special tokens), found {}",
               kFirstMergeId, vocab_size);
  FRESCO_CHECK(vocab_size <= std::numeric_limits<int32_t>::max(),
               "BpeTokenizer::train: vocab_size must be at most {}, found {}", std::numeric_limits<int32_t>::max(),
               vocab_size);
  std::vector<TrainWord> words = count_words(corpus);
  PairTable pairs;
  count_pairs(words, pairs);
  std::vector<Merge> merges;
  while (kFirstMergeId + static_cast<int64_t>(merges.size()) < vocab_size) {
    const std::optional<PairEntry> best = pop_best(pairs);
    if (!best) break;
    const int64_t new_id = kFirstMergeId + static_cast<int64_t>(merges.size());
    merges.push_back({best->left, best->right});
    merge_pair(words, *best, new_id, pairs);
  }
  return from_merges(std::move(merges));
}

// ---------------------------------------------------------------- encoding

std::vector<int64_t> BpeTokenizer::encode(std::string_view text, bool add_bos, bool add_eos) const {
  std::vector<int64_t> out;
  out.reserve(text.size() / 2 + 2);
  if (add_bos) out.push_back(kBosId);
  if (!cache_) {  // a moved-from tokenizer: scratch space only
    Cache scratch;
    for_each_word(text, [&](std::string_view word) { encode_word(word, out, &scratch); });
  } else {
    Cache& cache = *cache_;
    std::lock_guard<std::mutex> lock(cache.mutex);
    for_each_word(text, [&](std::string_view word) {
      if (word.size() > kMaxCachedWordBytes) {
        encode_word(word, out, &cache);
        return;
      }
      const uint64_t hash = std::hash<std::string_view>{}(word) | 1;
      Cache::Slot* slot = &cache.find(word, hash);
      if (slot->hash != 0) {
        out.insert(out.end(), cache.ids.begin() + slot->ids_offset,
                   cache.ids.begin() + slot->ids_offset + slot->ids_count);
        return;
      }
      const size_t begin = out.size();
      encode_word(word, out, &cache);
      if (cache.entries >= kMaxCacheEntries || cache.ids.size() >= kMaxCacheIds) {
        cache.clear();
        slot = &cache.find(word, hash);
      }
      *slot = {hash, static_cast<uint32_t>(cache.bytes.size()), static_cast<uint32_t>(word.size()),
               static_cast<uint32_t>(cache.ids.size()), static_cast<uint32_t>(out.size() - begin)};
      cache.bytes.append(word);
      cache.ids.insert(cache.ids.end(), out.begin() + static_cast<std::ptrdiff_t>(begin), out.end());
      ++cache.entries;
    });
  }
  if (add_eos) out.push_back(kEosId);
  return out;
}

// Applies the merges to one word: repeatedly the adjacent pair of lowest
// rank merges, the leftmost one among equals - the order in which training
// merged them (a merge of rank r only creates pairs of rank > r).
void BpeTokenizer::encode_word(std::string_view word, std::vector<int64_t>& out, Cache* scratch) const {
  const size_t n = word.size();
  if (n < 2 || rank_table_.empty()) {
    for (char c : word) out.push_back(static_cast<unsigned char>(c));
    return;
  }
  if (n <= kMaxCachedWordBytes) {
    // Short word: a scan for the lowest rank per merge, O(n^2) with a tiny
    // constant, like GPT-2's and tiktoken's loops.
    auto& ids = scratch->word_ids;
    auto& ranks = scratch->word_ranks;  // ranks[i]: rank of (ids[i], ids[i + 1])
    ids.resize(n);
    for (size_t i = 0; i < n; ++i) ids[i] = static_cast<unsigned char>(word[i]);
    ranks.resize(n - 1);
    for (size_t i = 0; i + 1 < n; ++i) ranks[i] = merge_rank(ids[i], ids[i + 1]);
    while (!ranks.empty()) {
      const size_t best = static_cast<size_t>(std::min_element(ranks.begin(), ranks.end()) - ranks.begin());
      if (ranks[best] == kNoRank) break;
      ids[best] = kFirstMergeId + ranks[best];
      ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(best) + 1);
      ranks.erase(ranks.begin() + static_cast<std::ptrdiff_t>(best));
      if (best > 0) ranks[best - 1] = merge_rank(ids[best - 1], ids[best]);
      if (best < ranks.size()) ranks[best] = merge_rank(ids[best], ids[best + 1]);
    }
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }

  // Long word: the symbols form a linked list and a min-heap holds the
  // candidate pairs keyed by (rank, position). Entries are checked against
  // the list when popped and skipped when stale. O(n log n).
  auto& syms = scratch->symbols;
  auto& heap = scratch->heap;
  const auto len = static_cast<int32_t>(n);
  syms.resize(n);
  for (int32_t i = 0; i < len; ++i) syms[i] = {static_cast<unsigned char>(word[i]), i - 1, i + 1 < len ? i + 1 : -1};
  heap.clear();
  auto candidate = [&](int32_t pos) {
    const int32_t next = syms[pos].next;
    if (next < 0) return;
    const int64_t rank = merge_rank(syms[pos].id, syms[next].id);
    if (rank != kNoRank) heap.push_back(static_cast<uint64_t>(rank) << 32 | static_cast<uint32_t>(pos));
  };
  for (int32_t i = 0; i + 1 < len; ++i) candidate(i);
  std::make_heap(heap.begin(), heap.end(), std::greater<>{});
  auto push_pair = [&](int32_t pos) {
    const size_t size = heap.size();
    candidate(pos);
    if (heap.size() != size) std::push_heap(heap.begin(), heap.end(), std::greater<>{});
  };
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    const auto rank = static_cast<int64_t>(heap.back() >> 32);
    const auto pos = static_cast<int32_t>(heap.back() & 0xffffffffu);
    heap.pop_back();
    Symbol& a = syms[pos];
    const Merge& m = merges_[static_cast<size_t>(rank)];
    if (a.id != m.left || a.next < 0 || syms[a.next].id != m.right) continue;  // stale
    Symbol& b = syms[a.next];
    a.id = kFirstMergeId + rank;
    a.next = b.next;
    if (b.next >= 0) syms[b.next].prev = pos;
    b.id = -1;
    if (a.prev >= 0) push_pair(a.prev);
    push_pair(pos);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids) const { return decode(ids, DecodeOptions{}); }

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids, DecodeOptions options) const {
  std::string text;
  text.reserve(ids.size() * 3);
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids[i];
    FRESCO_CHECK(id >= 0 && id < vocab_size(),
                 "BpeTokenizer::decode: ids must be in [0, {}) (the vocabulary), found {} at position {}",
                 vocab_size(), id, i);
    if (is_special(id) && !options.keep_special) continue;
    text += tokens_[static_cast<size_t>(id)];
  }
  return text;
}

const std::string& BpeTokenizer::token_text(int64_t id) const {
  FRESCO_CHECK(id >= 0 && id < vocab_size(), "BpeTokenizer::token_text: id must be in [0, {}), found {}",
               vocab_size(), id);
  return tokens_[static_cast<size_t>(id)];
}

// ---------------------------------------------------------------- serialisation

std::string BpeTokenizer::to_json() const {
  Json merges = Json::array();
  for (const Merge& m : merges_) merges.push_back(Json::array({m.left, m.right}));
  Json doc = {{"format", kFormatName},
              {"version", kFormatVersion},
              {"special_tokens", Json::array({kSpecialText[0], kSpecialText[1], kSpecialText[2]})},
              {"merges", std::move(merges)}};
  return doc.dump();
}

BpeTokenizer BpeTokenizer::from_json(std::string_view text) {
  constexpr const char* fn = "BpeTokenizer::from_json";
  Json doc;
  try {
    doc = Json::parse(
        text.begin(), text.end(),
        [fn](int depth, Json::parse_event_t event, Json&) {
          if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
              depth > kMaxJsonDepth)
            throw Error(fmt::format("{}: expected JSON nested at most {} levels deep, found deeper nesting", fn,
                                    kMaxJsonDepth + 1));
          return true;
        });
  } catch (const Json::exception& e) {
    throw Error(fmt::format("{}: expected a JSON document, parsing failed: {}", fn, e.what()));
  }
  FRESCO_CHECK(doc.is_object(), "{}: expected a JSON object, found {}", fn, doc.type_name());
  auto field = [&](const char* name) -> const Json& {
    auto it = doc.find(name);
    FRESCO_CHECK(it != doc.end(), "{}: expected a field \"{}\", found none", fn, name);
    return *it;
  };

  const Json& format = field("format");
  FRESCO_CHECK(format.is_string() && format.get_ref<const std::string&>() == kFormatName,
               "{}: expected \"format\": \"{}\", found a {} of another value", fn, kFormatName, format.type_name());
  const Json& version = field("version");
  FRESCO_CHECK(version.is_number_integer() && version == kFormatVersion,
               "{}: expected \"version\": {}, found a {} of another value", fn, kFormatVersion, version.type_name());
  const Json& special = field("special_tokens");
  const Json expected_special = Json::array({kSpecialText[0], kSpecialText[1], kSpecialText[2]});
  FRESCO_CHECK(special == expected_special, "{}: expected \"special_tokens\": {}, found another {}", fn,
               expected_special.dump(), special.type_name());

  const Json& list = field("merges");
  FRESCO_CHECK(list.is_array(), "{}: expected \"merges\" to be an array, found {}", fn, list.type_name());
  std::vector<Merge> merges;
  merges.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& pair = list[i];
    FRESCO_CHECK(pair.is_array() && pair.size() == 2, "{}: expected merge {} to be an array [left, right], found {}{}",
                 fn, i, pair.type_name(), pair.is_array() ? fmt::format(" of {} elements", pair.size()) : "");
    int64_t ids[2];
    for (size_t k = 0; k < 2; ++k) {
      const Json& v = pair[k];
      FRESCO_CHECK(v.is_number_integer(), "{}: expected merge {} to hold integer ids, found {}", fn, i, v.type_name());
      FRESCO_CHECK(!v.is_number_unsigned() || v.get<uint64_t>() <= uint64_t{std::numeric_limits<int64_t>::max()},
                   "{}: expected merge {} to hold ids below 2^63, found {}", fn, i, v.get<uint64_t>());
      ids[k] = v.get<int64_t>();
    }
    merges.push_back({ids[0], ids[1]});
  }
  try {
    return from_merges(std::move(merges));
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", fn, e.what()));
  }
}

void BpeTokenizer::save(const std::string& path) const {
  try {
    io::write_file_atomic(path, to_json());
  } catch (const IoError& e) {
    throw IoError(fmt::format("BpeTokenizer::save: {}", e.what()));
  }
}

BpeTokenizer BpeTokenizer::load(const std::string& path) {
  std::string text;
  try {
    text = io::read_file(path, kMaxFileBytes, "tokenizer");
  } catch (const IoError& e) {
    throw IoError(fmt::format("BpeTokenizer::load: {}", e.what()));
  }
  try {
    return from_json(text);
  } catch (const Error& e) {
    throw IoError(fmt::format("BpeTokenizer::load: {}: not a tokenizer file written by BpeTokenizer::save: {}", path,
                              e.what()));
  }
}

}  // namespace fresco::text
