// SPDX-License-Identifier: Apache-2.0
// router.cpp — the typed commands, written once for one server and a cluster (see
// swarmkeeper/client/router.hpp), and open_router().
#include "swarmkeeper/client/router.hpp"

#include "client/command_rules.hpp"
#include "net/connection.hpp"
#include "net/info_text.hpp"
#include "swarmkeeper/client/client.hpp"
#include "swarmkeeper/client/cluster_client.hpp"

namespace swarmkeeper {

namespace asio = boost::asio;
using client_detail::is_ok;
using client_detail::is_value;
using client_detail::unexpected;

namespace {

// A stored value as the application wrote it: decoded when compression is on.
Result<std::string> decoded(ValueCodec* codec, std::string_view stored) {
  return codec != nullptr ? codec->decode(stored) : Result<std::string>(std::string(stored));
}

}  // namespace

Error client_detail::unexpected(std::string_view what, const resp::Reply& r) {
  return Error(Errc::unexpected_reply,
               std::string(what) + " returned " + resp::to_string(r.root()).substr(0, 120));
}

resp::Command client_detail::scan_command(const std::string& cursor, const std::string& match,
                                          std::size_t count) {
  resp::Command c("SCAN");
  c.arg(cursor);
  if (!match.empty()) c.arg("MATCH").arg(match);
  c.arg("COUNT").arg(count);
  return c;
}

Result<std::pair<std::string, std::vector<std::string>>> client_detail::scan_page(const resp::Reply& r) {
  if (r.size() != 2 || !r[0].is_string() || !r[1].is_aggregate()) return unexpected("SCAN", r);
  std::vector<std::string> keys;
  keys.reserve(r[1].size());
  for (resp::ReplyRef k : r[1]) {
    if (!k.is_string()) return unexpected("SCAN", r);
    keys.emplace_back(k.str());
  }
  return std::pair{std::string(r[0].str()), std::move(keys)};
}

asio::awaitable<Result<std::pair<std::string, std::vector<std::string>>>> Router::scan_at(
    ConnectionOptions master, std::string cursor, std::string match, std::size_t count) {
  auto r = co_await command_at(std::move(master), client_detail::scan_command(cursor, match, count), true);
  if (!r) co_return r.error();
  co_return client_detail::scan_page(*r);
}

Result<std::string> Router::decode_value(std::string_view stored) {
  return decoded(codec(), stored);
}

asio::awaitable<Result<Router::Value>> Router::get(std::string key) {
  resp::Command c("GET");
  c.arg(key);
  auto r = co_await typed(std::move(c), key, Op::get, true);
  if (!r) co_return r.error();
  if (r->is_null()) co_return Value{};
  if (!is_value(r->root()))
    co_return unexpected("GET", *r);  // an array, a map, an integer, +QUEUED: not a value
  auto v = decoded(codec(), r->str());
  if (!v) co_return v.error();
  co_return Value{std::move(*v)};
}

asio::awaitable<Result<void>> Router::set(std::string key, std::string value, std::chrono::milliseconds ttl) {
  if (ttl.count() < 0) co_return Error(Errc::invalid_argument, "set: ttl must not be negative");
  resp::Command c("SET");
  ValueCodec* const vc = codec();
  c.arg(key).arg(vc != nullptr ? vc->encode(value) : value);
  if (ttl.count() > 0) c.arg("PX").arg(ttl.count());
  auto r = co_await typed(std::move(c), key, Op::set, false);
  if (!r) co_return r.error();
  if (!is_ok(r->root())) co_return unexpected("SET", *r);
  co_return Result<void>();
}

asio::awaitable<Result<std::vector<Router::Value>>> Router::mget(std::vector<std::string> keys) {
  std::vector<Value> out(keys.size());
  if (keys.empty()) co_return out;  // (a server refuses MGET with no key)
  ValueCodec* const vc = codec();
  auto ok = co_await per_group(
      "MGET", Op::mget, keys, nullptr, true,
      [&](std::span<const std::size_t> idx, const resp::Reply& r) -> Result<void> {
        if (r.type() != resp::Type::array || r.size() != idx.size()) return unexpected("MGET", r);
        std::size_t j = 0;
        for (const resp::ReplyRef v : r) {  // (in order: r[j] would walk from the start each time)
          const std::size_t at = idx[j++];
          if (v.is_null()) continue;
          if (!is_value(v)) return unexpected("MGET", r);
          auto d = decoded(vc, v.str());
          if (!d) return d.error();
          out[at] = std::move(*d);
        }
        return {};
      });
  if (!ok) co_return ok.error();
  co_return out;
}

asio::awaitable<Result<void>> Router::mset(std::vector<std::pair<std::string, std::string>> pairs) {
  if (pairs.empty()) co_return Result<void>();  // nothing to write (a server refuses MSET with no pair)
  std::vector<std::string> keys, values;
  keys.reserve(pairs.size());
  values.reserve(pairs.size());
  ValueCodec* const vc = codec();
  for (auto& [k, v] : pairs) {
    keys.push_back(std::move(k));
    values.push_back(vc != nullptr ? vc->encode(v) : std::move(v));
  }
  // Not resent after a lost connection: it may have been applied, and a newer write by
  // someone else since would be undone.
  co_return co_await per_group("MSET", Op::mset, keys, &values, false,
                               [](std::span<const std::size_t>, const resp::Reply& r) -> Result<void> {
                                 if (!is_ok(r.root())) return unexpected("MSET", r);
                                 return {};
                               });
}

asio::awaitable<Result<std::int64_t>> Router::counted(std::string_view name, Op op,
                                                      std::vector<std::string> keys, bool idempotent) {
  std::int64_t total = 0;
  if (keys.empty()) co_return total;  // (a server refuses DEL, UNLINK and EXISTS with no key)
  auto ok = co_await per_group(name, op, keys, nullptr, idempotent,
                               [&](std::span<const std::size_t>, const resp::Reply& r) -> Result<void> {
                                 if (r.type() != resp::Type::integer) return unexpected(name, r);
                                 total += r.integer();
                                 return {};
                               });
  if (!ok) co_return ok.error();
  co_return total;
}

asio::awaitable<Result<std::int64_t>> Router::del(std::vector<std::string> keys) {
  co_return co_await counted("DEL", Op::del, std::move(keys), false);
}
asio::awaitable<Result<std::int64_t>> Router::unlink(std::vector<std::string> keys) {
  co_return co_await counted("UNLINK", Op::unlink, std::move(keys), false);
}
asio::awaitable<Result<std::int64_t>> Router::exists(std::vector<std::string> keys) {
  co_return co_await counted("EXISTS", Op::exists, std::move(keys), true);
}

asio::awaitable<Result<bool>> Router::expire(std::string key, std::chrono::seconds ttl) {
  resp::Command c("EXPIRE");
  c.arg(key).arg(ttl.count());
  auto r = co_await typed(std::move(c), key, Op::expire, false);
  if (!r) co_return r.error();
  if (r->type() != resp::Type::integer) co_return unexpected("EXPIRE", *r);
  co_return r->integer() == 1;
}

asio::awaitable<Result<resp::Reply>> Router::script(Op op, std::string body, std::vector<std::string> keys,
                                                    std::vector<std::string> args) {
  resp::Command c(op == Op::eval ? "EVAL" : "EVALSHA");
  c.arg(body).arg(keys.size()).args(keys).args(args);
  const std::string first = keys.empty() ? std::string() : keys.front();
  co_return co_await typed(std::move(c), first, op, false);
}

asio::awaitable<Result<resp::Reply>> Router::eval(std::string script_text, std::vector<std::string> keys,
                                                  std::vector<std::string> args) {
  co_return co_await script(Op::eval, std::move(script_text), std::move(keys), std::move(args));
}

asio::awaitable<Result<resp::Reply>> Router::evalsha(std::string sha, std::vector<std::string> keys,
                                                     std::vector<std::string> args) {
  co_return co_await script(Op::evalsha, std::move(sha), std::move(keys), std::move(args));
}

asio::awaitable<Result<std::int64_t>> Router::publish(std::string channel, std::string message) {
  resp::Command c("PUBLISH");
  c.arg(channel).arg(message);
  auto r = co_await typed(std::move(c), channel, Op::publish, false);
  if (!r) co_return r.error();
  if (r->type() != resp::Type::integer) co_return unexpected("PUBLISH", *r);
  co_return r->integer();
}

asio::awaitable<Result<std::unique_ptr<Router>>> open_router(asio::any_io_executor ex,
                                                             ClientOptions options) {
  bool cluster = options.connection.cluster;
  if (!cluster) {  // a plain URL may name a cluster node: ask it
    ConnectionOptions probe = options.connection;
    probe.db = 0;  // a cluster node refuses SELECT: asked first, refused below with the reason
    probe.command_timeout = std::min(probe.command_timeout, std::chrono::milliseconds(5000));
    auto conn = co_await net::Connection::open(ex, probe);
    if (!conn) co_return conn.error();
    cluster = co_await net::is_cluster_node(**conn);
    (*conn)->close();
  }
  if (!cluster) co_return std::unique_ptr<Router>(std::make_unique<Client>(ex, std::move(options)));
  if (options.connection.db != 0)
    co_return Error(Errc::invalid_argument,
                    "a Redis Cluster has only database 0, but the URL asks for database " +
                        std::to_string(options.connection.db));
  ClusterOptions co = ClusterOptions::from(options.connection);
  const ConnectionOptions node_connection = co.node.connection;
  const auto node_acquire = co.node.acquire_timeout;  // a dead node costs little: others are asked
  co.node = std::move(options);
  co.node.connection = node_connection;
  co.node.acquire_timeout = std::min(co.node.acquire_timeout, node_acquire);
  auto c = std::make_unique<ClusterClient>(ex, std::move(co));
  if (auto ok = co_await c->connect(); !ok) {
    c->close();
    co_return ok.error();
  }
  co_return std::unique_ptr<Router>(std::move(c));
}

}  // namespace swarmkeeper
