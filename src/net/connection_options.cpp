// SPDX-License-Identifier: Apache-2.0
// connection_options.cpp — redis:// URLs and environment variables (see the header).
#include "swarmkeeper/net/connection_options.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace swarmkeeper {
namespace {

template <class Int>
bool parse_number(std::string_view s, Int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

Error invalid(std::string what) {
  return Error(Errc::invalid_argument, std::move(what));
}

// A piece of a URL quoted in a message. A password holding '/', '?' or '#' ends the
// authority early, and its tail then shows up in the path or a parameter: everything up
// to the last '@' is redacted, and the hint says how to write such a password.
std::string redacted(std::string_view fragment) {
  const auto at = fragment.rfind('@');
  if (at == std::string_view::npos) return std::string(fragment);
  return "***" + std::string(fragment.substr(at));
}
std::string hint(std::string_view fragment) {
  return fragment.find('@') == std::string_view::npos
             ? ""
             : " (a password with '/', '?', '#' or '@' must be percent-encoded: %2F, %3F, %23, %40)";
}

}  // namespace

std::string ConnectionOptions::display() const {
  std::string s = tls.enabled ? "rediss://" : "redis://";
  if (!username.empty() || !password.empty()) {
    s += username;
    if (!password.empty()) s += ":***";
    s += '@';
  }
  s += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  s += ':' + std::to_string(port) + '/' + std::to_string(db);
  return s;
}

Result<ConnectionOptions> parse_redis_url(std::string_view text) {
  // redis+cluster://a:1,b:2/...: the first node is parsed as a plain URL, the others are
  // seeds (host:port each).
  for (std::string_view scheme : {"redis+cluster://", "rediss+cluster://"}) {
    if (text.substr(0, scheme.size()) != scheme) continue;
    const std::string_view rest = text.substr(scheme.size());
    const auto end = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, end);
    const auto at = authority.rfind('@');
    const std::string_view hosts = authority.substr(at == std::string_view::npos ? 0 : at + 1);
    std::vector<std::string_view> list;
    for (std::size_t i = 0; i <= hosts.size();) {
      const auto comma = std::min(hosts.find(',', i), hosts.size());
      list.push_back(hosts.substr(i, comma - i));
      i = comma + 1;
    }
    if (list.empty() || list[0].empty())
      return invalid("a cluster URL names at least one node: redis+cluster://host:port[,host:port...]");
    std::string first = std::string(scheme == "redis+cluster://" ? "redis://" : "rediss://") +
                        std::string(authority.substr(0, at == std::string_view::npos ? 0 : at + 1)) +
                        std::string(list[0]) +
                        std::string(end == std::string_view::npos ? "" : rest.substr(end));
    auto o = parse_redis_url(first);
    if (!o) return o;
    o->cluster = true;
    for (std::size_t i = 1; i < list.size(); ++i) {
      const auto colon = list[i].rfind(':');
      std::uint16_t port = 0;
      if (list[i].empty() || colon == std::string_view::npos ||
          !parse_number(list[i].substr(colon + 1), port) || port == 0)
        return invalid("cluster seed '" + redacted(list[i]) +
                       "' is not host:port (e.g. redis+cluster://10.0.0.1:7000,10.0.0.2:7000)");
      std::string host(list[i].substr(0, colon));
      if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      o->cluster_seeds.emplace_back(std::move(host), port);
    }
    return o;
  }
  // The URL may hold a password: messages below quote only its scheme/host/port/path.
  auto parsed = boost::urls::parse_uri(boost::core::string_view(text.data(), text.size()));
  if (!parsed)
    return invalid("not a valid URL (expected redis://[user[:password]@]host[:port][/db]): " +
                   parsed.error().message());
  const boost::urls::url_view& u = *parsed;
  ConnectionOptions o;
  const std::string scheme(u.scheme());
  if (scheme == "rediss")
    o.tls.enabled = true;
  else if (scheme != "redis")
    return invalid("URL scheme '" + scheme + "' is not supported; use redis:// or rediss://");

  if (u.host_type() == boost::urls::host_type::ipv6)
    o.host = std::string(u.host_address());
  else if (!u.encoded_host().empty())
    o.host = std::string(u.host());
  if (u.has_port()) {
    std::uint16_t port = 0;
    if (!parse_number(std::string_view(u.port()), port) || port == 0)
      return invalid(
          u.port().empty()
              ? std::string("URL has a ':' after the host but no port number (1 to 65535) after it")
              : "URL port '" + redacted(u.port()) + "' is not a number from 1 to 65535" + hint(u.port()));
    o.port = port;
  }
  if (u.has_userinfo()) {
    o.username = std::string(u.user());
    if (u.has_password()) o.password = std::string(u.password());
    // redis://:password@host means the default user with a password.
  }
  std::string path(u.path());
  if (!path.empty() && path != "/") {
    std::string_view db = std::string_view(path).substr(path[0] == '/' ? 1 : 0);
    if (!parse_number(db, o.db) || o.db < 0)
      return invalid("URL path '" + redacted(path) + "' is not a database number (e.g. /0)" + hint(path));
  }
  for (auto param : u.params()) {
    if (param.key == "db") {
      if (!parse_number(std::string_view(param.value), o.db) || o.db < 0)
        return invalid("URL parameter db='" + redacted(param.value) + "' is not a database number" +
                       hint(param.value));
    } else if (param.key == "insecure" && o.tls.enabled) {
      o.tls.verify = false;
    } else if (param.key == "cacert") {
      o.tls.ca_file = std::string(param.value);
    } else if (param.key == "cert") {
      o.tls.cert_file = std::string(param.value);
    } else if (param.key == "key") {
      o.tls.key_file = std::string(param.value);
    } else if (param.key == "sni") {
      o.tls.server_name = std::string(param.value);
    } else if (param.key == "cluster") {
      if (param.value != "1" && param.value != "0" && param.value != "yes" && param.value != "no")
        return invalid("URL parameter cluster='" + redacted(param.value) + "' must be 1 or 0");
      o.cluster = param.value == "1" || param.value == "yes";
    } else {
      return invalid("unknown URL parameter '" + redacted(param.key) +
                     "' (known: db, cacert, cert, key, sni, insecure, cluster)" + hint(param.key));
    }
  }
  return o;
}

EnvLookup process_env() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

namespace {

// REDIS_PASSWORD_FILE: the password read from a file (trailing newline dropped), for
// deployments that keep secrets out of command lines and the environment.
Result<void> apply_password_file(ConnectionOptions& o, const EnvLookup& env) {
  auto path = env("REDIS_PASSWORD_FILE");
  if (!path || path->empty()) return {};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(*path, ec))
    return Error(Errc::invalid_argument, "REDIS_PASSWORD_FILE: '" + *path + "' is not a readable file");
  std::ifstream in(*path);
  std::string password;
  if (!in || !std::getline(in, password))
    return Error(Errc::invalid_argument, "REDIS_PASSWORD_FILE: cannot read '" + *path + "' (or it is empty)");
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (o.password.empty()) o.password = std::move(password);
  return {};
}

}  // namespace

Result<ConnectionOptions> resolve_connection_options(const std::optional<std::string>& url_flag,
                                                     const EnvLookup& env) {
  auto chosen = resolve_connection_source(url_flag, env);
  if (!chosen) return chosen;
  if (auto r = apply_password_file(*chosen, env); !r) return r.error();
  return chosen;
}

Result<ConnectionOptions> resolve_connection_source(const std::optional<std::string>& url_flag,
                                                    const EnvLookup& env) {
  // A URL without a password takes REDIS_PASSWORD (so the password need not be on the
  // command line, where ps shows it).
  auto with_env_password = [&](Result<ConnectionOptions> r) -> Result<ConnectionOptions> {
    if (r && r->password.empty())
      if (auto pw = env("REDIS_PASSWORD"); pw) r->password = *pw;
    return r;
  };
  if (url_flag) {
    auto r = parse_redis_url(*url_flag);
    if (!r) return Error(Errc::invalid_argument, "--url: " + r.error().message());
    return with_env_password(std::move(r));
  }
  if (auto url = env("REDIS_URL"); url && !url->empty()) {
    auto r = parse_redis_url(*url);
    if (!r) return Error(Errc::invalid_argument, "REDIS_URL: " + r.error().message());
    return with_env_password(std::move(r));
  }
  ConnectionOptions o;
  if (auto h = env("REDIS_HOST"); h && !h->empty()) o.host = *h;
  if (auto p = env("REDIS_PORT"); p && !p->empty()) {
    if (!parse_number(std::string_view(*p), o.port) || o.port == 0)
      return invalid("REDIS_PORT='" + *p + "' is not a port number from 1 to 65535");
  }
  if (auto pw = env("REDIS_PASSWORD"); pw) o.password = *pw;
  if (auto db = env("REDIS_DB"); db && !db->empty()) {
    if (!parse_number(std::string_view(*db), o.db) || o.db < 0)
      return invalid("REDIS_DB='" + *db + "' is not a database number (0, 1, ...)");
  }
  return o;
}

}  // namespace swarmkeeper
