// SPDX-License-Identifier: Apache-2.0
// ImageFolder: parse the captions file line by line (TSV or JSONL), then read,
// resize, crop and quantise every image it names. Every error carries
// "<captions file>:<line>" so the user can go straight to the culprit.
#include <fresco/data/image_folder.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <fresco/error.hpp>
#include <fresco/io/image.hpp>

namespace fresco::data {
namespace fs = std::filesystem;

bool is_valid_utf8(std::string_view s, size_t* bad_offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  auto fail = [&] {
    if (bad_offset) *bad_offset = i;
    return false;
  };
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Lead byte -> sequence length and the smallest code point it may encode
    // (anything below is an overlong form).
    size_t len = 0;
    uint32_t cp = 0, min_cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min_cp = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min_cp = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min_cp = 0x10000;
    } else {
      return fail();
    }
    if (i + len > n) return fail();
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return fail();
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return fail();
    i += len;
  }
  return true;
}

namespace {

struct Line {
  std::string text;
  int64_t number = 0;
};

// `what` names the file's role in messages ("captions file", "exclude file").
std::string read_text_file(const std::string& path, const char* what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError(fmt::format("ImageFolder: cannot open the {} '{}'", what, path));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw IoError(fmt::format("ImageFolder: cannot read the {} '{}'", what, path));
  return ss.str();
}

// Non-blank lines with their 1-based numbers; a trailing '\r' (CRLF files) is dropped.
std::vector<Line> split_lines(const std::string& text) {
  std::vector<Line> lines;
  int64_t number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++number;
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back({std::move(line), number});
    start = end + 1;
  }
  return lines;
}

[[noreturn]] void line_error(const std::string& captions, int64_t line, const std::string& what) {
  throw IoError(fmt::format("ImageFolder: {}:{}: {}", captions, line, what));
}

std::string pick_captions_file(const ImageFolderOptions& o) {
  if (!o.captions_file.empty()) return (fs::path(o.root) / o.captions_file).string();
  const fs::path tsv = fs::path(o.root) / "captions.tsv", jsonl = fs::path(o.root) / "captions.jsonl";
  std::error_code ec;
  const bool has_tsv = fs::exists(tsv, ec), has_jsonl = fs::exists(jsonl, ec);
  if (has_tsv && has_jsonl)
    throw IoError(fmt::format("ImageFolder: '{}' holds both captions.tsv and captions.jsonl; "
                              "name the one to use in .captions_file", o.root));
  if (!has_tsv && !has_jsonl)
    throw IoError(fmt::format("ImageFolder: no captions file in '{}': expected captions.tsv "
                              "(file<TAB>caption per line) or captions.jsonl ({{\"file\": ..., \"caption\": ...}} per line)",
                              o.root));
  return (has_tsv ? tsv : jsonl).string();
}

}  // namespace

ImageFolder::ImageFolder(ImageFolderOptions options) : options_(std::move(options)) {
  FRESCO_CHECK(!options_.root.empty(), "ImageFolder: .root is empty; expected the directory of the images");
  FRESCO_CHECK(options_.image_size >= 1 && options_.image_size <= 4096,
               "ImageFolder: .image_size must be in 1..4096, got {}", options_.image_size);
  FRESCO_CHECK(options_.channels == 1 || options_.channels == 3, "ImageFolder: .channels must be 1 or 3, got {}",
               options_.channels);
  FRESCO_CHECK(options_.background >= 0.f && options_.background <= 1.f,
               "ImageFolder: .background must be a grey level in [0, 1], got {}", options_.background);
  std::error_code ec;
  if (!fs::is_directory(options_.root, ec))
    throw IoError(fmt::format("ImageFolder: '{}' is not a directory", options_.root));
  captions_path_ = pick_captions_file(options_);
  const bool jsonl = fs::path(captions_path_).extension() == ".jsonl";
  FRESCO_CHECK(jsonl || options_.label_keys.empty(),
               "ImageFolder: label keys ({}) need a JSONL captions file with those fields, got '{}'",
               fmt::join(options_.label_keys, ", "), captions_path_);
  FRESCO_CHECK(jsonl || options_.caption_keys.empty(),
               "ImageFolder: caption keys ({}) need a JSONL captions file with those fields, got '{}'",
               fmt::join(options_.caption_keys, ", "), captions_path_);
  const std::vector<std::string> caption_keys =
      options_.caption_keys.empty() ? std::vector<std::string>{"caption"} : options_.caption_keys;

  std::vector<Entry> entries;
  for (Line& line : split_lines(read_text_file(captions_path_, "captions file"))) {
    size_t bad = 0;
    if (!is_valid_utf8(line.text, &bad))
      line_error(captions_path_, line.number, fmt::format("invalid UTF-8 at byte {} of the line", bad + 1));
    Entry e;
    e.line = line.number;
    if (jsonl) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line.text);
      } catch (const nlohmann::json::exception& ex) {
        line_error(captions_path_, line.number, fmt::format("bad JSON ({})", ex.what()));
      }
      if (!j.is_object()) line_error(captions_path_, line.number, "expected a JSON object {\"file\": ..., \"caption\": ...}");
      auto file = j.find("file");
      if (file == j.end()) line_error(captions_path_, line.number, "missing key \"file\"");
      if (!file->is_string()) line_error(captions_path_, line.number, "\"file\" is not a string");
      e.file = file->get<std::string>();
      if (e.file.empty()) line_error(captions_path_, line.number, "empty file name");
      for (const std::string& key : options_.label_keys) {
        auto it = j.find(key);
        if (it == j.end()) line_error(captions_path_, line.number, fmt::format("missing label key \"{}\"", key));
        if (!it->is_string())
          line_error(captions_path_, line.number, fmt::format("label \"{}\" is not a string", key));
        e.label_values.push_back(it->get<std::string>());
      }
      // Every non-empty caption of the listed fields is an entry of its own.
      const size_t first = entries.size();
      for (const std::string& key : caption_keys) {
        auto it = j.find(key);
        if (it == j.end()) line_error(captions_path_, line.number, fmt::format("missing key \"{}\"", key));
        const bool array = it->is_array();
        if (!it->is_string() && !array)
          line_error(captions_path_, line.number, fmt::format("\"{}\" is not a string or an array of strings", key));
        for (const auto& value : array ? *it : nlohmann::json::array({*it})) {
          if (!value.is_string())
            line_error(captions_path_, line.number, fmt::format("\"{}\" holds a value that is not a string", key));
          Entry c = e;
          c.caption = value.get<std::string>();
          if (c.caption.find_first_not_of(" \t") != std::string::npos) entries.push_back(std::move(c));
        }
      }
      if (entries.size() == first)
        line_error(captions_path_, line.number,
                   fmt::format("empty caption for '{}' (fields {})", e.file, fmt::join(caption_keys, ", ")));
    } else {
      const size_t tab = line.text.find('\t');
      if (tab == std::string::npos)
        line_error(captions_path_, line.number, "no tab; expected 'file<TAB>caption'");
      e.file = line.text.substr(0, tab);
      e.caption = line.text.substr(tab + 1);
      if (e.file.empty()) line_error(captions_path_, line.number, "empty file name");
      if (e.caption.find_first_not_of(" \t") == std::string::npos)
        line_error(captions_path_, line.number, fmt::format("empty caption for '{}'", e.file));
      entries.push_back(std::move(e));
    }
  }
  // Classes over every entry, before the exclude file removes any.
  label_names_.resize(options_.label_keys.size());
  for (size_t k = 0; k < options_.label_keys.size(); ++k) {
    std::set<std::string> values;
    for (const Entry& e : entries) values.insert(e.label_values[k]);
    label_names_[k].assign(values.begin(), values.end());
  }
  if (!options_.exclude_file.empty()) {
    std::set<std::string> excluded;
    for (Line& line : split_lines(read_text_file(options_.exclude_file, "exclude file"))) excluded.insert(line.text);
    const size_t before = entries.size();
    std::erase_if(entries, [&](const Entry& e) { return excluded.contains(e.file); });
    excluded_ = static_cast<int64_t>(before - entries.size());
    if (entries.empty())
      throw IoError(fmt::format("ImageFolder: {}: every entry is listed in the exclude file '{}'", captions_path_,
                                options_.exclude_file));
  }
  if (entries.empty()) throw IoError(fmt::format("ImageFolder: {}: no entries", captions_path_));
  load_entries(entries);
}

namespace {

// [C + 1, H, W] colour + alpha -> [C, H, W]: each pixel over a uniform background.
Tensor composite_alpha(const Tensor& with_alpha, float background) {
  const int64_t c = with_alpha.size(0) - 1, hw = with_alpha.size(1) * with_alpha.size(2);
  Tensor src = with_alpha.contiguous();
  Tensor out = empty({c, with_alpha.size(1), with_alpha.size(2)});
  const float* in = src.data();
  const float* alpha = in + c * hw;
  float* dst = out.data();
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t k = 0; k < hw; ++k) dst[ch * hw + k] = in[ch * hw + k] * alpha[k] + background * (1.f - alpha[k]);
  return out;
}

}  // namespace

void ImageFolder::load_entries(const std::vector<Entry>& entries) {
  const int64_t s = options_.image_size, c = options_.channels;
  const int64_t per_image = c * s * s;
  std::map<std::string, int64_t> loaded;  // file -> index of its pixels, so a repeated file is read once
  for (const Entry& e : entries) {
    auto [it, fresh] = loaded.emplace(e.file, static_cast<int64_t>(loaded.size()));
    if (fresh) {
      const std::string path = (fs::path(options_.root) / e.file).string();
      std::error_code ec;
      if (!fs::is_regular_file(path, ec))
        line_error(captions_path_, e.line, fmt::format("image '{}' does not exist", path));
      Tensor img;
      try {
        // Read with an alpha channel (opaque files get alpha 1) and composite on the background.
        img = composite_alpha(io::read_image(path, {.channels = options_.channels + 1, .max_pixels = options_.max_pixels}),
                              options_.background);
      } catch (const Error& ex) {
        line_error(captions_path_, e.line, fmt::format("cannot read image '{}': {}", path, ex.what()));
      }
      // Shorter side -> s, keeping the aspect ratio; then the central s x s square.
      const int64_t h = img.size(1), w = img.size(2);
      const double scale = static_cast<double>(s) / static_cast<double>(std::min(h, w));
      const int64_t nh = std::max(s, static_cast<int64_t>(std::lround(h * scale)));
      const int64_t nw = std::max(s, static_cast<int64_t>(std::lround(w * scale)));
      if (nh != h || nw != w) img = scale < 1.0 ? io::resize_area(img, nh, nw) : io::resize_bilinear(img, nh, nw);
      img = io::center_crop(img, s, s).contiguous();
      const float* src = img.data();
      const size_t base = pixels_.size();
      pixels_.resize(base + static_cast<size_t>(per_image));
      for (int64_t k = 0; k < per_image; ++k)
        pixels_[base + static_cast<size_t>(k)] =
            static_cast<uint8_t>(std::lround(std::clamp(src[k], 0.f, 1.f) * 255.f));
    }
    files_.push_back(e.file);
    captions_.push_back(e.caption);
    std::vector<int64_t> labels;
    for (size_t k = 0; k < label_names_.size(); ++k) {
      const auto& names = label_names_[k];
      labels.push_back(std::lower_bound(names.begin(), names.end(), e.label_values[k]) - names.begin());
    }
    labels_.push_back(std::move(labels));
    image_of_entry_.push_back(it->second);
  }
}

void ImageFolder::check_index(int64_t i, const char* fn) const {
  FRESCO_CHECK(i >= 0 && i < size(), "ImageFolder::{}: index {} out of range for {} entries", fn, i, size());
}

Example ImageFolder::get(int64_t i) const {
  check_index(i, "get");
  const int64_t s = options_.image_size, c = options_.channels, per_image = c * s * s;
  Tensor img = empty({c, s, s});
  float* dst = img.data();
  const uint8_t* src = pixels_.data() + image_of_entry_[static_cast<size_t>(i)] * per_image;
  for (int64_t k = 0; k < per_image; ++k) dst[k] = static_cast<float>(src[k]) / 255.f;
  return {img, captions_[static_cast<size_t>(i)], labels_[static_cast<size_t>(i)]};
}

const std::vector<std::string>& ImageFolder::label_names(size_t k) const {
  FRESCO_CHECK(k < label_names_.size(), "ImageFolder::label_names: key {} out of range for {} label keys", k,
               label_names_.size());
  return label_names_[k];
}

const std::string& ImageFolder::file(int64_t i) const {
  check_index(i, "file");
  return files_[static_cast<size_t>(i)];
}

const std::string& ImageFolder::caption(int64_t i) const {
  check_index(i, "caption");
  return captions_[static_cast<size_t>(i)];
}

}  // namespace fresco::data
