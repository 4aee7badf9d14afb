-- refund.lua: gives back a turn whose lead could not be written. It mirrors
-- rotation.Refund (swrr.go).
--
-- KEYS[1] -> the rotation's state hash
-- KEYS[2] -> the rotation's counts of the turn's day
-- ARGV[1] -> epoch of the state the turn was taken from
-- ARGV[2] -> the turn's assignee
-- ARGV[3 ..] -> pairs of user, delta: what the turn added to each current weight
--
-- Returns 1 when refunded; 0 when the state is gone or was rebuilt since the
-- turn (its epoch differs), as a rebuilt state never counted the turn.
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then
  return 0
end
for i = 3, #ARGV, 2 do
  local f = 'w:' .. ARGV[i]
  if redis.call('HEXISTS', KEYS[1], f) == 1 then
    redis.call('HINCRBY', KEYS[1], f, -tonumber(ARGV[i + 1]))
  end
end
if tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0') > 0 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
end
return 1
