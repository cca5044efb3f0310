// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Datasets by name: what a program's `--dataset` option reads.
///
///     auto ds = fresco::data::open_dataset({.name = "shapes", .limit = 1000});
///     ds->get(0).caption;   // e.g. "a small red triangle at the top left"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fresco/data/dataset.hpp>

namespace fresco::data {

/// Which dataset `open_dataset` opens.
struct DatasetSpec {
  /// "shapes", "fashion-mnist" or "folder:DIR".
  std::string name = "shapes";
  /// Number of samples (0: the dataset's default; Shapes 20,000, the others all).
  int64_t limit = 0;
  /// Seed of procedural data (Shapes) and of caption phrasings (Fashion-MNIST).
  uint64_t seed = 0;
  /// Image side for Shapes and folders (Fashion-MNIST is padded to 32).
  int64_t image_size = 32;
  /// Shapes only: the share of scenes with two objects (`ShapesOptions::two_object_fraction`).
  float two_object_fraction = 0.3f;
  /// Folders only: a file listing image files whose entries are left out
  /// (`ImageFolderOptions::exclude_file`), e.g. a held-out split.
  std::string exclude_file;
  /// Folders only: the captions file, relative to the folder (empty: captions.tsv
  /// or captions.jsonl, `ImageFolderOptions::captions_file`).
  std::string captions_file;
  /// Folders with a JSONL captions file only: the fields whose texts are captions,
  /// one entry each (`ImageFolderOptions::caption_keys`; empty: "caption").
  std::vector<std::string> caption_keys;
};

/// The training split of `spec.name`, at most `spec.limit` samples: `ShapesDataset`
/// (split "train", `spec.limit` scenes or 20,000), `FashionMnistDataset` (padded to
/// 32×32, the first `spec.limit` or all) or an `ImageFolder` of RGB images with
/// its captions file (read whole; the first `spec.limit` are used). Throws
/// `fresco::Error` for an unknown name (listing the valid ones) and
/// `fresco::IoError` for missing or broken files.
std::unique_ptr<Dataset> open_dataset(const DatasetSpec& spec);

}  // namespace fresco::data
