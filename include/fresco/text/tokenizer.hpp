// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Byte-level byte-pair-encoding (BPE) tokenizer for captions. It does not
/// depend on `Tensor`: data code uses it too.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fresco::text {

/// One learned merge: the adjacent tokens `left` and `right` become one new
/// token. The i-th merge of a tokenizer creates the token with id
/// `BpeTokenizer::kFirstMergeId + i`.
struct Merge {
  int64_t left = 0;   ///< id of the left token
  int64_t right = 0;  ///< id of the right token
  /// Merges compare equal when both ids are equal.
  friend bool operator==(const Merge&, const Merge&) = default;
};

/// Options of `BpeTokenizer::decode`.
struct DecodeOptions {
  /// Write special tokens as their text (`<|bos|>`, ...) instead of dropping them.
  bool keep_special = false;
};

/// Byte-level BPE tokenizer.
///
/// Ids 0..255 are the raw bytes, ids 256, 257, 258 the special tokens
/// `<|bos|>`, `<|eos|>`, `<|pad|>`, and ids from 259 on the learned merges in
/// the order they were learned. Text is split into words before each space
/// (the space stays attached to the word that follows it, as in GPT-2), and
/// merges never cross a word boundary. Every byte string - invalid UTF-8, NUL
/// bytes, emoji, the empty string - encodes and decodes back to itself.
///
///     auto tok = fresco::text::BpeTokenizer::train(corpus, 512);
///     std::vector<int64_t> ids = tok.encode("a red circle", /*add_bos=*/true, /*add_eos=*/true);
///
/// `encode` keeps a cache of the words it has seen; calls on one tokenizer
/// from several threads are safe (they take turns on the cache).
class BpeTokenizer {
public:
  /// Number of byte tokens (ids 0..255).
  static constexpr int64_t kNumBytes = 256;
  /// Id of `<|bos|>`, the begin-of-sequence token.
  static constexpr int64_t kBosId = 256;
  /// Id of `<|eos|>`, the end-of-sequence token.
  static constexpr int64_t kEosId = 257;
  /// Id of `<|pad|>`, the padding token.
  static constexpr int64_t kPadId = 258;
  /// Id of the token made by the first merge; also the smallest vocabulary.
  static constexpr int64_t kFirstMergeId = 259;

  /// A tokenizer with bytes and special tokens only (vocab_size() == 259).
  BpeTokenizer();
  /// Learns merges from `corpus` until the vocabulary holds `vocab_size`
  /// tokens or no adjacent pair occurs at least twice. Each step merges the
  /// most frequent pair; ties go to the smallest (left id, right id).
  /// Throws `fresco::Error` when `vocab_size` < 259.
  static BpeTokenizer train(const std::vector<std::string>& corpus, int64_t vocab_size);
  /// A tokenizer applying `merges` (as returned by `merges()`). Throws
  /// `fresco::Error` when a merge refers to a special token, to itself or a
  /// later token, or repeats an earlier merge.
  static BpeTokenizer from_merges(std::vector<Merge> merges);

  /// Copies share nothing (each has its own word cache).
  BpeTokenizer(const BpeTokenizer& other);
  /// Copy-assigns the merges; the word cache is reset.
  BpeTokenizer& operator=(const BpeTokenizer& other);
  /// Moves the merges and the cache; the moved-from tokenizer may only be
  /// assigned to or destroyed.
  BpeTokenizer(BpeTokenizer&&) noexcept;
  /// Move-assigns the merges and the cache.
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;
  /// Frees the cache.
  ~BpeTokenizer();

  /// Text -> ids, optionally framed by `<|bos|>` and `<|eos|>`. Special-token
  /// text inside `text` (e.g. "<|eos|>") is encoded as ordinary bytes.
  std::vector<int64_t> encode(std::string_view text, bool add_bos = false, bool add_eos = false) const;
  /// Ids -> text; special tokens are dropped. Throws `fresco::Error` for an
  /// id outside [0, vocab_size()).
  std::string decode(const std::vector<int64_t>& ids) const;
  /// Ids -> text, with special tokens written out when
  /// `options.keep_special` is set. Throws `fresco::Error` for an id outside
  /// [0, vocab_size()).
  std::string decode(const std::vector<int64_t>& ids, DecodeOptions options) const;

  /// Number of tokens: 259 + merges().size().
  int64_t vocab_size() const { return static_cast<int64_t>(tokens_.size()); }
  /// The bytes a token stands for (a special token's text for 256..258).
  /// Throws `fresco::Error` for an id outside [0, vocab_size()).
  const std::string& token_text(int64_t id) const;
  /// The learned merges, in rank order: merges()[i] makes id 259 + i.
  const std::vector<Merge>& merges() const { return merges_; }
  /// Id of `<|bos|>` (256).
  int64_t bos_id() const { return kBosId; }
  /// Id of `<|eos|>` (257).
  int64_t eos_id() const { return kEosId; }
  /// Id of `<|pad|>` (258).
  int64_t pad_id() const { return kPadId; }

  /// JSON text `{"format": "fresco-bpe", "version": 1, "special_tokens": [...],
  /// "merges": [[left, right], ...]}`; also stored in safetensors metadata.
  std::string to_json() const;
  /// Parses `to_json()`'s output. Throws `fresco::Error` for anything else
  /// (bad JSON, missing fields, wrong types, invalid merges).
  static BpeTokenizer from_json(std::string_view json);
  /// Writes `to_json()` to `path` (through a temporary file renamed into
  /// place). Throws `fresco::IoError` naming the file when it cannot.
  void save(const std::string& path) const;
  /// Reads a file written by `save`. Throws `fresco::IoError` naming the file
  /// when it cannot be read or does not hold a tokenizer.
  static BpeTokenizer load(const std::string& path);

private:
  struct Cache;

  struct RankSlot {
    uint64_t key;  // left << 32 | right, or kEmptySlot
    int64_t rank;
  };

  int64_t merge_rank(int64_t left, int64_t right) const;
  void encode_word(std::string_view word, std::vector<int64_t>& out, Cache* scratch) const;

  std::vector<Merge> merges_;
  std::vector<std::string> tokens_;  // bytes of each id (text for specials)
  std::vector<RankSlot> rank_table_;  // open addressing: merge pair -> rank
  std::unique_ptr<Cache> cache_;
};

}  // namespace fresco::text
