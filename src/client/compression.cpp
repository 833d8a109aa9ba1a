// SPDX-License-Identifier: Apache-2.0
// compression.cpp — see swarmkeeper/client/compression.hpp.
#include "swarmkeeper/client/compression.hpp"

#include <zstd.h>

#include <algorithm>
#include <memory>
#include <string>

namespace swarmkeeper {
namespace {

constexpr std::string_view kMarker = "\xffSK";  // 3 bytes, then 'Z' (zstd) or 'R' (raw)
constexpr std::size_t kHeader = 4;

struct CctxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

ZSTD_CCtx* thread_cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CctxDeleter> ctx(ZSTD_createCCtx());
  return ctx.get();
}

struct DctxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DctxDeleter> ctx(ZSTD_createDCtx());
  ZSTD_DCtx_reset(ctx.get(), ZSTD_reset_session_only);
  return ctx.get();
}

}  // namespace

bool ValueCodec::is_marked(std::string_view stored) noexcept {
  return stored.size() >= kHeader && stored.substr(0, 3) == kMarker && (stored[3] == 'Z' || stored[3] == 'R');
}

std::string ValueCodec::encode(std::string_view value) {
  seen_.fetch_add(1, std::memory_order_relaxed);
  if (value.size() >= opts_.threshold) {
    std::string out(kHeader + ZSTD_compressBound(value.size()), '\0');
    const std::size_t n = ZSTD_compressCCtx(thread_cctx(), out.data() + kHeader, out.size() - kHeader,
                                            value.data(), value.size(), opts_.level);
    if (!ZSTD_isError(n) &&
        static_cast<double>(n + kHeader) <= static_cast<double>(value.size()) * (1.0 - opts_.min_saving)) {
      out.resize(kHeader + n);
      out.replace(0, 3, kMarker);
      out[3] = 'Z';
      compressed_.fetch_add(1, std::memory_order_relaxed);
      before_.fetch_add(value.size(), std::memory_order_relaxed);
      after_.fetch_add(out.size(), std::memory_order_relaxed);
      return out;
    }
  }
  if (value.substr(0, 3) == kMarker) {  // a raw value that looks like ours: escape it
    std::string out;
    out.reserve(kHeader + value.size());
    out.append(kMarker).push_back('R');
    out.append(value);
    return out;
  }
  return std::string(value);
}

Result<std::string> ValueCodec::decode(std::string_view stored) const {
  if (!is_marked(stored)) return std::string(stored);
  const std::string_view body = stored.substr(kHeader);
  if (stored[3] == 'R') return std::string(body);
  const unsigned long long size = ZSTD_getFrameContentSize(body.data(), body.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    return Error(Errc::protocol_error, "a value marked as compressed is not a valid zstd frame (corrupted?)");
  if (size > opts_.max_value_bytes)
    return Error(Errc::protocol_error, "a compressed value claims " + std::to_string(size) +
                                           " bytes, more than max_value_bytes (" +
                                           std::to_string(opts_.max_value_bytes) + "): refused unread");
  // No zstd frame expands more than a block's worth per 4 input bytes (an RLE block:
  // 128 KiB from a 3-byte header and 1 byte): a claim beyond that is a lie, refused
  // before the decoder sizes its window from it.
  if (size > static_cast<unsigned long long>(body.size()) * (ZSTD_BLOCKSIZE_MAX / 4) + ZSTD_BLOCKSIZE_MAX)
    return Error(Errc::protocol_error, "a compressed value of " + std::to_string(body.size()) +
                                           " bytes claims " + std::to_string(size) +
                                           " bytes, more than any zstd frame that long can hold "
                                           "(corrupted or hostile): refused unread");
  // The claimed size is only a claim: the buffer grows as data really comes out (a
  // 21-byte value cannot make us allocate 4 GiB), and must end exactly at the claim.
  const std::size_t limit = static_cast<std::size_t>(size);
  std::string out;
  out.resize(std::min<std::size_t>(limit, std::max<std::size_t>(64 * 1024, body.size() * 4)));
  ZSTD_DCtx* d = thread_dctx();
  ZSTD_inBuffer in{body.data(), body.size(), 0};
  std::size_t done = 0;
  for (;;) {
    ZSTD_outBuffer ob{out.data() + done, out.size() - done, 0};
    const std::size_t r = ZSTD_decompressStream(d, &ob, &in);
    if (ZSTD_isError(r))
      return Error(Errc::protocol_error,
                   std::string("a compressed value failed to decompress: ") + ZSTD_getErrorName(r));
    done += ob.pos;
    if (r == 0) {  // the frame is complete, and must be all there is
      if (in.pos != in.size)
        return Error(Errc::protocol_error, "a compressed value has bytes after its zstd frame");
      break;
    }
    if (done == out.size()) {
      if (out.size() >= limit)
        return Error(Errc::protocol_error,
                     "a compressed value decompresses to more than the size its frame claims");
      out.resize(std::min(limit, out.size() * 2));
    } else if (in.pos == in.size) {
      return Error(Errc::protocol_error, "a compressed value ends before its frame does (truncated?)");
    }
  }
  if (done != limit)
    return Error(Errc::protocol_error, "a compressed value failed to decompress: size mismatch");
  out.resize(done);
  return out;
}

CompressionStats ValueCodec::stats() const noexcept {
  return {seen_.load(std::memory_order_relaxed), compressed_.load(std::memory_order_relaxed),
          before_.load(std::memory_order_relaxed), after_.load(std::memory_order_relaxed)};
}

}  // namespace swarmkeeper
