-- settle.lua: closes open turns of one rotation (see pick.lua's KEYS[4]):
-- those whose leads are stored are only closed; those whose leads are known
-- not to be (their write failed, or its process died before it) are given
-- back. A turn is settled once: a second settle of it, by this process or
-- another, finds it closed and does nothing.
--
-- KEYS[1] -> the rotation's state hash
-- KEYS[2] -> the rotation's counts of the day ARGV[1]
-- KEYS[3] -> the rotation's open turns
-- ARGV[1] -> the day of KEYS[2] (YYYY-MM-DD): turns of that day give their
--            count back; the counts of other days are left
-- ARGV[2] -> r, the number of turns to give back
-- ARGV[3 .. 2+r] -> their seqs
-- ARGV[3+r ..] -> seqs of turns whose leads are stored: closed only
--
-- Returns the number of turns given back (0 for a turn already settled, or
-- taken from a state that has been rebuilt since, which never counted it).
local today, r = ARGV[1], tonumber(ARGV[2])


local given = 0
for i = 3, 2 + r do
  given = given + refund_turn(KEYS[1], KEYS[2], KEYS[3], ARGV[i], today)
end
for i = 3 + r, #ARGV do
  redis.call('HDEL', KEYS[3], ARGV[i])
end
return given
