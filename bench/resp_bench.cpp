// SPDX-License-Identifier: Apache-2.0
// resp_bench.cpp — RESP parse throughput, ours beside hiredis' reader, same inputs.
//
// Workloads (each parses one complete reply from a buffer holding it):
//   ScanReply:  a SCAN-like reply, ["cursor", [1,000 bulk strings of ~40 bytes]].
//   LargeBulk:  one 4 MiB bulk string.
// Variants: Ours_View (zero-copy view into the read buffer: what the cleanup uses),
// Ours_Owned (the view copied into an owning Reply: what a generic caller gets), and
// Hiredis (redisReaderFeed + redisReaderGetReply + freeReplyObject, as hiredis is used).
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <string>

#include "swarmkeeper/resp/encoder.hpp"
#include "swarmkeeper/resp/parser.hpp"

namespace {

using swarmkeeper::resp::Parser;

std::string scan_reply() {
  std::string s;
  swarmkeeper::resp::append_header(s, '*', 2);
  swarmkeeper::resp::append_bulk(s, "1234567");
  swarmkeeper::resp::append_header(s, '*', 1000);
  for (int i = 0; i < 1000; ++i)
    swarmkeeper::resp::append_bulk(s,
                                   "blocking:heartbeat:test-coordinator-stale-" + std::to_string(100000 + i));
  return s;
}

std::string large_bulk() {
  std::string s;
  swarmkeeper::resp::append_bulk(s, std::string(4 << 20, 'v'));
  return s;
}

void ours_view(benchmark::State& state, const std::string& wire) {
  Parser p;
  for (auto _ : state) {
    p.reset();
    if (p.feed(wire) != Parser::Status::complete) state.SkipWithError("parse failed");
    auto v = p.view(wire);
    benchmark::DoNotOptimize(v.root().size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
}

void ours_owned(benchmark::State& state, const std::string& wire) {
  Parser p;
  for (auto _ : state) {
    p.reset();
    if (p.feed(wire) != Parser::Status::complete) state.SkipWithError("parse failed");
    swarmkeeper::resp::Reply r(p.view(wire));
    benchmark::DoNotOptimize(r.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
}

void hiredis(benchmark::State& state, const std::string& wire) {
  redisReader* reader = redisReaderCreate();
  reader->maxbuf = 0;  // keep the reader's buffer between replies, as a long-lived connection does
  for (auto _ : state) {
    redisReaderFeed(reader, wire.data(), wire.size());
    void* reply = nullptr;
    if (redisReaderGetReply(reader, &reply) != REDIS_OK || reply == nullptr)
      state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(reply);
    freeReplyObject(reply);
  }
  redisReaderFree(reader);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
}

const std::string kScan = scan_reply();
const std::string kLarge = large_bulk();

void BM_ScanReply_Ours_View(benchmark::State& s) {
  ours_view(s, kScan);
}
void BM_ScanReply_Ours_Owned(benchmark::State& s) {
  ours_owned(s, kScan);
}
void BM_ScanReply_Hiredis(benchmark::State& s) {
  hiredis(s, kScan);
}
void BM_LargeBulk_Ours_View(benchmark::State& s) {
  ours_view(s, kLarge);
}
void BM_LargeBulk_Ours_Owned(benchmark::State& s) {
  ours_owned(s, kLarge);
}
void BM_LargeBulk_Hiredis(benchmark::State& s) {
  hiredis(s, kLarge);
}

BENCHMARK(BM_ScanReply_Ours_View);
BENCHMARK(BM_ScanReply_Ours_Owned);
BENCHMARK(BM_ScanReply_Hiredis);
BENCHMARK(BM_LargeBulk_Ours_View);
BENCHMARK(BM_LargeBulk_Ours_Owned);
BENCHMARK(BM_LargeBulk_Hiredis);

}  // namespace

BENCHMARK_MAIN();
