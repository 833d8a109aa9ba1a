// compression.cpp — see swarmkeeper/compression.hpp.
#include "swarmkeeper/compression.hpp"

#include <zstd.h>

#include <memory>

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

}  // namespace

bool ValueCodec::is_marked(std::string_view stored) noexcept {
  return stored.size() >= kHeader && stored.substr(0, 3) == kMarker && (stored[3] == 'Z' || stored[3] == 'R');
}

std::string ValueCodec::encode(std::string_view value) {
  seen_.fetch_add(1, std::memory_order_relaxed);
  if (value.size() >= opts_.threshold) {
    std::string out(kHeader + ZSTD_compressBound(value.size()), '\0');
    const std::size_t n = ZSTD_compressCCtx(thread_cctx(), out.data() + kHeader, out.size() - kHeader, value.data(),
                                            value.size(), opts_.level);
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
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 32))
    return Error(Errc::protocol_error, "a value marked as compressed is not a valid zstd frame (corrupted?)");
  std::string out(static_cast<std::size_t>(size), '\0');
  const std::size_t n = ZSTD_decompress(out.data(), out.size(), body.data(), body.size());
  if (ZSTD_isError(n) || n != size)
    return Error(Errc::protocol_error, std::string("a compressed value failed to decompress: ") +
                                           (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch"));
  return out;
}

CompressionStats ValueCodec::stats() const noexcept {
  return {seen_.load(std::memory_order_relaxed), compressed_.load(std::memory_order_relaxed),
          before_.load(std::memory_order_relaxed), after_.load(std::memory_order_relaxed)};
}

}  // namespace swarmkeeper
