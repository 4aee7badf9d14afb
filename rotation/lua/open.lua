-- open.lua: lists the open turns of one rotation (see pick.lua's KEYS[4])
-- taken longer ago than a given age, by the Redis clock, for a settler to
-- find out whether their leads were stored.
--
-- KEYS[1] -> the rotation's open turns
-- ARGV[1] -> the age, in microseconds
-- ARGV[2] -> the most turns to list
--
-- Returns {seq, day, seq, day, ...}, oldest first is not promised.
local now = redis.call('TIME')
local before = tonumber(now[1]) * 1000000 + tonumber(now[2]) - tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local out = {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  local epoch, day, micros = string.match(flat[i + 1], '^(%S+) (%S+) (%S+)')
  if tonumber(micros) < before then
    out[#out + 1] = flat[i]
    out[#out + 1] = day
    if #out >= 2 * limit then break end
  end
end
return out
