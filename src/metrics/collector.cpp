// SPDX-License-Identifier: Apache-2.0
// collector.cpp — see swarmkeeper/metrics/collector.hpp.
#include "swarmkeeper/metrics/collector.hpp"

#include <algorithm>

namespace swarmkeeper::metrics {

namespace {

// A closed 5 s slot: what changed in it. Latency slots keep only non-zero buckets.
struct Slot {
  std::uint64_t count = 0;  // counter increase, or latency samples
  double gauge = 0;
  double sum = 0;  // latency: sum of the slot's samples
  std::vector<std::pair<std::uint16_t, std::uint64_t>> buckets;
};

// cur - prev, bucket by bucket (counts only grow between readings).
void diff_into(const Histogram::Snapshot& cur, const Histogram::Snapshot& prev, Slot& out) {
  out.buckets.clear();
  const auto& c = cur.buckets();
  const auto& p = prev.buckets();
  for (std::size_t i = 0; i < c.size(); ++i)
    if (c[i] > p[i]) out.buckets.emplace_back(static_cast<std::uint16_t>(i), c[i] - p[i]);
  out.count = cur.count() - prev.count();
  out.sum = cur.sum() - prev.sum();
}

void add_slot(const Slot& s, Histogram::Snapshot& into) {
  for (const auto& [b, n] : s.buckets) into.add(b, n);
  into.add(0, 0, s.sum);
}

}  // namespace

struct Collector::Series {
  std::string name;
  SeriesSnapshot::Kind kind;
  Counter counter;
  Gauge gauge;
  Latency latency;
  // Guarded by Collector::mu_.
  std::vector<Slot> ring = std::vector<Slot>(kSlots);
  std::size_t head = 0;    // where the next closed slot goes
  std::size_t filled = 0;  // closed slots held (<= kSlots)
  std::uint64_t counter_at_close = 0;
  Histogram::Snapshot hist_at_close;

  Slot& push() {
    Slot& s = ring[head];
    head = (head + 1) % kSlots;
    filled = std::min(filled + 1, kSlots);
    return s;
  }
  // The i-th most recent closed slot (0: the newest). REQUIRES: i < filled.
  const Slot& back(std::size_t i) const { return ring[(head + kSlots - 1 - i) % kSlots]; }

  void close_slot() {
    Slot& s = push();
    switch (kind) {
      case SeriesSnapshot::Kind::counter: {
        const auto v = counter.value();
        s.count = v - counter_at_close;
        counter_at_close = v;
        break;
      }
      case SeriesSnapshot::Kind::gauge: s.gauge = gauge.value(); break;
      case SeriesSnapshot::Kind::latency: {
        auto cur = latency.total();
        diff_into(cur, hist_at_close, s);
        hist_at_close = cur;
        break;
      }
    }
  }
  void empty_slot() {
    Slot& s = push();
    s = Slot{};
    if (kind == SeriesSnapshot::Kind::gauge) s.gauge = gauge.value();
  }
};

Collector::Collector(Clock::time_point start) : slot_start_(start) {}
Collector::~Collector() = default;

// The series of that name, created with `kind` on first use; nullptr if the name is
// taken by another kind. REQUIRES: mu_ held.
Collector::Series* Collector::series(std::string_view name, SeriesSnapshot::Kind kind) {
  for (auto& s : series_)
    if (s->name == name) return s->kind == kind ? s.get() : nullptr;
  series_.push_back(std::make_unique<Series>());
  Series* s = series_.back().get();
  s->name = std::string(name);
  s->kind = kind;
  return s;
}

Counter& Collector::counter(std::string_view name) {
  std::lock_guard lock(mu_);
  Series* s = series(name, SeriesSnapshot::Kind::counter);
  return s ? s->counter : detached_counter_;
}

Gauge& Collector::gauge(std::string_view name) {
  std::lock_guard lock(mu_);
  Series* s = series(name, SeriesSnapshot::Kind::gauge);
  return s ? s->gauge : detached_gauge_;
}

Latency& Collector::latency(std::string_view name) {
  std::lock_guard lock(mu_);
  Series* s = series(name, SeriesSnapshot::Kind::latency);
  return s ? s->latency : detached_latency_;
}

void Collector::advance(Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (now < slot_start_ + kSlot) return;
  const auto passed = static_cast<std::size_t>((now - slot_start_) / kSlot);
  // advance() came late: the slots it missed are written empty, and what happened since
  // the last close goes into the newest one (it may be that recent: it must count in
  // every window). More than an hour late: the ring is all new.
  for (auto& s : series_) {
    for (std::size_t i = 1; i < std::min(passed, kSlots); ++i) s->empty_slot();
    s->close_slot();
  }
  slot_start_ += kSlot * static_cast<long>(passed);
}

CollectorSnapshot Collector::snapshot() {
  std::lock_guard lock(mu_);
  CollectorSnapshot out;
  out.series.reserve(series_.size());
  for (auto& sp : series_) {
    const Series& s = *sp;
    SeriesSnapshot snap;
    snap.name = s.name;
    snap.kind = s.kind;
    // The open slot: what changed since the last close.
    Slot open;
    switch (s.kind) {
      case SeriesSnapshot::Kind::counter: {
        const auto v = s.counter.value();  // once: the windows must agree with the total
        snap.total = static_cast<double>(v);
        open.count = v - s.counter_at_close;
        break;
      }
      case SeriesSnapshot::Kind::gauge:
        snap.total = s.gauge.value();
        open.gauge = snap.total;
        break;
      case SeriesSnapshot::Kind::latency: {
        const auto cur = s.latency.total();
        snap.total = static_cast<double>(cur.count());
        diff_into(cur, s.hist_at_close, open);
        break;
      }
    }
    for (std::size_t w = 0; w < 3; ++w) {
      auto& f = snap.windows[w];
      const std::size_t closed =
          std::min<std::size_t>(s.filled, static_cast<std::size_t>(kWindowLength[w] / kSlot) - 1);
      switch (s.kind) {
        case SeriesSnapshot::Kind::counter: {
          f.count = open.count;
          for (std::size_t i = 0; i < closed; ++i) f.count += s.back(i).count;
          const double covered_s =
              static_cast<double>((closed + 1) * static_cast<std::size_t>(kSlot.count()));
          f.rate_per_s = static_cast<double>(f.count) / covered_s;
          break;
        }
        case SeriesSnapshot::Kind::gauge: {
          f.last = f.min = f.max = open.gauge;
          for (std::size_t i = 0; i < closed; ++i) {
            f.min = std::min(f.min, s.back(i).gauge);
            f.max = std::max(f.max, s.back(i).gauge);
          }
          break;
        }
        case SeriesSnapshot::Kind::latency: {
          add_slot(open, f.histogram);
          for (std::size_t i = 0; i < closed; ++i) add_slot(s.back(i), f.histogram);
          f.count = f.histogram.count();
          f.mean = f.histogram.mean();
          f.max = f.histogram.max();
          f.p50 = f.histogram.percentile(0.50);
          f.p95 = f.histogram.percentile(0.95);
          f.p99 = f.histogram.percentile(0.99);
          f.p999 = f.histogram.percentile(0.999);
          break;
        }
      }
    }
    out.series.push_back(std::move(snap));
  }
  return out;
}

}  // namespace swarmkeeper::metrics
