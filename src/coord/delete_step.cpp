// SPDX-License-Identifier: Apache-2.0
// delete_step.cpp — see delete_step.hpp.
#include "coord/delete_step.hpp"

#include "coord/cleanup_lock.hpp"
#include "coord/scripts.hpp"

#include <cstdlib>

namespace swarmkeeper::coord {

namespace asio = boost::asio;

// A MessagePack array of unsigned integers (what cmsgpack.unpack reads as a Lua table).
std::string msgpack_uint_array(std::span<const std::uint32_t> values) {
  std::string out;
  auto be = [&](std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  const std::size_t n = values.size();
  if (n < 16)
    out += static_cast<char>(0x90 | n);
  else if (n <= 0xffff)
    out += '\xdc', be(n, 2);
  else
    out += '\xdd', be(n, 4);
  for (std::uint32_t v : values) {
    if (v < 128)
      out += static_cast<char>(v);
    else if (v <= 0xff)
      out += '\xcc', be(v, 1);
    else if (v <= 0xffff)
      out += '\xcd', be(v, 2);
    else
      out += '\xce', be(v, 4);
  }
  return out;
}

DeleteStep::DeleteStep(asio::any_io_executor ex, std::shared_ptr<net::Connection> conn, bool dry_run)
    : conn_(std::move(conn)), dry_run_(dry_run), tx_(ex, 1) {}

// Probes what the server allows, strongest first. Only a server that refuses both atomic
// ways ends in reread — and that is said loudly.
asio::awaitable<Result<void>> DeleteStep::choose(Recheck want, std::vector<std::string>& notes) {
  if (want == Recheck::reread)
    co_return Error(Errc::invalid_argument,
                    "a non-atomic re-read cannot be asked for: it is only the last resort when "
                    "the server refuses both scripts and transactions");
  std::string refused;
  if (want == Recheck::automatic || want == Recheck::script) {
    auto load = co_await exec(resp::Command("SCRIPT").arg("LOAD").arg(kCheckedUnlinkScript));
    if (load) {
      sha_ = std::string(load->str());
      auto probe = co_await exec(resp::Command("EVALSHA").arg(sha_).arg(0).arg(0).arg(0));  // an empty batch
      if (probe) {
        method_ = Recheck::script;
        co_return Result<void>{};
      }
      refused = probe.error().message();
    } else {
      refused = load.error().message();
    }
    if (want == Recheck::script)
      co_return Error(Errc::no_permission, "--recheck script: the server refused scripts (" + refused + ")");
  }
  if (want == Recheck::automatic || want == Recheck::transaction) {
    resp::Pipeline p;
    p.add("WATCH", kLockKey).add("UNWATCH").add("MULTI").add("DISCARD");
    auto r = co_await conn_->exec(p);
    bool ok = static_cast<bool>(r);
    if (r)
      for (const auto& reply : *r)
        if (reply.is_error()) {
          ok = false;
          refused += (refused.empty() ? "" : "; ") + std::string(reply.str());
          break;
        }
    if (ok) {
      method_ = Recheck::transaction;
      if (!refused.empty())
        notes.push_back("the server refused scripts (" + refused +
                        "); every delete is confirmed with WATCH/MULTI/EXEC instead (atomic, slower)");
      co_return Result<void>{};
    }
    if (want == Recheck::transaction)
      co_return Error(Errc::no_permission,
                      "--recheck transaction: the server refused WATCH/MULTI (" + refused + ")");
  }
  method_ = Recheck::reread;
  notes.push_back(
      std::string("WARNING: deletes are NOT atomic: the server refused both scripts and transactions (") +
      refused + ")" +
      "; heartbeats are re-read right before each UNLINK, and a coordinator that renews in between can lose "
      "keys. "
      "Allow EVALSHA (or WATCH/MULTI/EXEC) for the cleanup's user");
  co_return Result<void>{};
}

std::string DeleteStep::nonatomic_summary() const {
  if (nonatomic_batches_ == 0) return "";
  return "WARNING: " + std::to_string(nonatomic_batches_) +
         " batches were deleted without an atomic re-check; the longest window between re-reading "
         "heartbeats and the UNLINK was " +
         std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(max_window_).count() / 1000.0)
             .substr(0, 6) +
         " ms";
}

asio::awaitable<Result<UnlinkOutcome>> DeleteStep::run(const CheckedUnlink& batch) {
  // One co_return at the end: GCC 12 miscompiles co_return co_await in a branch.
  Result<UnlinkOutcome> out = Error(Errc::cancelled, "not sent");
  if (dry_run_ || method_ == Recheck::reread)
    out = co_await run_reread(batch);
  else if (method_ == Recheck::script)
    out = co_await run_script(batch);
  else
    out = co_await run_transaction(batch);
  co_return out;
}

ScriptCall checked_unlink_call(const CheckedUnlink& b, std::string_view sha_or_body, bool is_sha) {
  // The script takes the byte checks first, then the absence checks: order[j] is the
  // batch's check index of the script's check j.
  ScriptCall call;
  std::vector<std::uint32_t>& order = call.order;
  std::vector<std::uint32_t> position(b.check_keys.size());
  for (int absent = 0; absent < 2; ++absent)
    for (std::uint32_t i = 0; i < b.check_keys.size(); ++i)
      if (b.expect[i].empty() == (absent == 1)) {
        position[i] = static_cast<std::uint32_t>(order.size());
        order.push_back(i);
      }
  std::size_t m1 = 0;
  for (const auto& e : b.expect) m1 += !e.empty();
  resp::Command& c = call.command;
  c = resp::Command(is_sha ? "EVALSHA" : "EVAL");
  c.arg(sha_or_body).arg(b.check_keys.size() + b.keys.size());
  for (std::uint32_t i : order) c.arg(b.check_keys[i]);
  for (const auto& k : b.keys) c.arg(k);
  c.arg(m1).arg(b.check_keys.size() - m1);
  for (std::size_t j = 0; j < m1; ++j) c.arg(b.expect[order[j]]);
  std::vector<std::uint32_t> spec;
  for (const auto& g : b.groups) {
    spec.push_back(static_cast<std::uint32_t>(g.checks.size()));
    for (std::uint32_t i : g.checks) spec.push_back(position[i] + 1);
    spec.push_back(g.keys);
  }
  c.arg(msgpack_uint_array(spec));
  return call;
}

Result<UnlinkOutcome> checked_unlink_outcome(const resp::Reply& r, const std::vector<std::uint32_t>& order) {
  if (r.size() != 2 || !r[1].is_aggregate())
    return Error(Errc::unexpected_reply,
                 "the delete script returned " + resp::to_string(r.root()).substr(0, 80));
  UnlinkOutcome out;
  out.unlinked = static_cast<std::uint64_t>(r[0].integer());
  for (resp::ReplyRef i : r[1]) {
    const auto j = std::abs(i.integer()) - 1;
    if (j < 0 || static_cast<std::size_t>(j) >= order.size()) continue;
    out.failed.push_back(order[static_cast<std::size_t>(j)]);
    if (i.integer() < 0) out.gone.push_back(order[static_cast<std::size_t>(j)]);
  }
  return out;
}

asio::awaitable<Result<UnlinkOutcome>> DeleteStep::run_script(const CheckedUnlink& b) {
  const ScriptCall call = checked_unlink_call(b, sha_);
  for (int attempt = 0;; ++attempt) {
    auto r = co_await exec(call.command);
    if (r) co_return checked_unlink_outcome(*r, call.order);
    if (r.error().code() == Errc::no_script && attempt == 0) {  // script cache flushed mid-run
      if (co_await exec(resp::Command("SCRIPT").arg("LOAD").arg(kCheckedUnlinkScript))) continue;
    }
    co_return r.error();
  }
}

// Transaction (WATCH the heartbeats, read, compare, MULTI/UNLINK/EXEC; a failed EXEC
// settles the batch again) or, not atomic, a re-read right before the UNLINK. Dry runs
// come here too: they count what exists instead of unlinking.
// Reads the batch's checks in one write — WATCH every check (transaction), MGET the byte
// checks, one EXISTS over the absence checks (per key only if that finds one) — and
// compares on the client. Fills out.failed / out.gone; returns which checks hold.
asio::awaitable<Result<std::vector<std::uint8_t>>> DeleteStep::read_checks(const CheckedUnlink& b, bool watch,
                                                                           UnlinkOutcome& out) {
  std::vector<std::uint8_t> ok(b.check_keys.size(), 1);
  if (b.check_keys.empty()) co_return ok;
  std::vector<std::uint32_t> bytes, absent;
  for (std::uint32_t i = 0; i < b.check_keys.size(); ++i) (b.expect[i].empty() ? absent : bytes).push_back(i);
  resp::Pipeline p;
  resp::Command w("WATCH"), mget("MGET"), exists("EXISTS");
  w.args(b.check_keys);
  for (std::uint32_t i : bytes) mget.arg(b.check_keys[i]);
  for (std::uint32_t i : absent) exists.arg(b.check_keys[i]);
  if (watch) p.add(w);
  if (!bytes.empty()) p.add(mget);
  if (!absent.empty()) p.add(exists);
  auto r = co_await conn_->exec(p);
  if (!r) co_return r.error();
  for (const auto& reply : *r)
    if (reply.is_error()) co_return net::error_from_reply(reply.root(), "re-reading heartbeats");
  std::size_t at = watch ? 1 : 0;
  if (!bytes.empty()) {
    const resp::Reply& values = (*r)[at++];
    for (std::size_t j = 0; j < bytes.size(); ++j) {
      const resp::ReplyRef v = values[j];
      ok[bytes[j]] = !v.is_null() && sha1_hex(v.str()) == b.expect[bytes[j]];
      if (v.is_null()) out.gone.push_back(bytes[j]);
    }
  }
  if (!absent.empty() && (*r)[at].integer() > 0) {
    resp::Pipeline each;
    for (std::uint32_t i : absent) each.add("EXISTS", b.check_keys[i]);
    auto e = co_await conn_->exec(each);
    if (!e) co_return e.error();
    for (std::size_t j = 0; j < absent.size(); ++j) ok[absent[j]] = (*e)[j].integer() == 0;
  }
  for (std::uint32_t i = 0; i < b.check_keys.size(); ++i)
    if (!ok[i]) out.failed.push_back(i);
  co_return ok;
}

std::vector<std::string_view> passing_keys(const CheckedUnlink& b, const std::vector<std::uint8_t>& ok) {
  std::vector<std::string_view> chosen;
  std::size_t k = 0;
  for (const auto& g : b.groups) {
    bool pass = true;
    for (std::uint32_t c : g.checks) pass = pass && ok[c];
    if (pass)
      for (std::uint32_t j = 0; j < g.keys; ++j) chosen.push_back(b.keys[k + j]);
    k += g.keys;
  }
  return chosen;
}

// Not atomic: read, compare, then UNLINK (or, in a dry run, count with EXISTS).
asio::awaitable<Result<UnlinkOutcome>> DeleteStep::run_reread(const CheckedUnlink& b) {
  UnlinkOutcome out;
  auto ok = co_await read_checks(b, false, out);
  if (!ok) co_return ok.error();
  const auto read_at = std::chrono::steady_clock::now();
  const auto chosen = passing_keys(b, *ok);
  if (chosen.empty()) co_return out;
  resp::Command del(dry_run_ ? "EXISTS" : "UNLINK");
  del.args(chosen);
  auto r = co_await exec(del);
  if (!r) co_return r.error();
  out.unlinked = static_cast<std::uint64_t>(r->integer());
  if (!dry_run_) {  // the window in which a renewal goes unseen: read reply to UNLINK reply
    ++nonatomic_batches_;
    max_window_ = std::max(max_window_, std::chrono::steady_clock::now() - read_at);
  }
  co_return out;
}

// WATCH, read, compare, MULTI/UNLINK/EXEC; a heartbeat that changes after WATCH fails the
// EXEC and the batch is settled again (5 tries, then left for the next run).
asio::awaitable<Result<UnlinkOutcome>> DeleteStep::run_transaction(const CheckedUnlink& b) {
  co_await tx_.acquire();  // WATCH state is the connection's: one transaction at a time
  struct Release {
    InFlight* tx;
    ~Release() { tx->release(); }
  } release{&tx_};
  for (int attempt = 0; attempt < 5; ++attempt) {
    UnlinkOutcome out;
    auto ok = co_await read_checks(b, true, out);
    if (!ok) co_return ok.error();
    const auto chosen = passing_keys(b, *ok);
    if (chosen.empty()) {
      if (!b.check_keys.empty()) (void)co_await exec(resp::Command("UNWATCH"));
      co_return out;
    }
    resp::Command del("UNLINK");
    del.args(chosen);
    resp::Pipeline t;
    t.add("MULTI").add(del).add("EXEC");
    auto r = co_await conn_->exec(t);
    if (!r) co_return r.error();
    const resp::Reply& exec_reply = (*r)[2];
    if (exec_reply.is_error()) co_return net::error_from_reply(exec_reply.root(), "MULTI/UNLINK/EXEC");
    if (exec_reply.is_null()) continue;  // a heartbeat changed after WATCH: settle again
    out.unlinked = static_cast<std::uint64_t>(exec_reply[0].integer());
    co_return out;
  }
  UnlinkOutcome out;
  for (std::uint32_t i = 0; i < b.check_keys.size(); ++i) out.failed.push_back(i);
  out.contended = true;
  co_return out;
}

}  // namespace swarmkeeper::coord
