// SPDX-License-Identifier: Apache-2.0
// redis_info.hpp — INFO text to fields, and the monitor's samples from them and from a
// census result. No I/O.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/census.hpp"
#include "monitor/prom_text.hpp"
#include "net/info_text.hpp"
#include "swarmkeeper/client/client_metrics.hpp"

namespace swarmkeeper::monitor {

using RedisInfo = net::InfoText;
using net::parse_info_list;

/// Samples from INFO; `prev` (the previous INFO, may be empty) gives the error ratio
/// over the interval.
std::vector<Sample> redis_samples(const RedisInfo& info, const RedisInfo& prev);
/// Samples from a Client's metrics, labelled client=`who`.
std::vector<Sample> client_samples(const ClientMetricsSnapshot& m, const std::string& who);
/// Samples from a finished census; queue_scan_s is how long sizing the queues took.
std::vector<Sample> census_samples(const CensusResult& r, double queue_scan_s);

}  // namespace swarmkeeper::monitor
