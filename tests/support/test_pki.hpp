// SPDX-License-Identifier: Apache-2.0
// test_pki.hpp — a throwaway certificate authority for TLS tests, made with the openssl
// command line: a CA, and a server certificate it signed for 127.0.0.1 and localhost
// (subjectAltName), a client certificate it signed for scraper.example, EC P-256 keys
// (quick to make), valid for two days.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace swarmkeeper::testing {

struct TestPki {
  std::string ca_cert, ca_key, server_cert, server_key, client_cert, client_key;
  std::string error;  ///< empty when every file was made
};

inline TestPki make_test_pki(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  TestPki p;
  const std::string d = dir.string();
  p.ca_cert = d + "/ca.crt";
  p.ca_key = d + "/ca.key";
  p.server_cert = d + "/server.crt";
  p.server_key = d + "/server.key";
  p.client_cert = d + "/client.crt";
  p.client_key = d + "/client.key";
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string cmd =
      "cd '" + d + "' && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext" +
      " && openssl req -x509" + ec + " -keyout ca.key -out ca.crt -days 2 -subj /CN=swarmkeeper-test-ca" +
      " && openssl req" + ec + " -keyout server.key -out server.csr -subj /CN=127.0.0.1" +
      " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days "
      "2" +
      " -extfile san.ext" + " && printf 'subjectAltName=DNS:scraper.example\\n' > client.ext" +
      " && openssl req" + ec + " -keyout client.key -out client.csr -subj /CN=scraper" +
      " && openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days "
      "2" +
      " -extfile client.ext";
  if (std::system(("(" + cmd + ") > '" + d + "/openssl.out' 2>&1").c_str()) != 0)
    p.error = "openssl failed in " + d;
  return p;
}

}  // namespace swarmkeeper::testing
