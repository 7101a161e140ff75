--[[
drop_sentinel.lua: turn the loss of part of the state into the loss of all of it. apply_slice found a slot's
guard missing (on a Redis Cluster one node came back empty, or failed over to a replica that had nothing):
removing the sentinel makes every tracker replica, `adpipe status` and the next commit see the state as lost,
so one of them rebuilds it all. Only while the sentinel is still the caller's epoch: a rebuild that finished
meanwhile wrote a new one, which must stay.

KEYS[1]  meta hash of the topic   <prefix>meta:{<topic>}   (field created_at is the sentinel)
ARGV[1]  state epoch of the caller

Output:  1 the sentinel was removed; 0 it was already gone or belongs to another epoch
]]

local epoch = redis.call("HGET", KEYS[1], "epoch")
if not epoch or tonumber(epoch) ~= tonumber(ARGV[1]) or redis.call("HEXISTS", KEYS[1], "created_at") == 0 then
  return 0
end
redis.call("HDEL", KEYS[1], "created_at")
return 1
