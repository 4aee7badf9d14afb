package leads

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// OverviewDays is how many days Overview's daily series covers, today included.
const OverviewDays = 14

// Overview is an account's day at a glance: what came in today, where it
// went, what still waits, and each rotation's fairness today. It is what a
// sales manager opens first.
type Overview struct {
	// Timezone decides where today starts: the default rotation's, else
	// the first rotation's (by id), else DefaultTimezone.
	Timezone string    `json:"timezone"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// Leads counts today's leads (archived ones included, deleted ones not),
	// ByAssignment by where they stand with their assignment.
	Leads        int64                      `json:"leads"`
	ByAssignment map[AssignmentStatus]int64 `json:"byAssignment"`
	// Pending counts every lead that waits for its rotation, today's or
	// older: they are assigned, oldest first, when the rotation answers
	// or someone can take them. Waiting counts those of them that wait
	// for someone who can take them (AssignmentWaiting).
	Pending int64 `json:"pending"`
	Waiting int64 `json:"waiting"`
	// Hours counts today's leads per hour from From; Days the leads of each
	// of the last OverviewDays days, the oldest first, today last.
	Hours []BucketCount `json:"hours"`
	Days  []BucketCount `json:"days"`
	// Skips counts today's passed-over turn slots per reason, over every
	// rotation.
	Skips map[string]int64 `json:"skips"`
	// Rotations holds each rotation's statistics for its own today, by id.
	Rotations []RotationStats `json:"rotations"`
}

// BucketCount is the number of leads created in [Start, Start+one bucket).
type BucketCount struct {
	Start time.Time `json:"start"`
	Leads int64     `json:"leads"`
}

// Overview returns the account's overview at now.
func (s *Service) Overview(ctx context.Context, actor Actor) (*Overview, error) {
	if err := actor.Require(PermRead); err != nil {
		return nil, err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	rots := cfg.Rotations()
	zone := &Rotation{Timezone: DefaultTimezone}
	if cfg.DefaultRotation != nil {
		zone = cfg.DefaultRotation
	} else if len(rots) > 0 {
		zone = &rots[0]
	}
	now := s.clock()
	today := zone.DayStart(now)
	first := zone.DayStart(today.AddDate(0, 0, -(OverviewDays - 1)).Add(12 * time.Hour))
	end := today.AddDate(0, 0, 1)
	counts, err := s.store.LeadArrivals(ctx, actor.AccountID, first.UTC(), end.UTC(), today.UTC())
	if err != nil {
		return nil, fmt.Errorf("overview: %w", err)
	}
	ov := &Overview{Timezone: zone.Location().String(), From: today.UTC(), To: end.UTC(), Leads: counts.Today,
		ByAssignment: map[AssignmentStatus]int64{AssignmentAssigned: 0, AssignmentUnassigned: 0, AssignmentPending: 0, AssignmentWaiting: 0},
		Pending:      counts.Pending, Waiting: counts.Waiting,
		Skips: map[string]int64{}, Rotations: []RotationStats{}}
	for k, n := range counts.ByAssignment {
		ov.ByAssignment[k] = n
	}
	// Hours are folded into local days by the local date of each hour's
	// start, so a day of 23 or 25 hours (daylight saving) is still one day.
	loc := zone.Location()
	hours := int(end.Sub(first) / time.Hour)
	for d := first; d.Before(end); d = zone.DayStart(d.AddDate(0, 0, 1).Add(12 * time.Hour)) {
		ov.Days = append(ov.Days, BucketCount{Start: d.UTC()})
	}
	for h := 0; h < hours; h++ {
		start := first.Add(time.Duration(h) * time.Hour)
		n := counts.Hours[int64(h)]
		if !start.Before(today) {
			ov.Hours = append(ov.Hours, BucketCount{Start: start.UTC(), Leads: n})
		}
		day := zone.DayStart(start.In(loc))
		for i := range ov.Days {
			if ov.Days[i].Start.Equal(day.UTC()) {
				ov.Days[i].Leads += n
				break
			}
		}
	}
	for i := range rots {
		st, err := s.rotationStats(ctx, cfg, &rots[i], nil, nil)
		if err != nil {
			return nil, err
		}
		for _, m := range st.Members {
			for reason, n := range m.Skips {
				ov.Skips[reason] += n
			}
		}
		ov.Rotations = append(ov.Rotations, *st)
	}
	return ov, nil
}

// Rotations lists the configuration's rotations (copies) by id.
func (c *AccountConfig) Rotations() []Rotation {
	out := []Rotation{}
	for _, r := range c.allRotations() {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Rotation) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
