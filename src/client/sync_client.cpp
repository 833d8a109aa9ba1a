// SPDX-License-Identifier: Apache-2.0
// sync_client.cpp — SyncClient (swarmkeeper/client/client.hpp): the public face of
// SyncRouter, which holds the router, its I/O thread and the lazy open.
#include "swarmkeeper/client/client.hpp"

#include "client/sync_router.hpp"

namespace swarmkeeper {

struct SyncClient::State {
  explicit State(ClientOptions o) : link(std::move(o)) {}
  SyncRouter link;
};

SyncClient::SyncClient(ClientOptions options) : s_(std::make_unique<State>(std::move(options))) {}

SyncClient::~SyncClient() = default;

Result<Router::Value> SyncClient::get(const std::string& key) {
  return s_->link.get(key);
}
Result<void> SyncClient::set(const std::string& key, const std::string& value,
                             std::chrono::milliseconds ttl) {
  return s_->link.set(key, value, ttl);
}
Result<resp::Reply> SyncClient::command(const resp::Command& cmd, bool idempotent) {
  return s_->link.command(cmd, idempotent);
}
std::future<Result<resp::Reply>> SyncClient::command_async(resp::Command cmd, bool idempotent) {
  return s_->link.command_async(std::move(cmd), idempotent);
}
Result<Router*> SyncClient::async() {
  auto r = s_->link.opened();
  if (!r) return r.error();
  return r->get();  // SyncRouter keeps it until it is destroyed
}
ClientMetricsSnapshot SyncClient::metrics() const {
  return s_->link.metrics();
}

}  // namespace swarmkeeper
