// SPDX-License-Identifier: Apache-2.0
// prom_text.hpp — Prometheus text exposition (format 0.0.4), no I/O.
//
// A Sample is one line: a metric name, labels and a value. render() groups samples by
// name (one # HELP and # TYPE per family, in the order families first appear), escapes
// label values (\, ", newline) and writes values as Prometheus reads them (NaN, +Inf,
// -Inf, shortest round-trip decimals).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace swarmkeeper::monitor {

enum class MetricType { gauge, counter, histogram, summary };

struct Sample {
  std::string name;  ///< swarmkeeper_..., with unit suffix (_seconds, _bytes, _total)
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
  MetricType type = MetricType::gauge;
  std::string help;  ///< the family's help text (taken from its first sample)
  /// The family for HELP/TYPE when it differs from name (a histogram's _bucket, _sum,
  /// _count samples); empty: name.
  std::string family;

  /// "name{k="v",...}": the series' identity (history key, alert matching).
  std::string series() const;
};

/// The exposition text of samples.
std::string render_prometheus(const std::vector<Sample>& samples);
/// A value as Prometheus writes it.
std::string prom_number(double v);
/// A label value escaped for the text format.
std::string prom_escape(std::string_view v);

/// Label values taken from Redis (key names) are cut to this many bytes.
inline constexpr std::size_t kMaxLabelBytes = 256;
/// `v` as a label value of at most kMaxLabelBytes bytes: itself if short enough, else
/// its first bytes (cut at a UTF-8 boundary), "...#" and 16 hex digits of a hash of the
/// whole, so two long names that share a beginning stay two series. A value that is not
/// UTF-8 gets "#" and the hash too (its stray bytes are written as the text \xNN, which a
/// name holding that text would also give).
std::string bounded_label(std::string_view v);

}  // namespace swarmkeeper::monitor
