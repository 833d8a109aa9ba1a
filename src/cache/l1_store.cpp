// SPDX-License-Identifier: Apache-2.0
// l1_store.cpp — the segmented LRU of l1_store.hpp.
#include "cache/l1_store.hpp"

#include <algorithm>
#include <cmath>

namespace swarmkeeper::cache {

namespace {
// Debian's abseil has its own string_view type: heterogeneous lookups take that.
absl::string_view sv(std::string_view s) {
  return {s.data(), s.size()};
}
}  // namespace

L1Store::L1Store(L1Limits limits) : limits_(limits) {
  const double share =
      std::isfinite(limits_.protected_share) ? std::clamp(limits_.protected_share, 0.0, 0.99) : 0.0;
  limits_.protected_share = share;
  protected_entries_max_ = static_cast<std::size_t>(static_cast<double>(limits_.max_entries) * share);
  protected_bytes_max_ = static_cast<std::size_t>(static_cast<double>(limits_.max_bytes) * share);
}

void L1Store::link_front(List& l, Entry* e) {
  e->prev = nullptr;
  e->next = l.head;
  if (l.head) l.head->prev = e;
  l.head = e;
  if (!l.tail) l.tail = e;
  ++l.count;
  l.bytes += e->bytes;
  e->in_protected = (&l == &protected_);
}

void L1Store::unlink(List& l, Entry* e) {
  if (e->prev)
    e->prev->next = e->next;
  else
    l.head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    l.tail = e->prev;
  e->prev = e->next = nullptr;
  --l.count;
  l.bytes -= e->bytes;
}

void L1Store::remove(Entry* e) {
  unlink(e->in_protected ? protected_ : probation_, e);
  bytes_ -= e->bytes;
  const std::string_view key = e->key;  // erase by key: the entry (and its key) die here
  map_.erase(map_.find(sv(key)));
}

// Demotes the least recent protected entries to probation until the segment fits.
void L1Store::fit_protected() {
  while (protected_.tail &&
         (protected_.count > protected_entries_max_ || protected_.bytes > protected_bytes_max_)) {
    Entry* e = protected_.tail;
    unlink(protected_, e);
    link_front(probation_, e);
  }
}

void L1Store::evict_to_limits() {
  while (map_.size() > limits_.max_entries || bytes_ > limits_.max_bytes) {
    Entry* victim = probation_.tail ? probation_.tail : protected_.tail;
    if (!victim) break;
    remove(victim);
    ++counters_.evictions;
  }
}

const std::string* L1Store::find(std::string_view key, Clock::time_point now) {
  auto it = map_.find(sv(key));
  if (it == map_.end()) return nullptr;
  Entry* e = &it->second;
  if (now >= e->expires) {
    remove(e);
    ++counters_.expirations;
    return nullptr;
  }
  if (e->in_protected) {
    unlink(protected_, e);
    link_front(protected_, e);
  } else {
    unlink(probation_, e);
    if (protected_entries_max_ > 0 && e->bytes <= protected_bytes_max_) {
      link_front(protected_, e);
      fit_protected();
    } else {
      link_front(probation_, e);
    }
  }
  return &e->value;
}

bool L1Store::put(std::string_view key, std::string value, Clock::time_point expires) {
  const std::size_t bytes = key.size() + value.size() + kEntryOverhead;
  auto it = map_.find(sv(key));
  if (bytes > limits_.max_bytes / 8 || limits_.max_entries == 0) {
    if (it != map_.end()) remove(&it->second);
    ++counters_.rejected;
    return false;
  }
  if (it != map_.end()) {  // replace in place, keeping its segment and recency
    Entry* e = &it->second;
    List& l = e->in_protected ? protected_ : probation_;
    l.bytes -= e->bytes;
    bytes_ -= e->bytes;
    e->value = std::move(value);
    e->expires = expires;
    e->bytes = bytes;
    l.bytes += bytes;
    bytes_ += bytes;
    unlink(l, e);
    link_front(l, e);
    if (e->in_protected) fit_protected();
  } else {
    auto [pos, inserted] = map_.try_emplace(std::string(key));
    Entry* e = &pos->second;
    e->key = pos->first;
    e->value = std::move(value);
    e->expires = expires;
    e->bytes = bytes;
    bytes_ += bytes;
    link_front(probation_, e);
  }
  evict_to_limits();
  return true;
}

bool L1Store::erase(std::string_view key) {
  auto it = map_.find(sv(key));
  if (it == map_.end()) return false;
  remove(&it->second);
  return true;
}

std::size_t L1Store::clear() {
  const std::size_t n = map_.size();
  map_.clear();
  probation_ = List{};
  protected_ = List{};
  bytes_ = 0;
  return n;
}

}  // namespace swarmkeeper::cache
