// SPDX-License-Identifier: Apache-2.0
// web_config.hpp — `serve --web-config FILE`: TLS and basic authentication in the
// Prometheus exporter-toolkit's format, so an operator reuses the file their exporters
// already read:
//
//   tls_server_config:
//     cert_file: server.crt          # relative paths: from the file's own directory
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert   # default NoClientCert
//     client_ca_file: ca.crt
//     min_version: TLS12             # default TLS12; max_version: none by default
//   http_server_config:
//     headers: {Strict-Transport-Security: max-age=31536000}
//   basic_auth_users:
//     prometheus: $2y$10$...         # bcrypt only
//
// Parsing is strict as the toolkit's: an unknown or repeated key is an error, and each
// error names the file, the key and the problem. No I/O beyond reading the file; the
// TLS context is built (and the PEM files read) by the HTTP server.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "swarmkeeper/error.hpp"

namespace swarmkeeper::monitor {

/// client_auth_type, as Go's crypto/tls names them.
enum class ClientAuth {
  none,                ///< NoClientCert: no certificate asked for
  request,             ///< RequestClientCert: asked for, not required, not verified
  require_any,         ///< RequireAnyClientCert: required, not verified
  verify_if_given,     ///< VerifyClientCertIfGiven: verified against client_ca_file if sent
  require_and_verify,  ///< RequireAndVerifyClientCert: required and verified
};

struct TlsServerConfig {
  std::string cert_file, key_file;  ///< absolute, or relative to the working directory
  std::string client_ca_file;       ///< "" unless client certificates are verified
  ClientAuth client_auth = ClientAuth::none;
  int min_version = 12;                    ///< 10, 11, 12 or 13 (TLS 1.x)
  int max_version = 0;                     ///< 0: the newest the library speaks
  std::vector<std::string> cipher_suites;  ///< OpenSSL names of the TLS 1.2 suites; empty: the defaults
  std::vector<std::string> curves;         ///< OpenSSL group names; empty: the defaults
  bool prefer_server_cipher_suites = true;
  /// A client certificate must name one of these (DNS, IP, e-mail or URI SAN); empty: any.
  std::vector<std::string> client_allowed_sans;
};

struct WebConfig {
  std::string file;                    ///< where it was read from ("" when built in code)
  std::optional<TlsServerConfig> tls;  ///< absent: plain HTTP
  /// User name → bcrypt hash. Non-empty: every request needs one of them (Basic).
  std::map<std::string, std::string> users;
  /// Extra response headers (http_server_config.headers); a name we also set is replaced.
  std::vector<std::pair<std::string, std::string>> headers;

  /// The files whose change means the configuration must be read again (the file
  /// itself, its certificates and CA).
  std::vector<std::string> watched_files() const;
};

/// Whether serve sends header `name` itself, always and strictly (X-Content-Type-Options,
/// X-Frame-Options, Content-Security-Policy, Referrer-Policy): a value for it in
/// http_server_config.headers is accepted, as the toolkit's files carry them, and not used.
bool serve_sets_header(std::string_view name);

/// A file's bytes, if it is a regular file of at most `limit` bytes: a FIFO, device or
/// directory is refused without blocking, and so is anything larger (the error says
/// which, without the path).
Result<std::string> read_regular_file(const std::string& path, std::size_t limit);
inline constexpr std::size_t kMaxWebConfigBytes = 1
                                                  << 20;  ///< the web config file, and each PEM file it names

/// Reads and checks a web configuration file. Fails with invalid_argument and one line
/// "--web-config FILE: KEY: problem" (a YAML error gives its line and column instead).
Result<WebConfig> load_web_config(const std::string& path);
/// The same for a text; `file` names it in messages and its directory anchors relative
/// paths.
Result<WebConfig> parse_web_config(std::string_view yaml, const std::string& file);

/// bcrypt costs accepted, as htpasswd's: each step doubles a login's time (cost 10:
/// ~50 ms here; 17: ~6 s).
inline constexpr int kMinBcryptCost = 4, kMaxBcryptCost = 17;
/// Whether `hash` is a bcrypt hash ($2a$, $2b$ or $2y$) of cost 4-17 the system's crypt
/// takes. Checks the form only (quick whatever the cost).
bool is_bcrypt_hash(const std::string& hash);

/// A file's identity for change detection: size, modification time (ns) and inode;
/// all zero when it cannot be read.
struct FileStamp {
  std::uint64_t size = 0, mtime_ns = 0, inode = 0;
  bool operator==(const FileStamp&) const = default;
};
FileStamp stamp_of(const std::string& path);

}  // namespace swarmkeeper::monitor
