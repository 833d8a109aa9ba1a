// SPDX-License-Identifier: Apache-2.0
// error.cpp — the swarmkeeper error category and code properties.
#include "swarmkeeper/error.hpp"

namespace swarmkeeper {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "swarmkeeper"; }
  std::string message(int ev) const override { return errc_name(static_cast<Errc>(ev)); }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

const char* errc_name(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::connection_refused: return "connection_refused";
    case Errc::dns_failure: return "dns_failure";
    case Errc::timeout: return "timeout";
    case Errc::connection_lost: return "connection_lost";
    case Errc::auth_failed: return "auth_failed";
    case Errc::server_error: return "server_error";
    case Errc::no_permission: return "no_permission";
    case Errc::server_loading: return "server_loading";
    case Errc::server_busy: return "server_busy";
    case Errc::read_only: return "read_only";
    case Errc::out_of_memory: return "out_of_memory";
    case Errc::no_script: return "no_script";
    case Errc::protocol_error: return "protocol_error";
    case Errc::unexpected_reply: return "unexpected_reply";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::tls_error: return "tls_error";
    case Errc::cancelled: return "cancelled";
    case Errc::io_error: return "io_error";
  }
  return "unknown";
}

bool is_transient(Errc e) noexcept {
  switch (e) {
    case Errc::connection_refused:
    case Errc::timeout:
    case Errc::connection_lost:
    case Errc::server_loading:
    case Errc::server_busy:
    case Errc::read_only:
    case Errc::out_of_memory:
    case Errc::io_error:
      return true;
    default:
      return false;
  }
}

}  // namespace swarmkeeper
