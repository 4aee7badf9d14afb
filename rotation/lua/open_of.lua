-- open_of.lua: lists the open turns of the rotation's current state that
-- went to some members (see pick.lua's KEYS[4]): taken, their leads not
-- known to be stored. Counting those members' open leads afresh counts
-- these turns whose leads the store does not have yet.
--
-- KEYS[1] -> the rotation's state hash ("epoch")
-- KEYS[2] -> the rotation's open turns
-- ARGV -> the members
--
-- Returns {user, seq, user, seq, ...}.
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local want = {}
for _, u in ipairs(ARGV) do want[u] = true end
local out = {}
if not epoch then
  return out
end
local flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do
  local e, user = string.match(flat[i + 1], '^(%S+) %S+ %S+ (%S+)')
  if e == epoch and want[user] then
    out[#out + 1] = user
    out[#out + 1] = flat[i]
  end
end
return out
