package leads

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Service is the lead engine: it enforces an account's team and lead-source
// rules, stores leads with their audit trail and assigns them through the
// account's rotations. It is safe for concurrent use, also by several
// processes sharing one database and one Rotator backend.
type Service struct {
	store   Store
	rotator Rotator
	now     func() time.Time
	log     *slog.Logger

	configMu sync.RWMutex
	configs  map[string]*AccountConfig
	// loading holds the configuration loads in flight, by account, so that
	// requests that find the cache stale at once share one load.
	loading map[string]*configLoad

	touchMu sync.Mutex
	touched map[int64]time.Time // when this process last recorded a key's use

	// rotatorBackoff is how long Create defers assignments without asking
	// the rotator after it failed as unavailable; rotatorDownUntil is when
	// that ends (Unix nanoseconds, 0: the rotator is believed up). A
	// rotator that is a RotatorProber is instead believed down (rotatorDown)
	// until a probe, every rotatorBackoff, sees it answer.
	rotatorBackoff   time.Duration
	rotatorDownUntil atomic.Int64
	rotatorFailed    atomic.Bool
	probing          atomic.Bool

	// nextSettle is when RunAssigner next settles open turns, and
	// settleFailing whether the last settling failed; only its goroutine
	// reads and writes them.
	nextSettle    time.Time
	settleFailing bool
}

// configLoad is a configuration load that several requests wait for.
type configLoad struct {
	done chan struct{}
	cfg  *AccountConfig
	err  error
}

// Option configures a Service.
type Option func(*Service)

// WithClock makes the Service read the time from now; tests freeze it.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithRotatorBackoff sets how often, after the rotator failed as unavailable
// (Redis down or hung), it is probed (default 1s); until a probe sees it
// answer, Create defers assignments without asking it, so that an outage
// costs one timeout, not one per request. The background assigner's first
// success ends it sooner. A rotator that cannot be probed (not a
// RotatorProber) is asked again after this long.
func WithRotatorBackoff(d time.Duration) Option { return func(s *Service) { s.rotatorBackoff = d } }

// WithLogger sets where the Service reports what it cannot return, such as a
// failed refund of a rotation turn.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// NewService returns a Service over store. rotator assigns leads; with a nil
// rotator no lead is assigned by rotation.
func NewService(store Store, rotator Rotator, opts ...Option) *Service {
	s := &Service{
		store:   store,
		rotator: rotator,
		now:     time.Now,
		log:     slog.New(slog.DiscardHandler),
		configs: make(map[string]*AccountConfig),
		loading: make(map[string]*configLoad),
		touched: make(map[int64]time.Time),

		rotatorBackoff: time.Second,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// clock returns the current time as stored: UTC, microsecond precision (what
// PostgreSQL keeps), so that a lead reads back exactly as it was returned.
func (s *Service) clock() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// CreateOptions modify Create.
type CreateOptions struct {
	// SkipTeamAndSourceRequirement lets a lead name no team or lead source even
	// where the account's rules would require one. Named ones are still checked.
	SkipTeamAndSourceRequirement bool
	// IdempotencyKey makes retries safe: a second Create with the same key in
	// the same account returns the first lead and takes no rotation turn.
	IdempotencyKey string
	// ApplicationID is stored as the lead's applicationId.
	ApplicationID string
	// DryRun runs every rule and says who would get the lead, storing nothing
	// and taking no rotation turn.
	DryRun bool
	// Admit, when set, is called with the actor as soon as it is known
	// (for CreateWithCredentials, once the key is resolved), before the
	// input is checked, anything is written or any turn taken; an error it
	// returns is Create's. The HTTP API charges the account's rate limit
	// there.
	Admit func(ctx context.Context, actor Actor) error
}

// Assignment reasons.
const (
	AssignExplicit   = "explicit"           // the input named assignedTo
	AssignRotation   = "rotation"           // the rotation's next eligible member
	AssignFallback   = "fallback"           // nobody was eligible: the fallback assignee
	AssignNoEligible = "no_eligible_member" // nobody eligible and no fallback: unassigned
	AssignNoRotation = "no_rotation"        // no rotation applies: unassigned
	// AssignDeferred: the rotation could not be asked (Redis down); the lead
	// is stored with assignmentStatus "pending" and assigned later.
	AssignDeferred = "deferred"
)

// Assignment says who got a lead and why.
type Assignment struct {
	Assignee     string `json:"assignee,omitempty"`
	RotationID   int64  `json:"rotationId,omitempty"`
	RotationName string `json:"rotationName,omitempty"`
	Reason       string `json:"reason"`
	Turn         int64  `json:"turn,omitempty"`
	Skipped      []Skip `json:"skipped,omitempty"`
}

// CreateResult is what Create returns.
type CreateResult struct {
	// Lead is the stored lead with its audit log.
	Lead *Lead
	// Replayed is set when an earlier request with the same idempotency key
	// created Lead.
	Replayed bool
	// DryRun is set when nothing was stored: Lead is what would be created
	// (without an id) and Assignment who would get it.
	DryRun     bool
	Assignment Assignment
}

// Create stores a new lead for actor's account and assigns it. In order:
// field validation (VALIDATION_ERROR); the idempotency key (a repeat returns
// the first lead; another body with the same key: IDEMPOTENCY_KEY_REUSED);
// the team rule (TEAM_REQUIRED, TEAM_NOT_FOUND); the lead-source rule
// (LEAD_SOURCE_REQUIRED, LEAD_SOURCE_NOT_FOUND); duplicate emails
// (DUPLICATE_EMAIL when the account rejects them); then assignment by the
// team's rotation, else the account's default one, unless assignedTo is given.
// The lead and its audit entries are written in one transaction; if that
// fails, the rotation turn is given back. An error that IsUnavailable means
// that nothing was stored; OUTCOME_UNKNOWN, that the database stopped
// answering as it committed, so the lead (details.leadId) may exist.
func (s *Service) Create(ctx context.Context, actor Actor, in LeadInput, opts CreateOptions) (*CreateResult, error) {
	if err := actor.Require(PermWriteLeads); err != nil {
		return nil, err
	}
	if opts.Admit != nil {
		if err := opts.Admit(ctx, actor); err != nil {
			return nil, err
		}
	}
	in.Normalize()
	if err := checkCreateInput(&in, opts); err != nil {
		return nil, err
	}
	check, err := s.store.CreateCheck(ctx, CreateCheckQuery{AccountID: actor.AccountID, IdempotencyKey: opts.IdempotencyKey, EmailKey: EmailKey(in.Email)})
	if err != nil {
		return nil, fmt.Errorf("create lead: %w", err)
	}
	return s.create(ctx, actor, in, opts, check)
}

// Credentials are what a request presents: the secret of an API key, the
// account it acts in, and what the audit log keeps of the request.
type Credentials struct {
	Secret    string
	AccountID string
	Request   *RequestInfo
}

// CreateWithCredentials authenticates credentials as Authenticate does and
// creates the lead as Create does, reading the store once for both: the key,
// its user's role, the account's configuration version, the idempotent lead
// and a duplicate come from one query. That is the create path of the HTTP
// API, where it saves a round trip per lead. Authentication errors
// (UNAUTHENTICATED, FORBIDDEN) come before Create's. It returns the actor
// the credentials resolved to, also with an error after authentication.
func (s *Service) CreateWithCredentials(ctx context.Context, cred Credentials, in LeadInput, opts CreateOptions) (*CreateResult, Actor, error) {
	if cred.Secret == "" {
		return nil, Actor{}, Errorf(CodeUnauthenticated, "missing API key")
	}
	in.Normalize()
	if err := checkCreateInput(&in, opts); err != nil {
		// Invalid input stays out of the query (PostgreSQL fails on a NUL),
		// and authentication still answers first.
		actor, aerr := s.Authenticate(ctx, cred.Secret, cred.AccountID)
		if aerr == nil {
			aerr = actor.Require(PermWriteLeads)
		}
		if aerr == nil && opts.Admit != nil {
			aerr = opts.Admit(ctx, actor)
		}
		if aerr != nil {
			return nil, actor, aerr
		}
		return nil, actor, err
	}
	check, err := s.store.CreateCheck(ctx, CreateCheckQuery{AccountID: lookupAccountID(cred.AccountID), IdempotencyKey: opts.IdempotencyKey,
		EmailKey: EmailKey(in.Email), KeyHash: HashAPIKey(cred.Secret)})
	if err != nil {
		return nil, Actor{}, fmt.Errorf("create lead: %w", err)
	}
	actor, err := s.actorFor(ctx, check.Credential, cred)
	if err != nil {
		return nil, Actor{}, err
	}
	if err := actor.Require(PermWriteLeads); err != nil {
		return nil, actor, err
	}
	if opts.Admit != nil {
		if err := opts.Admit(ctx, actor); err != nil {
			return nil, actor, err
		}
	}
	res, err := s.create(ctx, actor, in, opts, check)
	return res, actor, err
}

// checkCreateInput validates normalized input and options.
func checkCreateInput(in *LeadInput, opts CreateOptions) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return checkText("Idempotency-Key", opts.IdempotencyKey, MaxIdempotencyKey)
}

// create applies the rules of Create from the idempotency key on, with what
// CreateCheck answered.
func (s *Service) create(ctx context.Context, actor Actor, in LeadInput, opts CreateOptions, check CreateCheckResult) (*CreateResult, error) {
	var fp string
	if opts.IdempotencyKey != "" {
		fp = fingerprint(in, opts)
	}
	if check.IdempotentLeadID != 0 {
		return s.replay(ctx, actor, check, fp)
	}
	cfg, err := s.config(ctx, actor.AccountID, check.ConfigVersion)
	if err != nil {
		return nil, err
	}
	if err := applyTeamRules(cfg, &in, opts.SkipTeamAndSourceRequirement); err != nil {
		return nil, err
	}
	in.AssignedTo = EmailKey(in.AssignedTo)
	if err := cfg.requireMember(in.AssignedTo); err != nil {
		return nil, err
	}
	var uniqueEmail string
	if cfg.Account.DuplicatePolicy != DuplicateAllow && in.Email != "" {
		if check.DuplicateLeadID != 0 {
			return nil, duplicateEmail(in.Email, check.DuplicateLeadID)
		}
		uniqueEmail = EmailKey(in.Email)
	}
	if in.CreatedBy == "" {
		in.CreatedBy = actor.Email
	}

	now := s.clock()
	lead := newLead(actor.AccountID, in, now)
	lead.ApplicationID = opts.ApplicationID
	assignment, rot, turn, err := s.assign(ctx, cfg, &lead, now, opts.DryRun)
	if err != nil {
		return nil, err
	}
	if lead.AssignmentStatus != AssignmentPending {
		lead.AssignmentStatus = settledStatus(lead.AssignedTo)
	}
	if opts.DryRun {
		return &CreateResult{Lead: &lead, DryRun: true, Assignment: assignment}, nil
	}
	n := &NewLead{
		Lead:           &lead,
		Audit:          []AuditEntry{newAuditEntry(actor, EventLeadCreated, createdData(&lead, opts), now)},
		IdempotencyKey: opts.IdempotencyKey,
		Fingerprint:    fp,
		UniqueEmail:    uniqueEmail,
		Skips:          turn.Skipped,
		TurnState:      turn.Checkpoint,
	}
	if e, ok := assignment.auditEntry(actor, now); ok {
		n.Audit = append(n.Audit, e)
	}
	err = s.store.InsertLead(ctx, n)
	s.afterWrite(ctx, rot, turn, err, ErrorCode(err) == CodeOutcomeUnknown)
	if ErrorCode(err) == CodeOutcomeUnknown {
		return nil, fmt.Errorf("create lead: %w", err)
	}
	if err != nil {
		return s.insertFailed(ctx, actor, in, opts, fp, err)
	}
	lead.AuditLog = n.Audit
	return &CreateResult{Lead: &lead, Assignment: assignment}, nil
}

// insertFailed explains a failed insert: a concurrent request that won the
// race for the idempotency key or the email, or a plain failure.
func (s *Service) insertFailed(ctx context.Context, actor Actor, in LeadInput, opts CreateOptions, fp string, err error) (*CreateResult, error) {
	switch {
	case errors.Is(err, ErrIdempotencyKeyTaken):
		check, cerr := s.store.CreateCheck(ctx, CreateCheckQuery{AccountID: actor.AccountID, IdempotencyKey: opts.IdempotencyKey})
		if cerr != nil {
			return nil, fmt.Errorf("create lead: read idempotent lead: %w", cerr)
		}
		if check.IdempotentLeadID != 0 {
			return s.replay(ctx, actor, check, fp)
		}
	case errors.Is(err, ErrEmailTaken):
		check, cerr := s.store.CreateCheck(ctx, CreateCheckQuery{AccountID: actor.AccountID, EmailKey: EmailKey(in.Email)})
		if cerr != nil {
			return nil, fmt.Errorf("create lead: read duplicate lead: %w", cerr)
		}
		return nil, duplicateEmail(in.Email, check.DuplicateLeadID)
	}
	return nil, fmt.Errorf("create lead: %w", err)
}

// replay answers a retried create with the lead its key created first.
func (s *Service) replay(ctx context.Context, actor Actor, check CreateCheckResult, fp string) (*CreateResult, error) {
	if check.IdempotentFingerprint != fp {
		return nil, Errorf(CodeIdempotencyKeyReused, "Idempotency-Key was already used with a different request")
	}
	lead, err := s.store.Lead(ctx, actor.AccountID, check.IdempotentLeadID, true)
	if ErrorCode(err) == CodeNotFound {
		return nil, &Error{Code: CodeConflict, Message: "the lead created with this Idempotency-Key has been deleted",
			Details: map[string]any{"leadId": check.IdempotentLeadID}}
	}
	if err != nil {
		return nil, fmt.Errorf("create lead: read idempotent lead: %w", err)
	}
	a := Assignment{Assignee: lead.AssignedTo, RotationID: lead.RotationID, Turn: lead.RotationTurn, Reason: AssignNoRotation}
	for _, e := range lead.AuditLog {
		if e.Event == EventLeadAssigned || e.Event == EventLeadNotAssigned {
			a.Reason, _ = e.Data["reason"].(string)
			a.RotationName, _ = e.Data["rotationName"].(string)
		}
	}
	return &CreateResult{Lead: lead, Replayed: true, Assignment: a}, nil
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

// assign decides who gets lead, taking a rotation turn when one applies. The
// returned rotation and turn are what to refund if the lead is not written.
func (s *Service) assign(ctx context.Context, cfg *AccountConfig, lead *Lead, now time.Time, dryRun bool) (Assignment, *Rotation, Turn, error) {
	if lead.AssignedTo != "" {
		return Assignment{Assignee: lead.AssignedTo, Reason: AssignExplicit}, nil, Turn{}, nil
	}
	rot := cfg.RotationFor(lead.TeamID)
	if rot == nil || s.rotator == nil {
		return Assignment{Reason: AssignNoRotation}, nil, Turn{}, nil
	}
	if !dryRun && s.rotatorDown(now) {
		return s.deferAssignment(rot, lead), nil, Turn{}, nil
	}
	a, used, turn, err := s.assignWith(ctx, rot, lead, now, dryRun)
	if err != nil && IsUnavailable(err) {
		s.rotatorUnavailable(ctx, now, rot, err)
		if !dryRun {
			return s.deferAssignment(rot, lead), nil, Turn{}, nil
		}
	}
	return a, used, turn, err
}

// rotatorUnavailable records that the rotator failed as unavailable (err,
// met by rot's turn): Create defers assignments without asking it until a
// probe sees it answer, or, for a rotator that cannot be probed, for
// rotatorBackoff. The outage is logged once, not once per request.
func (s *Service) rotatorUnavailable(ctx context.Context, now time.Time, rot *Rotation, err error) {
	if prober, ok := s.rotator.(RotatorProber); ok {
		if s.rotatorFailed.CompareAndSwap(false, true) {
			s.log.WarnContext(ctx, "rotation unavailable: assignments deferred until it answers", "rotation", rot.ID, "err", err)
		}
		if s.probing.CompareAndSwap(false, true) {
			go s.probe(prober)
		}
		return
	}
	if old := s.rotatorDownUntil.Swap(now.Add(s.rotatorBackoff).UnixNano()); old == 0 || now.UnixNano() >= old {
		s.log.WarnContext(ctx, "rotation unavailable: assignments deferred", "rotation", rot.ID, "err", err)
	}
}

// probe asks prober every rotatorBackoff whether the rotator answers again,
// until it does or someone else has seen it answer (rotatorUp).
func (s *Service) probe(prober RotatorProber) {
	t := time.NewTicker(s.rotatorBackoff)
	defer t.Stop()
	for {
		for s.rotatorFailed.Load() {
			<-t.C
			if err := prober.Probe(context.Background()); err == nil || !IsUnavailable(err) {
				s.rotatorUp()
			}
		}
		s.probing.Store(false)
		// A failure recorded after the loop saw none, and before probing was
		// released, started no prober: this one goes on for it.
		if !s.rotatorFailed.Load() || !s.probing.CompareAndSwap(false, true) {
			return
		}
	}
}

// rotatorUp records that the rotator answers again.
func (s *Service) rotatorUp() {
	s.rotatorDownUntil.Store(0)
	if s.rotatorFailed.CompareAndSwap(true, false) {
		s.log.Info("rotation answers again: assignments resume")
	}
}

// rotatorDown reports whether the rotator failed as unavailable recently
// enough that Create should not wait for it again.
func (s *Service) rotatorDown(now time.Time) bool {
	if s.rotatorFailed.Load() {
		return true
	}
	until := s.rotatorDownUntil.Load()
	return until != 0 && now.UnixNano() < until
}

// deferAssignment marks lead as waiting for rot: stored now, assigned by
// AssignPending when the rotation answers again.
func (s *Service) deferAssignment(rot *Rotation, lead *Lead) Assignment {
	lead.AssignmentStatus = AssignmentPending
	return Assignment{RotationID: rot.ID, RotationName: rot.Name, Reason: AssignDeferred}
}

// assignWith takes a turn of rot (or, for a dry run, looks at the next one)
// and gives lead to its member, or to the fallback assignee when nobody is
// eligible.
func (s *Service) assignWith(ctx context.Context, rot *Rotation, lead *Lead, now time.Time, dryRun bool) (Assignment, *Rotation, Turn, error) {
	var turn Turn
	var err error
	if dryRun {
		var p Preview
		if p, err = s.rotator.Peek(ctx, rot, now, 1); err == nil && len(p.Turns) > 0 {
			turn = p.Turns[0]
		}
	} else {
		turn, err = s.rotator.Next(ctx, rot, now)
	}
	if err != nil {
		return Assignment{}, nil, Turn{}, fmt.Errorf("take turn of rotation %d: %w", rot.ID, err)
	}
	a := Assignment{RotationID: rot.ID, RotationName: rot.Name, Turn: turn.Seq, Skipped: turn.Skipped}
	switch {
	case turn.Assignee != "":
		a.Assignee, a.Reason = turn.Assignee, AssignRotation
		lead.RotationTurn = turn.Seq
	case rot.FallbackAssignee != "":
		a.Assignee, a.Reason = rot.FallbackAssignee, AssignFallback
	default:
		a.Reason = AssignNoEligible
	}
	lead.AssignedTo = a.Assignee
	if a.Assignee != "" {
		lead.RotationID = rot.ID
	}
	return a, rot, turn, nil
}

// turnWriteTimeout bounds the write of a lead that a rotation turn was taken
// for.
const turnWriteTimeout = 10 * time.Second

// turnWriteContext is the context of a write that follows a rotation turn:
// not canceled with the caller's, since a write canceled while committing
// may have committed, and giving its turn back would then hand the member an
// extra lead; bounded instead by turnWriteTimeout.
func turnWriteContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), turnWriteTimeout)
}

// afterWrite ends the life of turn (of rot) by how the write of its lead
// ended (err): kept when the lead is stored; given back when the write
// stored nothing; left open when it may have committed (mayHaveCommitted),
// for the rotator's settling (TurnSettler) to find out from the store. A
// rotator that cannot settle later gets the turn back then too, as before.
func (s *Service) afterWrite(ctx context.Context, rot *Rotation, turn Turn, err error, mayHaveCommitted bool) {
	if rot == nil || s.rotator == nil || turn.Assignee == "" {
		return
	}
	if err == nil {
		if c, ok := s.rotator.(TurnConfirmer); ok {
			c.ConfirmTurn(rot, turn)
		}
		return
	}
	if _, ok := s.rotator.(TurnSettler); ok && mayHaveCommitted {
		return
	}
	s.refund(ctx, rot, turn)
}

// refund gives a turn back; a failure is logged, as the caller already has an
// error to return and the rotation stays usable (one member is one turn ahead).
func (s *Service) refund(ctx context.Context, rot *Rotation, turn Turn) {
	if rot == nil || s.rotator == nil || turn.Assignee == "" {
		return
	}
	if err := s.rotator.Refund(context.WithoutCancel(ctx), rot, turn); err != nil {
		s.log.ErrorContext(ctx, "refund rotation turn", "rotation", rot.ID, "turn", turn.Seq, "err", err)
	}
}

// auditEntry returns the entry that records the assignment, if any.
func (a Assignment) auditEntry(actor Actor, now time.Time) (AuditEntry, bool) {
	if a.Reason == AssignNoRotation {
		return AuditEntry{}, false
	}
	data := map[string]any{"assignee": a.Assignee, "reason": a.Reason}
	if a.RotationID != 0 {
		data["rotationId"] = a.RotationID
		data["rotationName"] = a.RotationName
	}
	if a.Reason == AssignDeferred {
		delete(data, "assignee")
		return newAuditEntry(actor, EventAssignmentDeferred, data, now), true
	}
	if a.Turn != 0 {
		data["turn"] = a.Turn
	}
	if len(a.Skipped) > 0 {
		skipped := make([]any, len(a.Skipped))
		for i, sk := range a.Skipped {
			skipped[i] = map[string]any{"user": sk.User, "reason": sk.Reason, "slots": sk.Slots}
		}
		data["skipped"] = skipped
	}
	event := EventLeadAssigned
	if a.Assignee == "" {
		event = EventLeadNotAssigned
		delete(data, "assignee")
	}
	return newAuditEntry(actor, event, data, now), true
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

// config returns the account's configuration at version or later, from the
// cache when it holds that version.
func (s *Service) config(ctx context.Context, accountID string, version int64) (*AccountConfig, error) {
	s.configMu.RLock()
	cfg := s.configs[accountID]
	s.configMu.RUnlock()
	if cfg != nil && cfg.Version >= version {
		return cfg, nil
	}
	for {
		s.configMu.Lock()
		if cfg := s.configs[accountID]; cfg != nil && cfg.Version >= version {
			s.configMu.Unlock()
			return cfg, nil
		}
		load := s.loading[accountID]
		if load == nil {
			load = &configLoad{done: make(chan struct{})}
			s.loading[accountID] = load
			go s.loadConfig(ctx, accountID, load)
		}
		s.configMu.Unlock()
		// The load is shared, and goes on for the others; each caller waits
		// for it only until its own deadline.
		select {
		case <-load.done:
		case <-ctx.Done():
			return nil, Unavailable("the database", fmt.Errorf("load configuration of account %s: %w", accountID, ctx.Err()))
		}
		if load.err != nil {
			return nil, load.err
		}
		if load.cfg.Version >= version {
			return load.cfg, nil
		}
		// The load in flight started before the version this caller saw:
		// look again (a newer load, or the cache, will have it).
	}
}

// configLoadTimeout bounds a configuration load, which runs for every
// request waiting on it, not on any one request's context.
const configLoadTimeout = 10 * time.Second

// loadConfig loads an account's configuration for everyone waiting on load.
func (s *Service) loadConfig(ctx context.Context, accountID string, load *configLoad) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), configLoadTimeout)
	defer cancel()
	cfg, err := s.store.AccountConfig(lctx, accountID)
	s.configMu.Lock()
	if err != nil {
		load.err = fmt.Errorf("load configuration of account %s: %w", accountID, err)
	} else {
		load.cfg = cfg
		if old := s.configs[accountID]; old == nil || old.Version < cfg.Version {
			s.configs[accountID] = cfg
		}
	}
	delete(s.loading, accountID)
	s.configMu.Unlock()
	close(load.done)
}

// Lead returns one of actor's account's leads with its audit log; NOT_FOUND
// when the account has no such lead.
func (s *Service) Lead(ctx context.Context, actor Actor, id int64) (*Lead, error) {
	if err := actor.Require(PermRead); err != nil {
		return nil, err
	}
	lead, err := s.store.Lead(ctx, actor.AccountID, id, true)
	if err != nil {
		return nil, fmt.Errorf("read lead %d: %w", id, err)
	}
	return lead, nil
}
