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
    case Errc::io_error: return true;
    default: return false;
  }
}

namespace {

// "slot host:port" after MOVED/ASK; nullopt unless every part parses.
std::optional<Redirect> parse_target(std::string_view rest, bool ask) {
  const auto space = rest.find(' ');
  if (space == std::string_view::npos || space == 0 || space > 5) return std::nullopt;
  unsigned slot = 0;
  for (char c : rest.substr(0, space)) {
    if (c < '0' || c > '9') return std::nullopt;
    slot = slot * 10 + static_cast<unsigned>(c - '0');
  }
  if (slot >= 16384) return std::nullopt;
  rest = rest.substr(space + 1);
  rest = rest.substr(0, rest.find_first_of(" \r\n"));
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= rest.size() || rest.size() - colon - 1 > 5)
    return std::nullopt;
  unsigned port = 0;
  for (char c : rest.substr(colon + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port == 0 || port > 65535) return std::nullopt;
  Redirect r;
  r.ask = ask;
  r.slot = static_cast<std::uint16_t>(slot);
  r.host = std::string(rest.substr(0, colon));
  if (r.host.size() > 2 && r.host.front() == '[' && r.host.back() == ']')
    r.host = r.host.substr(1, r.host.size() - 2);
  r.port = static_cast<std::uint16_t>(port);
  return r;
}

}  // namespace

ServerError classify_server_error(std::string_view text) {
  const std::string_view code = text.substr(0, text.find(' '));
  ServerError e;
  if (code == "MOVED" || code == "ASK") {
    e.redirect = parse_target(text.substr(code.size() + (code.size() < text.size() ? 1 : 0)), code == "ASK");
    if (e.redirect) e.code = code == "ASK" ? ServerCode::ask : ServerCode::moved;
  } else if (code == "TRYAGAIN") {
    e.code = ServerCode::try_again;
  } else if (code == "CLUSTERDOWN") {
    e.code = ServerCode::cluster_down;
  } else if (code == "CROSSSLOT") {
    e.code = ServerCode::cross_slot;
  } else if (code == "WRONGTYPE") {
    e.code = ServerCode::wrong_type;
  } else if (code == "NOPROTO") {
    e.code = ServerCode::no_proto;
  } else if (code == "ERR" && text.substr(0, 19) == "ERR unknown command") {
    e.code = ServerCode::unknown_command;
  }
  return e;
}

}  // namespace swarmkeeper
