// SPDX-License-Identifier: Apache-2.0
// web_auth.cpp — see web_auth.hpp.
#include "monitor/web_auth.hpp"

#include "client/backoff.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

namespace swarmkeeper::monitor {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// bcrypt reads at most 72 bytes of a password, and a C string ends at NUL: a password
// past either would match on a prefix, so it never matches (as Go's bcrypt refuses it).
constexpr std::size_t kMaxPasswordBytes = 72;

bool starts_with_basic(std::string_view v) {
  return v.size() > 6 && (v[0] == 'B' || v[0] == 'b') && (v[1] == 'a' || v[1] == 'A') &&
         (v[2] == 's' || v[2] == 'S') && (v[3] == 'i' || v[3] == 'I') && (v[4] == 'c' || v[4] == 'C') &&
         v[5] == ' ';
}

// crypt(password, hash) equals hash, compared in constant time.
bool bcrypt_matches(const std::string& password, const std::string& hash) {
  crypt_data data{};
  const char* out = crypt_r(password.c_str(), hash.c_str(), &data);
  return out != nullptr && std::strlen(out) == hash.size() &&
         CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
}

}  // namespace

std::string sha256(std::string_view in) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string base64_encode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    std::uint32_t n = 0;
    int pad = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      int v;
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        ++pad;
        v = 0;
      } else {
        if (pad) return std::nullopt;  // data after padding
        const char* at = c ? std::strchr(kAlphabet, c) : nullptr;
        if (!at) return std::nullopt;
        v = static_cast<int>(at - kAlphabet);
      }
      n = (n << 6) | static_cast<std::uint32_t>(v);
    }
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return out;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users, const BasicAuth* previous)
    : users_(std::move(users)) {
  // Unknown users are checked against a hash no password matches, at the cost of a user
  // picked by a keyed hash of the name (the key random, made here): an unknown name takes
  // as long as some user's check, and which one no one can tell, whatever the users'
  // costs. (Should the system refuse to make a salt, a fixed one at cost 10 does: an
  // empty hash would make unknown users quick to tell.)
  const std::string fixed = "$2y$10$" + std::string(22, '.') + std::string(31, 'A');
  for (const auto& [name, hash] : users_) {
    crypt_data data{};
    const char* setting = crypt_gensalt_rn("$2y$", std::stoul(hash.substr(4, 2)), nullptr, 0, data.setting,
                                           sizeof data.setting);
    dummy_hashes_.push_back(setting ? std::string(setting) + std::string(31, 'A') : fixed);
  }
  if (dummy_hashes_.empty()) dummy_hashes_.push_back(fixed);
  if (RAND_bytes(name_key_.data(), static_cast<int>(name_key_.size())) != 1) name_key_.fill(0x5a);
  if (previous) {
    std::lock_guard lock(previous->mu_);
    remembered_ = previous->remembered_;
  }
}

const std::string& BasicAuth::dummy_for(std::string_view name) const {
  std::string input(reinterpret_cast<const char*>(name_key_.data()), name_key_.size());
  input.append(name);
  const std::string md = sha256(input);
  std::uint64_t pick = 0;
  for (int i = 0; i < 8; ++i) pick = (pick << 8) | static_cast<unsigned char>(md[i]);
  return dummy_hashes_[pick % dummy_hashes_.size()];
}

std::string BasicAuth::digest(std::string_view user, std::string_view password, std::string_view hash) {
  std::string input;
  input.append(user).push_back('\0');
  input.append(password).push_back('\0');
  input.append(hash);
  std::string md = sha256(input);
  OPENSSL_cleanse(input.data(), input.size());
  return md;
}

std::optional<BasicAuth::Credentials> BasicAuth::parse(std::string_view authorization, Outcome& otherwise) {
  if (!starts_with_basic(authorization)) {
    otherwise = Outcome::missing;
    return std::nullopt;
  }
  std::string_view encoded = authorization.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  auto decoded = base64_decode(encoded);
  const auto colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) {
    otherwise = Outcome::malformed;
    return std::nullopt;
  }
  Credentials c{decoded->substr(0, colon), decoded->substr(colon + 1)};
  OPENSSL_cleanse(decoded->data(), decoded->size());
  return c;
}

std::optional<BasicAuth::Outcome> BasicAuth::quick_check(std::string_view authorization) const {
  Outcome otherwise{};
  auto c = parse(authorization, otherwise);
  if (!c) return otherwise;
  const auto user = users_.find(c->user);
  if (user == users_.end()) return std::nullopt;  // an unknown user costs a bcrypt
  const std::string d = digest(user->first, c->password, user->second);
  OPENSSL_cleanse(c->password.data(), c->password.size());
  std::lock_guard lock(mu_);
  if (remembered_.count(d)) return Outcome::ok;
  return std::nullopt;
}

BasicAuth::Outcome BasicAuth::check(std::string_view authorization) const {
  if (auto quick = quick_check(authorization)) return *quick;
  Outcome otherwise{};
  auto c = parse(authorization, otherwise);
  if (!c) return otherwise;
  const bool holdable =
      c->password.size() <= kMaxPasswordBytes && c->password.find('\0') == std::string::npos;
  const auto user = users_.find(c->user);
  const bool matches = bcrypt_matches(c->password, user == users_.end() ? dummy_for(c->user) : user->second);
  const std::string d = user == users_.end() ? std::string() : digest(user->first, c->password, user->second);
  OPENSSL_cleanse(c->password.data(), c->password.size());
  if (user == users_.end() || !matches || !holdable) return Outcome::wrong;
  std::lock_guard lock(mu_);
  if (remembered_.size() >= kMaxRemembered) remembered_.clear();
  remembered_.insert(d);
  return Outcome::ok;
}

std::chrono::milliseconds AuthThrottle::delay(const std::string& source, Clock::time_point now) {
  const auto it = sources_.find(source);
  if (it == sources_.end()) return std::chrono::milliseconds(0);
  if (now - it->second.last > kForget) {
    sources_.erase(it);
    return std::chrono::milliseconds(0);
  }
  const int over = it->second.failures - kFree;
  if (over < 0) return std::chrono::milliseconds(0);
  constexpr client::BackoffOptions kSlowdown{std::chrono::milliseconds(250), std::chrono::seconds(10)};
  return client::backoff_ceiling(kSlowdown, over);
}

void AuthThrottle::failed(const std::string& source, Clock::time_point now) {
  if (sources_.size() >= kMaxSources && !sources_.count(source)) {
    // Full: drop the sources already forgotten; if none is, the quietest (the oldest
    // last failure).
    std::erase_if(sources_, [&](const auto& s) { return now - s.second.last > kForget; });
    if (sources_.size() >= kMaxSources) {
      auto oldest = std::min_element(sources_.begin(), sources_.end(), [](const auto& a, const auto& b) {
        return a.second.last < b.second.last;
      });
      sources_.erase(oldest);
    }
  }
  auto& e = sources_[source];
  if (e.failures > 0 && now - e.last > kForget) e.failures = 0;
  e.failures = std::min(e.failures + 1, 1000);
  e.last = now;
}

void AuthThrottle::succeeded(const std::string& source) {
  sources_.erase(source);
}

bool AuthThrottle::clean(const std::string& source, Clock::time_point now) const {
  if (checking_.count(source)) return false;
  const auto it = sources_.find(source);
  return it == sources_.end() || now - it->second.last > kForget;
}

bool AuthThrottle::begin_check(const std::string& source) {
  return checking_.insert(source).second;
}
void AuthThrottle::end_check(const std::string& source) {
  checking_.erase(source);
}
bool AuthThrottle::checking(const std::string& source) const {
  return checking_.count(source) != 0;
}

}  // namespace swarmkeeper::monitor
