package leads

import (
	"context"
	"errors"
	"fmt"
)

// CreateOptions modify CreateLead.
type CreateOptions struct {
	// SkipTeamAndSourceRequirement lets a lead name no team or lead source even
	// where the account's rules would require one. Named ones are still checked.
	SkipTeamAndSourceRequirement bool
	// IdempotencyKey makes retries safe: a second CreateLead with the same key in
	// the same account returns the first lead and takes no rotation turn.
	IdempotencyKey string
	// ApplicationID is stored as the lead's applicationId.
	ApplicationID string
	// DryRun runs every rule and says who would get the lead, storing nothing
	// and taking no rotation turn.
	DryRun bool
	// MatchBy, when set (MatchEmail or MatchExternalID), makes the create an
	// upsert, as seed 003's: a live lead of the account with the input's
	// key is updated instead (the fields the input gives, metadata merged
	// key by key), audited lead_returned, keeps its owner (or is routed
	// when it has none) and comes back with Returned set; otherwise the
	// lead is created. Concurrent upserts of one key make one lead.
	MatchBy string
	// upsert is the patch an upsert applies to the lead it finds: the
	// fields the input gave, taken before it is normalized.
	upsert LeadPatch
	// Admit, when set, is called with the actor as soon as it is known
	// (for Credentials, once the key is resolved), before the input is
	// checked, anything is written or any turn taken; an error it returns is
	// CreateLead's. The HTTP API charges the account's rate limit there.
	Admit func(ctx context.Context, actor Actor) error
}

// Result is what CreateLead and AssignLead return: the lead as stored, and who got
// it and why.
type Result struct {
	// Lead is the stored lead with its audit log.
	Lead *Lead
	// Replayed is set when an earlier request with the same idempotency key
	// created Lead.
	Replayed bool
	// DryRun is set when nothing was stored: Lead is what would be created
	// (without an id) and Assignment who would get it.
	DryRun bool
	// Returned is set when an upsert (CreateOptions.MatchBy) found and
	// updated an existing lead rather than create one.
	Returned   bool
	Assignment Assignment
}

// Caller is who creates a lead: an Actor already authenticated, or the
// Credentials a request presents, which CreateLead resolves itself.
type Caller interface {
	caller()
}

func (Actor) caller()       {}
func (Credentials) caller() {}

// Credentials are what a request presents: the secret of an API key, the
// account it acts in, and what the audit log keeps of the request. CreateLead
// resolves them as Authenticate does, in the same read as the rest of what a
// lead needs (the key, its user's role, the account's configuration version,
// the idempotent lead and a duplicate come from one query): the HTTP API's
// create path saves a round trip per lead that way.
type Credentials struct {
	Secret    string
	AccountID string
	Request   *RequestInfo
}

// CreateLead stores a new lead for the caller's account and assigns it. In order:
// who the caller is (UNAUTHENTICATED, FORBIDDEN, for Credentials);
// opts.Admit; field validation (VALIDATION_ERROR); the idempotency key (a
// repeat returns the first lead; another body with the same key:
// IDEMPOTENCY_KEY_REUSED); the team rule (TEAM_REQUIRED, TEAM_NOT_FOUND); the
// lead-source rule (LEAD_SOURCE_REQUIRED, LEAD_SOURCE_NOT_FOUND); duplicate
// emails (DUPLICATE_EMAIL when the account rejects them) and external ids
// (DUPLICATE_EXTERNAL_ID, always); then assignment by
// the team's rotation, else the account's default one, unless assignedTo is
// given. The lead and its audit entries are written in one transaction; if
// that fails, the rotation turn is given back. An error that IsUnavailable
// means that nothing was stored; OUTCOME_UNKNOWN, that the database stopped
// answering as it committed, so the lead (details.leadId) may exist.
func (s *Service) CreateLead(ctx context.Context, caller Caller, in LeadInput, opts CreateOptions) (*Result, error) {
	if opts.MatchBy != "" {
		opts.upsert = upsertPatch(in, opts.MatchBy)
	}
	actor, facts, err := s.openCreate(ctx, caller, &in, opts)
	if err != nil {
		return nil, err
	}
	return s.create(ctx, actor, in, opts, facts)
}

// openCreate is the one place that orders what comes before a create's
// rules: authentication, then admission (opts.Admit), then validation of
// the normalized input, whatever the caller. It returns the actor and what
// LeadFacts answered; Credentials are resolved in that same read, unless
// the input is invalid: it stays out of the query (PostgreSQL fails on a
// NUL), and the key is looked up alone to answer authentication first.
func (s *Service) openCreate(ctx context.Context, caller Caller, in *LeadInput, opts CreateOptions) (Actor, LeadFacts, error) {
	in.Normalize()
	invalid := checkCreateInput(in, opts)
	query := LeadFactsQuery{IdempotencyKey: opts.IdempotencyKey, EmailKey: EmailKey(in.Email), ExternalID: in.ExternalID}
	var actor Actor
	var facts LeadFacts
	read := false
	switch c := caller.(type) {
	case Actor:
		actor = c
	case Credentials:
		var err error
		if c.Secret == "" || invalid != nil {
			actor, err = s.Authenticate(ctx, c.Secret, c.AccountID)
		} else {
			q := query
			q.AccountID, q.KeyHash = lookupAccountID(c.AccountID), HashAPIKey(c.Secret)
			facts, err = s.store.LeadFacts(ctx, q)
			if err != nil {
				return Actor{}, facts, fmt.Errorf("create lead: %w", err)
			}
			read = true
			actor, err = s.actorFor(ctx, facts.Credential, c)
		}
		if err != nil {
			return Actor{}, facts, err
		}
		actor.Request = c.Request
	default:
		return Actor{}, facts, Errorf(CodeUnauthenticated, "no caller")
	}
	if err := actor.Require(PermWriteLeads); err != nil {
		return actor, facts, err
	}
	if opts.Admit != nil {
		if err := opts.Admit(ctx, actor); err != nil {
			return actor, facts, err
		}
	}
	if invalid != nil {
		return actor, facts, invalid
	}
	if !read {
		var err error
		query.AccountID = actor.AccountID
		facts, err = s.store.LeadFacts(ctx, query)
		if err != nil {
			return actor, facts, fmt.Errorf("create lead: %w", err)
		}
	}
	return actor, facts, nil
}

// create applies the rules of CreateLead from the idempotency key on, with what
// LeadFacts answered.
func (s *Service) create(ctx context.Context, actor Actor, in LeadInput, opts CreateOptions, facts LeadFacts) (*Result, error) {
	var fp string
	if opts.IdempotencyKey != "" {
		fp = fingerprint(in, opts)
	}
	if facts.IdempotentLeadID != 0 {
		return s.replay(ctx, actor, facts, opts.IdempotencyKey, fp)
	}
	cfg, err := s.config(ctx, actor.AccountID, facts.ConfigVersion)
	if err != nil {
		return nil, err
	}
	if id := upsertTarget(opts.MatchBy, facts); id != 0 {
		return s.upsertExisting(ctx, actor, cfg, id, opts, fp)
	}
	if err := applyTeamRules(cfg, &in, opts.SkipTeamAndSourceRequirement); err != nil {
		return nil, err
	}
	in.AssignedTo = EmailKey(in.AssignedTo)
	if err := cfg.requireMember(in.AssignedTo); err != nil {
		return nil, err
	}
	rejectEmails := cfg.Account.DuplicatePolicy != DuplicateAllow
	// An upsert by email takes the email's key even where duplicates are
	// allowed: a concurrent upsert of the same email then finds it.
	uniqueEmails := rejectEmails || opts.MatchBy == MatchEmail
	if err := duplicate(&in, facts, uniqueEmails); err != nil {
		return nil, err
	}
	var uniqueEmail string
	if uniqueEmails && in.Email != "" {
		uniqueEmail = EmailKey(in.Email)
	}
	switch {
	case in.CreatedBy == "":
		in.CreatedBy = actor.Email
	case !ValidEmail(in.CreatedBy):
		// Seed 002: the email of the user who created the lead. Checked
		// here, on a create's own input, not by Validate: leads the system
		// created say "system", and stay writable.
		return nil, ValidationError(FieldError{"createdBy", shorten(in.CreatedBy), "Must be a valid email address"})
	}

	now := s.clock()
	var (
		lead       Lead
		assignment Assignment
		rot        *Rotation
		turn       Turn
		n          *NewLead
	)
	// A turn whose number the store has already (the rotator's state fell
	// behind it, see StateResyncer) writes nothing: the state is rebuilt
	// and the lead takes another turn, a few times at most.
	for attempt := 1; ; attempt++ {
		lead = newLead(actor.AccountID, in, now)
		lead.ApplicationID = opts.ApplicationID
		assignment, rot, turn, err = s.assign(ctx, cfg, &lead, now, opts.DryRun)
		if err != nil {
			return nil, err
		}
		if lead.AssignmentStatus != AssignmentPending && lead.AssignmentStatus != AssignmentWaiting {
			lead.AssignmentStatus = settledStatus(lead.AssignedTo)
		}
		if lead.AssignedTo != "" {
			at := lead.CreatedAt // as the store records it
			lead.AssignedAt = &at
		}
		timer := cfg.slaTimer(&lead, lead.CreatedAt, nil, 0)
		if opts.DryRun {
			if d := assignment.Decision; d != nil {
				d.describe(cfg.Rules, cfg.conditionWords)
			}
			return &Result{Lead: &lead, DryRun: true, Assignment: assignment}, nil
		}
		n = &NewLead{
			Lead:           &lead,
			Audit:          []AuditEntry{newAuditEntry(actor, EventLeadCreated, createdData(&lead, opts), now)},
			IdempotencyKey: opts.IdempotencyKey,
			Fingerprint:    fp,
			UniqueEmail:    uniqueEmail,
			Skips:          turn.Skipped,
			TurnState:      turn.Checkpoint,
			SLATimer:       timer,
		}
		if e, ok := assignment.auditEntry(actor, now); ok {
			n.Audit = append(n.Audit, e)
		}
		n.Events = s.leadEvents(cfg, nil, &lead, "", now)
		wctx, cancel := s.turnWriteContext(ctx)
		err = s.store.InsertLead(wctx, n)
		cancel()
		if !errors.Is(err, ErrTurnTaken) || attempt == maxTurnAttempts {
			break
		}
		s.turnTaken(ctx, rot, turn, now)
	}
	s.afterWrite(ctx, rot, turn, err, ErrorCode(err) == CodeOutcomeUnknown)
	if ErrorCode(err) == CodeOutcomeUnknown {
		return nil, fmt.Errorf("create lead: %w", err)
	}
	if err != nil {
		return s.insertFailed(ctx, actor, in, opts, fp, err)
	}
	s.reportLoad(ctx, cfg, nil, &lead, turnRotation(rot, turn))
	s.meterCreated(&lead, assignment)
	lead.AuditLog = n.Audit
	return &Result{Lead: &lead, Assignment: assignment}, nil
}

// insertFailed explains a failed insert: a concurrent request that won the
// race for the idempotency key, the email or the external id, or a plain
// failure.
func (s *Service) insertFailed(ctx context.Context, actor Actor, in LeadInput, opts CreateOptions, fp string, err error) (*Result, error) {
	switch {
	case errors.Is(err, ErrIdempotencyKeyTaken):
		if res, rerr := s.replayKey(ctx, actor, opts.IdempotencyKey, fp); res != nil || rerr != nil {
			return res, rerr
		}
	case errors.Is(err, ErrEmailTaken), errors.Is(err, ErrExternalIDTaken):
		facts, cerr := s.store.LeadFacts(ctx, LeadFactsQuery{AccountID: actor.AccountID, EmailKey: EmailKey(in.Email), ExternalID: in.ExternalID})
		if cerr != nil {
			return nil, fmt.Errorf("create lead: read duplicate lead: %w", cerr)
		}
		if id := upsertTarget(opts.MatchBy, facts); id != 0 {
			// A concurrent upsert created it first: this one updates it.
			cfg, cerr := s.config(ctx, actor.AccountID, facts.ConfigVersion)
			if cerr != nil {
				return nil, cerr
			}
			return s.upsertExisting(ctx, actor, cfg, id, opts, fp)
		}
		if dup := duplicate(&in, facts, errors.Is(err, ErrEmailTaken)); dup != nil {
			return nil, dup
		}
	}
	return nil, fmt.Errorf("create lead: %w", err)
}

// replayKey answers a create whose Idempotency-Key a concurrent request
// stored first with that request's lead (replay); nil and no error when
// the key names none (its lead deleted meanwhile): the caller's conflict
// stands.
func (s *Service) replayKey(ctx context.Context, actor Actor, key, fp string) (*Result, error) {
	facts, err := s.store.LeadFacts(ctx, LeadFactsQuery{AccountID: actor.AccountID, IdempotencyKey: key})
	if err != nil {
		return nil, fmt.Errorf("create lead: read idempotent lead: %w", err)
	}
	if facts.IdempotentLeadID == 0 {
		return nil, nil
	}
	return s.replay(ctx, actor, facts, key, fp)
}

// replay answers a retried create with the lead its key created first, or
// updated first (an upsert: the lead's lead_returned entry names the key).
func (s *Service) replay(ctx context.Context, actor Actor, facts LeadFacts, key, fp string) (*Result, error) {
	if facts.IdempotentFingerprint != fp {
		return nil, Errorf(CodeIdempotencyKeyReused, "Idempotency-Key was already used with a different request")
	}
	lead, err := s.store.Lead(ctx, actor.AccountID, facts.IdempotentLeadID, true)
	if ErrorCode(err) == CodeNotFound {
		return nil, &Error{Code: CodeConflict, Message: "the lead created with this Idempotency-Key has been deleted",
			Details: map[string]any{"leadId": facts.IdempotentLeadID}}
	}
	if err != nil {
		return nil, fmt.Errorf("create lead: read idempotent lead: %w", err)
	}
	a := Assignment{Assignee: lead.AssignedTo, RotationID: lead.RotationID, Turn: lead.RotationTurn, Reason: AssignNoRotation}
	returned, routed := false, false
	for _, e := range lead.AuditLog {
		switch {
		case e.Event == EventLeadReturned && e.Data["idempotencyKey"] == key:
			// The upsert: its lead kept its owner, unless routed after.
			returned, a = true, keptOwner(lead)
		case e.Event == EventLeadAssigned || e.Event == EventLeadNotAssigned:
			rec := assignmentOf(e)
			a.Reason, a.RotationName, a.Decision = rec.Reason, rec.RotationName, rec.Decision
			routed = returned
		}
	}
	if returned && !routed {
		// The upsert wrote its update, and routes the lead in a second
		// step, which its process may not have reached (killed, or the
		// database lost, in between): a lead still without an owner it
		// can keep is routed now, once (routing takes a turn only if
		// no one assigned the lead meanwhile, and records it).
		cfg, err := s.config(ctx, actor.AccountID, facts.ConfigVersion)
		if err != nil {
			return nil, err
		}
		if ownerToFind(cfg, lead) {
			res, err := s.routeReturned(ctx, actor, cfg, lead)
			if err != nil {
				return nil, err
			}
			res.Replayed = true
			return res, nil
		}
	}
	return &Result{Lead: lead, Replayed: true, Returned: returned, Assignment: a}, nil
}

// duplicate returns the refusal of in for a duplicate that facts found
// among the account's other live leads: DUPLICATE_EMAIL when emails must be
// unique (rejectEmails), DUPLICATE_EXTERNAL_ID whatever the account's
// policy; nil when facts found none.
func duplicate(in *LeadInput, facts LeadFacts, rejectEmails bool) error {
	switch {
	case rejectEmails && in.Email != "" && facts.DuplicateLeadID != 0:
		return duplicateEmail(in.Email, facts.DuplicateLeadID)
	case in.ExternalID != "" && facts.DuplicateExternalLeadID != 0:
		return duplicateExternalID(in.ExternalID, facts.DuplicateExternalLeadID)
	}
	return nil
}

func duplicateExternalID(id string, existing int64) error {
	return &Error{Code: CodeDuplicateExternalID, Message: "External ID already exists", Details: map[string]any{
		"externalId":     id,
		"existingLeadId": existing,
		"message":        "A lead with this external ID already exists in your account",
	}}
}

func duplicateEmail(email string, existing int64) error {
	return &Error{Code: CodeDuplicateEmail, Message: "Email already exists", Details: map[string]any{
		"email":          email,
		"existingLeadId": existing,
		"message":        "A lead with this email already exists in your account",
	}}
}

// applyTeamRules enforces rules 2 and 3 of lead creation. A lead source named
// without a team puts the lead in the source's team.
func applyTeamRules(cfg *AccountConfig, in *LeadInput, skip bool) error {
	if in.TeamID != 0 {
		if cfg.Teams[in.TeamID] == nil {
			return &Error{Code: CodeTeamNotFound, Message: "team not found", Details: map[string]any{"teamId": in.TeamID}}
		}
	} else if len(cfg.Teams) > 0 && !skip {
		return Errorf(CodeTeamRequired, "team ID is required when teams exist in the account")
	}
	if in.LeadSourceID != 0 {
		src := cfg.LeadSources[in.LeadSourceID]
		if src == nil || (in.TeamID != 0 && src.TeamID != in.TeamID) {
			return &Error{Code: CodeLeadSourceNotFound, Message: "lead source not found for this team",
				Details: map[string]any{"leadSourceId": in.LeadSourceID, "teamId": in.TeamID}}
		}
		in.TeamID = src.TeamID
	} else if in.TeamID != 0 && cfg.TeamLeadSources[in.TeamID] > 0 && !skip {
		return Errorf(CodeLeadSourceRequired, "lead source ID is required when the team has lead sources")
	}
	return nil
}

func createdData(lead *Lead, opts CreateOptions) map[string]any {
	data := map[string]any{"status": string(lead.Status)}
	if lead.TeamID != 0 {
		data["teamId"] = lead.TeamID
	}
	if lead.LeadSourceID != 0 {
		data["leadSourceId"] = lead.LeadSourceID
	}
	if opts.SkipTeamAndSourceRequirement {
		data["skipTeamAndSourceRequirement"] = true
	}
	if opts.IdempotencyKey != "" {
		data["idempotencyKey"] = opts.IdempotencyKey
	}
	return data
}

// checkCreateInput validates normalized input and options.
func checkCreateInput(in *LeadInput, opts CreateOptions) error {
	if err := in.Validate(); err != nil {
		return err
	}
	switch {
	case opts.MatchBy != "" && opts.MatchBy != MatchEmail && opts.MatchBy != MatchExternalID:
		return ValidationError(FieldError{"matchBy", opts.MatchBy, "Must be email or externalId"})
	case opts.MatchBy == MatchEmail && in.Email == "":
		return ValidationError(FieldError{"email", "", "Is required to match by email"})
	case opts.MatchBy == MatchExternalID && in.ExternalID == "":
		return ValidationError(FieldError{"externalId", "", "Is required to match by externalId"})
	}
	return checkText("Idempotency-Key", opts.IdempotencyKey, MaxIdempotencyKey)
}
