// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// Errors. A user's mistake (a bad shape, a bad file, a bad argument) throws
/// `fresco::Error`, whose message names the function, what it expected and
/// what it found. Internal invariants use `FRESCO_ASSERT`.

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace fresco {

/// Thrown for every mistake a user can make: `what()` says which function,
/// what was expected and what was found.
class Error : public std::runtime_error {
public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// A shape that does not fit the operation (`matmul: inner dimensions differ: ...`).
class ShapeError : public Error {
public:
  using Error::Error;
};

/// A file that cannot be read, written or parsed; the message names the file.
class IoError : public Error {
public:
  using Error::Error;
};

namespace detail {
[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const std::string& msg);
}  // namespace detail

}  // namespace fresco

/// Throws `fresco::Error` with a formatted message when `cond` is false.
#define FRESCO_CHECK(cond, ...)                                  \
  do {                                                           \
    if (!(cond)) throw ::fresco::Error(fmt::format(__VA_ARGS__)); \
  } while (0)

/// Throws `fresco::ShapeError` with a formatted message when `cond` is false.
#define FRESCO_CHECK_SHAPE(cond, ...)                                 \
  do {                                                                \
    if (!(cond)) throw ::fresco::ShapeError(fmt::format(__VA_ARGS__)); \
  } while (0)

/// Internal invariant: reports file and line (and throws) when violated.
#define FRESCO_ASSERT(cond, ...)                                                             \
  do {                                                                                       \
    if (!(cond)) ::fresco::detail::assert_fail(#cond, __FILE__, __LINE__, fmt::format("" __VA_ARGS__)); \
  } while (0)
