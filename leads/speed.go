package leads

import (
	"slices"
	"time"
)

// LeadTiming is when one lead was assigned to its rep, accepted and first
// touched (nil: not yet).
type LeadTiming struct {
	AssignedAt   time.Time
	AcceptedAt   *time.Time
	FirstTouchAt *time.Time
}

// SpeedToLead is how fast a rep took up the leads a rotation gave them in
// a window (those still theirs): how many were accepted and touched, and
// the 50th and 90th percentiles of the time it took, in seconds (absent
// while none was).
type SpeedToLead struct {
	Leads                int64    `json:"leads"`
	Accepted             int64    `json:"accepted"`
	Touched              int64    `json:"touched"`
	AcceptP50Seconds     *float64 `json:"acceptP50Seconds,omitempty"`
	AcceptP90Seconds     *float64 `json:"acceptP90Seconds,omitempty"`
	FirstTouchP50Seconds *float64 `json:"firstTouchP50Seconds,omitempty"`
	FirstTouchP90Seconds *float64 `json:"firstTouchP90Seconds,omitempty"`
}

// speedToLead sums up timings.
func speedToLead(timings []LeadTiming) SpeedToLead {
	var accept, touch []float64
	for _, t := range timings {
		if t.AcceptedAt != nil {
			accept = append(accept, max(t.AcceptedAt.Sub(t.AssignedAt).Seconds(), 0))
		}
		if t.FirstTouchAt != nil {
			touch = append(touch, max(t.FirstTouchAt.Sub(t.AssignedAt).Seconds(), 0))
		}
	}
	out := SpeedToLead{Leads: int64(len(timings)), Accepted: int64(len(accept)), Touched: int64(len(touch))}
	out.AcceptP50Seconds, out.AcceptP90Seconds = percentile(accept, 50), percentile(accept, 90)
	out.FirstTouchP50Seconds, out.FirstTouchP90Seconds = percentile(touch, 50), percentile(touch, 90)
	return out
}

// percentile returns the p-th percentile of xs by nearest rank, nil for
// none. It sorts xs.
func percentile(xs []float64, p int) *float64 {
	if len(xs) == 0 {
		return nil
	}
	slices.Sort(xs)
	rank := (p*len(xs) + 99) / 100 // ceil(p/100 * n), from 1
	v := xs[max(rank, 1)-1]
	return &v
}
