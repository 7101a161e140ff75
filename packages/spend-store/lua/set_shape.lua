--[[
set_shape.lua: writes a shaped advertiser's traffic shape `_shape` (trafficShapeOf of @adpipe/core, computed by
the caller from Gold's last 7 days) unless the hash is gone or no longer paces `shaped`.

KEYS[1]  advertiser hash   <prefix>adv:{<id>}

ARGV[1]  _shape: 24 comma-separated non-negative integers; "" = not enough history (the field is removed and
         shaped pacing falls back to even)

Output: 1 changed; 0 unchanged or skipped (the hash is gone: never created here, an emptied Redis stays empty until
the rebuild; or its pacing is not shaped). Never touches the serving decision: the next apply_slice call (a batch or
the pacing sweep) paces by the new shape.
]]

local hash = KEYS[1]
local state = redis.call("HMGET", hash, "pacing", "_shape")
if state[1] ~= "shaped" then return 0 end
if ARGV[1] == "" then
  if not state[2] then return 0 end
  redis.call("HDEL", hash, "_shape")
  return 1
end
if state[2] == ARGV[1] then return 0 end
redis.call("HSET", hash, "_shape", ARGV[1])
return 1
