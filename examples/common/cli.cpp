// SPDX-License-Identifier: Apache-2.0
#include "cli.hpp"

#include "distributed.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include <fresco/dist/process_group.hpp>

namespace fresco::cli {

namespace {

// A number checks can read: the type check before them has accepted the text.
long double number(const std::string& text) { return std::strtold(text.c_str(), nullptr); }

CLI::Validator number_check(std::function<bool(long double)> accept, std::string what, std::string description) {
  return CLI::Validator(
      [accept = std::move(accept), what = std::move(what)](std::string& text) -> std::string {
        return accept(number(text)) ? std::string() : "'" + text + "' is " + what;
      },
      std::move(description));
}

// Every option shows its default in --help: the value its variable holds before parsing
// (flags are left out: "false" says nothing their description does not). An option given
// twice takes its last value, as the programs' hand-written parsers did, where CLI11 would
// refuse the command line (scripts append overrides to a line of defaults).
void apply_conventions(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_default_str().empty() && option->get_expected_max() > 0) option->capture_default_str();
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
}

// CLI11's help, with the default at the end of the description ("images in the grid
// (default 16)") rather than glued to the type ("INT:POSITIVE=16").
class Formatter : public CLI::Formatter {
public:
  std::string make_option_opts(const CLI::Option* opt) const override {
    std::string out;
    if (opt->get_type_size() != 0) {
      if (!opt->get_type_name().empty()) out += " " + opt->get_type_name();
      if (opt->get_required()) out += " REQUIRED";
    }
    for (const CLI::Option* other : opt->get_needs()) out += " (needs " + other->get_name() + ")";
    return out;
  }
  std::string make_option_desc(const CLI::Option* opt) const override {
    const std::string value = opt->get_default_str();
    if (value.empty() || opt->get_type_size() == 0) return opt->get_description();
    return opt->get_description() + " (default " + value + ")";
  }
};

}  // namespace

namespace detail {

CLI::Validator real() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const char* first = text.data() + (text.size() > 1 && text[0] == '+' ? 1 : 0);
        const char* last = text.data() + text.size();
        double value = 0;
        const auto [end, ec] = std::from_chars(first, last, value);
        if (ec != std::errc() || end != last || !std::isfinite(value)) return "'" + text + "' is not a number";
        return {};
      },
      "");
}

}  // namespace detail

CLI::Validator positive() {
  return number_check([](long double v) { return v > 0; }, "not positive", "POSITIVE");
}

CLI::Validator non_negative() {
  return number_check([](long double v) { return v >= 0; }, "negative", "NONNEGATIVE");
}

CLI::Validator at_least(double min) {
  return number_check([min](long double v) { return v >= min; }, fmt::format("below the minimum {}", min),
                      fmt::format(">={}", min));
}

CLI::Validator closed(double min, double max) {
  const std::string range = fmt::format("[{}, {}]", min, max);
  return number_check([min, max](long double v) { return v >= min && v <= max; }, "not in " + range,
                      fmt::format("[{},{}]", min, max));
}

CLI::Validator half_open(double min, double max) {
  const std::string range = fmt::format("[{}, {})", min, max);
  return number_check([min, max](long double v) { return v >= min && v < max; }, "not in " + range,
                      fmt::format("[{},{})", min, max));
}

std::vector<std::string> split_list(const std::string& list, const std::string& option) {
  std::vector<std::string> items;
  for (size_t start = 0; start <= list.size();) {
    const size_t comma = std::min(list.find(',', start), list.size());
    items.push_back(list.substr(start, comma - start));
    if (items.back().empty()) throw CLI::ValidationError(option, "'" + list + "' has an empty item");
    start = comma + 1;
  }
  return items;
}

CLI::Validator existing_file(const std::string& hint) {
  return CLI::Validator(
      [hint](std::string& path) -> std::string {
        const std::string error = CLI::ExistingFile(path);
        return error.empty() ? error : error + " (" + hint + ")";
      },
      "FILE");
}

CLI::Validator dataset_name(const std::vector<std::string>& names, const std::string& prefix,
                            const std::string& rest_name, const CLI::Validator& rest) {
  std::string choices;
  for (const std::string& name : names) choices += name + "|";
  choices += prefix + rest_name;
  return CLI::Validator(
      [names, prefix, rest, choices](std::string& text) -> std::string {
        for (const std::string& name : names)
          if (text == name) return {};
        if (text.starts_with(prefix)) {
          std::string tail = text.substr(prefix.size());
          const std::string error = rest(tail);
          return error.empty() ? error : "'" + text + "': " + error;
        }
        return "'" + text + "' is not one of " + choices;
      },
      choices);
}

int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  apply_conventions(app);
  auto formatter = std::make_shared<Formatter>();
  formatter->column_width(32);
  app.formatter(formatter);
  try {
    app.parse(argc, argv);
    return body();
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "error: {}\nrun '{} --help' to see the options\n", e.what(), app.get_name());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    const auto world = joined_world();
    if (world && world->world_size() > 1)
      fmt::print(error_stream(), "error (rank {} of {}): {}\n", world->rank(), world->world_size(), e.what());
    else
      fmt::print(stderr, "error: {}\n", e.what());
    // Under mpirun, the other processes would wait for this one until their
    // timeout: end them all now (nothing happens in a one-process run).
    fresco::dist::abort_world(1);
    return 1;
  }
}

}  // namespace fresco::cli
