package simulate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
)

// Case is a sample lead for Try, and what it must get (Expect, which
// Compare checks): routing as code, the cases of `leadrotor route test`.
type Case struct {
	// Name names the case where its outcome is told.
	Name string `json:"name,omitempty"`
	// Lead is the lead as POST /leads takes it. An assignedTo is kept, as
	// CreateLead keeps it (the explicit step); it must name a member. A
	// lead may name no team or lead source where the account would
	// require them, as with POST /leads?skipTeamAndSourceRequirement=true:
	// what happens to such a lead is routing too (the default rotation).
	Lead leads.LeadInput `json:"lead"`
	// At is when the lead is created: members' working hours, time off and
	// daily caps are as they are then. Zero: TryOptions.At.
	At time.Time `json:"at,omitzero"`
	// Expect is what the lead must get.
	Expect Expect `json:"expect"`
}

// TryOptions say whose cases Try decides, and from when.
type TryOptions struct {
	// AccountID is the account whose history the rotations start from.
	AccountID string
	// At is the time of a case that gives none; zero is now.
	At time.Time
	// Live is the account's live configuration when the one tried is
	// another (a proposed one, spec.Propose): a rotation the proposed
	// configuration has and Live does not is new, and starts with no
	// history (a draft's new ids may be those of other accounts'
	// rotations). Nil when the configuration tried is the live one.
	Live *leads.AccountConfig
}

// Try decides, in order, who each case's lead would get under cfg (a
// configuration of opts.AccountID prepared by a Service, live, or a
// draft's, proposed), by CreateLead's own decision code (leads.Replayer):
// the returning contact, the routing rules, the team's or default
// rotation, a turn that sees members' availability at the case's time,
// daily caps, capacities and the fallback.
//
// The cases take turns one after another on a rotator of the replay's own,
// whose rotation states start from the account's history as it stood at
// the first case's time (its turns, daily counts and open leads), so that
// "the first hot lead goes to ana, the next to dana" can be said. Their
// times therefore may not go back: a case earlier than the one before it
// is refused rather than moved, since moving it would change which turn
// each case gets. A case may be a returning contact of an earlier case, or
// of a lead created before the first case's time within the account's
// returning window.
//
// Each decision that tried the routing rules describes them as a dry run's
// does: each rule's outcome and the condition that failed. history is
// read, never written: no lead is stored, no live turn taken and no event
// sent.
//
// Before deciding anything, Try refuses cases at fault with a
// VALIDATION_ERROR that lists each field by its path: the lead's fields as
// CreateLead checks them (cases[2].lead.lastName), an assignedTo who is
// not a member, a teamId or leadSourceId cfg does not have, a time that
// goes back (cases[3].at). It does not look at the cases' Expect: see
// Expect.Check and Compare.
func Try(ctx context.Context, history leads.HistoryStore, cfg *leads.AccountConfig, opts TryOptions, cases []Case) ([]leads.Replayed, error) {
	if cfg.Account.ID != "" && cfg.Account.ID != opts.AccountID {
		return nil, errors.New("simulate: the configuration is of another account")
	}
	at := opts.At
	if at.IsZero() {
		at = time.Now()
	}
	inputs, times, err := checkCases(cfg, at.UTC(), cases)
	if err != nil {
		return nil, err
	}
	out := make([]leads.Replayed, len(cases))
	if len(cases) == 0 {
		return out, nil
	}
	rep, err := newReplay(ctx, history, cfg, opts.Live, opts.AccountID, times[0], times[len(times)-1])
	if err != nil {
		return nil, err
	}
	for i := range cases {
		lead := &leads.Lead{AccountID: opts.AccountID, LeadInput: inputs[i], CreatedAt: times[i], UpdatedAt: times[i]}
		h := leads.HistoricLead{Lead: lead}
		rep.movesBefore(times[i])
		if lead.AssignedTo != "" {
			h.Actual.Reason = leads.AssignExplicit // kept, as CreateLead keeps it
		}
		r, err := rep.decide(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("simulate: cases[%d]: %w", i, err)
		}
		if err := describeRules(cfg, inputs[i], r.Assignment.Decision); err != nil {
			return nil, fmt.Errorf("simulate: cases[%d]: %w", i, err)
		}
		out[i] = r
	}
	return out, nil
}

// checkCases returns each case's lead as CreateLead would route it
// (normalized, its assignedTo's key) and its time, or the
// VALIDATION_ERROR of every field at fault.
func checkCases(cfg *leads.AccountConfig, at time.Time, cases []Case) ([]leads.LeadInput, []time.Time, error) {
	var errs []leads.FieldError
	inputs := make([]leads.LeadInput, len(cases))
	times := make([]time.Time, len(cases))
	for i, c := range cases {
		path := fmt.Sprintf("cases[%d]", i)
		in := c.Lead
		in.Normalize()
		errs = append(errs, fieldErrors(in.Validate(), path+".lead.")...)
		in.AssignedTo = leads.EmailKey(in.AssignedTo)
		if in.AssignedTo != "" && cfg.Members[in.AssignedTo] == "" {
			errs = append(errs, leads.FieldError{Field: path + ".lead.assignedTo", Value: in.AssignedTo, Message: "Is not a member of the account"})
		}
		if in.TeamID != 0 && cfg.Teams[in.TeamID] == nil {
			errs = append(errs, leads.FieldError{Field: path + ".lead.teamId", Value: in.TeamID, Message: "No team of the account has this id"})
		}
		if src := cfg.LeadSources[in.LeadSourceID]; in.LeadSourceID != 0 && (src == nil || in.TeamID != 0 && src.TeamID != in.TeamID) {
			errs = append(errs, leads.FieldError{Field: path + ".lead.leadSourceId", Value: in.LeadSourceID, Message: "No lead source of the account (of the lead's team) has this id"})
		}
		inputs[i] = in
		times[i] = at
		if !c.At.IsZero() {
			times[i] = c.At.UTC()
		}
		if i > 0 && times[i].Before(times[i-1]) {
			errs = append(errs, leads.FieldError{Field: path + ".at", Value: times[i],
				Message: fmt.Sprintf("Is before the time of cases[%d] (%s): the cases take turns in order, so their times may not go back", i-1, times[i-1].Format(time.RFC3339))})
		}
	}
	if len(errs) > 0 {
		return nil, nil, leads.ValidationError(errs...)
	}
	return inputs, times, nil
}

// fieldErrors returns the field errors of err, a VALIDATION_ERROR (none
// when err is nil), each field named under prefix.
func fieldErrors(err error, prefix string) []leads.FieldError {
	var e *leads.Error
	if !errors.As(err, &e) {
		return nil
	}
	errs, _ := e.Details["errors"].([]leads.FieldError)
	if len(errs) == 0 {
		field, _ := e.Details["field"].(string)
		message, _ := e.Details["message"].(string)
		errs = []leads.FieldError{{Field: field, Value: e.Details["value"], Message: cmp.Or(message, e.Message)}}
	}
	out := make([]leads.FieldError, len(errs))
	for i, fe := range errs {
		fe.Field = prefix + fe.Field
		out[i] = fe
	}
	return out
}

// replay is a Replayer of a configuration with the history its rotator
// reads, which counts the open leads the replay has given each member.
type replay struct {
	rep  *leads.Replayer
	src  *historyAt
	open map[leads.Status]bool
	// moves are the moves made since the replay's start of the leads it
	// knows (leads.HistoryStore.LeadMoves), oldest first, those not
	// replayed yet (see movesBefore).
	moves []leads.RecordedMove
}

// movesBefore replays the moves of earlier leads made before t.
func (r *replay) movesBefore(t time.Time) {
	for len(r.moves) > 0 && r.moves[0].At.Before(t) {
		r.rep.Move(r.moves[0])
		r.moves = r.moves[1:]
	}
}

// decide replays h's lead (leads.Replayer.Decide) and counts the open lead
// it gives its owner.
func (r *replay) decide(ctx context.Context, h leads.HistoricLead) (leads.Replayed, error) {
	out, err := r.rep.Decide(ctx, h)
	if err != nil {
		return out, err
	}
	if a := out.Lead.AssignedTo; a != "" && r.open[out.Lead.Status] {
		r.src.replayed[a]++
	}
	return out, nil
}

// newReplay returns a replay of cfg, a configuration of accountID, whose
// rotation states start from history as it stood at at, and which knows
// the leads before at that the account's returning policy may match, and
// the moves since at of those and of the leads created before until (the
// window's: Decide remembers them as it replays them).
// live, when cfg is a proposed configuration, is the live one: a rotation
// it does not have is new, with no history (a draft numbers its new
// rotations after the account's, and another account may have those ids).
func newReplay(ctx context.Context, history leads.HistoryStore, cfg, live *leads.AccountConfig, accountID string, at, until time.Time) (*replay, error) {
	src := &historyAt{store: history, accountID: accountID, at: at, replayed: make(map[string]int64)}
	var hist rotation.HistorySource = src
	if live != nil {
		hist = &newRotations{historyAt: src, live: live}
	}
	r := &replay{rep: leads.NewReplayer(cfg, rotation.NewMemory(hist)), src: src, open: openStatuses(cfg)}
	p := cfg.Account.Returning
	if len(p.MatchBy) == 0 {
		return r, nil
	}
	var since time.Time
	if p.WindowDays > 0 {
		since = at.AddDate(0, 0, -p.WindowDays)
	}
	// A lead moved since at is remembered with the owner it had then: the
	// one its first move since moved it from.
	ownerAt := make(map[int64]string)
	err := history.LeadMoves(ctx, accountID, until, at, func(m leads.RecordedMove) error {
		if _, ok := ownerAt[m.LeadID]; !ok {
			ownerAt[m.LeadID] = m.From
		}
		if m.At.Before(until) { // a later move tells only who owned its lead before
			r.moves = append(r.moves, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("simulate: read the moves of earlier leads: %w", err)
	}
	err = history.HistoricLeads(ctx, accountID, since, at, func(h leads.HistoricLead) error {
		if owner, ok := ownerAt[h.Lead.ID]; ok {
			h.Lead.AssignedTo = owner
		}
		r.rep.Remember(h.Lead)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("simulate: read earlier leads: %w", err)
	}
	return r, nil
}

// describeRules makes d, a decision that keeps the rules tried compactly
// (Tried, as a create's does), describe them as a dry run's does, from the
// lead in as the rules saw it (its lead source's team).
func describeRules(cfg *leads.AccountConfig, in leads.LeadInput, d *leads.RoutingDecision) error {
	if d == nil || d.Tried == "" {
		return nil
	}
	if src := cfg.LeadSources[in.LeadSourceID]; src != nil {
		in.TeamID = src.TeamID
	}
	rd, err := leads.EvaluateRules(cfg, cfg.Rules, in)
	if err != nil {
		return fmt.Errorf("describe the rules tried: %w", err)
	}
	d.Rules, d.Tried = rd.Rules, ""
	return nil
}

// newRotations is the history of a proposed configuration's rotations:
// the store's for those the live configuration has, none for the others,
// which the proposal creates.
type newRotations struct {
	*historyAt
	live *leads.AccountConfig
}

// RotationHistory is the rotation's history at the first case's time, or
// none for a rotation the live configuration does not have.
func (h *newRotations) RotationHistory(ctx context.Context, rotationID int64, since time.Time) (leads.RotationHistory, error) {
	if h.live.Rotation(rotationID) == nil {
		return leads.RotationHistory{}, nil
	}
	return h.historyAt.RotationHistory(ctx, rotationID, since)
}
