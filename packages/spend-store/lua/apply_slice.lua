--[[
apply_slice.lua: apply one advertiser's slice of a Kafka batch to its spend hash, exactly once.
Also used with zero events as the period-rollover sweep and to (re)compute can_serve after a restore.

KEYS[1]    advertiser hash          <prefix>adv:{<id>}
KEYS[2]    pending future periods   <prefix>pending:{<id>}   (spend of periods that have not begun yet)
KEYS[3]    state guard: a hash whose field epoch says the state of this key's slot is intact. On one server the
           meta hash <prefix>meta:{<topic>}; on a Redis Cluster the slot guard <prefix>guard:{<tag>} whose tag
           hashes to the advertiser's slot (a script may only touch keys of one slot).
KEYS[4]    outstanding reservations <prefix>resv:{<id>}      (reserve.lua of @adpipe/serving-client)
KEYS[5]    their expiries           <prefix>resvexp:{<id>}
KEYS[5+i]  click_id dedup set of the i-th bucket listed in ARGV   <prefix>dedup:{<id>}:<bucket_id>

ARGV[1]  topic
ARGV[2]  advertiser id (for the change message)
ARGV[3]  changes channel, "" = do not publish
ARGV[4]  start (epoch ms) of the current period: period of max(tracker clock, newest record timestamp)
ARGV[5]  id of the current period
ARGV[6]  now (epoch ms), written to updated_at
ARGV[7]  1 = create the hash when it does not exist, 0 = leave unknown advertisers unknown (sweep)
ARGV[8]  state epoch of the caller (set by the last rebuild, read from the meta hash)
ARGV[9]  P: number of buckets (budget period x dedup set); then P pairs (period start ms, dedup set TTL seconds)
then     E: number of events
then     the E events packed in one binary string (one argument instead of nine per event), each
           twelve little-endian doubles (struct "<dddddddddddd"):
             partition, offset, period index (1..P; 0 = no spend), gross micros, net micros, clicks,
             budget kind (0 = none; else the observation's source: 1 click, 2 budget_update, 3 api),
             budget micros, budget event time ms, budget mode and pacing (mode + 4 x pacing; mode 0 =
             unchanged, 1 observe, 2 hard_cap; pacing 0 = unchanged, 1 asap, 2 even, 3 shaped),
             click id byte length, reservation id byte length
           then the click id bytes (length 0: the click takes no part in dedup), then the reservation id
           bytes (length 0: the reservation is the one named by the click id). Every value is an integer
           (offsets and amounts checked safe integers by the caller), so exact as a double.
         Events are in offset order per partition.
then     the advertiser's calendar (clickPeriodOf in @adpipe/core), "" = leave the stored one as it is (sweep,
           pause, restore): "<budget_period>|<time_zone>|<period ts>|<zone ts>|<restart>", the calendar in force
           after the slice (the service-wide one for settings never set, whose ts part is then empty), and
           restart "<partition>:<offset>" of the record that last changed the calendar in force in the slice
           ("" = none). A change restarts the period: the hash rolls to ARGV[4] even when that starts earlier
           than the stored period, from zero (pending spend was bucketed in the previous calendar), unless that
           record is a replay (at or below the hash's offset of its partition).
then     end (epoch ms) of the current period, and the pacing tolerance in basis points of the budget

Output: { status, applied, duplicates, replayed, closed_period, flipped, can_serve }
  status         1 done; 0 unknown advertiser left unknown (ARGV[7] = 0); -1 refused: the hash or the guard
                 belongs to another epoch (a rebuild happened that the caller has not seen; it must re-read its
                 offsets); -2 refused: the guard is missing, so Redis (this slot's node, on a cluster) lost the
                 state or a rebuild is replacing it. Nothing is written when refused.
  applied        events that changed spend or budget
  duplicates     clicks whose click_id was already seen in their period (never counted)
  replayed       events at or below the offset this hash already applied for their partition
  closed_period  clicks for a period older than the current one (never affect the decision)
  flipped        1 when can_serve changed (or the hash was created), else 0
  can_serve      1 / 0 after the call; -1 when the advertiser is unknown and was not created

The budget in force (budget_micros, _budget_ts, budget_source) follows supersedesBudget in @adpipe/core: an
explicit budget (api, budget_update) outranks any click-carried one; within a rank the later event time wins,
on equal times the later record. A hash written before budget sources existed (budget_micros without
budget_source) ranks as click-carried until the next explicit budget or a rebuild from the warehouse.

Pacing (pacing, _pacing_ts; absent = asap) is set like the mode (the later event time wins, on equal times the
later record). The serving decision is decidePacedServing of @adpipe/core at now (ARGV[6]): paused, no_budget,
budget_exhausted, then ahead_of_pace. For an advertiser whose pacing was ever set, serve_fraction ("1", "0" or
"0.dddd") and, unless asap, _pace_allowed (what may be spent by now, which reserve.lua checks) are written too;
shaped pacing reads the hourly weights from _shape (24 comma-separated integers), else paces even.

The first time in a period the decision is ahead_of_pace, _ahead_seen records it,
"<period id>|<period start ms>|<net micros>|<budget micros>" at that moment, and keeps it when the advertiser
catches up (until the next period's first ahead_of_pace replaces it): readAheadOfPace (the alerter) fires
episodes shorter than its pass from it.

The budget mode (mode, _mode_ts; absent = observe) follows supersedesMode: the later event time wins, on equal
times the later record. Billing follows billableMicros in @adpipe/core: each counted click is billed, in
offset order, against the mode and budget in force at its place in the log and its period's billable net so far
(net_micros of the hash, or pending's "<start>|net" for an early period, plus this slice's); in hard_cap only
what fits under the budget is billable (added to net_micros), the rest is over_cap (over_cap_micros, written
only when not 0). Gross and clicks count the whole click either way.

Settlement: every click applied here for the first time (not a replay: the per-partition offsets make this
exactly once) removes the reservation it carries from KEYS[4]/KEYS[5] and its maxCost from reserved_micros,
in this same call that adds its spend, whether it counts, is a duplicate or belongs to a closed period.

Money is integer micros added with HINCRBY (never INCRBYFLOAT). Lua numbers are doubles, exact for the
safe-integer range the tracker enforces on every amount and sum.
]]

local hash = KEYS[1]
local pending = KEYS[2]
local topic = ARGV[1]
local advertiser_id = ARGV[2]
local channel = ARGV[3]
local now_start = tonumber(ARGV[4])
local now_period = ARGV[5]
local now_ms = ARGV[6]
local create = ARGV[7] == "1"
local epoch = tonumber(ARGV[8])

-- Checked before anything is written: an empty Redis (or an emptied cluster node) must stay empty until the
-- rebuild, whichever tracker replica reaches it first.
local guard_epoch = redis.call("HGET", KEYS[3], "epoch")
if not guard_epoch then
  return { -2, 0, 0, 0, 0, 0, -1 }
end
if tonumber(guard_epoch) ~= epoch then
  return { -1, 0, 0, 0, 0, 0, -1 }
end

local exists = redis.call("EXISTS", hash) == 1
local n_periods = tonumber(ARGV[9])
local periods = {}
local at = 10
for i = 1, n_periods do
  periods[i] = { start = tonumber(ARGV[at]), ttl = tonumber(ARGV[at + 1]), key = KEYS[5 + i] }
  at = at + 2
end
local n_events = tonumber(ARGV[at])
at = at + 1
local calendar = ARGV[at + 1] or ""
local period_end = tonumber(ARGV[at + 2])
local tolerance_bp = tonumber(ARGV[at + 3])

if not exists and not create then
  return { 0, 0, 0, 0, 0, 0, -1 }
end

local changed = false
local hash_epoch = nil
if exists then
  hash_epoch = tonumber(redis.call("HGET", hash, "_epoch")) or 0
  if hash_epoch > epoch then
    return { -1, 0, 0, 0, 0, 0, -1 }
  end
  if hash_epoch < epoch then
    -- Written by a tracker that had not yet seen the last rebuild: that rebuild's offsets make the
    -- records behind this state be read again, so it is discarded (the serving fields stay until recomputed).
    local keep = redis.call("HMGET", hash, "can_serve", "reason", "_paused", "reserved_micros")
    redis.call("DEL", hash, pending)
    for i = 1, n_periods do redis.call("DEL", periods[i].key) end
    if keep[1] then redis.call("HSET", hash, "can_serve", keep[1]) end
    if keep[2] then redis.call("HSET", hash, "reason", keep[2]) end
    if keep[3] then redis.call("HSET", hash, "_paused", keep[3]) end
    -- Outstanding reservations live in their own keys, which a rebuild never wrote: they still count.
    if keep[4] then redis.call("HSET", hash, "reserved_micros", keep[4]) end
  end
end
if hash_epoch ~= epoch then redis.call("HSET", hash, "_epoch", ARGV[8]) end
local stats = { applied = 0, duplicates = 0, replayed = 0, closed = 0 }

-- The advertiser's calendar: the public fields say the calendar in force; a change restarts the period.
local restart = false
if calendar ~= "" then
  local cal_period, cal_zone, cal_period_ts, cal_zone_ts, cal_restart =
    string.match(calendar, "^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$")
  local stored_calendar = redis.call("HMGET", hash, "budget_period", "time_zone", "_period_ts", "_tz_ts")
  local differs = stored_calendar[1] ~= cal_period or stored_calendar[2] ~= cal_zone
  if cal_restart ~= "" then
    local restart_partition, restart_offset = string.match(cal_restart, "^(%d+):(%d+)$")
    local applied = tonumber(redis.call("HGET", hash, "_off:" .. topic .. ":" .. restart_partition)) or -1
    restart = tonumber(restart_offset) > applied
  end
  if differs then redis.call("HSET", hash, "budget_period", cal_period, "time_zone", cal_zone) end
  if cal_period_ts ~= "" and stored_calendar[3] ~= cal_period_ts then
    redis.call("HSET", hash, "_period_ts", cal_period_ts)
  end
  if cal_zone_ts ~= "" and stored_calendar[4] ~= cal_zone_ts then
    redis.call("HSET", hash, "_tz_ts", cal_zone_ts)
  end
end

-- Roll the period: the current period's spend starts from what already arrived for it early
-- (clicks within the allowed clock skew of the previous period), and older pending periods are dropped.
local cur_start = tonumber(redis.call("HGET", hash, "_period_start"))
if restart then
  redis.call("DEL", pending)
  redis.call("HSET", hash, "period", now_period, "_period_start", now_start, "net_micros", "0", "gross_micros", "0",
    "clicks", "0")
  -- A restarted period has neither over_cap nor a forecast yet (set_forecast writes the new one).
  redis.call("HDEL", hash, "over_cap_micros", "forecast_exhausted_at", "forecast_period_spend_micros")
  cur_start = now_start
  changed = true
elseif cur_start == nil or now_start > cur_start then
  local early = redis.call("HMGET", pending, now_start .. "|net", now_start .. "|gross", now_start .. "|clicks",
    now_start .. "|over_cap")
  redis.call("HSET", hash, "period", now_period, "_period_start", now_start,
    "net_micros", early[1] or "0", "gross_micros", early[2] or "0", "clicks", early[3] or "0")
  -- The last period's forecast says nothing about this one (set_forecast writes the new one).
  redis.call("HDEL", hash, "forecast_exhausted_at", "forecast_period_spend_micros")
  if early[4] and tonumber(early[4]) ~= 0 then
    redis.call("HSET", hash, "over_cap_micros", early[4])
  else
    redis.call("HDEL", hash, "over_cap_micros")
  end
  for _, field in ipairs(redis.call("HKEYS", pending)) do
    local start = tonumber(string.match(field, "^(-?%d+)|"))
    if start == nil or start <= now_start then redis.call("HDEL", pending, field) end
  end
  cur_start = now_start
  changed = true
end

-- Offsets already applied to this hash, per partition of the slice.
local applied_offset = {}
local last_offset = {}
local function stored_offset(partition)
  local known = applied_offset[partition]
  if known == nil then
    known = tonumber(redis.call("HGET", hash, "_off:" .. topic .. ":" .. string.format("%d", partition))) or -1
    applied_offset[partition] = known
  end
  return known
end

-- Codes of the packed "budget kind" (BUDGET_SOURCE_CODES in slices.ts) and the precedence rank of each source.
local BUDGET_SOURCES = { "click", "budget_update", "api" }
local function budget_rank(source)
  if source == "click" then return 0 end
  return 1
end
local stored_budget = redis.call("HMGET", hash, "_budget_ts", "budget_source", "budget_micros", "mode", "_mode_ts",
  "_pacing_ts")
local budget_ts = tonumber(stored_budget[1])
local budget_source = stored_budget[2] or "click"
local new_budget, new_budget_ts, new_budget_source = nil, nil, nil
-- Budget and mode in force at the current place in the log: what the next click is billed against.
local budget_now = tonumber(stored_budget[3])
local BUDGET_MODES = { "observe", "hard_cap" }
local mode_now = stored_budget[4] or "observe"
local mode_ts = tonumber(stored_budget[5])
local new_mode = nil
local PACING_MODES = { "asap", "even", "shaped" }
local pacing_ts = tonumber(stored_budget[6])
local new_pacing = nil
-- Per period start (several buckets of a slice may share a period: a lifetime budget dedups by UTC day), so
-- that a hard_cap click is billed against everything billed before it in its period, whatever its bucket.
local sums = {}            -- period start -> { start, ttl, net, gross, clicks, over_cap, billed }
local touched_sets = {}    -- period index -> true

local packed = ARGV[at] or ""
local pos = 1
-- Settlement: whether any reservation is outstanding (most advertisers have none), and what was settled.
local reservations_key, expiries_key = KEYS[4], KEYS[5]
local has_reservations = n_events > 0 and redis.call("EXISTS", reservations_key) == 1
local settled_micros = 0
local function settle(reservation_id)
  local cost = redis.call("HGET", reservations_key, reservation_id)
  if cost then
    redis.call("HDEL", reservations_key, reservation_id)
    redis.call("ZREM", expiries_key, reservation_id)
    settled_micros = settled_micros + tonumber(cost)
  end
end
-- The billable net of a period before this slice: the hash's for the current period, pending's for a later one.
local function stored_billable(period)
  if period.start == cur_start then return tonumber(redis.call("HGET", hash, "net_micros")) or 0 end
  return tonumber(redis.call("HGET", pending, period.start .. "|net")) or 0
end

for _ = 1, n_events do
  local partition, offset, period_index, gross, net, clicks, budget_kind, budget, budget_time, mode_code,
    id_length, reservation_length, id_at = struct.unpack("<dddddddddddd", packed, pos)
  pos = id_at + id_length
  local click_id = string.sub(packed, id_at, pos - 1)
  local reservation_id = click_id
  if reservation_length > 0 then
    reservation_id = string.sub(packed, pos, pos + reservation_length - 1)
    pos = pos + reservation_length
  end

  if offset <= stored_offset(partition) then
    stats.replayed = stats.replayed + 1
  else
    if last_offset[partition] == nil or offset > last_offset[partition] then last_offset[partition] = offset end
    if has_reservations and period_index ~= 0 and reservation_id ~= "" then settle(reservation_id) end
    local period = periods[period_index]
    local counts = true
    if period ~= nil and period.start < cur_start then
      -- A closed period: its spend can no longer change today's decision. Its click id is still recorded, so
      -- that a duplicate is caught in a later period too (after a change of calendar: clickPeriodOf).
      stats.closed = stats.closed + 1
      counts = false
      if click_id ~= "" then
        touched_sets[period_index] = true
        redis.call("SADD", period.key, click_id)
      end
    elseif period ~= nil and click_id ~= "" then
      touched_sets[period_index] = true
      if redis.call("SADD", period.key, click_id) == 0 then
        stats.duplicates = stats.duplicates + 1
        counts = false
      end
    end
    -- A duplicate is ignored entirely; a click of a closed period may still carry the newest budget.
    -- The event's budget observation comes before its spend (as in the oracle).
    local is_duplicate = period ~= nil and not counts and period.start >= cur_start
    local observed = false
    if budget_kind ~= 0 and not is_duplicate then
      local source = BUDGET_SOURCES[budget_kind]
      local best_ts = new_budget_ts or budget_ts
      local best_rank = budget_rank(new_budget_source or budget_source)
      local rank = budget_rank(source)
      -- supersedesBudget: higher rank, else the later event time; equal times: the later record (offset order).
      if best_ts == nil or rank > best_rank or (rank == best_rank and budget_time >= best_ts) then
        new_budget, new_budget_ts, new_budget_source = budget, budget_time, source
        budget_now = budget
        observed = true
      end
      local pacing_code = math.floor(mode_code / 4)
      mode_code = mode_code - 4 * pacing_code
      if pacing_code ~= 0 and (pacing_ts == nil or budget_time >= pacing_ts) then
        new_pacing, pacing_ts = PACING_MODES[pacing_code], budget_time
        observed = true
      end
      -- supersedesMode: the later event time wins; equal times: the later record.
      if mode_code ~= 0 and (mode_ts == nil or budget_time >= mode_ts) then
        new_mode, mode_ts, mode_now = BUDGET_MODES[mode_code], budget_time, BUDGET_MODES[mode_code]
        observed = true
      end
    end
    if counts and period ~= nil then
      local sum = sums[period.start]
      if sum == nil then
        sum = { start = period.start, ttl = period.ttl, net = 0, gross = 0, clicks = 0, over_cap = 0, billed = nil }
        sums[period.start] = sum
      elseif period.ttl > sum.ttl then
        sum.ttl = period.ttl
      end
      -- billableMicros: a refund (net <= 0) is never clamped; hard_cap bills what fits under the budget.
      local billable = net
      if mode_now == "hard_cap" and net > 0 then
        if sum.billed == nil then sum.billed = stored_billable(period) end
        local room = (budget_now or 0) - (sum.billed + sum.net)
        if room <= 0 then billable = 0 elseif room < net then billable = room end
      end
      sum.net = sum.net + billable
      sum.over_cap = sum.over_cap + (net - billable)
      sum.gross = sum.gross + gross
      sum.clicks = sum.clicks + clicks
      stats.applied = stats.applied + 1
    elseif observed then
      stats.applied = stats.applied + 1
    end
  end
end

for period_index in pairs(touched_sets) do
  local period = periods[period_index]
  if redis.call("TTL", period.key) < period.ttl then redis.call("EXPIRE", period.key, period.ttl) end
end

for _, sum in pairs(sums) do
  if sum.start == cur_start then
    redis.call("HINCRBY", hash, "net_micros", string.format("%d", sum.net))
    redis.call("HINCRBY", hash, "gross_micros", string.format("%d", sum.gross))
    redis.call("HINCRBY", hash, "clicks", string.format("%d", sum.clicks))
    if sum.over_cap ~= 0 then
      redis.call("HINCRBY", hash, "over_cap_micros", string.format("%d", sum.over_cap))
    end
  else
    redis.call("HINCRBY", pending, sum.start .. "|net", string.format("%d", sum.net))
    redis.call("HINCRBY", pending, sum.start .. "|gross", string.format("%d", sum.gross))
    redis.call("HINCRBY", pending, sum.start .. "|clicks", string.format("%d", sum.clicks))
    if sum.over_cap ~= 0 then
      redis.call("HINCRBY", pending, sum.start .. "|over_cap", string.format("%d", sum.over_cap))
    end
    if redis.call("TTL", pending) < sum.ttl then redis.call("EXPIRE", pending, sum.ttl) end
  end
  changed = true
end

if new_budget ~= nil then
  redis.call("HSET", hash, "budget_micros", string.format("%d", new_budget),
    "_budget_ts", string.format("%d", new_budget_ts), "budget_source", new_budget_source)
  changed = true
end

if new_mode ~= nil then
  redis.call("HSET", hash, "mode", new_mode, "_mode_ts", string.format("%d", mode_ts))
  changed = true
end

if new_pacing ~= nil then
  redis.call("HSET", hash, "pacing", new_pacing, "_pacing_ts", string.format("%d", pacing_ts))
  changed = true
end

if settled_micros ~= 0 then
  redis.call("HINCRBY", hash, "reserved_micros", string.format("%d", -settled_micros))
  changed = true
end

for partition, offset in pairs(last_offset) do
  redis.call("HSET", hash, "_off:" .. topic .. ":" .. string.format("%d", partition), string.format("%d", offset))
end

-- pacingTargetFraction of @adpipe/core, the same double operations in the same order.
local MS_PER_HOUR = 3600000
local function shape_weight(shape, elapsed)
  local day = 0
  for h = 1, 24 do day = day + shape[h] end
  local hours = math.floor(elapsed / MS_PER_HOUR)
  local weight = math.floor(hours / 24) * day
  local hour_of_day = hours % 24
  for h = 1, hour_of_day do weight = weight + shape[h] end
  return weight + shape[hour_of_day + 1] * ((elapsed - hours * MS_PER_HOUR) / MS_PER_HOUR)
end
local function target_fraction(pacing, start, stop, now, shape_field)
  if pacing == "asap" then return 1 end
  local length = stop - start
  if length <= 0 or now >= stop then return 1 end
  if now <= start then return 0 end
  local elapsed = now - start
  if pacing == "shaped" and shape_field then
    local shape, total = {}, 0
    for weight in string.gmatch(shape_field, "[^,]+") do
      shape[#shape + 1] = tonumber(weight) or 0
      total = total + shape[#shape]
    end
    if #shape == 24 and total > 0 then
      local whole = shape_weight(shape, length)
      if whole > 0 then return math.min(1, shape_weight(shape, elapsed) / whole) end
    end
  end
  return elapsed / length
end

-- The serving decision: the same rule as decidePacedServing in @adpipe/core (tests compare them).
local state = redis.call("HMGET", hash, "net_micros", "budget_micros", "_paused", "can_serve", "reason", "pacing",
  "_period_start", "_shape")
local net_total = tonumber(state[1]) or 0
local budget_total = tonumber(state[2])
local pacing = state[6] or nil -- HMGET gives false for a missing field
local can_serve, reason
local serve_bp, pace_allowed = 0, nil
if state[3] == "1" then
  can_serve, reason = "0", "paused"
elseif budget_total == nil or budget_total <= 0 then
  can_serve, reason = "0", "no_budget"
elseif net_total >= budget_total then
  can_serve, reason = "0", "budget_exhausted"
else
  can_serve, reason = "1", ""
  serve_bp = 10000
  if pacing ~= nil and pacing ~= "asap" and period_end ~= nil then
    local fraction = target_fraction(pacing, tonumber(state[7]), period_end, tonumber(now_ms), state[8])
    local target = math.min(budget_total, math.floor(budget_total * fraction))
    pace_allowed = math.min(budget_total, target + math.floor((budget_total * tolerance_bp) / 10000))
    if net_total >= pace_allowed then
      can_serve, reason, serve_bp = "0", "ahead_of_pace", 0
    elseif net_total > target then
      serve_bp = math.floor((10000 * (pace_allowed - net_total)) / (pace_allowed - target))
    end
  end
end
if pacing ~= nil then
  local serve_fraction = "0"
  if serve_bp >= 10000 then serve_fraction = "1" elseif serve_bp > 0 then
    serve_fraction = "0." .. string.format("%04d", serve_bp)
  end
  redis.call("HSET", hash, "serve_fraction", serve_fraction)
  if pace_allowed ~= nil then
    redis.call("HSET", hash, "_pace_allowed", string.format("%d", pace_allowed))
  else
    redis.call("HDEL", hash, "_pace_allowed")
  end
end
-- The first ahead_of_pace of the hash's period stays recorded after the episode ends, so the alerter (which reads
-- the hashes on its own pass) still sees an episode shorter than that pass: one alert per advertiser and period.
if reason == "ahead_of_pace" then
  local seen = redis.call("HMGET", hash, "period", "_ahead_seen")
  local period_id = seen[1] or ""
  if not seen[2] or string.sub(seen[2], 1, #period_id + 1) ~= period_id .. "|" then
    redis.call("HSET", hash, "_ahead_seen", period_id .. "|" .. (state[7] or "") .. "|" ..
      string.format("%d", net_total) .. "|" .. string.format("%d", budget_total))
  end
end
local old_can_serve = state[4] or ""
local old_reason = state[5] or ""
local flipped = 0
if can_serve ~= old_can_serve then flipped = 1 end
if can_serve ~= old_can_serve or reason ~= old_reason then
  if reason == "" then
    redis.call("HSET", hash, "can_serve", can_serve)
    redis.call("HDEL", hash, "reason")
  else
    redis.call("HSET", hash, "can_serve", can_serve, "reason", reason)
  end
  changed = true
  if channel ~= "" then
    local message_reason = cjson.null
    if reason ~= "" then message_reason = reason end
    redis.call("PUBLISH", channel, cjson.encode({
      type = "serving_change",
      advertiserId = advertiser_id,
      canServe = can_serve == "1",
      reason = message_reason,
      period = redis.call("HGET", hash, "period"),
      updatedAt = tonumber(now_ms),
    }))
  end
end
if changed then redis.call("HSET", hash, "updated_at", now_ms) end

return { 1, stats.applied, stats.duplicates, stats.replayed, stats.closed, flipped, tonumber(can_serve) }
