// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the programs under examples/ share about their command line. CLI11
// parses it; the validators here name the value in their messages
// ("--n: 'abc' is not an integer"), and `run` turns the outcome into the exit
// status: 0 after --help or a run that succeeds, 2 for a bad command line, 1
// when the run itself fails (a fresco::Error).
//
//     CLI::App app{"What the program does.", "name"};
//     Args args;
//     cli::add_number(app, "--n", args.n, "images to draw")->check(cli::positive());
//     return cli::run(app, argc, argv, [&] { return work(args); });

#include <charconv>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>

namespace fresco::cli {

namespace detail {

template <class T>
struct Unwrap {
  using type = T;
};
template <class T>
struct Unwrap<std::optional<T>> {
  using type = T;
};

/// Accepts a whole decimal number that fits in N and writes it back in plain
/// decimal: CLI11 alone reads "010" as octal and "0x10" as hex, std::stoll as ten.
template <class N>
CLI::Validator integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const char* first = text.data() + (text.size() > 1 && text[0] == '+' ? 1 : 0);
        const char* last = text.data() + text.size();
        N value{};
        const auto [end, ec] = std::from_chars(first, last, value);
        if (ec == std::errc::result_out_of_range)
          return "'" + text + "' is out of range [" + std::to_string(std::numeric_limits<N>::min()) + ", " +
                 std::to_string(std::numeric_limits<N>::max()) + "]";
        if (ec != std::errc() || end != last)
          return "'" + text + "' is not " + (std::is_signed_v<N> ? "an integer" : "a non-negative integer");
        text = std::to_string(value);
        return {};
      },
      "");
}

/// Accepts a finite decimal number ("0.5", "-2", "1e-4").
CLI::Validator real();

}  // namespace detail

/// Adds an option bound to the number `value` (an integer or floating-point
/// type, or an optional one): a value that is not a number of that kind fails
/// with "--n: 'abc' is not an integer" before any range check runs.
template <class T>
CLI::Option* add_number(CLI::App& app, const std::string& name, T& value, const std::string& description) {
  using N = typename detail::Unwrap<T>::type;
  static_assert(std::is_arithmetic_v<N> && !std::is_same_v<N, bool>, "add_number: a number type");
  CLI::Option* option = app.add_option(name, value, description);
  // transform() puts the check in front of the range checks added later.
  if constexpr (std::is_integral_v<N>)
    option->transform(detail::integer<N>());
  else
    option->transform(detail::real());
  return option;
}

/// Range checks for options added by `add_number` (they read the value as a
/// number, which the type check has already ensured). Messages:
/// "--minutes: '-1' is not positive", "--text-share: '1' is not in [0, 1)".
CLI::Validator positive();                          // > 0
CLI::Validator non_negative();                      // >= 0
CLI::Validator at_least(double min);                // >= min
CLI::Validator closed(double min, double max);      // in [min, max]
CLI::Validator half_open(double min, double max);   // in [min, max)

/// The comma-separated items of `list` ("a,b,c" -> {"a", "b", "c"}). Throws
/// CLI::ValidationError naming `option` for an empty list or an empty item.
std::vector<std::string> split_list(const std::string& list, const std::string& option);

/// CLI::ExistingFile, with `hint` (what to do about a missing file) added to its message.
CLI::Validator existing_file(const std::string& hint);

/// A dataset name: one of `names`, or `prefix` followed by a value that `rest`
/// accepts ("folder:" and CLI::ExistingDirectory). `rest_name` says what
/// follows the prefix in the help ("DIR").
CLI::Validator dataset_name(const std::vector<std::string>& names, const std::string& prefix,
                            const std::string& rest_name, const CLI::Validator& rest);

/// Parses the command line into `app`, then runs `body` and returns its exit
/// status. `--help` (or `-h`) prints the help, where every option shows its
/// default, and returns 0. A bad command line prints "error: <what>" and a
/// pointer to --help on stderr and returns 2: a value that does not parse or is
/// out of range, a missing required option, an unknown argument, and any
/// CLI::ParseError that `body` throws for a check across options (throw
/// CLI::ValidationError("--minutes and --steps", "give one of them")). An
/// exception from the run itself (fresco::Error and the like) prints
/// "error: <what>" and returns 1.
int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

}  // namespace fresco::cli
