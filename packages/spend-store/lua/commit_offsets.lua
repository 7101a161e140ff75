--[[
commit_offsets.lua: record how far the tracker has applied each partition, but only while the
sentinel exists and the caller knows the current epoch and topic generation. Sent last in every batch
pipeline, after the batch's apply_slice calls.

KEYS[1]  meta hash of the topic   <prefix>meta:{<topic>}   (field created_at is the sentinel)
ARGV[1]  state epoch of the caller
ARGV[2]  topic generation of the caller (the log it read the batch from; field generation, absent = 0)
ARGV[3..] triples: partition, next offset to consume (last applied + 1), event-time watermark: the newest
         record timestamp (epoch ms) applied up to that offset, -1 = none. Kept in field w:<partition>,
         forward-only: reservations expire by it (expire_reservations.lua), never by the wall clock.

Output:  1 recorded
         0 the sentinel is missing: Redis lost the tracker's state (flushed, restarted without
           persistence, failed over to an empty replica) or a rebuild is running. Nothing is written,
           so the loss stays detectable; the caller rebuilds (or waits for the running rebuild).
        -1 the epoch changed: a rebuild finished that the caller has not seen; it must seek to the
           offsets recorded here instead of committing its own.
        -2 the generation changed: `adpipe offsets reset` (or RESET_POLICY=earliest) moved the positions
           to a new log of the topic; the caller must seek to the offsets recorded here.
Offsets only move forward here; a rebuild or a reset sets them explicitly.
]]

local meta = redis.call("HMGET", KEYS[1], "created_at", "epoch", "generation")
if not meta[1] then
  return 0
end
if tonumber(meta[2]) ~= tonumber(ARGV[1]) then
  return -1
end
if (tonumber(meta[3]) or 0) ~= tonumber(ARGV[2]) then
  return -2
end
for i = 3, #ARGV, 3 do
  local field = "o:" .. ARGV[i]
  local current = tonumber(redis.call("HGET", KEYS[1], field))
  local next_offset = tonumber(ARGV[i + 1])
  if current == nil or next_offset > current then
    redis.call("HSET", KEYS[1], field, ARGV[i + 1])
  end
  local watermark = tonumber(ARGV[i + 2])
  if watermark >= 0 then
    local watermark_field = "w:" .. ARGV[i]
    local known = tonumber(redis.call("HGET", KEYS[1], watermark_field))
    if known == nil or watermark > known then redis.call("HSET", KEYS[1], watermark_field, ARGV[i + 2]) end
  end
end
return 1
