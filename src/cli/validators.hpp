// SPDX-License-Identifier: Apache-2.0
// validators.hpp — CLI11 checks for every numeric flag, built on numbers.hpp.
#pragma once

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdint>
#include <string>

#include "resp/numbers.hpp"

namespace swarmkeeper::cli {

// CLI11 checks built on the strict parsers (numbers.hpp): they see the text before any
// conversion, so "-5" never wraps into a huge unsigned number and "nan" never passes.
// CLI11 puts the flag's name in front: "--batch: '0' is not ... (e.g. 500)".
inline CLI::Validator count_in(std::uint64_t lo, std::uint64_t hi, std::string example) {
  return CLI::Validator(
      [lo, hi, example](std::string& v) -> std::string {
        if (parse_count(v, lo, hi)) return "";
        return not_a(v, "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi), example);
      },
      "INT in [" + std::to_string(lo) + " - " + std::to_string(hi) + "]");
}
inline CLI::Validator decimal_in(double lo, double hi, std::string example) {
  return CLI::Validator(
      [lo, hi, example](std::string& v) -> std::string {
        if (parse_decimal(v, lo, hi)) return "";
        return not_a(v, fmt::format("a number from {} to {}", lo, hi), example);
      },
      "NUMBER");
}

// Every option of `sub` can also come from the environment: --max-busy from
// SWARMKEEPER_MAX_BUSY, --dry-run from SWARMKEEPER_DRY_RUN=1, and so on (a flag given on
// the command line wins; --help names each variable). Call after adding the options.
inline void options_from_environment(CLI::App* sub) {
  for (CLI::Option* o : sub->get_options()) {
    if (!o->get_envname().empty() || o->get_lnames().empty() || o->get_lnames().front() == "help") continue;
    std::string name = "SWARMKEEPER_";
    for (char c : o->get_lnames().front())
      name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    o->envname(name);
  }
}

// The log format of cleanup and serve: text (the default) or json (one object per line).
inline void add_log_format_option(CLI::App* sub, std::string& format) {
  sub->add_option("--log-format", format, "text, or json: one JSON object per log line, for log shippers")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

}  // namespace swarmkeeper::cli
