// SPDX-License-Identifier: Apache-2.0
// compression.hpp — transparent compression of large values, safe to mix with other
// clients' values.
//
// encode() turns an application value into what is stored in Redis; decode() turns a
// stored value back. Formats of a stored value:
//   "\xffSKZ" + zstd frame      a compressed value (written only when it saves at least
//                               min_saving of the size)
//   "\xffSKR" + raw bytes       a raw value that itself begins with "\xffSK" (escaped, so
//                               it can never be mistaken for a compressed one)
//   anything else               a raw value, stored unchanged
// So every value this codec writes decodes to exactly what was encoded, and values
// written by other clients (which do not start with "\xffSK": 0xFF never starts UTF-8
// text or JSON) come back unchanged.
//
//   ValueCodec codec;                       // threshold 1 KB, zstd level 1
//   std::string stored = codec.encode(json);
//   auto back = codec.decode(stored);       // == json
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "swarmkeeper/error.hpp"

namespace swarmkeeper {

struct CompressionOptions {
  /// Values of at least this many bytes are considered for compression. Default 1 KiB.
  std::size_t threshold = 1024;
  /// zstd level: 1 is fast (~400 MB/s), higher is smaller and slower. Default 1.
  int level = 1;
  /// Store compressed only if it saves at least this share of the size. Default 0.1.
  double min_saving = 0.1;
  /// decode() refuses a compressed value that would be larger than this (protocol_error),
  /// and never allocates from the size a frame claims: it grows its buffer as the data
  /// actually decompresses. Default 512 MiB, Redis' largest string.
  std::size_t max_value_bytes = 512u << 20;
};

struct CompressionStats {
  std::uint64_t values_seen = 0;        ///< values passed to encode()
  std::uint64_t values_compressed = 0;  ///< of which stored compressed
  std::uint64_t bytes_before = 0;       ///< their size before
  std::uint64_t bytes_after = 0;        ///< their size as stored
  /// 1 - after/before over the compressed values (0 when none).
  double savings_ratio() const {
    return bytes_before ? 1.0 - static_cast<double>(bytes_after) / static_cast<double>(bytes_before) : 0;
  }
};

class ValueCodec {
 public:
  explicit ValueCodec(CompressionOptions options = {}) : opts_(options) {}

  /// What to store for `value`. Thread-safe.
  std::string encode(std::string_view value);
  /// The application value of a stored value. Fails with Errc::protocol_error if a
  /// value marked compressed does not decompress (corrupted), never for foreign values.
  Result<std::string> decode(std::string_view stored) const;
  /// True when `stored` carries this codec's marker (compressed or escaped).
  static bool is_marked(std::string_view stored) noexcept;

  CompressionStats stats() const noexcept;

 private:
  CompressionOptions opts_;
  std::atomic<std::uint64_t> seen_{0}, compressed_{0}, before_{0}, after_{0};
};

}  // namespace swarmkeeper
