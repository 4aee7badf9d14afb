package leads

import (
	"context"
	"time"
)

// HistoricLead is a lead as the store keeps it (without its audit log),
// with the first decision of its owner that its audit log records: what a
// replay (see Replayer) compares its own decision with.
type HistoricLead struct {
	Lead *Lead
	// Actual is the lead's first routing decision, as recorded.
	Actual RecordedRouting
}

// RecordedRouting is what the first audit entry of a lead among
// lead_assigned, lead_not_assigned and assignment_deferred says of how its
// owner was decided when it was created. Event is "" when there is none:
// no rotation applied and no rule was tried, so nobody was assigned. For
// an assignment deferred, Assignee and RotationID are those of the
// lead_assigned entry that settled it, if any.
type RecordedRouting struct {
	Event      string `json:"event,omitempty"`
	Assignee   string `json:"assignee,omitempty"`
	Reason     string `json:"reason,omitempty"`
	RotationID int64  `json:"rotationId,omitempty"`
	// Turn is the number of the rotation's turn the lead took, if it took
	// one as it was created.
	Turn int64 `json:"turn,omitempty"`
	// Step and RuleID are the decision's (RoutingDecision), when it had one.
	Step   string `json:"step,omitempty"`
	RuleID int64  `json:"ruleId,omitempty"`
}

// HistoryStore reads what a replay needs of an account's past, without
// changing anything. leads.Store implementations that support replays
// satisfy it.
type HistoryStore interface {
	// HistoricLeads calls fn for each lead of the account created at or
	// after from and before to, in the order they were created (created
	// at, then id), streaming rather than reading them all first; it stops
	// at fn's first error and returns it.
	HistoricLeads(ctx context.Context, accountID string, from, to time.Time, fn func(HistoricLead) error) error
	// RotationHistoryAt is RotationHistory as it stood at until: only the
	// turns (and skips and checkpoints) recorded before until count, and
	// AssignedSince counts those from since.
	RotationHistoryAt(ctx context.Context, rotationID int64, since, until time.Time) (RotationHistory, error)
	// OpenLeadsAt counts, for each of users, the account's leads created
	// before until and assigned to them whose status is now one of
	// statuses: the store keeps no history of statuses, so this is what
	// their open leads were at until as nearly as it can tell.
	OpenLeadsAt(ctx context.Context, accountID string, users []string, statuses []Status, until time.Time) (map[string]int64, error)
	// LaterTurns calls fn for each turn of the account's rotations taken
	// at or after from and before to, other than those the leads created
	// in the window took as they were created (at their creation instant),
	// in the order they were taken, streaming rather than reading them all
	// first; it stops at fn's first error and returns it. They are
	// reassignments (by hand, an SLA's expiry, a returning contact
	// re-routed), waiting leads assigned, deferred assignments settled,
	// and the turns of leads deleted since. A replay takes them too
	// (Replayer.Retake), or its rotations drift from what happened after
	// the first of them.
	LaterTurns(ctx context.Context, accountID string, from, to time.Time, fn func(RecordedTurn) error) error
	// LeadMoves calls fn for each move of a lead of the account created
	// before leadsBefore from one owner to another (an audit entry
	// lead_reassigned: by hand, an SLA's expiry, a returning contact
	// re-routed) made at or after from, to this day, in the order they
	// were made; it stops at fn's first error and returns it. A replay
	// reads them to know who owned the leads before its window at its
	// start, and each lead it knows at each instant of it (returning
	// contacts find their owners).
	LeadMoves(ctx context.Context, accountID string, leadsBefore, from time.Time, fn func(RecordedMove) error) error
}

// RecordedMove is a lead's move from one owner to another, as its audit
// log recorded it.
type RecordedMove struct {
	LeadID int64
	// At is when the lead was moved.
	At time.Time
	// From and To are its owners before and after ("" for nobody).
	From, To string
}

// RecordedTurn is a rotation turn as the store recorded it.
type RecordedTurn struct {
	RotationID, Turn int64
	// Assignee is the member the turn went to.
	Assignee string
	// At is when the turn was taken.
	At time.Time
	// LeadID is the lead the turn assigned; LeadCreatedAt is when that lead
	// was created, zero when it is gone.
	LeadID        int64
	LeadCreatedAt time.Time
}
