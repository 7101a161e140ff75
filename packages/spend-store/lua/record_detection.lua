--[[
record_detection.lua: record (or clear) the topic reset the tracker found, in the meta hash, only while the
hash is in the generation the finding was made in: a reset applied meanwhile (`adpipe offsets reset`,
reset_offsets.lua) makes the finding stale, and it must not reappear after the reset cleared it.

KEYS[1]  meta hash of the topic   <prefix>meta:{<topic>}

ARGV[1]  generation the finding was made in (field generation; absent = 0)
ARGV[2]  the finding as JSON (field reset_detected); "" clears the field

Output:  1 recorded (or cleared)
         0 not recorded: the sentinel is missing or the generation moved on
]]

local meta = redis.call("HMGET", KEYS[1], "created_at", "generation")
if not meta[1] or (tonumber(meta[2]) or 0) ~= tonumber(ARGV[1]) then
  return 0
end
if ARGV[2] == "" then
  redis.call("HDEL", KEYS[1], "reset_detected")
else
  redis.call("HSET", KEYS[1], "reset_detected", ARGV[2])
end
return 1
