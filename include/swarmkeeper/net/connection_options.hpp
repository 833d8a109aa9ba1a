// SPDX-License-Identifier: Apache-2.0
// connection_options.hpp — where and how to connect to Redis.
//
// Options come from, in order of precedence: an explicit URL (a --url flag), the
// REDIS_URL environment variable, the separate REDIS_HOST / REDIS_PORT /
// REDIS_PASSWORD / REDIS_DB variables, and finally 127.0.0.1:6379 db 0.
//
//   redis://[user[:password]@]host[:port][/db]      plain TCP
//   rediss://...                                    TLS (verification on)
//   redis://[::1]:6380/2                            IPv6 literal
//
// A password never appears in display(), in errors or in logs: it is shown as "***".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "swarmkeeper/error.hpp"
#include "swarmkeeper/resp/parser.hpp"

namespace swarmkeeper {

struct TlsOptions {
  /// Use TLS (set by rediss:// URLs). Default off.
  bool enabled = false;
  /// Verify the server's certificate chain and host name. Default on; turning it off
  /// is for tests only and is logged loudly.
  bool verify = true;
  /// PEM file of trusted CAs; empty: the system's default trust store.
  std::string ca_file;
  /// Directory of hashed CA certificates (c_rehash layout); optional.
  std::string ca_dir;
  /// Client certificate and private key (PEM) for mutual TLS; optional.
  std::string cert_file;
  std::string key_file;
  /// Name sent in SNI and checked against the certificate; empty: the host.
  std::string server_name;
};

struct ConnectionOptions {
  /// Host name or IP literal. Default 127.0.0.1.
  std::string host = "127.0.0.1";
  /// TCP port. Default 6379.
  std::uint16_t port = 6379;
  /// ACL user name; empty: the default user.
  std::string username;
  /// Password (AUTH / HELLO AUTH); empty: no authentication.
  std::string password;
  /// Logical database selected after connecting. Default 0.
  int db = 0;
  TlsOptions tls;
  /// CLIENT SETNAME value, shown in CLIENT LIST. Empty: not set.
  std::string client_name = "swarmkeeper";
  /// Resolve + connect + TLS + handshake must finish within this. Default 5 s.
  std::chrono::milliseconds connect_timeout{5000};
  /// A connection with commands in flight that receives no reply for this long is
  /// declared dead: its commands fail with Errc::timeout. Default 5 s.
  std::chrono::milliseconds command_timeout{5000};
  /// 3: speak RESP3 via HELLO 3, falling back to RESP2 on servers without HELLO.
  /// 2: RESP2 only. Default 3.
  int protocol = 3;
  /// SO_KEEPALIVE on the socket. Default on. (TCP_NODELAY is always on.)
  bool keepalive = true;
  /// Limits applied to every reply the server sends.
  resp::ParserLimits parser_limits;
  /// A Redis Cluster (redis+cluster:// or ?cluster=1): host:port is one seed node and
  /// cluster_seeds lists the others given in the URL. Default off.
  bool cluster = false;
  std::vector<std::pair<std::string, std::uint16_t>> cluster_seeds;

  /// redis://user:***@host:port/db (rediss:// with TLS), password masked.
  std::string display() const;
};

/// Parses a redis:// or rediss:// URL into options (other fields keep their defaults).
/// A cluster: redis+cluster://[user[:password]@]host:port[,host:port...] (rediss+cluster://
/// with TLS), or ?cluster=1 on a plain URL.
/// Fails with Errc::invalid_argument and a message naming the bad part; the message
/// never contains the password.
Result<ConnectionOptions> parse_redis_url(std::string_view url);

/// Looks up an environment variable; returns nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;
/// The process environment (getenv).
EnvLookup process_env();

/// Resolves options by precedence: url_flag > REDIS_URL > REDIS_HOST/PORT/PASSWORD/DB >
/// defaults. A URL without a password takes REDIS_PASSWORD; if still none,
/// REDIS_PASSWORD_FILE names a file holding it (so it never sits on a command line; a
/// set REDIS_PASSWORD_FILE that is not a readable file is an error). Fails with
/// Errc::invalid_argument naming the variable or flag at fault; no message quotes a
/// password (URL pieces up to their last '@' are redacted).
Result<ConnectionOptions> resolve_connection_options(const std::optional<std::string>& url_flag,
                                                     const EnvLookup& env = process_env());
/// The same without REDIS_PASSWORD_FILE.
Result<ConnectionOptions> resolve_connection_source(const std::optional<std::string>& url_flag,
                                                    const EnvLookup& env = process_env());

}  // namespace swarmkeeper
