package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
)

// answer is what leadbench reads of a 201: the lead's assignee and, when a
// rotation's turn assigned it, the rotation and the turn's number.
type answer struct {
	assignee       string
	rotation, turn int64
}

// readAnswer reads a 201's answer without decoding the whole lead (the
// load tool shares the machine with what it measures): from the lead's own
// fields, which come before its audit log.
func readAnswer(body []byte) answer {
	if i := bytes.Index(body, []byte(`"auditLog":`)); i >= 0 {
		body = body[:i]
	}
	return answer{assignee: jsonString(body, "assignedTo"), rotation: jsonInt(body, "rotationId"),
		turn: jsonInt(body, "rotationTurn")}
}

// jsonString returns the first string value of key in body, "" when none.
func jsonString(body []byte, key string) string {
	k := `"` + key + `":"`
	i := bytes.Index(body, []byte(k))
	if i < 0 {
		return ""
	}
	rest := body[i+len(k):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// jsonInt returns the first whole-number value of key in body, 0 when none.
func jsonInt(body []byte, key string) int64 {
	k := `"` + key + `":`
	i := bytes.Index(body, []byte(k))
	if i < 0 {
		return 0
	}
	rest := body[i+len(k):]
	j := 0
	for j < len(rest) && '0' <= rest[j] && rest[j] <= '9' {
		j++
	}
	n, _ := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n
}

// exactnessReport is the bench rotation's turns, as the answers numbered
// them, against smooth weighted round-robin replayed here (rotation.Pick,
// the reference the Lua script follows, over the rotation's members from
// its first turn). It covers every lead leadbench saw a turn of, warmup
// included. (maxDeviation, beside it, counts only the measured run's
// leads: a run of turns that starts mid-sequence, where an exact rotation
// may be up to 2 off a member's share, since SWRR keeps each prefix of its
// sequence within 1 and a run is the difference of two prefixes.)
type exactnessReport struct {
	// Checked is false when there was nothing to check: Why says why.
	Checked bool   `json:"checked"`
	Why     string `json:"why,omitempty"`
	// Turns is how many turns were seen, First and Last the lowest and
	// highest. The First-1 turns before are taken to be the reference's
	// (another leadbench's warmup, say): they are replayed, not checked.
	Turns int64 `json:"turns"`
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	// Missing counts the turns from First to Last that no answer seen
	// took (a client other than leadbench, a lead that failed after its
	// turn); Repeated, turns two answers gave different assignees.
	Missing  int64 `json:"missing"`
	Repeated int64 `json:"repeated"`
	// Differ counts the turns seen whose assignee is not the reference's.
	Differ int64 `json:"differ"`
	// PrefixMaxDeviation is, over every prefix of the sequence (turns 1 to
	// k, k from First to the first missing turn), the largest |a member's
	// leads - k × its weighted share|: under 1 for an exact rotation.
	PrefixMaxDeviation float64 `json:"prefixMaxDeviation"`
}

// turnLog collects the turns of the bench rotation that answers gave.
type turnLog map[int64]string

// add notes a's turn when it is rotation's; false when the turn was seen
// before with another assignee.
func (l turnLog) add(a answer, rotation int64) bool {
	if a.turn == 0 || a.rotation != rotation {
		return true
	}
	if prev, ok := l[a.turn]; ok {
		return prev == a.assignee
	}
	l[a.turn] = a.assignee
	return true
}

// exactness replays the turns in log against members, in turn order.
func exactness(log turnLog, repeated int64, members []leads.RotationMember) *exactnessReport {
	r := &exactnessReport{Turns: int64(len(log)), Repeated: repeated}
	if len(log) == 0 || len(members) == 0 {
		r.Why = "no turns of the bench rotation were seen"
		return r
	}
	r.First, r.Last = math.MaxInt64, 0
	for t := range log {
		r.First, r.Last = min(r.First, t), max(r.Last, t)
	}
	r.Missing = r.Last - r.First + 1 - r.Turns
	var total int64
	for _, m := range members {
		total += int64(max(m.Weight, 1))
	}
	share := map[string]float64{}
	for _, m := range members {
		share[m.User] = float64(max(m.Weight, 1)) / float64(total)
	}
	st := rotation.State{Current: map[string]int64{}, DayCounts: map[string]int64{}, Load: map[string]int64{}}
	got := map[string]int64{}
	contiguous := true
	for turn := int64(1); turn <= r.Last; turn++ {
		want := rotation.Pick(members, &st).Assignee
		user, seen := log[turn]
		switch {
		case turn < r.First:
			got[want]++ // before leadbench's first: the reference's
			continue
		case !seen:
			contiguous = false
			continue
		case user != want:
			r.Differ++
		}
		if contiguous {
			got[user]++
			for u, s := range share {
				r.PrefixMaxDeviation = max(r.PrefixMaxDeviation, math.Abs(float64(got[u])-float64(turn)*s))
			}
		}
	}
	r.PrefixMaxDeviation = math.Round(r.PrefixMaxDeviation*1000) / 1000
	r.Checked = true
	return r
}

// print writes the report's line.
func (r *exactnessReport) print(w io.Writer) {
	if !r.Checked {
		fmt.Fprintf(w, "  exactness       not checked: %s\n", r.Why)
		return
	}
	fmt.Fprintf(w, "  exactness       turns %d-%d: %d seen, %d differ from smooth weighted round-robin, %d repeated; every prefix within %.2f of the shares\n",
		r.First, r.Last, r.Turns, r.Differ, r.Repeated, r.PrefixMaxDeviation)
}

// checkExactness replays the turns the runs saw against the bench
// rotation as the server has it; nil when the target has no rotations.
func checkExactness(ctx context.Context, t *benchTarget) *exactnessReport {
	if t.noRotations {
		return nil
	}
	rot, err := benchRotation(ctx, t)
	if err != nil {
		return &exactnessReport{Why: err.Error()}
	}
	log := turnLog{}
	var repeated int64
	for _, a := range t.answers {
		if !log.add(a, rot.ID) {
			repeated++
		}
	}
	return exactness(log, repeated, rot.Members)
}
