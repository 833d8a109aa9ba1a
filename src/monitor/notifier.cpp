// SPDX-License-Identifier: Apache-2.0
// notifier.cpp — the notification schedule of notifier.hpp.
#include "monitor/notifier.hpp"

#include "client/backoff.hpp"

#include <algorithm>
#include <limits>

namespace swarmkeeper::monitor {

namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

// The wait before attempt n + 1 after n failed ones: 0.5 s, doubling, at most 30 s.
std::int64_t backoff_ms(int failed) {
  constexpr client::BackoffOptions kRetry{std::chrono::milliseconds(500), std::chrono::seconds(30)};
  return client::backoff_ceiling(kRetry, failed - 1).count();
}

}  // namespace

NotifierState::NotifierState(std::chrono::milliseconds resend_every, int max_attempts)
    : resend_every_(resend_every), max_attempts_(std::max(1, max_attempts)) {}

void NotifierState::on_transition(NotifiedAlert alert, std::int64_t now_ms) {
  if (alert.resolved) {
    firing_.erase(alert.name);
    std::erase_if(resolved_, [&](const NotifiedAlert& a) { return a.name == alert.name; });
    resolved_.push_back(std::move(alert));
    return;
  }
  std::erase_if(resolved_, [&](const NotifiedAlert& a) { return a.name == alert.name; });  // fires again
  const std::string name = alert.name;
  firing_[name] = Firing{std::move(alert), now_ms};
}

std::vector<NotifiedAlert> NotifierState::take_due(std::int64_t now_ms, std::int64_t wall_ms) {
  if (in_flight_active_) return {};
  if (attempt_ > 0 && now_ms < retry_at_ms_) return {};  // a failed batch waits for its retry
  std::vector<NotifiedAlert> fresh;
  for (auto& a : resolved_) fresh.push_back(std::move(a));
  resolved_.clear();
  for (auto& [name, f] : firing_) {
    if (f.next_send_ms > now_ms) continue;
    f.alert.ends_at_ms = wall_ms + 4 * resend_every_.count();
    f.next_send_ms = now_ms + resend_every_.count();
    fresh.push_back(f.alert);
  }
  // A retried batch goes again with what became due meanwhile; for each alert only its
  // newest state (a firing one that resolved since goes as resolved).
  std::erase_if(in_flight_, [&](const NotifiedAlert& held) {
    return std::any_of(fresh.begin(), fresh.end(),
                       [&](const NotifiedAlert& f) { return f.name == held.name; });
  });
  for (auto& f : fresh) in_flight_.push_back(std::move(f));
  if (in_flight_.empty()) return {};
  in_flight_active_ = true;
  return in_flight_;
}

std::vector<NotifiedAlert> NotifierState::delivered(bool ok, std::int64_t now_ms, std::size_t sent) {
  in_flight_active_ = false;
  // Those that went through are not sent again.
  in_flight_.erase(in_flight_.begin(),
                   in_flight_.begin() + static_cast<std::ptrdiff_t>(std::min(sent, in_flight_.size())));
  if (ok || in_flight_.empty()) {
    in_flight_.clear();
    attempt_ = 0;
    return {};
  }
  if (++attempt_ < max_attempts_) {
    retry_at_ms_ = now_ms + backoff_ms(attempt_);
    return {};
  }
  std::vector<NotifiedAlert> dropped = std::move(in_flight_);
  in_flight_.clear();
  attempt_ = 0;
  return dropped;  // firing ones come back at their next resend
}

std::int64_t NotifierState::next_due_ms() const {
  if (in_flight_active_) return kNever;
  if (attempt_ > 0) return retry_at_ms_;
  if (!resolved_.empty()) return 0;
  std::int64_t next = kNever;
  for (const auto& [name, f] : firing_) next = std::min(next, f.next_send_ms);
  return next;
}

}  // namespace swarmkeeper::monitor
