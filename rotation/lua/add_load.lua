-- add_load.lua: adds to a member's open leads as a rotation counts them for
-- its capacity, when it counts them: a lead assigned to the member other
-- than by a turn of this rotation, closed, reopened, reassigned or
-- deleted. A count never goes below 0.
--
-- KEYS[1] -> the rotation's state hash: "o:<user>" -> open leads
-- ARGV[1] -> user
-- ARGV[2] -> delta
--
-- Returns the new count, or false when the member is not counted.
local f = 'o:' .. ARGV[1]
local c = redis.call('HGET', KEYS[1], f)
if not c then
  return false
end
local v = tonumber(c) + tonumber(ARGV[2])
if v < 0 then v = 0 end
redis.call('HSET', KEYS[1], f, v)
return v
