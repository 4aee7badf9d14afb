package console

import (
	"context"
	"maps"
	"slices"

	"github.com/leadrotor/leadrotor/leads"
)

type todayData struct {
	Overview *leads.Overview
	// Assigned and Unassigned count today's leads by where they stand.
	Assigned, Unassigned int64
	Hours                barChart
	Days                 barChart
	Skips                barChart
	Rotations            []rotationSummary
	// Accept is the time-to-accept table: a row per rotation and member
	// who had a lead of it today, or let one's time run out.
	Accept []acceptRow
}

// acceptRow is one rep's speed to lead in one rotation today.
type acceptRow struct {
	RotationID int64
	Rotation   string
	User       string
	Speed      leads.SpeedToLead
	Expired    int64
}

type rotationSummary struct {
	Stats leads.RotationStats
	Chart shareChart
}

// today is the first page: today's leads, where they went, what waits,
// each rotation's fairness, and how fast each rep accepted their leads.
func (c *Console) today(ctx context.Context, r *request) (any, error) {
	ov, err := c.svc.Overview(ctx, r.actor)
	if err != nil {
		return nil, err
	}
	d := todayData{Overview: ov, Assigned: ov.ByAssignment[leads.AssignmentAssigned], Unassigned: ov.ByAssignment[leads.AssignmentUnassigned]}
	loc := location(ov.Timezone)
	var labels []string
	var values []int64
	for _, h := range ov.Hours {
		labels = append(labels, h.Start.In(loc).Format("15:00"))
		values = append(values, h.Leads)
	}
	d.Hours = newBarChart("hours", "Leads per hour today", labels, values, 3)
	labels, values = nil, nil
	for _, day := range ov.Days {
		labels = append(labels, day.Start.In(loc).Format("Jan 2"))
		values = append(values, day.Leads)
	}
	d.Days = newBarChart("days", "Leads per day, last two weeks", labels, values, 2)
	labels, values = nil, nil
	for _, k := range slices.Sorted(maps.Keys(ov.Skips)) {
		labels = append(labels, reasonText[k])
		values = append(values, ov.Skips[k])
	}
	d.Skips = newBarChart("skips", "Turn slots passed over today, by reason", labels, values, 1)
	for i := range ov.Rotations {
		d.Rotations = append(d.Rotations, rotationSummary{Stats: ov.Rotations[i], Chart: newShareChart(&ov.Rotations[i])})
	}
	d.Accept = acceptRows(ov.Rotations)
	return d, nil
}

// acceptRows is the time-to-accept table of rotations' stats. The
// Overview's are each rotation's RotationStats for its own today, so the
// page asks for them once.
func acceptRows(rots []leads.RotationStats) []acceptRow {
	var rows []acceptRow
	for _, st := range rots {
		for _, m := range st.Members {
			if m.SpeedToLead.Leads == 0 && m.SLA.Expired == 0 {
				continue
			}
			rows = append(rows, acceptRow{RotationID: st.RotationID, Rotation: st.Name, User: m.User, Speed: m.SpeedToLead, Expired: m.SLA.Expired})
		}
	}
	return rows
}
