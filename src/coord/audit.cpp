// SPDX-License-Identifier: Apache-2.0
// audit.cpp — see audit.hpp.
#include "coord/audit.hpp"

namespace swarmkeeper::coord {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kAuditMax = 10000;     // reaped coordinators written per run, at most
constexpr std::size_t kAuditPerEntry = 64;   // coordinators per stream entry
constexpr std::size_t kAuditEntries = 2000;  // MAXLEN ~ of the stream
}  // namespace

asio::awaitable<Result<void>> write_audit(Router& conn, const CoordinatorTable& table, std::string* note) {
  std::vector<std::uint32_t> reaped;
  for (std::uint32_t i = 0; i < table.size(); ++i)
    if (table[i].reaped) reaped.push_back(i);
  // Each entry holds up to 64 coordinators as repeated (id, lastHeartbeat, keysDeleted)
  // fields; the stream keeps ~2,000 entries, and a run writes its last 10,000 reaped.
  const std::size_t from = reaped.size() > kAuditMax ? reaped.size() - kAuditMax : 0;
  std::vector<resp::Command> p;
  resp::Command entry;
  std::size_t in_entry = 0;
  for (std::size_t i = from; i < reaped.size(); ++i) {
    if (in_entry == 0) {
      entry = resp::Command("XADD");
      entry.arg(kAuditKey).arg("MAXLEN").arg("~").arg(kAuditEntries).arg("*");
    }
    const Coordinator& c = table[reaped[i]];
    entry.arg("id").arg(c.id).arg("lastHeartbeat").arg(c.timestamp_ms).arg("keysDeleted").arg(c.keys_deleted);
    if (++in_entry == kAuditPerEntry || i + 1 == reaped.size()) {
      p.push_back(entry);
      in_entry = 0;
    }
  }
  if (p.empty()) co_return Result<void>{};
  auto r = co_await conn.pipeline(std::move(p));
  if (!r) co_return r.error();
  if (!r->empty() && (*r)[0].is_error()) *note = "audit stream not written: " + std::string((*r)[0].str());
  co_return Result<void>{};
}

}  // namespace swarmkeeper::coord
