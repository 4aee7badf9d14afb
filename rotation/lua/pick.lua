-- pick.lua: takes the next k turns of one rotation, atomically, in order.
-- refund_turn.lua is put before it.
-- Each turn mirrors rotation.Pick (swrr.go) step for step; the shared test
-- table and the fuzz target keep them equal. Taking several turns in one
-- script is how concurrent requests for one rotation share a round trip.
--
-- KEYS[1] -> the rotation's state hash: "epoch", "seq", "w:<user>" -> current weight
-- KEYS[2] -> the rotation's counts of the day: <user> -> leads assigned that day
-- KEYS[3] -> the calling process's record of its last batch of this rotation:
--            "t" -> its ticket, "s" -> the seq before its first turn, "k" ->
--            the turns it took
-- KEYS[4] -> the rotation's open turns: seq -> "epoch day micros assignee
--            (user delta)*", a turn taken whose lead is not known to be
--            stored: it is closed when it is (acked), or given back (refunded
--            with its deltas) when it is known not to be, whoever finds out
-- ARGV[1] -> seconds to keep the day hash
-- ARGV[2] -> k, the number of turns to take (0: only settle)
-- ARGV[3] -> n, the number of members
-- ARGV[4 .. 3+5n] -> per member, in turn order: user, weight, state, daily
--   cap (0 = none), capacity (0 = none); state is 0 for a member who may
--   take turns (caps aside), else the reason it may not (paused,
--   outside_hours, out_of_office, holiday…), the skip reason reported for
--   its slots. A member with a capacity has its open leads in the state
--   hash as "o:<user>"; one taken increments it.
-- ARGV[4+5n] -> deadline, in microseconds of the Redis clock (0: none)
-- ARGV[5+5n] -> this batch's ticket
-- ARGV[6+5n] -> milliseconds to keep the record
-- ARGV[7+5n] -> the day of KEYS[2] (YYYY-MM-DD)
-- ARGV[8+5n] -> a, the number of turns acked: their leads are stored
-- ARGV[9+5n .. 8+5n+a] -> their seqs, closed
-- ARGV[9+5n+a ..] -> tickets of earlier batches whose replies the caller never
--   got: if the record is one of them, that batch ran and nobody got its
--   turns, so those still open are given back before anything else
--
-- Returns {"expired"}, changing nothing, when it runs after its deadline: the
--   caller has given up waiting by then (a Redis that hung with the script
--   in its input), and a turn it never hears of would be lost to the order;
-- {"init"} when there is no state (never made, or lost): the caller
--   rebuilds it from the store and calls again;
-- {"load", user...} when members with a capacity have no count of open
--   leads yet (the capacity is new, or they joined): the caller counts
--   them from the store, sets them (fill_load.lua) and calls again;
-- else {epoch, seq, m, m x turn, n x weight}: seq is the number of the last
--   turn taken before, m <= k the turns taken (the rest found nobody eligible
--   and changed nothing), and each turn is
--   {assignee index (1-based), s, s x (member index, reason, slots), n x delta}
--   with skips in member order and deltas what the turn added to each
--   member's current weight; and, when m > 0 and a checkpoint turn (1, or
--   a multiple of 16) is among seq+1 .. seq+k, {n x weight, o, o x seq,
--   n x sum}: the members' current weights after the last turn, then the
--   turns of this state open before the batch and what they add to each
--   member's current weight (the caller derives checkpoints from them).
local k, n = tonumber(ARGV[2]), tonumber(ARGV[3])
local deadline = tonumber(ARGV[4 + 5 * n]) or 0
if deadline > 0 then
  local now = redis.call('TIME')
  if tonumber(now[1]) * 1000000 + tonumber(now[2]) > deadline then
    return {'expired'}
  end
end
local ticket, keep, today = ARGV[5 + 5 * n], tonumber(ARGV[6 + 5 * n]), ARGV[7 + 5 * n]
local acks = tonumber(ARGV[8 + 5 * n])


for i = 9 + 5 * n, 8 + 5 * n + acks do
  redis.call('HDEL', KEYS[4], ARGV[i])
end
if #ARGV >= 9 + 5 * n + acks then
  local last = redis.call('HMGET', KEYS[3], 't', 's', 'k')
  local lost = false
  for i = 9 + 5 * n + acks, #ARGV do
    if last[1] == ARGV[i] then lost = true end
  end
  if lost then
    for seq = tonumber(last[2]) + 1, tonumber(last[2]) + tonumber(last[3]) do
      refund_turn(KEYS[1], KEYS[2], KEYS[4], tostring(seq), today)
    end
    redis.call('DEL', KEYS[3])
  end
end
local fields = {'epoch', 'seq'}
local users, weights, away, caps, maxo = {}, {}, {}, {}, {}
local total, capped, full = 0, {}, {}
for i = 1, n do
  local base = 3 + (i - 1) * 5
  users[i], weights[i], caps[i], maxo[i] = ARGV[base + 1], tonumber(ARGV[base + 2]), tonumber(ARGV[base + 4]), tonumber(ARGV[base + 5])
  if ARGV[base + 3] ~= '0' then away[i] = ARGV[base + 3] end
  if weights[i] < 1 then weights[i] = 1 end
  total = total + weights[i]
  fields[2 + i] = 'w:' .. users[i]
  if caps[i] > 0 then capped[#capped + 1] = i end
  if maxo[i] > 0 then full[#full + 1] = i end
end
for j, i in ipairs(full) do fields[2 + n + j] = 'o:' .. users[i] end

local raw = redis.call('HMGET', KEYS[1], unpack(fields))
if not raw[1] then
  return {'init'}
end
-- Open leads of the members with a capacity, after the weights in raw.
local load, missing = {}, {'load'}
for j, i in ipairs(full) do
  load[i] = tonumber(raw[2 + n + j])
  if not load[i] then missing[#missing + 1] = users[i] end
end
if #missing > 1 then
  return missing
end
local seq = tonumber(raw[2]) or 0
local cw, counts, gained = {}, {}, {}
local lo, hi
for i = 1, n do
  cw[i] = tonumber(raw[2 + i]) or 0
  counts[i], gained[i] = 0, 0
end
if #capped > 0 then
  local names = {}
  for j, i in ipairs(capped) do names[j] = users[i] end
  local day = redis.call('HMGET', KEYS[2], unpack(names))
  for j, i in ipairs(capped) do counts[i] = tonumber(day[j]) or 0 end
end

-- A checkpoint leaves out the turns open at its moment (leads.Checkpoint):
-- when one falls in this batch (turn 1, then every 16th: checkpointEvery in
-- swrr.go), the turns open before it, of this state, and what they add to
-- each member's current weight are returned too.
local wantOpen = false
for s = seq + 1, seq + k do
  if s == 1 or s % 16 == 0 then wantOpen = true break end
end
local openSeqs, openSum = {}, {}
if wantOpen then
  local index = {}
  for i = 1, n do
    openSum[i] = 0
    index[users[i]] = i
  end
  local flat = redis.call('HGETALL', KEYS[4])
  for j = 1, #flat, 2 do
    local t = {}
    for w in string.gmatch(flat[j + 1], '%S+') do t[#t + 1] = w end
    if t[1] == raw[1] then
      openSeqs[#openSeqs + 1] = flat[j]
      for x = 5, #t, 2 do
        local i = index[t[x]]
        if i then openSum[i] = openSum[i] + tonumber(t[x + 1]) end
      end
    end
  end
end

local out = {raw[1], seq, 0}
local taken = 0
local now = redis.call('TIME')
local micros = now[1] .. string.format('%06d', tonumber(now[2]))
local open = {}
for _ = 1, k do
  local eligible, any = {}, false
  for i = 1, n do
    eligible[i] = not away[i] and (caps[i] == 0 or counts[i] < caps[i]) and (maxo[i] == 0 or load[i] < maxo[i])
    any = any or eligible[i]
  end
  if not any then break end
  lo, hi = cw[1], cw[1]
  for i = 2, n do
    if cw[i] < lo then lo = cw[i] end
    if cw[i] > hi then hi = cw[i] end
  end
  -- Walk the round-robin's slots until one belongs to an eligible member.
  -- The last step allowed considers eligible members only, so it ends.
  local limit = 2 * total + (hi - lo) + n
  local slots, steps, best = {}, 0, 0
  for i = 1, n do slots[i] = 0 end
  while true do
    steps = steps + 1
    best = 0
    for i = 1, n do
      cw[i] = cw[i] + weights[i]
      if (steps < limit or eligible[i]) and (best == 0 or cw[i] > cw[best]) then
        best = i
      end
    end
    cw[best] = cw[best] - total
    slots[best] = slots[best] + 1
    if eligible[best] then break end
  end
  counts[best], gained[best] = counts[best] + 1, gained[best] + 1
  if maxo[best] > 0 then load[best] = load[best] + 1 end
  taken = taken + 1
  out[#out + 1] = best
  local at = #out + 1
  out[at] = 0
  for i = 1, n do
    if not eligible[i] and slots[i] > 0 then
      out[at] = out[at] + 1
      out[#out + 1] = i
      if away[i] then
        out[#out + 1] = away[i]
      elseif caps[i] > 0 and counts[i] >= caps[i] then
        out[#out + 1] = 'daily_cap'
      else
        out[#out + 1] = 'at_capacity'
      end
      out[#out + 1] = slots[i]
    end
  end
  local rec = {raw[1], today, micros, users[best]}
  for i = 1, n do
    local d = steps * weights[i] - total * slots[i]
    out[#out + 1] = d
    rec[#rec + 1] = users[i]
    rec[#rec + 1] = d
  end
  open[#open + 1] = tostring(seq + taken)
  open[#open + 1] = table.concat(rec, ' ')
end
out[3] = taken
if taken == 0 then
  return out
end

local args = {'seq', seq + taken}
for i = 1, n do
  args[#args + 1] = fields[2 + i]
  args[#args + 1] = cw[i]
end
for _, i in ipairs(full) do
  args[#args + 1] = 'o:' .. users[i]
  args[#args + 1] = load[i]
end
redis.call('HSET', KEYS[1], unpack(args))
-- Drop the weights of members no longer in the list, and the open leads of
-- members without a capacity ("epoch" and "seq" are the two other fields).
if redis.call('HLEN', KEYS[1]) > #fields then
  local keepf = {}
  for _, f in ipairs(fields) do keepf[f] = true end
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if not keepf[f] then
      redis.call('HDEL', KEYS[1], f)
    end
  end
end
for i = 1, n do
  if gained[i] > 0 then redis.call('HINCRBY', KEYS[2], users[i], gained[i]) end
end
redis.call('HSET', KEYS[4], unpack(open))
redis.call('EXPIRE', KEYS[2], ARGV[1])
-- Which turns this batch took, so that the caller can give them back should
-- the reply never reach it.
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 't', ticket, 's', seq, 'k', taken)
redis.call('PEXPIRE', KEYS[3], keep)
if wantOpen then
  for i = 1, n do
    out[#out + 1] = cw[i]
  end
  out[#out + 1] = #openSeqs
  for _, sq in ipairs(openSeqs) do out[#out + 1] = sq end
  for i = 1, n do out[#out + 1] = openSum[i] end
end
return out
