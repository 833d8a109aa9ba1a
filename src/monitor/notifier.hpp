// SPDX-License-Identifier: Apache-2.0
// notifier.hpp — which alert notifications go to the webhook, and when. No I/O: the
// monitor's notifier thread asks `due()` what to send, sends it, and reports back.
//
// As Prometheus does towards Alertmanager: a transition (firing, resolved) is due at
// once; a firing alert is due again every `resend_every` with its endsAt pushed ahead
// (4 resend intervals), so a receiver that was away gets it again and Alertmanager never
// resolves an alert that is still firing; a resolved one is sent until delivered or
// given up. A delivery that fails is retried with backoff (0.5 s doubling, capped at
// 30 s) until `max_attempts`; then its alerts are dropped, counted, and firing ones come
// back at their next resend.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace swarmkeeper::monitor {

struct NotifiedAlert {
  std::string name;  ///< the rule (alertname)
  std::string severity;
  std::string series;
  std::string summary;
  std::string value;  ///< the series' value as Prometheus writes it
  bool resolved = false;
  std::int64_t starts_at_ms = 0;  ///< when it started firing
  std::int64_t ends_at_ms = 0;    ///< resolved: when; firing: when it lapses unless re-sent
};

class NotifierState {
 public:
  explicit NotifierState(std::chrono::milliseconds resend_every, int max_attempts = 6);

  // Times: now_ms is a monotonic clock (the schedule: a wall clock stepped back by NTP
  // must not hold re-sends up); wall_ms is the wall clock (startsAt/endsAt).

  /// An alert fired (or fires again), or resolved, at now_ms: due at once.
  void on_transition(NotifiedAlert alert, std::int64_t now_ms);

  /// The alerts to send in one delivery now (empty: nothing due, or a delivery is in
  /// flight). A firing alert's ends_at_ms is set 4 resend intervals past wall_ms.
  std::vector<NotifiedAlert> take_due(std::int64_t now_ms, std::int64_t wall_ms);
  /// The outcome of the delivery take_due() gave: ok, or the first `sent` of its alerts
  /// went through and the rest did not. What failed is retried at its backoff; after
  /// max_attempts it is dropped (returned, for the count and the log) and firing alerts
  /// wait for their next resend.
  std::vector<NotifiedAlert> delivered(bool ok, std::int64_t now_ms, std::size_t sent = 0);

  /// When something is next due (monotonic ms); INT64_MAX: nothing is.
  std::int64_t next_due_ms() const;
  /// Alerts firing right now (re-sent every resend_every).
  std::size_t firing() const { return firing_.size(); }
  int attempt() const { return attempt_; }

 private:
  struct Firing {
    NotifiedAlert alert;
    std::int64_t next_send_ms = 0;
  };
  std::chrono::milliseconds resend_every_;
  int max_attempts_;
  std::map<std::string, Firing> firing_;  // by name
  std::vector<NotifiedAlert> resolved_;   // waiting for a delivery
  std::vector<NotifiedAlert> in_flight_;  // the batch take_due() gave
  bool in_flight_active_ = false;
  int attempt_ = 0;               // failed attempts of the batch in flight
  std::int64_t retry_at_ms_ = 0;  // when the failed batch goes again
};

}  // namespace swarmkeeper::monitor
