// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// `data::ImageFolder`: the user's own captioned images, from a directory
/// holding the images and a captions file.
///
/// The captions file sits in the root directory and is either
/// - `captions.tsv`: one `file<TAB>caption` per line, or
/// - `captions.jsonl`: one JSON object `{"file": "...", "caption": "..."}` per line.
///
/// File names are relative to the root (subdirectories allowed). Lines are
/// numbered from 1; blank lines are skipped; a trailing `\r` is dropped. An
/// image may be listed on several lines (one entry per caption), and a JSONL
/// line may give it several captions (`ImageFolderOptions::caption_keys`).
///
///     fresco::data::ImageFolder folder({.root = "my_images", .image_size = 32});
///     fresco::data::Example e = folder.get(0);   // e.image [3, 32, 32] in [0, 1], e.caption

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fresco/data/dataset.hpp>

namespace fresco::data {

/// Options of `ImageFolder`. Checked in the constructor.
struct ImageFolderOptions {
  /// The directory holding the images and the captions file.
  std::string root;
  /// Side of the square images returned, in pixels (1..4096).
  int64_t image_size = 32;
  /// Channels of the images returned: 1 (grey) or 3 (RGB); files are converted.
  int channels = 3;
  /// The captions file, relative to `root`; empty picks `captions.tsv` or
  /// `captions.jsonl`, whichever exists (an error when both or neither do).
  std::string captions_file;
  /// Image files with more pixels than this are refused (see io::ReadImageOptions).
  int64_t max_pixels = int64_t{1} << 26;
  /// JSONL captions only: string fields of each line that become the entry's
  /// labels, one per key in this order (e.g. {"category", "subcategory"}). A
  /// key's classes are its distinct values over the whole captions file
  /// (excluded entries included), sorted, so every split of one folder numbers
  /// them alike; `label_names(k)` lists them.
  std::vector<std::string> label_keys;
  /// JSONL captions only: the fields whose text is a caption of the line's
  /// image (empty: {"caption"}). Each field holds a string or an array of
  /// strings; every non-empty one becomes its own (image, caption) entry,
  /// sharing the image's pixels and labels, so training draws each of an
  /// image's captions as often as the others (e.g. {"caption", "caption_tags"}:
  /// the bare name and the name with its keywords). Every field must be
  /// present on every line; a line whose fields are all empty is an error.
  std::vector<std::string> caption_keys;
  /// A file listing image files, one per line as the captions file names them
  /// (relative to `root`), whose entries are left out: a held-out split. A path
  /// relative to the working directory or absolute; empty leaves nothing out.
  /// Blank lines are skipped; a listed file the captions never name is ignored.
  std::string exclude_file;
  /// Grey level in [0, 1] that transparent pixels (PNGs with alpha) are
  /// composited on before resizing: 1 is white, as emoji and icons are shown.
  float background = 1.f;
};

/// A directory of images with captions, as a `Dataset` (labels are empty).
///
/// Loading is **eager**: the constructor reads every image, resizes it so
/// that its shorter side is `image_size` (area averaging when shrinking,
/// bilinear when enlarging), crops the central `image_size`² square and keeps
/// it in memory as 8-bit values (3 KB per 32×32 RGB image). So every error
/// surfaces at once, in the constructor, and `get` is cheap, thread-safe and
/// never fails on a valid index.
///
/// The constructor throws `fresco::IoError` whose message names the captions
/// file and the line number for: a line without a tab, an empty file name or
/// caption, invalid UTF-8, bad JSON, a JSON line that is not an object with
/// string `file` and `caption`, a missing image, and an image that cannot be
/// decoded (corrupt, truncated, unsupported format, too large). A captions
/// file with no entries is an error too.
///
///     fresco::data::ImageFolder folder({.root = "pets", .image_size = 64, .channels = 3});
///     fresco::data::DataLoader loader(folder, {.batch_size = 32});
class ImageFolder : public Dataset {
public:
  explicit ImageFolder(ImageFolderOptions options);

  /// Entries left out because `exclude_file` lists their image.
  int64_t excluded() const { return excluded_; }
  /// Number of (image, caption) entries.
  int64_t size() const override { return static_cast<int64_t>(captions_.size()); }
  /// Entry i: image [channels, image_size, image_size] in [0, 1], caption, and
  /// one label per `label_keys` entry (none without them).
  Example get(int64_t i) const override;
  /// The classes of label key k (`options().label_keys[k]`), in label order.
  const std::vector<std::string>& label_names(size_t k) const;

  /// The image file of entry i, as written in the captions file.
  const std::string& file(int64_t i) const;
  /// The caption of entry i.
  const std::string& caption(int64_t i) const;
  /// The captions file that was read (full path).
  const std::string& captions_path() const { return captions_path_; }
  const ImageFolderOptions& options() const { return options_; }

private:
  struct Entry {
    std::string file;
    std::string caption;
    int64_t line = 0;
    std::vector<std::string> label_values;   // one per label key
  };
  void load_entries(const std::vector<Entry>& entries);
  void check_index(int64_t i, const char* fn) const;

  ImageFolderOptions options_;
  std::string captions_path_;
  std::vector<std::string> files_;
  std::vector<std::string> captions_;
  std::vector<int64_t> image_of_entry_;  // entry -> index of its pixels in pixels_
  std::vector<std::vector<std::string>> label_names_;   // per key, sorted classes
  std::vector<std::vector<int64_t>> labels_;            // per entry, one class per key
  std::vector<uint8_t> pixels_;          // images one after another, [C, S, S] bytes each
  int64_t excluded_ = 0;
};

/// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates, no
/// code point above U+10FFFF). On false, `*bad_offset` (when given) is the
/// byte offset of the first invalid sequence.
bool is_valid_utf8(std::string_view s, size_t* bad_offset = nullptr);

}  // namespace fresco::data
