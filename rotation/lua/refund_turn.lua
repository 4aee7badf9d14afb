-- refund_turn gives back open turn seq, from its record in the hash open
-- (see pick.lua's KEYS[4]), and closes it: the deltas are subtracted from
-- the state hash if it is still the state the turn was taken from, with the
-- assignee's open leads when counted, and the count in the day hash if the
-- turn is of today. It returns 1 when it gave
-- the turn back, 0 when the turn was closed already or its state is gone.
-- This file is put before pick.lua and settle.lua, which both call it.
local function refund_turn(state, daycounts, open, seq, today)
  local rec = redis.call('HGET', open, seq)
  if not rec then return 0 end
  redis.call('HDEL', open, seq)
  local t = {}
  for w in string.gmatch(rec, '%S+') do t[#t + 1] = w end
  if redis.call('HGET', state, 'epoch') ~= t[1] then return 0 end
  for i = 5, #t, 2 do
    local f = 'w:' .. t[i]
    if redis.call('HEXISTS', state, f) == 1 then
      redis.call('HINCRBY', state, f, -tonumber(t[i + 1]))
    end
  end
  if t[2] == today and tonumber(redis.call('HGET', daycounts, t[4]) or '0') > 0 then
    redis.call('HINCRBY', daycounts, t[4], -1)
  end
  if tonumber(redis.call('HGET', state, 'o:' .. t[4]) or '0') > 0 then
    redis.call('HINCRBY', state, 'o:' .. t[4], -1)
  end
  return 1
end
