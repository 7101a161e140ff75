--[[
release.lua: frees an outstanding reservation whose click will not happen (the ad was not served after all).
Releasing one that was settled, expired or released already changes nothing.

KEYS[1]  advertiser hash          <prefix>adv:{<id>}
KEYS[2]  outstanding reservations <prefix>resv:{<id>}
KEYS[3]  their expiries           <prefix>resvexp:{<id>}

ARGV[1]  reservation id

Output: 1 released, 0 it was not outstanding
]]

local cost = redis.call("HGET", KEYS[2], ARGV[1])
if not cost then return 0 end
redis.call("HDEL", KEYS[2], ARGV[1])
redis.call("ZREM", KEYS[3], ARGV[1])
-- reserved_micros lives in the advertiser hash, which a rebuild replaces (and never with reservations).
if redis.call("EXISTS", KEYS[1]) == 1 then redis.call("HINCRBY", KEYS[1], "reserved_micros", string.format("%d", -tonumber(cost))) end
return 1
