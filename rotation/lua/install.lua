-- install.lua: stores a rebuilt rotation state unless one exists, so that of
-- several processes rebuilding at once, the first wins and the others use it.
--
-- KEYS[1] -> the rotation's state hash
-- KEYS[2] -> the rotation's counts of the current day
-- ARGV[1] -> epoch of the new state
-- ARGV[2] -> seq, the number of the last turn taken
-- ARGV[3] -> seconds to keep the day hash
-- ARGV[4] -> n, the number of members
-- ARGV[5 .. 4+2n] -> pairs of user, current weight
-- ARGV[5+2n] -> m, the number of members with a capacity
-- ARGV[6+2n .. 5+2n+2m] -> pairs of user, open leads
-- ARGV[6+2n+2m ..] -> pairs of user, leads assigned that day
--
-- Returns 1 when installed, 0 when a state existed already.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local n = tonumber(ARGV[4])
local state = {'epoch', ARGV[1], 'seq', ARGV[2]}
for i = 5, 4 + 2 * n, 2 do
  state[#state + 1] = 'w:' .. ARGV[i]
  state[#state + 1] = ARGV[i + 1]
end
local m = tonumber(ARGV[5 + 2 * n])
for i = 6 + 2 * n, 5 + 2 * n + 2 * m, 2 do
  state[#state + 1] = 'o:' .. ARGV[i]
  state[#state + 1] = ARGV[i + 1]
end
redis.call('HSET', KEYS[1], unpack(state))
redis.call('DEL', KEYS[2])
for i = 6 + 2 * n + 2 * m, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
