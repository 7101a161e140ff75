--[[
expire_reservations.lua: releases an advertiser's reservations whose expiry lies before the event-time
watermark the tracker has applied (reservationExpired of @adpipe/core): every click that could still carry them
reached the log before that point (clicks reach the log within their reservation's TTL) and has been applied,
so they will never settle. Judged by the applied log, never by the wall clock: while a tracker lags, is paused
or restarts, the watermark stays behind and nothing expires.

KEYS[1]  advertiser hash          <prefix>adv:{<id>}
KEYS[2]  outstanding reservations <prefix>resv:{<id>}
KEYS[3]  their expiries           <prefix>resvexp:{<id>}

ARGV[1]  applied watermark (epoch ms)

Output: { expired, released_micros }
]]

local watermark = tonumber(ARGV[1])
local ids = redis.call("ZRANGEBYSCORE", KEYS[3], "-inf", "(" .. string.format("%d", watermark))
if #ids == 0 then return { 0, 0 } end
local released = 0
for _, id in ipairs(ids) do
  local cost = redis.call("HGET", KEYS[2], id)
  if cost then
    released = released + tonumber(cost)
    redis.call("HDEL", KEYS[2], id)
  end
end
redis.call("ZREMRANGEBYSCORE", KEYS[3], "-inf", "(" .. string.format("%d", watermark))
if released ~= 0 and redis.call("EXISTS", KEYS[1]) == 1 then
  redis.call("HINCRBY", KEYS[1], "reserved_micros", string.format("%d", -released))
end
return { #ids, released }
