// SPDX-License-Identifier: Apache-2.0
// numbers.cpp — see numbers.hpp.
#include "resp/numbers.hpp"

#include <cmath>

namespace swarmkeeper {

namespace {

// Splits "12.5ms" into the number and the unit; the number must be digits[.digits].
bool split_number(std::string_view text, std::string_view& number, std::string_view& unit) {
  std::size_t i = 0, dots = 0, digits = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
    if (text[i] == '.')
      ++dots;
    else
      ++digits;
    ++i;
  }
  if (digits == 0 || dots > 1 || text[0] == '.' || text[i - 1] == '.') return false;
  number = text.substr(0, i);
  unit = text.substr(i);
  return true;
}

// Decimal digits with an optional fraction, exactly: the digits as an integer and the
// number of them after the point. At most 18 digits (an int64 holds them).
bool decimal_parts(std::string_view number, std::int64_t& digits, int& fraction_digits) {
  digits = 0;
  fraction_digits = 0;
  int count = 0;
  bool fraction = false;
  for (char c : number) {
    if (c == '.') {
      fraction = true;
      continue;
    }
    if (++count > 18) return false;
    digits = digits * 10 + (c - '0');
    if (fraction) ++fraction_digits;
  }
  return true;
}

}  // namespace

std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
  std::string_view number, unit;
  if (!split_number(text, number, unit)) return std::nullopt;
  __int128 factor = 0;
  if (unit.empty() || unit == "s")
    factor = 1000;
  else if (unit == "ms")
    factor = 1;
  else if (unit == "m")
    factor = 60000;
  else if (unit == "h")
    factor = 3600000;
  else
    return std::nullopt;
  std::int64_t digits = 0;
  int fraction_digits = 0;
  if (!decimal_parts(number, digits, fraction_digits)) return std::nullopt;
  __int128 scale = 1;
  for (int i = 0; i < fraction_digits; ++i) scale *= 10;
  const __int128 scaled = static_cast<__int128>(digits) * factor;
  if (scaled % scale != 0) return std::nullopt;  // finer than a millisecond
  const __int128 ms = scaled / scale;
  constexpr __int128 kMax = static_cast<__int128>(30) * 24 * 3600 * 1000;
  if (ms < 1 || ms > kMax) return std::nullopt;
  return static_cast<std::int64_t>(ms);
}

std::optional<std::uint64_t> parse_count(std::string_view text, std::uint64_t min, std::uint64_t max) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v < min || v > max) return std::nullopt;
  return v;
}

std::optional<double> parse_decimal(std::string_view text, double min, double max) {
  std::string_view number, unit;
  if (!split_number(text, number, unit) || !unit.empty()) return std::nullopt;
  std::int64_t digits = 0;
  int fraction_digits = 0;
  if (!decimal_parts(number, digits, fraction_digits)) return std::nullopt;
  const double d = static_cast<double>(digits) / std::pow(10.0, fraction_digits);
  if (d < min || d > max) return std::nullopt;
  return d;
}

std::string not_a(std::string_view value, std::string_view what, std::string_view example) {
  std::string shown(value.substr(0, 40));
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  if (value.size() > 40) shown += "...";
  return "'" + shown + "' is not " + std::string(what) + " (e.g. " + std::string(example) + ")";
}

std::string bad_value(std::string_view flag, std::string_view value, std::string_view what,
                      std::string_view example) {
  return std::string(flag) + ": " + not_a(value, what, example);
}

}  // namespace swarmkeeper
