// SPDX-License-Identifier: Apache-2.0
// scripts.hpp — the Lua the cleanup runs on the server. Each runs over one bounded batch.
#pragma once

namespace swarmkeeper::coord {

// One CheckedUnlink (cleanup_plan.hpp), atomically: confirms each heartbeat is still
// what the scan read — byte-identical (SHA-1 compared) or still absent — and unlinks the
// keys of every group whose checks all hold. It never parses a heartbeat: an unchanged
// stale value is still stale, so the client's one staleness rule is the only rule.
//   KEYS[1..m1]        heartbeat keys that must still hold the bytes read
//   KEYS[m1+1..m1+m2]  heartbeat keys that must still not exist (any type)
//   KEYS[m1+m2+1..]    keys to unlink, group by group
//   ARGV[1], ARGV[2]   m1, m2
//   ARGV[2+i]          the 40-hex SHA-1 of the bytes KEYS[i] must hold (i <= m1)
//   ARGV[3+m1]         the groups, MessagePack: one flat array of, per group, c, c check
//                      indices (1-based, into KEYS), k (the group's number of keys); read
//                      only when a check failed (when all hold, every key goes in one UNLINK)
// Returns {unlinked, {indices of checks that failed; negative: the heartbeat is gone}}. Bounded: one MGET of
// m1 keys, one EXISTS of m2, one UNLINK of at most the batch's keys (the plan caps all three).
inline constexpr const char* kCheckedUnlinkScript = R"lua(
local m1, m2 = tonumber(ARGV[1]), tonumber(ARGV[2])
local m = m1 + m2
local ok, failed, nfailed, gone = {}, {}, 0, {}
if m1 > 0 then
  local v = redis.call('MGET', unpack(KEYS, 1, m1))
  for i = 1, m1 do
    ok[i] = v[i] ~= false and redis.sha1hex(v[i]) == ARGV[2 + i]
    if v[i] == false then gone[i] = true end
  end
end
if m2 > 0 then
  for i = m1 + 1, m do ok[i] = true end
  if redis.call('EXISTS', unpack(KEYS, m1 + 1, m)) > 0 then
    for i = m1 + 1, m do
      if redis.call('EXISTS', KEYS[i]) == 1 then ok[i] = false end
    end
  end
end
for i = 1, m do
  if not ok[i] then nfailed = nfailed + 1; if gone[i] then failed[nfailed] = -i else failed[nfailed] = i end end
end
local n = 0
if #KEYS > m then
  if nfailed == 0 then
    n = redis.call('UNLINK', unpack(KEYS, m + 1))
  else
    local spec = cmsgpack.unpack(ARGV[3 + m1])
    local del, ndel, a, k = {}, 0, 1, m
    while a <= #spec do
      local c = spec[a]
      local pass = true
      for j = a + 1, a + c do if not ok[spec[j]] then pass = false end end
      a = a + c + 1
      local keys = spec[a]
      a = a + 1
      if pass then for j = k + 1, k + keys do ndel = ndel + 1; del[ndel] = KEYS[j] end end
      k = k + keys
    end
    if ndel > 0 then n = redis.call('UNLINK', unpack(del, 1, ndel)) end
  end
end
return {n, failed}
)lua";

// Extends the lock if we still hold it. KEYS[1] lock, ARGV[1] token, ARGV[2] ttl ms.
inline constexpr const char* kRenewLockScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return "
    "0";

// Releases the lock if we still hold it. KEYS[1] lock, ARGV[1] token.
inline constexpr const char* kReleaseLockScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

}  // namespace swarmkeeper::coord
