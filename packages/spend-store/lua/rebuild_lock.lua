--[[
rebuild_lock.lua: refresh or release the rebuild lock, only by its owner. The lock itself is taken
with SET <key> <owner> NX PX <ttl>; it keeps two rebuilders (tracker instances, the CLI) from
rebuilding at the same time.

KEYS[1]  lock key   <prefix>lock:{<topic>}
ARGV[1]  "refresh" or "release"
ARGV[2]  owner token
ARGV[3]  new TTL in ms (refresh only)

Output: 1 when the caller owned the lock (refreshed or released), 0 otherwise.
]]

if redis.call("GET", KEYS[1]) ~= ARGV[2] then
  return 0
end
if ARGV[1] == "release" then
  redis.call("DEL", KEYS[1])
else
  redis.call("PEXPIRE", KEYS[1], ARGV[3])
end
return 1
