// SPDX-License-Identifier: Apache-2.0
// numbers.hpp — strict parsing of the numbers and durations operators type: flags and
// environment variables. Everything a user can give is validated here; the rest of the
// program sees only checked values.
//
//   parse_duration_ms("10m")   -> 600000        parse_duration_ms("1500ms") -> 1500
//   parse_duration_ms("0.5")   -> 500 (a bare number is seconds, fractions allowed)
//   parse_duration_ms("nan"), "inf", "0", "-1", "1e20", "0x10", "abc", "" -> error
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace swarmkeeper {

/// A positive duration in whole milliseconds: "<number>[ms|s|m|h]" (a bare number is
/// seconds; decimal digits with an optional fraction, no sign, exponent or hex; at most
/// 30 days). Returns nullopt for anything else, zero and sub-millisecond values included.
std::optional<std::int64_t> parse_duration_ms(std::string_view text);

/// A whole number in [min, max], plain decimal digits only (no sign, no exponent).
std::optional<std::uint64_t> parse_count(std::string_view text, std::uint64_t min, std::uint64_t max);

/// A finite decimal number in [min, max] (digits with an optional fraction; no sign,
/// exponent, hex, NaN or infinity).
std::optional<double> parse_decimal(std::string_view text, double min, double max);

/// "'value' is not X (e.g. Y)", the value shortened and control characters masked.
std::string not_a(std::string_view value, std::string_view what, std::string_view example);
/// "--flag: " + not_a(...): the one-line usage error for a bad value.
std::string bad_value(std::string_view flag, std::string_view value, std::string_view what,
                      std::string_view example);

}  // namespace swarmkeeper
