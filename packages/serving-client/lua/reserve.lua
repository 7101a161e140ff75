--[[
reserve.lua: admission by reservation. Grants a reservation of one click's most possible cost only if the
advertiser may serve it, by mayReserve of @adpipe/core (a test holds this script to it):
  observe   the serving decision alone (paused / no_budget / budget_exhausted); nothing is recorded.
  paced     (_pace_allowed present: the pace allowance apply_slice computed last) net_micros >= _pace_allowed
            refuses ahead_of_pace; in hard_cap so does net + reserved + maxCost beyond it (after the budget check).
  hard_cap  also net_micros + reserved_micros + maxCost <= budget_micros; the reservation is recorded and
            counts until the click that carries it is applied (apply_slice settles it), it is released, or it
            expires by the tracker's applied watermark (expire_reservations.lua).
A reservation id already outstanding is granted again without counting twice (a caller's retry).

KEYS[1]  advertiser hash          <prefix>adv:{<id>}      (never created here: unknown stays unknown)
KEYS[2]  outstanding reservations <prefix>resv:{<id>}     hash: reservation id -> maxCostMicros
KEYS[3]  their expiries           <prefix>resvexp:{<id>}  zset: reservation id -> expiry (epoch ms)
KEYS[4]  state guard: the meta hash <prefix>meta:{<topic>} on one server, the slot guard <prefix>guard:{<tag>}
         of the advertiser's slot on a Redis Cluster. Its field epoch says the tracker's state is intact; its
         field reserve_hold_until (epoch ms), written by a rebuild, holds hard_cap reservations back until every
         reservation lost with the old state has expired.

ARGV[1]  reservation id
ARGV[2]  maxCostMicros (positive safe integer: the most the click can cost)
ARGV[3]  ttlMs: the click reaches the log within this long of now (Redis TIME), or the reservation expires

Output: { granted, reason, remaining }
  granted    1 granted, 0 refused
  reason     "" when granted; else paused, no_budget, budget_exhausted, ahead_of_pace, insufficient_budget,
             unknown (no hash),
             unavailable (guard missing: Redis lost the state or a rebuild is replacing it; or the hold above)
  remaining  reservableMicros after the call (budget - net - reserved in hard_cap, budget - net in observe,
             never below 0); -1 when there is none (no budget, unknown, unavailable)
]]

local hash = KEYS[1]
local reservations = KEYS[2]
local expiries = KEYS[3]
local id = ARGV[1]
local max_cost = tonumber(ARGV[2])

local guard = redis.call("HMGET", KEYS[4], "epoch", "reserve_hold_until")
if not guard[1] then return { 0, "unavailable", -1 } end

local state = redis.call("HMGET", hash, "can_serve", "net_micros", "budget_micros", "_paused", "mode",
  "reserved_micros", "_pace_allowed")
if not state[1] then return { 0, "unknown", -1 } end
local net = tonumber(state[2]) or 0
local budget = tonumber(state[3])
local mode = state[5] or "observe"
local reserved = tonumber(state[6]) or 0
local pace_allowed = tonumber(state[7])

local function remaining(extra)
  if budget == nil then return -1 end
  local left = budget - net
  if mode == "hard_cap" then left = left - reserved - extra end
  if left < 0 then return 0 end
  return left
end

local time = redis.call("TIME")
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if mode == "hard_cap" and guard[2] and now_ms < tonumber(guard[2]) then return { 0, "unavailable", -1 } end

if mode == "hard_cap" and redis.call("HEXISTS", reservations, id) == 1 then
  return { 1, "", remaining(0) }
end

-- mayReserve of @adpipe/core.
local reason = ""
if state[4] == "1" then
  reason = "paused"
elseif budget == nil or budget <= 0 then
  reason = "no_budget"
elseif net >= budget then
  reason = "budget_exhausted"
elseif pace_allowed ~= nil and net >= pace_allowed then
  reason = "ahead_of_pace"
elseif mode == "hard_cap" and net + reserved + max_cost > budget then
  reason = "insufficient_budget"
elseif mode == "hard_cap" and pace_allowed ~= nil and net + reserved + max_cost > pace_allowed then
  reason = "ahead_of_pace"
end
if reason ~= "" then return { 0, reason, remaining(0) } end

if mode == "hard_cap" then
  redis.call("HSET", reservations, id, ARGV[2])
  redis.call("ZADD", expiries, now_ms + tonumber(ARGV[3]), id)
  redis.call("HINCRBY", hash, "reserved_micros", ARGV[2])
  return { 1, "", remaining(max_cost) }
end
return { 1, "", remaining(0) }
