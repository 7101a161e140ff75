--[[
set_forecast.lua: writes an advertiser's forecast fields (forecastPeriod of @adpipe/core, computed by the caller
from the fields it read) unless the state moved since it read them.

KEYS[1]  advertiser hash   <prefix>adv:{<id>}

ARGV[1]  period id as read
ARGV[2]  net_micros as read
ARGV[3]  budget_micros as read ("" = none)
ARGV[4]  forecast_exhausted_at: ISO-8601 UTC time, "" = not forecast within the period
ARGV[5]  forecast_period_spend_micros: integer micros, "" = none (lifetime periods)

Output: 1 written; 0 skipped: the hash is gone (never created here: an emptied Redis stays empty until the
rebuild) or its period, net or budget changed since the read (the next refresh computes it again).
Never touches updated_at or the serving decision: a forecast is not a change of spend.
]]

local hash = KEYS[1]
local state = redis.call("HMGET", hash, "period", "net_micros", "budget_micros")
if not state[1] then return 0 end
if state[1] ~= ARGV[1] or (state[2] or "0") ~= ARGV[2] or (state[3] or "") ~= ARGV[3] then return 0 end
redis.call("HSET", hash, "forecast_exhausted_at", ARGV[4], "forecast_period_spend_micros", ARGV[5])
return 1
