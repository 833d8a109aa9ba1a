// SPDX-License-Identifier: Apache-2.0
// web_config.cpp — reads the exporter-toolkit web configuration (yaml-cpp) and checks
// it the way the toolkit does, with messages that name the key.
#include "monitor/web_config.hpp"

#include <crypt.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace swarmkeeper::monitor {

namespace {

// One problem with one key: the message carries the file and the key's dotted path.
struct Problem {
  std::string key, what;
};

std::string where(const YAML::Node& n) {
  const auto m = n.Mark();
  if (m.line < 0) return "";
  return " (line " + std::to_string(m.line + 1) + ")";
}

// A mapping's keys, each once, each known; else the problem.
std::optional<Problem> check_keys(const YAML::Node& map, const std::string& path,
                                  std::initializer_list<const char*> known) {
  if (!map.IsMap()) return Problem{path, "expected a mapping of keys to values" + where(map)};
  std::set<std::string> seen;
  for (const auto& kv : map) {
    const std::string k = kv.first.as<std::string>("");
    const std::string full = path.empty() ? k : path + "." + k;
    if (!seen.insert(k).second) return Problem{full, "appears twice" + where(kv.first)};
    if (std::none_of(known.begin(), known.end(), [&](const char* n) { return k == n; })) {
      std::string list;
      for (const char* n : known) list += std::string(list.empty() ? "" : ", ") + n;
      return Problem{full, "unknown key" + where(kv.first) + "; expected one of: " + list};
    }
  }
  return std::nullopt;
}

std::optional<std::string> scalar(const YAML::Node& n) {
  if (!n || !n.IsScalar()) return std::nullopt;
  return n.as<std::string>();
}

std::optional<std::vector<std::string>> scalars(const YAML::Node& n) {
  if (!n.IsSequence()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : n) {
    auto s = scalar(item);
    if (!s) return std::nullopt;
    out.push_back(*s);
  }
  return out;
}

// Go's crypto/tls names → OpenSSL's (the TLS 1.2 suites Go lets one choose).
constexpr std::array<std::pair<const char*, const char*>, 16> kCipherSuites{{
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
}};
constexpr std::array<std::pair<const char*, const char*>, 4> kCurves{
    {{"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"}}};
constexpr std::array<std::pair<const char*, ClientAuth>, 5> kClientAuth{{
    {"NoClientCert", ClientAuth::none},
    {"RequestClientCert", ClientAuth::request},
    {"RequireAnyClientCert", ClientAuth::require_any},
    {"VerifyClientCertIfGiven", ClientAuth::verify_if_given},
    {"RequireAndVerifyClientCert", ClientAuth::require_and_verify},
}};
// The headers http_server_config.headers may set (as the toolkit allows).
constexpr std::array<const char*, 5> kSettableHeaders{"Strict-Transport-Security", "X-Content-Type-Options",
                                                      "X-Frame-Options", "X-XSS-Protection",
                                                      "Content-Security-Policy"};

// A list of Go names under `key` (its last part), each translated through `table` into `out`.
template <std::size_t N>
std::optional<Problem> translate(const YAML::Node& parent, const std::string& key,
                                 const std::array<std::pair<const char*, const char*>, N>& table,
                                 const std::string& hint, std::vector<std::string>& out) {
  const auto& n = parent[key.substr(key.rfind('.') + 1)];
  if (!n) return std::nullopt;
  auto list = scalars(n);
  if (!list) return Problem{key, "expected a list of names" + where(n)};
  for (const auto& name : *list) {
    const auto it = std::find_if(table.begin(), table.end(), [&](const auto& e) { return name == e.first; });
    if (it == table.end()) return Problem{key, "'" + name + "' " + hint};
    out.push_back(it->second);
  }
  return std::nullopt;
}

std::optional<int> tls_version(const std::string& v) {
  if (v == "TLS10") return 10;
  if (v == "TLS11") return 11;
  if (v == "TLS12") return 12;
  if (v == "TLS13") return 13;
  return std::nullopt;
}

std::string resolve(const std::string& path, const std::filesystem::path& base) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (base / path).lexically_normal().string();
}

std::optional<Problem> read_tls(const YAML::Node& n, const std::filesystem::path& base, WebConfig& out) {
  const std::string p = "tls_server_config";
  if (auto bad = check_keys(
          n, p,
          {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version",
           "cipher_suites", "curve_preferences", "prefer_server_cipher_suites", "client_allowed_sans"}))
    return bad;
  TlsServerConfig t;
  auto text = [&](const char* key, std::string& into) -> std::optional<Problem> {
    if (!n[key]) return std::nullopt;
    auto s = scalar(n[key]);
    if (!s) return Problem{p + "." + key, "expected a string" + where(n[key])};
    into = *s;
    return std::nullopt;
  };
  std::string auth, min_v, max_v;
  for (auto [key, into] :
       {std::pair{"cert_file", &t.cert_file}, std::pair{"key_file", &t.key_file},
        std::pair{"client_ca_file", &t.client_ca_file}, std::pair{"client_auth_type", &auth},
        std::pair{"min_version", &min_v}, std::pair{"max_version", &max_v}})
    if (auto bad = text(key, *into)) return bad;
  // All of it empty is no TLS at all, as in the toolkit.
  if (t.cert_file.empty() && t.key_file.empty() && t.client_ca_file.empty() && auth.empty())
    return std::nullopt;
  if (t.cert_file.empty()) return Problem{p + ".cert_file", "missing (the server's certificate, PEM)"};
  if (t.key_file.empty()) return Problem{p + ".key_file", "missing (the certificate's private key, PEM)"};
  if (!auth.empty()) {
    const auto it =
        std::find_if(kClientAuth.begin(), kClientAuth.end(), [&](const auto& e) { return auth == e.first; });
    if (it == kClientAuth.end())
      return Problem{p + ".client_auth_type",
                     "'" + auth +
                         "' is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
                         "VerifyClientCertIfGiven, RequireAndVerifyClientCert"};
    t.client_auth = it->second;
  }
  const bool verifies =
      t.client_auth == ClientAuth::verify_if_given || t.client_auth == ClientAuth::require_and_verify;
  if (verifies && t.client_ca_file.empty())
    return Problem{p + ".client_ca_file",
                   "missing: client_auth_type " + auth + " verifies client certificates against it"};
  if (!verifies && !t.client_ca_file.empty())
    return Problem{p + ".client_ca_file",
                   "set, but client_auth_type (" + (auth.empty() ? "NoClientCert" : auth) +
                       ") verifies no client certificate; use RequireAndVerifyClientCert"};
  for (auto [key, text_v, into] : {std::tuple{"min_version", &min_v, &t.min_version},
                                   std::tuple{"max_version", &max_v, &t.max_version}}) {
    if (text_v->empty()) continue;
    auto v = tls_version(*text_v);
    if (!v) return Problem{p + "." + key, "'" + *text_v + "' is not TLS10, TLS11, TLS12 or TLS13"};
    *into = *v;
  }
  if (t.max_version != 0 && t.max_version < t.min_version)
    return Problem{p + ".max_version", "is below min_version"};
  if (auto bad =
          translate(n, p + ".cipher_suites", kCipherSuites,
                    "is not a TLS 1.2 suite name as Go writes it, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    t.cipher_suites))
    return bad;
  if (auto bad = translate(n, p + ".curve_preferences", kCurves,
                           "is not CurveP256, CurveP384, CurveP521 or X25519", t.curves))
    return bad;
  if (const auto& pref = n["prefer_server_cipher_suites"]) {
    auto s = scalar(pref);
    if (!s || (*s != "true" && *s != "false"))
      return Problem{p + ".prefer_server_cipher_suites", "expected true or false" + where(pref)};
    t.prefer_server_cipher_suites = *s == "true";
  }
  if (const auto& sans = n["client_allowed_sans"]) {
    auto list = scalars(sans);
    if (!list) return Problem{p + ".client_allowed_sans", "expected a list of names" + where(sans)};
    if (!list->empty() && !verifies)
      return Problem{p + ".client_allowed_sans",
                     "set, but client certificates are not verified (client_auth_type)"};
    t.client_allowed_sans = *list;
  }
  t.cert_file = resolve(t.cert_file, base);
  t.key_file = resolve(t.key_file, base);
  t.client_ca_file = resolve(t.client_ca_file, base);
  out.tls = std::move(t);
  return std::nullopt;
}

std::optional<Problem> read_http(const YAML::Node& n, WebConfig& out) {
  const std::string p = "http_server_config";
  if (auto bad = check_keys(n, p, {"http2", "headers"})) return bad;
  if (const auto& h2 = n["http2"]) {  // HTTP/1.1 only here; the key is accepted as the toolkit's
    auto s = scalar(h2);
    if (!s || (*s != "true" && *s != "false"))
      return Problem{p + ".http2", "expected true or false" + where(h2)};
  }
  if (const auto& headers = n["headers"]) {
    if (!headers.IsMap())
      return Problem{p + ".headers", "expected a mapping of header names to values" + where(headers)};
    for (const auto& kv : headers) {
      const std::string name = kv.first.as<std::string>("");
      const auto it = std::find_if(kSettableHeaders.begin(), kSettableHeaders.end(), [&](const char* h) {
        return name.size() == std::strlen(h) && std::equal(name.begin(), name.end(), h, [](char a, char b) {
                 return std::tolower(a) == std::tolower(b);
               });
      });
      if (it == kSettableHeaders.end())
        return Problem{p + ".headers." + name,
                       "not a header this may set (Strict-Transport-Security, "
                       "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, "
                       "Content-Security-Policy)"};
      auto v = scalar(kv.second);
      const bool printable = v && std::none_of(v->begin(), v->end(), [](char c) {
                               const auto u = static_cast<unsigned char>(c);
                               return (u < 0x20 && u != '\t') || u == 0x7f;
                             });
      if (!v || v->empty() || !printable)
        return Problem{p + ".headers." + name,
                       "expected a one-line value without control characters" + where(kv.second)};
      out.headers.emplace_back(*it, *v);
    }
  }
  return std::nullopt;
}

std::optional<Problem> read_users(const YAML::Node& n, WebConfig& out) {
  const std::string p = "basic_auth_users";
  if (n.IsNull()) return std::nullopt;
  if (!n.IsMap()) return Problem{p, "expected a mapping of user names to bcrypt hashes" + where(n)};
  std::set<std::string> names;
  for (const auto& kv : n)
    if (!names.insert(kv.first.as<std::string>("")).second)
      return Problem{p + "." + kv.first.as<std::string>(""), "appears twice" + where(kv.first)};
  for (const auto& kv : n) {
    const std::string user = kv.first.as<std::string>("");
    if (user.empty() || user.find(':') != std::string::npos ||
        user.find_first_of("\r\n") != std::string::npos)
      return Problem{p + "." + user, "a user name must be non-empty and hold no ':'" + where(kv.first)};
    auto hash = scalar(kv.second);
    if (!hash || !is_bcrypt_hash(*hash))
      return Problem{p + "." + user,
                     "not a bcrypt hash of cost 4-17; make one with 'swarmkeeper hash-password' (or "
                     "htpasswd -nBC 10 \"\" | tr -d ':\\n')"};
    out.users.emplace(user, *hash);
  }
  return std::nullopt;
}

}  // namespace

bool is_bcrypt_hash(const std::string& hash) {
  // $2a$/$2b$/$2y$, a two-digit cost, 22 characters of salt and 31 of hash (bcrypt's
  // base64 alphabet): 60 in all. Checked by form, never by running bcrypt: a cost of 31
  // would take days.
  static constexpr char kAlphabet[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  if (hash.size() != 60 || hash.compare(0, 2, "$2") != 0 ||
      (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') || hash[3] != '$' || hash[6] != '$' ||
      !std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5])))
    return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < kMinBcryptCost || cost > kMaxBcryptCost) return false;
  if (hash.find_first_not_of(kAlphabet, 7) != std::string::npos) return false;
  return crypt_checksalt(hash.c_str()) == CRYPT_SALT_OK;
}

Result<WebConfig> parse_web_config(std::string_view yaml, const std::string& file) {
  auto fail = [&](const std::string& what) {
    return Error(Errc::invalid_argument, "--web-config " + file + ": " + what);
  };
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return fail("line " + std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1) +
                ": not valid YAML: " + e.msg);
  }
  WebConfig out;
  out.file = file;
  if (root.IsNull()) return out;  // an empty file: plain HTTP, no users (as the toolkit)
  try {
    std::optional<Problem> bad =
        check_keys(root, "", {"tls_server_config", "http_server_config", "basic_auth_users"});
    const auto base = std::filesystem::path(file).parent_path();
    if (!bad && root["tls_server_config"] && !root["tls_server_config"].IsNull())
      bad = read_tls(root["tls_server_config"], base, out);
    if (!bad && root["http_server_config"] && !root["http_server_config"].IsNull())
      bad = read_http(root["http_server_config"], out);
    if (!bad && root["basic_auth_users"]) bad = read_users(root["basic_auth_users"], out);
    if (bad) return fail((bad->key.empty() ? std::string() : bad->key + ": ") + bad->what);
  } catch (const YAML::Exception& e) {
    return fail("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return out;
}

bool serve_sets_header(std::string_view name) {
  auto same = [&](std::string_view ours) {
    return name.size() == ours.size() &&
           std::equal(name.begin(), name.end(), ours.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  };
  return same("X-Content-Type-Options") || same("X-Frame-Options") || same("Content-Security-Policy") ||
         same("Referrer-Policy");
}

Result<std::string> read_regular_file(const std::string& path, std::size_t limit) {
  // Non-blocking open: a FIFO put there must not hang the reader (and with it SIGTERM).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return Error(Errc::invalid_argument, std::string("cannot read it (") + std::strerror(errno) + ")");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return Error(Errc::invalid_argument, std::string("cannot read it (") + std::strerror(errno) + ")");
  if (S_ISDIR(st.st_mode)) return Error(Errc::invalid_argument, "is a directory, not a file");
  if (!S_ISREG(st.st_mode))
    return Error(Errc::invalid_argument, "is not a regular file (a device, FIFO or socket)");
  if (static_cast<std::uint64_t>(st.st_size) > limit)
    return Error(Errc::invalid_argument,
                 "is larger than " + std::to_string(limit / 1024) + " KiB; is it the right file?");
  std::string out(limit + 1, '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Error(Errc::invalid_argument, std::string("cannot read it (") + std::strerror(errno) + ")");
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > limit)  // (it grew while being read)
    return Error(Errc::invalid_argument,
                 "is larger than " + std::to_string(limit / 1024) + " KiB; is it the right file?");
  out.resize(got);
  return out;
}

Result<WebConfig> load_web_config(const std::string& path) {
  auto text = read_regular_file(path, kMaxWebConfigBytes);
  if (!text) return Error(Errc::invalid_argument, "--web-config " + path + ": " + text.error().message());
  return parse_web_config(*text, path);
}

std::vector<std::string> WebConfig::watched_files() const {
  std::vector<std::string> out;
  if (!file.empty()) out.push_back(file);
  if (tls) {
    for (const auto* f : {&tls->cert_file, &tls->key_file, &tls->client_ca_file})
      if (!f->empty()) out.push_back(*f);
  }
  return out;
}

FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<std::uint64_t>(st.st_size),
          static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000ull +
              static_cast<std::uint64_t>(st.st_mtim.tv_nsec),
          static_cast<std::uint64_t>(st.st_ino)};
}

}  // namespace swarmkeeper::monitor
