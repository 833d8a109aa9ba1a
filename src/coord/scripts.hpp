// scripts.hpp — the Lua the cleanup runs on the server. Each runs over one bounded batch.
#pragma once

namespace swarmkeeper::coord {

// Re-checks and deletes one batch atomically.
//   KEYS[1..m]      heartbeat keys of the coordinators the batch's keys belong to
//   KEYS[m+1..]     keys to delete
//   ARGV[1]         threshold in ms
//   ARGV[2]         heartbeat format: "json", "ms" or "s"
//   ARGV[3]         JSON field with the ms timestamp
//   ARGV[4]         m
//   ARGV[4+j]       owners of delete key j: indices into KEYS[1..m], comma-separated
// A coordinator is dead when its heartbeat is absent or older than the threshold by the
// server's clock; unreadable or fresh (or future) heartbeats are alive. A key is
// unlinked only if all its owners are dead.
// Returns {number unlinked, {indices of owners found alive}}.
inline constexpr const char* kDeleteBatchScript = R"lua(
local threshold = tonumber(ARGV[1])
local fmt, field, m = ARGV[2], ARGV[3], tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead, alive = {}, {}
for i = 1, m do
  local v = redis.pcall('GET', KEYS[i])
  local ts = nil
  if type(v) == 'string' then
    if fmt == 'json' then
      local ok, doc = pcall(cjson.decode, v)
      if ok and type(doc) == 'table' then ts = tonumber(doc[field]) end
    elseif fmt == 'ms' then ts = tonumber(v)
    else ts = tonumber(v); if ts then ts = ts * 1000 end end
  end
  if v == false or (ts and now - ts > threshold) then dead[i] = true else alive[#alive + 1] = i end
end
local del = {}
for j = m + 1, #KEYS do
  local ok = true
  for idx in string.gmatch(ARGV[4 + j - m], '%d+') do
    if not dead[tonumber(idx)] then ok = false break end
  end
  if ok then del[#del + 1] = KEYS[j] end
end
local n = 0
if #del > 0 then n = redis.call('UNLINK', unpack(del)) end
return {n, alive}
)lua";

// Extends the lock if we still hold it. KEYS[1] lock, ARGV[1] token, ARGV[2] ttl ms.
inline constexpr const char* kRenewLockScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

// Releases the lock if we still hold it. KEYS[1] lock, ARGV[1] token.
inline constexpr const char* kReleaseLockScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

}  // namespace swarmkeeper::coord
