-- fill_load.lua: sets the open leads of members with a capacity that the
-- state does not count yet (pick.lua's {"load", ...} reply), counted from
-- the store. A count set meanwhile (by another process) is kept.
--
-- KEYS[1] -> the rotation's state hash: "o:<user>" -> open leads
-- ARGV -> pairs of user, open leads
--
-- Returns the number of counts set; none when there is no state (it is
-- rebuilt whole, counts included).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local set = 0
for i = 1, #ARGV, 2 do
  set = set + redis.call('HSETNX', KEYS[1], 'o:' .. ARGV[i], ARGV[i + 1])
end
return set
