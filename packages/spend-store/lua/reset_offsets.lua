--[[
reset_offsets.lua: the tracker's part of a topic reset (`adpipe offsets reset`, RESET_POLICY=earliest):
moves the recorded positions, atomically, only from the generation the reset was planned from.

KEYS[1]  meta hash of the topic   <prefix>meta:{<topic>}

ARGV[1]  generation the reset was planned from (field generation; absent = 0)
ARGV[2]  generation after the reset (ARGV[1] + 1: a new log; = ARGV[1]: same log, positions move forward only)
ARGV[3]  reset id (the audit row in Postgres ingest.offset_resets; "" when unaudited)
ARGV[4]  now (epoch ms)
ARGV[5..] pairs: partition, next offset to consume

Output:  1 moved
         2 already in the new generation (a re-run after a crash, or a rebuild from the warehouse that
           carried it over): nothing changed
         0 the sentinel is missing (Redis lost the state: the tracker rebuilds from the warehouse, which
           carries the warehouse's generation and positions)
        -2 the generation is neither the planned one nor this reset's: plan again
A new generation replaces every recorded position (partitions not listed start at 0) and drops the recorded
detection (reset_detected). Advertiser hashes are not touched: apply_slice keeps the applied offsets per
"<topic>#g<generation>" lineage, so the new log's offsets are never taken for replays of the old one's.
]]

local meta = redis.call("HMGET", KEYS[1], "created_at", "generation")
if not meta[1] then
  return 0
end
local current = tonumber(meta[2]) or 0
local from = tonumber(ARGV[1])
local to = tonumber(ARGV[2])
if current ~= from then
  if current == to and to > from then
    return 2
  end
  return -2
end
if to > from then
  for _, field in ipairs(redis.call("HKEYS", KEYS[1])) do
    if string.sub(field, 1, 2) == "o:" then redis.call("HDEL", KEYS[1], field) end
  end
  for i = 5, #ARGV, 2 do
    redis.call("HSET", KEYS[1], "o:" .. ARGV[i], ARGV[i + 1])
  end
  redis.call("HSET", KEYS[1], "generation", ARGV[2])
else
  for i = 5, #ARGV, 2 do
    local field = "o:" .. ARGV[i]
    local stored = tonumber(redis.call("HGET", KEYS[1], field))
    if stored == nil or tonumber(ARGV[i + 1]) > stored then
      redis.call("HSET", KEYS[1], field, ARGV[i + 1])
    end
  end
end
redis.call("HSET", KEYS[1], "reset_id", ARGV[3], "reset_at", ARGV[4])
redis.call("HDEL", KEYS[1], "reset_detected")
return 1
