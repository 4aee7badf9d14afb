-- snapshot.lua: reads a rotation's state and day counts in one consistent step.
--
-- KEYS[1] -> the rotation's state hash
-- KEYS[2] -> the rotation's counts of the current day
--
-- Returns {} when there is no state, else {state as HGETALL, day as HGETALL}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
