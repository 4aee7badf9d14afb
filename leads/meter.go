package leads

// Meter is told what a Service did, for an operator's metrics (package
// metrics counts it for Prometheus). It is called on the create path, after
// the write it reports has committed: every call must be cheap, must not
// block and must be safe for concurrent use. Labels come from fixed sets
// (assignment reasons, skip reasons, SLA actions), never from ids, so that
// a metric keeps a bounded number of series.
type Meter interface {
	// Count adds n to what, with label (see each Measure for its labels).
	Count(what Measure, label string, n int)
}

// Measure names a count a Meter keeps.
type Measure int

// The measures.
const (
	// MeasureLeadCreated: CreateLead stored a new lead. Label: how it was
	// assigned, its Assignment.Reason (rotation, fallback, explicit, rule,
	// returning_owner, held, waiting, deferred, no_eligible_member,
	// no_rotation).
	MeasureLeadCreated Measure = iota
	// MeasureLeadAssigned: a lead got a new assignee by the engine or a
	// person. Label: at creation, the Assignment.Reason (rotation,
	// fallback, explicit, rule, returning_owner); later, what moved it:
	// MeterCausePending (the background assigner, after a deferral or a
	// wait), MeterCauseManual (AssignLead), MeterCauseReturned (an upsert
	// routed a returning lead again) or AssignSLAExpired.
	MeasureLeadAssigned
	// MeasureLeadDeferred: a lead was stored without asking its rotation,
	// which did not answer, to be assigned later. No label.
	MeasureLeadDeferred
	// MeasureLeadWaiting: a lead started to wait for someone in its
	// rotation to be able to take it. No label.
	MeasureLeadWaiting
	// MeasureLeadReturned: an upsert found the lead (a returning contact).
	// Label: what matched it (MatchEmail or MatchExternalID).
	MeasureLeadReturned
	// MeasureRotationTurn: a rotation turn gave a lead to a member and was
	// kept (a turn given back is not counted). No label.
	MeasureRotationTurn
	// MeasureRotationSkip: a kept turn passed over a member. Label: the
	// Skip's Reason (paused, daily_cap, outside_hours, …).
	MeasureRotationSkip
	// MeasureSLAExpired: an SLA's time ran out on a lead. Label: what
	// happened (SLAReassigned, SLAFallback, SLAHold, SLAKeep, or SLAWait:
	// the deadline moved to when someone is back).
	MeasureSLAExpired
	// MeasureConfigLoad: an account's configuration was (re)loaded into
	// the Service's cache. No label.
	MeasureConfigLoad
)

// What moved a lead assigned after its creation (MeasureLeadAssigned).
const (
	MeterCausePending  = "pending"
	MeterCauseManual   = "manual"
	MeterCauseReturned = "returned"
)

// WithMeter makes the Service report what it does to m.
func WithMeter(m Meter) Option { return func(s *Service) { s.meter = m } }

// nopMeter is the Meter of a Service given none.
type nopMeter struct{}

func (nopMeter) Count(Measure, string, int) {}

// meterCreated reports a lead CreateLead stored, assigned by a.
func (s *Service) meterCreated(lead *Lead, a Assignment) {
	s.meter.Count(MeasureLeadCreated, a.Reason, 1)
	switch {
	case lead.AssignedTo != "":
		s.meter.Count(MeasureLeadAssigned, a.Reason, 1)
	case lead.AssignmentStatus == AssignmentPending:
		s.meter.Count(MeasureLeadDeferred, "", 1)
	case lead.AssignmentStatus == AssignmentWaiting:
		s.meter.Count(MeasureLeadWaiting, "", 1)
	}
}

// meterAssigned reports that lead went from assignee before to its assignee now
// (none: unassigned) because of cause, and whether it started to wait.
func (s *Service) meterAssigned(before, after *Lead, cause string) {
	if after.AssignedTo != "" && after.AssignedTo != before.AssignedTo {
		s.meter.Count(MeasureLeadAssigned, cause, 1)
	}
	if after.AssignmentStatus == AssignmentWaiting && before.AssignmentStatus != AssignmentWaiting {
		s.meter.Count(MeasureLeadWaiting, "", 1)
	}
}
