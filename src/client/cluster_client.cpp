// SPDX-License-Identifier: Apache-2.0
// cluster_client.cpp — routing for cluster_client.hpp: the slot map, the per-node pools,
// redirections (MOVED, ASK), retries (TRYAGAIN, CLUSTERDOWN) and multi-key splitting.
#include "swarmkeeper/client/cluster_client.hpp"

#include "client/route_policy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <map>
#include <span>

#include "client/ascii.hpp"
#include "client/command_rules.hpp"
#include "net/connection.hpp"
#include "swarmkeeper/resp/parser.hpp"

namespace swarmkeeper {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

using client::next_route_action;
using client::node_unreachable;
using client::RouteAction;
using client::routed_elsewhere;

namespace {

// The text a server's error reply carried ("<context>: <text>" holds it after the first
// ": "; a context never holds one), or the whole message for an error of our own.
std::string_view reply_text(const Error& e) {
  const std::string_view m = e.message();
  const auto colon = m.find(": ");
  return e.server_code() == ServerCode::none || colon == std::string_view::npos ? m : m.substr(colon + 2);
}

// A slot no master serves, as a server would say it (the reply text a pipeline's place
// carries reads "CLUSTERDOWN ...", so callers reading replies see the server's code).
Error unserved_slot(std::uint16_t slot) {
  Error e(Errc::server_error, "slot " + std::to_string(slot) + ": CLUSTERDOWN no node serves this slot");
  e.from_server({ServerCode::cluster_down, std::nullopt});
  return e;
}

// A server error as a reply in a pipeline's place (what Client::pipeline gives).
resp::Reply error_reply(std::string_view message) {
  std::string buf = "-";
  for (char c : message) buf += (c == '\r' || c == '\n') ? ' ' : c;
  buf += "\r\n";
  resp::Parser p;
  if (p.feed(buf) != resp::Parser::Status::complete) return resp::Reply();
  return resp::Reply(p.view(buf));
}

// The one slot of `keys`, or a CROSSSLOT error naming two keys that differ.
Result<std::uint16_t> one_slot(std::span<const std::string_view> keys, std::string_view what) {
  if (keys.empty()) return std::uint16_t{0};
  const std::uint16_t slot = key_slot(keys.front());
  for (std::string_view k : keys)
    if (key_slot(k) != slot)
      return Error(Errc::invalid_argument,
                   std::string("CROSSSLOT: ") + std::string(what) +
                       " must keep every key in one slot on a cluster, but '" +
                       std::string(keys.front().substr(0, 64)) + "' (slot " + std::to_string(slot) +
                       ") and '" + std::string(k.substr(0, 64)) + "' (slot " + std::to_string(key_slot(k)) +
                       ") differ; give them one hash tag, e.g. {user42}:a and {user42}:b");
  return slot;
}

}  // namespace

struct ClusterClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor e, ClusterOptions o)
      : ex(std::move(e)), opts(std::move(o)), codec(opts.node.compression_options) {}

  asio::any_io_executor ex;
  ClusterOptions opts;
  ValueCodec codec;
  SlotMap map;  // executor only
  bool have_map = false;
  Clock::time_point refreshed_at{};
  std::map<std::string, std::unique_ptr<Client>> nodes;  // "host:port" → its pool
  std::atomic<std::uint64_t> moved_n{0}, asked_n{0}, refresh_n{0};
  std::string last_host;  // executor only: the host of the last node a command went to
  bool closed = false;    // executor only: close() was called

  Client& node(const std::string& host, std::uint16_t port) {
    const std::string name = host + ":" + std::to_string(port);
    auto it = nodes.find(name);
    if (it == nodes.end()) {
      ClientOptions o = opts.node;
      o.connection.host = host;
      o.connection.port = port;
      it = nodes.emplace(name, std::make_unique<Client>(ex, o)).first;
      if (closed) it->second->close();  // asked for after close(): fails at once, keeps nothing running
    }
    return *it->second;
  }

  std::map<std::string, Clock::time_point> unreachable_until;  // nodes that failed lately: asked last
  bool refreshing = false;

  void mark_unreachable(const std::string& host, std::uint16_t port) {
    unreachable_until[host + ":" + std::to_string(port)] = Clock::now() + std::chrono::seconds(5);
  }
  bool lately_unreachable(const std::string& host, std::uint16_t port) const {
    auto it = unreachable_until.find(host + ":" + std::to_string(port));
    return it != unreachable_until.end() && Clock::now() < it->second;
  }

  // Asks the known masters, then the seeds, for CLUSTER SLOTS; nodes that failed lately
  // are asked last. One refresh at a time: callers that find one running go on with
  // the current map (or wait for it when there is none yet).
  asio::awaitable<Result<void>> refresh() {
    if (refreshing) {
      while (refreshing && !have_map) {
        asio::steady_timer t(ex, std::chrono::milliseconds(5));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      co_return have_map ? Result<void>{} : Result<void>(Error(Errc::unexpected_reply, "no slot map"));
    }
    refreshing = true;
    struct Done {
      bool& f;
      ~Done() { f = false; }
    } done{refreshing};
    std::vector<std::pair<std::string, std::uint16_t>> ask, later;
    for (const auto& m : map.masters()) ask.emplace_back(m.host, m.port);
    ask.insert(ask.end(), opts.seeds.begin(), opts.seeds.end());
    std::stable_partition(ask.begin(), ask.end(),
                          [&](const auto& hp) { return !lately_unreachable(hp.first, hp.second); });
    Error last(Errc::invalid_argument, "no cluster node to ask: give at least one seed");
    for (const auto& [host, port] : ask) {
      auto r = co_await node(host, port).command(resp::Command("CLUSTER").arg("SLOTS"), true);
      if (!r) {
        if (node_unreachable(r.error())) mark_unreachable(host, port);
        last = r.error();
        continue;
      }
      auto m = SlotMap::from_cluster_slots(r->root(), host);
      if (!m) {
        last = m.error();
        continue;
      }
      if (m->covered() == 0) {
        last = Error(Errc::unexpected_reply,
                     host + ":" + std::to_string(port) + " serves no slot: is it a cluster node?");
        continue;
      }
      map = std::move(*m);
      have_map = true;
      refreshed_at = Clock::now();
      ++refresh_n;
      co_return Result<void>{};
    }
    co_return last;
  }

  // Where a command for `slot` goes: the redirection's node when following one ("MOVED 5
  // :7001" names no host: the host last asked), else the slot's master; port 0 when no
  // master serves the slot. Remembers the host as the last one asked.
  std::pair<std::string, std::uint16_t> target_for(std::uint16_t slot, const std::optional<Redirect>& to) {
    std::pair<std::string, std::uint16_t> hp;
    if (to)
      hp = {to->host.empty() ? last_host : to->host, to->port};
    else if (const ClusterNode* n = map.node_for(slot))
      hp = {n->host, n->port};
    if (hp.second != 0) last_host = hp.first;
    return hp;
  }

  // Runs `cmd` for `slot`: on the slot's master, following MOVED and ASK, retrying
  // TRYAGAIN/CLUSTERDOWN with backoff.
  asio::awaitable<Result<resp::Reply>> routed(std::uint16_t slot, const resp::Command& cmd, bool idempotent) {
    std::optional<Redirect> to;  // a redirection to follow on the next attempt
    Result<resp::Reply> r = Error(Errc::cancelled, "not run");
    for (int attempt = 0; attempt <= opts.max_redirects; ++attempt) {
      if (!have_map || (Clock::now() - refreshed_at > opts.refresh_interval && !refreshing)) {
        if (auto ok = co_await refresh(); !ok && !have_map) co_return ok.error();
      }
      const auto target_hp = target_for(slot, to);  // (no structured bindings in coroutines: GCC 12)
      const std::string& target_host = target_hp.first;
      const std::uint16_t target_port = target_hp.second;
      if (target_port == 0) co_return unserved_slot(slot);
      Client* target = &node(target_host, target_port);
      if (to && to->ask && client_detail::is_blocking(cmd.view())) {
        // A blocking command must not hold up a shared connection: ASKING and it on a
        // leased one.
        auto lease = co_await target->lease();
        if (!lease) {
          r = lease.error();
        } else {
          auto asking = co_await lease->exec(resp::Command("ASKING"));
          if (!asking)
            r = asking.error();
          else
            r = co_await lease->exec(cmd);
        }
      } else if (to && to->ask) {  // ASKING and the command on one connection, in order
        resp::Pipeline p;
        p.add(resp::Command("ASKING"));
        p.add(cmd);
        auto replies = co_await target->pipeline(std::move(p));
        if (!replies) {
          r = replies.error();
        } else if ((*replies)[1].is_error()) {
          r = net::error_from_reply((*replies)[1].root(), "the server replied");
        } else {
          r = std::move((*replies)[1]);
        }
      } else {
        r = co_await target->command(cmd, idempotent);
      }
      if (r) co_return r;
      const RouteAction next = next_route_action(attempt, opts.max_redirects, r.error(), idempotent);
      if (next.moved) ++moved_n;
      if (next.asked) ++asked_n;
      if (next.mark_unreachable) mark_unreachable(target_host, target_port);
      if (next.refresh) (void)co_await refresh();
      if (!next.retry) co_return r;
      if (next.wait.count() > 0) {
        asio::steady_timer t(ex, next.wait);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      to = next.to;
    }
    co_return r;
  }

  // Items grouped by the master of their slot ("host:port" → host, port, items; host
  // and port copied, as a refresh may replace the map while we await); items whose slot
  // no master serves now go to `unserved`.
  template <class T>
  struct NodeGroup {
    std::string host;
    std::uint16_t port = 0;
    std::vector<T> items;
  };
  template <class T, class SlotOf>
  std::map<std::string, NodeGroup<T>> group_by_node(const std::vector<T>& items, SlotOf slot_of,
                                                    std::vector<T>& unserved) const {
    std::map<std::string, NodeGroup<T>> out;
    for (const T& item : items) {
      if (const ClusterNode* n = map.node_for(slot_of(item))) {
        NodeGroup<T>& g = out[n->host + ":" + std::to_string(n->port)];
        g.host = n->host;
        g.port = n->port;
        g.items.push_back(item);
      } else {
        unserved.push_back(item);
      }
    }
    return out;
  }

  // A multi-key command split by slot: the slot groups of each node go out in one
  // pipeline; a group that meets a redirection or TRYAGAIN is retried alone through
  // routed(). `merge` gets each group's key indexes and reply.
  asio::awaitable<Result<void>> split(std::string_view name, const std::vector<std::string>& keys,
                                      bool idempotent, const MergeGroup& merge,
                                      const std::vector<std::string>* values = nullptr) {
    if (!have_map) {
      if (auto ok = co_await refresh(); !ok) co_return ok.error();
    }
    std::map<std::uint16_t, std::vector<std::size_t>> by_slot;
    for (std::size_t i = 0; i < keys.size(); ++i) by_slot[key_slot(keys[i])].push_back(i);
    auto make = [&](const std::vector<std::size_t>& idx) {
      resp::Command c(name);
      for (std::size_t i : idx) {
        c.arg(keys[i]);
        if (values) c.arg((*values)[i]);
      }
      return c;
    };
    std::vector<std::uint16_t> slots_used, retry;  // retry: unserved now, or redirected: one at a time below
    for (const auto& entry : by_slot) slots_used.push_back(entry.first);
    for (const auto& [name_port, part] : group_by_node(
             slots_used, [](std::uint16_t s) { return s; }, retry)) {
      const auto& slots = part.items;
      resp::Pipeline p;
      for (auto slot : slots) p.add(make(by_slot[slot]));
      auto replies = co_await node(part.host, part.port).pipeline(std::move(p));
      if (!replies) {
        if (!idempotent) co_return replies.error();  // may have been applied: never resent
        retry.insert(retry.end(), slots.begin(), slots.end());
        continue;
      }
      for (std::size_t j = 0; j < slots.size(); ++j) {
        const resp::Reply& r = (*replies)[j];
        if (r.is_error()) {
          const Error e = net::error_from_reply(r.root(), std::string(name));
          if (!routed_elsewhere(e)) co_return e;
          retry.push_back(slots[j]);
          continue;
        }
        if (auto ok = merge(by_slot[slots[j]], r); !ok) co_return ok.error();
      }
    }
    for (auto slot : retry) {  // redirected (or unserved) groups, one at a time
      auto r = co_await routed(slot, make(by_slot[slot]), idempotent);
      if (!r) co_return r.error();
      if (auto ok = merge(by_slot[slot], *r); !ok) co_return ok.error();
    }
    co_return Result<void>{};
  }

  // A pipeline across nodes: each node's share in one write, replies put back in order;
  // redirected commands (which did not run) retried alone through routed().
  asio::awaitable<Result<std::vector<resp::Reply>>> split_pipeline(const std::vector<resp::Command>& cmds,
                                                                   bool idempotent) {
    if (!have_map) {
      if (auto ok = co_await refresh(); !ok) co_return ok.error();
    }
    std::vector<std::uint16_t> slot(cmds.size());
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      auto key = command_routing_key(cmds[i]);
      if (!key)
        co_return Error(Errc::invalid_argument,
                        "pipeline: " + std::string(cmds[i].name()) +
                            " has no key to route by on a cluster; send it with for_each_master()");
      slot[i] = key_slot(*key);
    }
    std::vector<std::size_t> all(cmds.size()), retry;
    for (std::size_t i = 0; i < cmds.size(); ++i) all[i] = i;
    std::vector<resp::Reply> out(cmds.size());
    for (auto& [name, part] : group_by_node(
             all, [&](std::size_t i) { return slot[i]; }, retry)) {
      resp::Pipeline p;
      for (std::size_t i : part.items) p.add(cmds[i]);
      auto replies = co_await node(part.host, part.port).pipeline(std::move(p));
      if (!replies) {
        if (!idempotent) co_return replies.error();  // may have run: never resent
        if (node_unreachable(replies.error())) mark_unreachable(part.host, part.port);
        retry.insert(retry.end(), part.items.begin(), part.items.end());
        continue;
      }
      for (std::size_t j = 0; j < part.items.size(); ++j) {
        resp::Reply& r = (*replies)[j];
        if (r.is_error()) {
          const Error e = net::error_from_reply(r.root(), "pipeline");
          if (routed_elsewhere(e)) {
            retry.push_back(part.items[j]);
            continue;
          }
        }
        out[part.items[j]] = std::move(r);
      }
    }
    std::sort(retry.begin(), retry.end());
    for (std::size_t i : retry) {
      auto r = co_await routed(slot[i], cmds[i], idempotent);
      if (r)
        out[i] = std::move(*r);
      else if (node_unreachable(r.error()) || r.error().code() == Errc::cancelled)
        co_return r.error();
      else
        out[i] = error_reply(reply_text(r.error()));
    }
    co_return out;
  }
};

ClusterOptions ClusterOptions::from(const ConnectionOptions& connection) {
  ClusterOptions o;
  o.node.acquire_timeout = std::chrono::milliseconds(2000);  // a dead node costs little: others are asked
  o.node.connection = connection;
  o.node.connection.cluster = false;
  o.node.connection.cluster_seeds.clear();
  o.seeds.emplace_back(connection.host, connection.port);
  o.seeds.insert(o.seeds.end(), connection.cluster_seeds.begin(), connection.cluster_seeds.end());
  return o;
}

ClusterClient::ClusterClient(asio::any_io_executor ex, ClusterOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {}
ClusterClient::~ClusterClient() {
  close();
}

asio::awaitable<Result<void>> ClusterClient::connect() {
  auto impl = impl_;
  co_return co_await impl->refresh();
}

asio::awaitable<Result<resp::Reply>> ClusterClient::typed(resp::Command cmd, std::string_view key, Op op,
                                                          bool idempotent) {
  auto impl = impl_;
  std::uint16_t slot = key_slot(key);
  if (op == Op::eval || op == Op::evalsha) {  // every key in one slot, checked before anything is sent
    const auto keys = command_keys(cmd);
    auto one = one_slot(keys, op == Op::eval ? "EVAL" : "EVALSHA");
    if (!one) co_return one.error();
    slot = *one;
  }
  co_return co_await impl->routed(slot, cmd, idempotent);
}

asio::awaitable<Result<void>> ClusterClient::per_group(std::string_view name, Op,
                                                       const std::vector<std::string>& keys,
                                                       const std::vector<std::string>* values,
                                                       bool idempotent, MergeGroup merge) {
  auto impl = impl_;
  co_return co_await impl->split(name, keys, idempotent, merge, values);
}

ValueCodec* ClusterClient::codec() {
  return impl_->opts.node.compression ? &impl_->codec : nullptr;
}

std::vector<ConnectionOptions> ClusterClient::masters() const {
  std::vector<ConnectionOptions> out;
  for (const auto& m : impl_->map.masters()) {
    out.push_back(impl_->opts.node.connection);
    out.back().host = m.host;
    out.back().port = m.port;
  }
  return out;
}

asio::any_io_executor ClusterClient::executor() const {
  return impl_->ex;
}

const ClientOptions& ClusterClient::options() const noexcept {
  return impl_->opts.node;
}

asio::awaitable<Result<resp::Reply>> ClusterClient::command_at(ConnectionOptions master, resp::Command cmd,
                                                               bool idempotent) {
  auto impl = impl_;
  const auto known = impl->map.masters();
  if (std::none_of(known.begin(), known.end(),
                   [&](const ClusterNode& n) { return n.host == master.host && n.port == master.port; }))
    co_return Error(Errc::invalid_argument,
                    master.host + ":" + std::to_string(master.port) + " is not a master of the cluster");
  co_return co_await impl->node(master.host, master.port).command(std::move(cmd), idempotent);
}

ClientMetricsSnapshot ClusterClient::metrics() const {
  ClientMetricsSnapshot out;
  for (const auto& [name, c] : impl_->nodes) out.merge(c->metrics());
  return out;
}

asio::awaitable<Result<resp::Reply>> ClusterClient::command(resp::Command cmd, std::string routing_key,
                                                            bool idempotent) {
  auto impl = impl_;
  co_return co_await impl->routed(key_slot(routing_key), cmd, idempotent);
}

asio::awaitable<Result<resp::Reply>> ClusterClient::command(resp::Command cmd, bool idempotent) {
  auto impl = impl_;
  auto key = command_routing_key(cmd);
  if (!key)
    co_return Error(Errc::invalid_argument,
                    std::string(cmd.name()) + " has no key to route by on a cluster; use for_each_master()");
  const std::uint16_t slot = key_slot(*key);
  co_return co_await impl->routed(slot, cmd, idempotent);
}

asio::awaitable<Result<resp::Reply>> ClusterClient::command_at_slot(std::uint16_t slot, resp::Command cmd) {
  auto impl = impl_;
  if (slot >= kClusterSlots) co_return Error(Errc::invalid_argument, "slot must be below 16384");
  if (!impl->have_map) {
    if (auto ok = co_await impl->refresh(); !ok) co_return ok.error();
  }
  const ClusterNode* n = impl->map.node_for(slot);
  if (n == nullptr) co_return unserved_slot(slot);
  const std::string host = n->host;
  const std::uint16_t port = n->port;
  co_return co_await impl->node(host, port).command(cmd, true);
}

asio::awaitable<Result<std::vector<resp::Reply>>> ClusterClient::pipeline(std::vector<resp::Command> cmds,
                                                                          bool idempotent) {
  auto impl = impl_;
  co_return co_await impl->split_pipeline(cmds, idempotent);
}

asio::awaitable<Result<resp::Reply>> ClusterClient::transaction(std::vector<resp::Command> cmds) {
  auto impl = impl_;
  std::vector<std::string_view> all;
  for (const auto& c : cmds) {
    const std::string_view n = c.name();
    if (client_detail::equals_upper(n, "MULTI") || client_detail::equals_upper(n, "EXEC") ||
        client_detail::equals_upper(n, "DISCARD") || client_detail::equals_upper(n, "WATCH"))
      co_return Error(
          Errc::invalid_argument,
          "transaction: give the commands only (MULTI and EXEC are added; WATCH is not supported here)");
    auto k = command_keys(c);
    all.insert(all.end(), k.begin(), k.end());
  }
  auto slot = one_slot(all, "a transaction");
  if (!slot) co_return slot.error();
  if (!impl->have_map) {
    if (auto ok = co_await impl->refresh(); !ok) co_return ok.error();
  }
  Result<resp::Reply> result = unserved_slot(*slot);
  std::optional<Redirect> to;
  for (int attempt = 0; attempt <= impl->opts.max_redirects; ++attempt) {
    const auto hp = impl->target_for(*slot, to);
    const std::string& host = hp.first;
    const std::uint16_t port = hp.second;
    if (port == 0) break;
    resp::Pipeline p;
    if (to && to->ask) p.add(resp::Command("ASKING"));
    p.add(resp::Command("MULTI"));
    for (const auto& c : cmds) p.add(c);
    p.add(resp::Command("EXEC"));
    const std::size_t first = (to && to->ask) ? 2 : 1;
    auto replies = co_await impl->node(host, port).pipeline(std::move(p));
    if (!replies) co_return replies.error();  // EXEC may have run: never resent
    to.reset();
    // A queued command redirected: EXEC aborted, nothing ran; follow it and try again.
    for (std::size_t i = first; i < first + cmds.size() && !to; ++i)
      if ((*replies)[i].is_error())
        if (const Error queued = net::error_from_reply((*replies)[i].root(), "transaction");
            queued.redirect())
          to = *queued.redirect();
    if (to) {
      if (!to->ask) {
        ++impl->moved_n;
        (void)co_await impl->refresh();
      } else {
        ++impl->asked_n;
      }
      continue;
    }
    const resp::Reply& exec = replies->back();
    if (exec.is_error()) {
      const Error e = net::error_from_reply(exec.root(), "EXEC");
      if (const RouteAction next = next_route_action(attempt, impl->opts.max_redirects, e, false);
          next.retry && !next.to) {
        asio::steady_timer t(impl->ex, next.wait);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      co_return e;
    }
    co_return std::move(replies->back());
  }
  co_return result;
}

asio::awaitable<Result<void>> ClusterClient::refresh() {
  auto impl = impl_;
  co_return co_await impl->refresh();
}

asio::awaitable<std::vector<Result<resp::Reply>>> ClusterClient::for_each_master(resp::Command cmd,
                                                                                 bool idempotent) {
  auto impl = impl_;
  std::vector<Result<resp::Reply>> out;
  if (!impl->have_map) {
    if (auto ok = co_await impl->refresh(); !ok) {
      out.emplace_back(ok.error());
      co_return out;
    }
  }
  const auto masters = impl->map.masters();  // a copy: a refresh may replace the map meanwhile
  for (const auto& m : masters) out.push_back(co_await impl->node(m.host, m.port).command(cmd, idempotent));
  co_return out;
}

const SlotMap& ClusterClient::slots() const {
  return impl_->map;
}
std::uint64_t ClusterClient::moved() const noexcept {
  return impl_->moved_n.load();
}
std::uint64_t ClusterClient::asked() const noexcept {
  return impl_->asked_n.load();
}
std::uint64_t ClusterClient::refreshes() const noexcept {
  return impl_->refresh_n.load();
}

void ClusterClient::close() {
  auto impl = impl_;
  asio::dispatch(impl->ex, [impl] {
    impl->closed = true;
    for (auto& [name, c] : impl->nodes) c->close();
  });
}

}  // namespace swarmkeeper
