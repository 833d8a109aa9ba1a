// scripts.hpp — the Lua the cleanup runs on the server. Each runs over one bounded batch.
#pragma once

namespace swarmkeeper::coord {

// Settles and deletes one batch atomically (the rules of delete_batch.hpp).
//   KEYS[1..m]      heartbeat keys of the batch's candidate owners
//   KEYS[m+1..]     keys to delete
//   ARGV[1]         threshold in ms
//   ARGV[2]         heartbeat format: "json", "ms" or "s"
//   ARGV[3]         JSON field with the ms timestamp
//   ARGV[4]         m
//   ARGV[4+j]       key j's rule and candidates: "s:1", "p:1,2" or "a:3,4"
//                   (single / one_owner / all_owners; indices into KEYS[1..m])
// A candidate is absent (no heartbeat), dead (older than the threshold by the server's
// clock) or alive (fresh, in the future, or unreadable).
// Returns {unlinked, {alive candidate indices}, {dead candidate indices}}; the client
// applies the same rules (coord::decide) to book each key.
inline constexpr const char* kDeleteBatchScript = R"lua(
local threshold = tonumber(ARGV[1])
local fmt, field, m = ARGV[2], ARGV[3], tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state, alive, dead = {}, {}, {}
for i = 1, m do
  local v = redis.pcall('GET', KEYS[i])
  if v == false then
    state[i] = 0
  else
    local ts = nil
    if type(v) == 'string' then
      if fmt == 'json' then
        local ok, doc = pcall(cjson.decode, v)
        if ok and type(doc) == 'table' then ts = tonumber(doc[field]) end
      elseif fmt == 'ms' then ts = tonumber(v)
      else ts = tonumber(v); if ts then ts = ts * 1000 end end
    end
    if ts and now - ts > threshold then state[i] = 1; dead[#dead + 1] = i else state[i] = 2; alive[#alive + 1] = i end
  end
end
local del = {}
for j = m + 1, #KEYS do
  local spec = ARGV[4 + j - m]
  local owners, ndead = 0, 0
  for idx in string.gmatch(string.sub(spec, 3), '%d+') do
    local s = state[tonumber(idx)]
    if s ~= 0 then owners = owners + 1 end
    if s == 1 then ndead = ndead + 1 end
  end
  if owners > 0 and ndead == owners and not (string.sub(spec, 1, 1) == 'p' and owners > 1) then
    del[#del + 1] = KEYS[j]
  end
end
local n = 0
if #del > 0 then n = redis.call('UNLINK', unpack(del)) end
return {n, alive, dead}
)lua";

// Extends the lock if we still hold it. KEYS[1] lock, ARGV[1] token, ARGV[2] ttl ms.
inline constexpr const char* kRenewLockScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

// Releases the lock if we still hold it. KEYS[1] lock, ARGV[1] token.
inline constexpr const char* kReleaseLockScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

}  // namespace swarmkeeper::coord
