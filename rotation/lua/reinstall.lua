-- reinstall.lua: replaces a rotation state that is behind the store (a turn
-- it handed out is recorded already, with another lead: Redis lost its last
-- writes, as in a failover to a replica that had not received them) by one
-- rebuilt from the store, unless that state was replaced since.
--
-- The new state numbers its turns after both the store's last turn and the
-- old state's (whose open turns may still be on their way to the store), so
-- that no number is handed out twice. The old state's open turns numbered
-- after the store's last turn (taken from the old state, their leads not
-- recorded when the store was read) move to the new state: their deltas,
-- day count and open lead are added to it and their records take its epoch,
-- so that a refund or a settling of them applies to the new state. Those
-- numbered up to the store's last turn are left to close: their leads are
-- either recorded (and counted by the store's history) or will be refused.
--
-- KEYS[1] -> the rotation's state hash
-- KEYS[2] -> the rotation's counts of the current day
-- KEYS[3] -> the rotation's open turns (see pick.lua's KEYS[4])
-- ARGV[1] -> the epoch of the state that is behind
-- ARGV[2] -> the current day (YYYY-MM-DD)
-- ARGV[3 ..] -> as install.lua's ARGV: new epoch, the store's last turn,
--   seconds to keep the day hash, n, n x (user, weight), m, m x (user, open
--   leads), then pairs of user, leads assigned that day
--
-- Returns 1 when replaced, 0 when the state is not the one behind (rebuilt
-- since by another caller, or gone: the next pick rebuilds it).
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then
  return 0
end
local stale, today, epoch = ARGV[1], ARGV[2], ARGV[3]
local last = tonumber(ARGV[4])
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq')) or 0
if last > seq then seq = last end
local n = tonumber(ARGV[6])
local users, weight = {}, {}
for i = 7, 6 + 2 * n, 2 do
  users[#users + 1] = ARGV[i]
  weight[ARGV[i]] = tonumber(ARGV[i + 1])
end
local m = tonumber(ARGV[7 + 2 * n])
local load, loaded = {}, {}
for i = 8 + 2 * n, 7 + 2 * n + 2 * m, 2 do
  loaded[#loaded + 1] = ARGV[i]
  load[ARGV[i]] = tonumber(ARGV[i + 1])
end
local day, counted = {}, {}
for i = 8 + 2 * n + 2 * m, #ARGV, 2 do
  counted[#counted + 1] = ARGV[i]
  day[ARGV[i]] = tonumber(ARGV[i + 1])
end
local flat = redis.call('HGETALL', KEYS[3])
for j = 1, #flat, 2 do
  local t = {}
  for w in string.gmatch(flat[j + 1], '%S+') do t[#t + 1] = w end
  if t[1] == stale and tonumber(flat[j]) > last then
    for x = 5, #t, 2 do
      if weight[t[x]] then weight[t[x]] = weight[t[x]] + tonumber(t[x + 1]) end
    end
    local who = t[4]
    if t[2] == today then
      if not day[who] then counted[#counted + 1] = who end
      day[who] = (day[who] or 0) + 1
    end
    if load[who] then load[who] = load[who] + 1 end
    t[1] = epoch
    redis.call('HSET', KEYS[3], flat[j], table.concat(t, ' '))
  end
end
redis.call('DEL', KEYS[1])
local state = {'epoch', epoch, 'seq', seq}
for _, u in ipairs(users) do
  state[#state + 1] = 'w:' .. u
  state[#state + 1] = weight[u]
end
for _, u in ipairs(loaded) do
  state[#state + 1] = 'o:' .. u
  state[#state + 1] = load[u]
end
redis.call('HSET', KEYS[1], unpack(state))
redis.call('DEL', KEYS[2])
for _, u in ipairs(counted) do
  redis.call('HSET', KEYS[2], u, day[u])
end
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
