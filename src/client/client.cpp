// SPDX-License-Identifier: Apache-2.0
// client.cpp — Client's typed commands (see swarmkeeper/client/client.hpp): each encodes its
// command, runs it through the pool (client_pool.hpp) and reads the reply, compressing
// and decompressing values on the way.
#include "swarmkeeper/client/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <optional>

#include "client/ascii.hpp"
#include "client/client_pool.hpp"
#include "client/command_rules.hpp"
#include "net/connection.hpp"

namespace swarmkeeper {

using namespace client_detail;

Client::Client(asio::any_io_executor ex, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {
  asio::co_spawn(impl_->ex, Impl::health_loop(impl_), asio::detached);
}

Client::~Client() {
  close();
}
asio::any_io_executor Client::executor() const {
  return impl_->ex;
}
const ClientOptions& Client::options() const noexcept {
  return impl_->opts;
}

void Client::close() {
  auto impl = impl_;
  asio::dispatch(impl->ex, [impl] { impl->close_all(); });
}

ClientMetricsSnapshot Client::metrics() const {
  return impl_->snapshot();
}

namespace {

// The first command of a pipeline (or transaction) that a shared connection cannot
// carry, as invalid_argument naming the API to use; blocking ones too, outside MULTI.
std::optional<Error> refuse_in(const resp::Pipeline& p, std::string_view api, bool in_transaction) {
  std::optional<Error> out;
  std::size_t i = 0, multi_at = 0;
  bool in_multi = false;  // a MULTI of this pipeline's own (one write: no one else's command lands inside)
  p.for_each([&](const resp::CommandView& c) {
    std::string why;
    const bool multi = equals_upper(c.name(), "MULTI"),
               ends = equals_upper(c.name(), "EXEC") || equals_upper(c.name(), "DISCARD");
    if (!in_transaction && multi && !in_multi) {
      in_multi = true;
      multi_at = i;
    } else if (!in_transaction && ends && in_multi) {
      in_multi = false;
    } else {
      why = not_multiplexable(c);
    }
    if (why.empty() && !in_transaction && !in_multi && is_blocking(c))
      why = std::string(c.name()) +
            " blocks the shared connection for every caller on it: use command() (it leases "
            "a connection for blocking commands) or lease()";
    if (!why.empty())
      out = Error(Errc::invalid_argument, std::string(api) + " command " + std::to_string(i) + ": " + why);
    ++i;
    return why.empty();
  });
  if (!out && in_multi)
    out = Error(Errc::invalid_argument,
                std::string(api) + " command " + std::to_string(multi_at) +
                    ": a MULTI with no EXEC or DISCARD after it in the same pipeline would queue "
                    "other callers' commands: use transaction()");
  return out;
}

}  // namespace

asio::awaitable<Result<resp::Reply>> Client::command(resp::Command cmd, bool idempotent) {
  auto impl = impl_;
  if (auto why = not_multiplexable(cmd.view()); !why.empty())
    co_return Error(Errc::invalid_argument, "command(): " + why);
  if (is_blocking(cmd.view())) {
    auto lease = co_await this->lease();
    if (!lease) co_return lease.error();
    auto r = co_await lease->exec(std::move(cmd));
    co_return r;
  }
  auto r = co_await run_here(impl, cmd, kOther, idempotent);
  co_return r;
}

asio::awaitable<Result<std::vector<resp::Reply>>> Client::pipeline(resp::Pipeline commands) {
  if (auto refused = refuse_in(commands, "pipeline()", false)) co_return *refused;
  auto impl = impl_;
  const std::size_t n = commands.size();
  auto r = co_await on_client(impl, impl->exec_many(commands.buffer(), n));
  co_return r;
}

asio::awaitable<Result<resp::Reply>> Client::transaction(resp::Pipeline commands) {
  if (auto refused = refuse_in(commands, "transaction()", true)) co_return *refused;
  // One payload: a connection writes a payload whole, so no other caller's command can
  // land between MULTI and EXEC.
  std::string wire = resp::Command("MULTI").encoded() + commands.buffer() + resp::Command("EXEC").encoded();
  const std::size_t n = commands.size() + 2;
  auto impl = impl_;
  auto replies = co_await on_client(impl, impl->exec_many(std::move(wire), n));
  if (!replies) co_return replies.error();
  for (std::size_t i = 0; i + 1 < replies->size(); ++i)
    if ((*replies)[i].is_error())
      co_return net::error_from_reply((*replies)[i].root(), "transaction command " + std::to_string(i));
  resp::Reply& result = replies->back();
  if (result.is_error()) co_return net::error_from_reply(result.root(), "EXEC");
  if (result.is_null())
    co_return Error(Errc::server_error, "the transaction was aborted (a WATCHed key changed)");
  co_return std::move(result);
}

asio::awaitable<Result<Client::Lease>> Client::lease() {
  auto impl = impl_;
  auto c = co_await on_client(impl, impl->open_leased());
  if (!c) co_return c.error();
  co_return Lease(impl, std::move(*c));
}

asio::awaitable<Result<std::pair<std::string, std::vector<std::string>>>> Client::scan(std::string cursor,
                                                                                       std::string match,
                                                                                       std::size_t count) {
  auto impl = impl_;
  auto r = co_await run_here(impl, client_detail::scan_command(cursor, match, count), kScan, true);
  if (!r) co_return r.error();
  co_return client_detail::scan_page(*r);
}

namespace {

// Separate commands as one pipeline (Router's form of pipeline() and transaction()).
resp::Pipeline joined(const std::vector<resp::Command>& cmds) {
  resp::Pipeline p;
  for (const auto& c : cmds) p.add(c);
  return p;
}

}  // namespace

asio::awaitable<Result<std::vector<resp::Reply>>> Client::pipeline(std::vector<resp::Command> cmds, bool) {
  co_return co_await pipeline(joined(cmds));
}

asio::awaitable<Result<resp::Reply>> Client::transaction(std::vector<resp::Command> cmds) {
  co_return co_await transaction(joined(cmds));
}

asio::awaitable<std::vector<Result<resp::Reply>>> Client::for_each_master(resp::Command cmd,
                                                                          bool idempotent) {
  std::vector<Result<resp::Reply>> out;
  out.push_back(co_await command(std::move(cmd), idempotent));
  co_return out;
}

std::vector<ConnectionOptions> Client::masters() const {
  return {impl_->opts.connection};
}

asio::awaitable<Result<resp::Reply>> Client::command_at(ConnectionOptions master, resp::Command cmd,
                                                        bool idempotent) {
  if (master.host != impl_->opts.connection.host || master.port != impl_->opts.connection.port)
    co_return Error(Errc::invalid_argument,
                    master.host + ":" + std::to_string(master.port) + " is not this client's server");
  co_return co_await command(std::move(cmd), idempotent);
}

asio::awaitable<Result<void>> Client::refresh() {
  co_return Result<void>{};
}

namespace {

// A typed command's metrics slot.
Cmd metric_of(Router::Op op) {
  switch (op) {
    case Router::Op::get: return kGet;
    case Router::Op::set: return kSet;
    case Router::Op::del: return kDel;
    case Router::Op::unlink: return kUnlink;
    case Router::Op::mget: return kMget;
    case Router::Op::mset: return kMset;
    case Router::Op::expire: return kExpire;
    case Router::Op::eval: return kEval;
    case Router::Op::evalsha: return kEvalsha;
    case Router::Op::publish: return kPublish;
    case Router::Op::exists: break;
  }
  return kOther;
}

}  // namespace

asio::awaitable<Result<resp::Reply>> Client::typed(resp::Command cmd, std::string_view, Op op,
                                                   bool idempotent) {
  auto impl = impl_;
  co_return co_await run_here(impl, cmd, metric_of(op), idempotent);
}

asio::awaitable<Result<void>> Client::per_group(std::string_view name, Op op,
                                                const std::vector<std::string>& keys,
                                                const std::vector<std::string>* values, bool idempotent,
                                                MergeGroup merge) {
  resp::Command c(name);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    c.arg(keys[i]);
    if (values != nullptr) c.arg((*values)[i]);
  }
  auto impl = impl_;
  auto r = co_await run_here(impl, c, metric_of(op), idempotent);
  if (!r) co_return r.error();
  std::vector<std::size_t> all(keys.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  co_return merge(all, *r);
}

ValueCodec* Client::codec() {
  return impl_->opts.compression ? &impl_->codec : nullptr;
}

// --- SyncClient ---------------------------------------------------------------------

}  // namespace swarmkeeper
