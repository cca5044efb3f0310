// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Whole files in and out, with the library's errors: what checkpoints, images
/// and tokenizers are read and written with, for code of other layers (and
/// yours) that saves a file of its own.
///
///     fresco::io::write_file_atomic("vocab.json", json);   // readers see the old file or all of the new one
///     std::string text = fresco::io::read_file("vocab.json", 1 << 20, "vocabulary");

#include <cstdint>
#include <string>
#include <string_view>

namespace fresco::io {

/// Writes `bytes` to `path` atomically: they go to a temporary file in the same directory
/// (`<path>.tmp.<pid>.<n>`), which is flushed to disk and then renamed over `path`, so a
/// reader sees either the old content or the complete new content, and a failure leaves
/// `path` untouched. Throws `fresco::IoError` naming `path`.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// Reads a whole file into memory; throws `fresco::IoError` naming the file when it is
/// missing, not a regular file, unreadable or larger than `max_bytes`. `what` names the
/// kind of file in messages ("checkpoint", "image").
std::string read_file(const std::string& path, uint64_t max_bytes, std::string_view what);

/// Makes sure `dir` can receive files before any long work is done: creates it (and its
/// parents) when missing, then writes, flushes and removes a small probe file in it. Throws
/// `fresco::IoError` naming the directory and the system's reason ("Read-only file system",
/// "Permission denied", "No space left on device", "Not a directory") otherwise. Costs a few
/// system calls; what programs call first on their output directory.
///
///     fresco::io::prepare_output_directory("runs/shapes");   // before loading data or training
void prepare_output_directory(const std::string& dir);

/// Removes the temporary files that writers killed before their rename left under `dir`
/// (recursively): `<file>.tmp.<pid>.<n>`, as `write_file_atomic` names them, whose process
/// `pid` no longer exists. Files of live processes and every other file are left alone.
/// Returns how many were removed; a directory that does not exist has none.
int remove_stale_temporaries(const std::string& dir);

}  // namespace fresco::io
