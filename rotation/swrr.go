package rotation

import (
	"maps"

	"github.com/leadrotor/leadrotor/leads"
)

// State is a rotation's state between turns.
//
// Turns follow the smooth weighted round-robin of nginx over all members,
// eligible or not: each step adds every member's weight to its current weight
// and charges the total weight to the member with the highest current weight
// (the first in list order on ties); that member owns the step's slot. A turn
// walks steps until it reaches the slot of an eligible member. A paused or
// capped member's slots pass while it is out, so it returns at the current
// position of the order, with no backlog to catch up.
type State struct {
	// Epoch identifies this state; it changes when the state is rebuilt.
	Epoch string
	// Seq is the number of the last turn taken.
	Seq int64
	// Current holds each member's current weight; a member not present has 0.
	Current map[string]int64
	// DayCounts holds the leads each member got on the current day.
	DayCounts map[string]int64
	// Load holds the open leads of each member with a capacity
	// (RotationMember.MaxOpenLeads): in the whole account, not only from
	// this rotation. A member with a capacity who is not present has not
	// been counted yet: the Rotator counts them from the store first.
	Load map[string]int64
}

// Clone returns a deep copy of st.
func (st State) Clone() State {
	st.Current = maps.Clone(st.Current)
	st.DayCounts = maps.Clone(st.DayCounts)
	st.Load = maps.Clone(st.Load)
	return st
}

// Decision is the outcome of one Pick.
type Decision struct {
	// Assignee is the member whose turn it is; "" when nobody is eligible, in
	// which case the state is unchanged.
	Assignee string
	// Skipped lists, in member order, the ineligible members whose slots the
	// turn passed, with the reason and the number of slots.
	Skipped []leads.Skip
	// Deltas is what the turn added to each member's current weight; it
	// subtracts exactly, even after later turns, because every update of
	// the algorithm is an addition.
	Deltas map[string]int64
}

// Pick takes one turn of a rotation with the given members (in turn order) on
// st, and updates st: current weights, Seq, the assignee's day count and,
// when it has a capacity, its open leads. Members no longer in the list are
// dropped from st.Current, and those without a capacity from st.Load. Pick
// is the reference for the Lua script, which must decide identically.
func Pick(members []leads.RotationMember, st *State) Decision {
	n := len(members)
	// One turn's scratch: on the stack for rotations of up to 32 members.
	var small [3 * 32]int64
	scratch := small[:]
	if 3*n > len(small) {
		scratch = make([]int64, 3*n)
	}
	cw, slots, eligible := scratch[:n:n], scratch[n:2*n:2*n], scratch[2*n:3*n:3*n]
	var total int64
	anyEligible := false
	for i, m := range members {
		total += weightOf(m)
		eligible[i] = 0
		if skipReason(m, st) == "" {
			eligible[i] = 1
			anyEligible = true
		}
	}
	if !anyEligible {
		return Decision{}
	}

	for i, m := range members {
		cw[i] = st.Current[m.User]
		slots[i] = 0
	}
	limit := stepLimit(cw, total)
	var steps int64
	best := -1
	for {
		steps++
		best = step(members, cw, total, func(i int) bool { return steps < limit || eligible[i] == 1 })
		slots[best]++
		if eligible[best] == 1 {
			break
		}
	}

	d := Decision{Assignee: members[best].User, Deltas: make(map[string]int64, n)}
	// The weights are updated in place when st holds exactly the members,
	// as between two turns of an unchanged rotation; else st is rebuilt
	// with them alone.
	current := st.Current
	if !holdsExactly(current, members, func(leads.RotationMember) bool { return true }) {
		current = make(map[string]int64, n)
	}
	for i, m := range members {
		current[m.User] = cw[i]
		d.Deltas[m.User] = steps*weightOf(m) - total*slots[i]
		if eligible[i] == 0 && slots[i] > 0 {
			d.Skipped = append(d.Skipped, leads.Skip{User: m.User, Reason: skipReason(m, st), Slots: int(slots[i])})
		}
	}
	st.Current = current
	st.Seq++
	if st.DayCounts == nil {
		st.DayCounts = make(map[string]int64)
	}
	st.DayCounts[d.Assignee]++
	capped := func(m leads.RotationMember) bool { return m.MaxOpenLeads > 0 }
	if !holdsExactly(st.Load, members, capped) {
		load := make(map[string]int64)
		for _, m := range members {
			if capped(m) {
				load[m.User] = st.Load[m.User]
			}
		}
		st.Load = load
	}
	if capped(members[best]) {
		st.Load[d.Assignee]++
	}
	return d
}

// holdsExactly reports whether m has a key for each of the members that
// keep says, and no other.
func holdsExactly(m map[string]int64, members []leads.RotationMember, keep func(leads.RotationMember) bool) bool {
	if m == nil {
		return false
	}
	k := 0
	for _, mem := range members {
		if !keep(mem) {
			continue
		}
		if _, ok := m[mem.User]; !ok {
			return false
		}
		k++
	}
	return len(m) == k
}

// step advances the round-robin by one slot: it adds each weight to cw, picks
// the highest current weight among the members allowed (first on ties),
// charges it the total and returns its index.
func step(members []leads.RotationMember, cw []int64, total int64, allowed func(int) bool) int {
	best := -1
	for i, m := range members {
		cw[i] += weightOf(m)
		if allowed(i) && (best < 0 || cw[i] > cw[best]) {
			best = i
		}
	}
	cw[best] -= total
	return best
}

// stepLimit bounds the slots one turn may walk. From any state an eligible
// member owns a slot well within it; should it not, the last step considers
// eligible members only, so a turn always ends.
func stepLimit(cw []int64, total int64) int64 {
	lo, hi := cw[0], cw[0]
	for _, c := range cw {
		lo, hi = min(lo, c), max(hi, c)
	}
	return 2*total + (hi - lo) + int64(len(cw))
}

// skipReason says why a member is out of the turn order on st, "" if it is
// not (leads.RotationMember.SkipReason). With st nil, only the reasons that
// do not depend on the state count.
func skipReason(m leads.RotationMember, st *State) string {
	if st == nil {
		return m.SkipReason(0, 0)
	}
	return m.SkipReason(st.DayCounts[m.User], st.Load[m.User])
}

// uncounted returns the members of members with a capacity whose open
// leads st has not counted, nil when none.
func uncounted(members []leads.RotationMember, st *State) []string {
	var out []string
	for _, m := range members {
		if m.MaxOpenLeads > 0 {
			if _, ok := st.Load[m.User]; !ok {
				out = append(out, m.User)
			}
		}
	}
	return out
}

// AddLoad adds delta to user's open leads on st, if st counts them; a count
// never goes below 0. It is the reference for the Lua script.
func AddLoad(st *State, user string, delta int64) {
	if c, ok := st.Load[user]; ok {
		st.Load[user] = max(c+delta, 0)
	}
}

func weightOf(m leads.RotationMember) int64 {
	if m.Weight < 1 {
		return 1
	}
	return int64(m.Weight)
}

// Refund subtracts a turn's deltas from st, for members still present, the
// turn's count from its assignee's day count when dayCounts is the turn's
// day, and the lead from its assignee's open leads when st counts them. It
// is the reference for the refund script.
func Refund(st *State, assignee string, deltas map[string]int64, sameDay bool) {
	for user, d := range deltas {
		if c, ok := st.Current[user]; ok {
			st.Current[user] = c - d
		}
	}
	if sameDay && st.DayCounts[assignee] > 0 {
		st.DayCounts[assignee]--
	}
	AddLoad(st, assignee, -1)
}

// checkpointEvery is how often a turn carries the rotation's state as a
// checkpoint: the first turn, then every checkpointEvery-th. Rebuilding
// replays at most that many turns (plus those in flight) from counts.
const checkpointEvery = 16

// isCheckpoint reports whether turn seq carries a checkpoint. (lua/pick.lua
// has the same rule.)
func isCheckpoint(seq int64) bool { return seq == 1 || seq%checkpointEvery == 0 }

// checkpointAmong reports whether one of the k turns after turn seq carries
// a checkpoint.
func checkpointAmong(seq int64, k int) bool {
	for s := seq + 1; s <= seq+int64(k); s++ {
		if isCheckpoint(s) {
			return true
		}
	}
	return false
}

// Resume returns the state that continues a rotation whose state was lost,
// from what the store remembers: turn numbering goes on from the last turn
// and the day's counts are the stored ones.
//
// With a checkpoint (see leads.Turn.Checkpoint) the state is exact: every
// step of the round-robin adds each member's weight to its current weight
// and charges the total to the member owning the slot, so K slots after the
// checkpoint, of which member i owned S_i, leave i at checkpoint_i + K*w_i -
// total*S_i. (Exact as long as the member list did not change in between; a
// member added since starts from 0, as the rotator would have started it.)
//
// Without one (a rotation whose turns predate checkpoints) the order
// resumes after the member of the last assigned lead: the round-robin is
// stepped from the start until that member's first slot. With equal weights
// the next turn is the member after it in list order.
func Resume(members []leads.RotationMember, hist leads.RotationHistory, epoch string) State {
	st := State{Epoch: epoch, Seq: hist.LastTurn, Current: make(map[string]int64, len(members)), DayCounts: maps.Clone(hist.AssignedSince)}
	if st.DayCounts == nil {
		st.DayCounts = make(map[string]int64)
	}
	cw := make([]int64, len(members))
	var total int64
	last := -1
	for i, m := range members {
		total += weightOf(m)
		if m.User == hist.LastAssignee {
			last = i
		}
	}
	if hist.Checkpoint != nil {
		var slots int64
		for _, n := range hist.SlotsSince {
			slots += n
		}
		for _, m := range members {
			st.Current[m.User] = hist.Checkpoint[m.User] + slots*weightOf(m) - total*hist.SlotsSince[m.User]
		}
		return st
	}
	if last >= 0 {
		all := func(int) bool { return true }
		for range total {
			if step(members, cw, total, all) == last {
				break
			}
		}
	}
	for i, m := range members {
		st.Current[m.User] = cw[i]
	}
	return st
}
