// SPDX-License-Identifier: Apache-2.0
// cluster_slots.cpp — CRC16 slots and the CLUSTER SLOTS map of cluster_slots.hpp.
#include "swarmkeeper/client/cluster_slots.hpp"

#include <algorithm>

namespace swarmkeeper {

namespace {

// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as Redis' crc16.c.
constexpr std::array<std::uint16_t, 256> make_table() {
  std::array<std::uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b)
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    t[static_cast<std::size_t>(i)] = crc;
  }
  return t;
}
constexpr auto kTable = make_table();

std::uint16_t crc16(std::string_view s) noexcept {
  std::uint16_t crc = 0;
  for (unsigned char c : s) crc = static_cast<std::uint16_t>((crc << 8) ^ kTable[((crc >> 8) ^ c) & 0xff]);
  return crc;
}

}  // namespace

std::string_view hash_tag(std::string_view key) noexcept {
  const auto open = key.find('{');
  if (open == std::string_view::npos) return key;
  const auto close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;  // no '}' or "{}": the whole key
  return key.substr(open + 1, close - open - 1);
}

std::uint16_t key_slot(std::string_view key) noexcept {
  return crc16(hash_tag(key)) & (kClusterSlots - 1);
}

Result<SlotMap> SlotMap::from_cluster_slots(resp::ReplyRef reply, std::string_view asked_host) {
  auto bad = [](const std::string& what) { return Error(Errc::unexpected_reply, "CLUSTER SLOTS: " + what); };
  if (!reply.is_aggregate()) return bad("not an array");
  SlotMap m;
  m.owner_.fill(-1);
  for (resp::ReplyRef range : reply) {
    if (!range.is_aggregate() || range.size() < 3) return bad("a range is not [start, end, master, ...]");
    const auto lo = range[0].as_integer(), hi = range[1].as_integer();
    if (!lo || !hi || *lo < 0 || *hi >= kClusterSlots || *lo > *hi)
      return bad("a range's slots are out of 0..16383");
    const resp::ReplyRef master = range[2];
    if (!master.is_aggregate() || master.size() < 2 || !(master[0].is_string() || master[0].is_null()) ||
        !master[1].as_integer())
      return bad("a master is not [host, port, ...]");
    const auto port = *master[1].as_integer();
    if (port <= 0 || port > 65535) return bad("a master's port is out of range");
    const std::string_view host =
        master[0].is_null() || master[0].str().empty() ? asked_host : master[0].str();
    ClusterNode node{
        std::string(host), static_cast<std::uint16_t>(port),
        master.size() > 2 && master[2].is_string() ? std::string(master[2].str()) : std::string()};
    auto same = [&](const ClusterNode& n) {
      return n.host == node.host && n.port == node.port &&
             (n.id.empty() || node.id.empty() || n.id == node.id);
    };
    auto it = std::find_if(m.masters_.begin(), m.masters_.end(), same);
    if (it == m.masters_.end()) {
      if (m.masters_.size() >= 1000) return bad("more than 1,000 masters");
      it = m.masters_.insert(m.masters_.end(), std::move(node));
    }
    const auto index = static_cast<std::int16_t>(it - m.masters_.begin());
    for (auto s = *lo; s <= *hi; ++s) m.owner_[static_cast<std::size_t>(s)] = index;
  }
  return m;
}

const ClusterNode* SlotMap::node_for(std::uint16_t slot) const noexcept {
  if (slot >= kClusterSlots) return nullptr;
  const auto i = owner_[slot];
  return i < 0 ? nullptr : &masters_[static_cast<std::size_t>(i)];
}

std::size_t SlotMap::covered() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(owner_.begin(), owner_.end(), [](std::int16_t i) { return i >= 0; }));
}

}  // namespace swarmkeeper
