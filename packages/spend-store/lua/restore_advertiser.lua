--[[
restore_advertiser.lua: replace one advertiser's state with a snapshot (rebuild from the warehouse).
Atomic per advertiser, so a batch applied concurrently by a tracker that has not seen the rebuild is
either overwritten (and read again from the rebuild's offsets) or refused (its epoch is older).

KEYS[1]    advertiser hash          <prefix>adv:{<id>}
KEYS[2]    pending future periods   <prefix>pending:{<id>}
KEYS[2+i]  dedup sets to reset, one per bucket listed in ARGV

ARGV[1]  epoch of the rebuild
ARGV[2]  F: number of hash fields; then F field/value pairs (period, _period_start, net_micros, gross_micros,
         clicks, budget_micros, _budget_ts, budget_source, _off:<topic>:<partition>, ...)
then     B: number of dedup buckets (= #KEYS - 2); then B groups: TTL seconds, N, N click ids
         (more ids of a bucket may follow with plain SADD: the new epoch already refuses stale writers)

Output: number of click ids added
The operator flag _paused survives the restore (it is not in the warehouse); can_serve is computed by the
apply_slice call (with no events) that follows in the same pipeline.
]]

local hash = KEYS[1]
local paused = redis.call("HGET", hash, "_paused")
redis.call("DEL", hash, KEYS[2])
for i = 3, #KEYS do redis.call("DEL", KEYS[i]) end

local at = 2
local n_fields = tonumber(ARGV[at])
at = at + 1
for _ = 1, n_fields do
  redis.call("HSET", hash, ARGV[at], ARGV[at + 1])
  at = at + 2
end
redis.call("HSET", hash, "_epoch", ARGV[1])
if paused then redis.call("HSET", hash, "_paused", paused) end

local added = 0
local n_buckets = tonumber(ARGV[at])
at = at + 1
for b = 1, n_buckets do
  local key = KEYS[2 + b]
  local ttl = tonumber(ARGV[at])
  local n = tonumber(ARGV[at + 1])
  at = at + 2
  -- SADD in chunks: Lua's unpack is limited to a few thousand values.
  local i = 0
  while i < n do
    local chunk = math.min(1000, n - i)
    added = added + redis.call("SADD", key, unpack(ARGV, at + i, at + i + chunk - 1))
    i = i + chunk
  end
  at = at + n
  if n > 0 then redis.call("EXPIRE", key, ttl) end
end
return added
