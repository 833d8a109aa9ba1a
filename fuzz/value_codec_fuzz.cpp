// SPDX-License-Identifier: Apache-2.0
// value_codec_fuzz.cpp — libFuzzer target for the Client's value codec (compression.hpp).
//
// decode() of any stored bytes returns a value or protocol_error, never crashes, never
// allocates from a size a frame merely claims (the test runs under -rss_limit_mb), and
// encode() then decode() gives the value back.
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "swarmkeeper/client/compression.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  swarmkeeper::CompressionOptions o;
  o.threshold = 16;
  o.max_value_bytes = 64u << 20;

  swarmkeeper::ValueCodec codec(o);
  // As stored: foreign, raw-marked or compressed-marked bytes.
  (void)codec.decode(in);
  std::string marked = std::string("\xffSKZ", 4);
  marked.append(in);
  (void)codec.decode(marked);
  // A zstd frame whose header (descriptor, window, content size, ...) is the input: the
  // magic number given, since the library is not instrumented for the fuzzer to find it.
  std::string framed = std::string("\xffSKZ\x28\xb5\x2f\xfd", 8);
  framed.append(in);
  (void)codec.decode(framed);
  // A real frame of the input, then its header bytes flipped by the input's first byte.
  std::string frame(ZSTD_compressBound(size), '\0');
  const std::size_t n = ZSTD_compress(frame.data(), frame.size(), data, size, 1);
  if (!ZSTD_isError(n) && n > 6) {
    frame.resize(n);
    if (size > 0) frame[5 + data[0] % 3] ^= static_cast<char>(data[size - 1] | 1);
    (void)codec.decode(std::string("\xffSKZ", 4) + frame);
  }
  // Round trip.
  const std::string stored = codec.encode(in);
  auto back = codec.decode(stored);
  if (!back || *back != in) std::abort();
  return 0;
}
