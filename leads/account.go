package leads

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// DuplicatePolicy says what happens when a new lead's email matches a live lead
// of the same account.
type DuplicatePolicy string

// The duplicate policies.
const (
	// DuplicateReject refuses the new lead with DUPLICATE_EMAIL (the default).
	DuplicateReject DuplicatePolicy = "reject"
	// DuplicateAllow stores it anyway.
	DuplicateAllow DuplicatePolicy = "allow"
)

// Valid reports whether p is a known policy.
func (p DuplicatePolicy) Valid() bool { return p == DuplicateReject || p == DuplicateAllow }

// The keys a returning contact is recognised by (ReturningPolicy.MatchBy).
const (
	MatchEmail       = "email"       // the same email, without regard to case
	MatchExternalID  = "externalId"  // the same externalId
	MatchPhone       = "phone"       // the same phone number (PhoneKey: its digits, whatever the separators)
	MatchEmailDomain = "emailDomain" // the same company email domain (free mail domains never match)
)

// What to do with a returning lead whose owner is no longer a member of
// the account (ReturningPolicy.OwnerGone).
const (
	OwnerGoneRoute    = "route"    // route it as a new lead: rules, rotations (the default)
	OwnerGoneHold     = "hold"     // leave it unassigned for a person to decide
	OwnerGoneFallback = "fallback" // give it to the fallback assignee of the rotation that applies, taking no turn
)

// MaxReturningWindowDays bounds ReturningPolicy.WindowDays.
const MaxReturningWindowDays = 3650

// ReturningPolicy says how an account recognises a returning contact, so
// that a new lead from them goes to the rep who already owns them (the
// second step of the decision order): an earlier live lead that matches
// by the first key of MatchBy that matches, created within WindowDays,
// whose owner is still a member. Such a lead takes no rotation turn.
type ReturningPolicy struct {
	// MatchBy lists the keys tried, in order; none turns the step off.
	MatchBy []string `json:"matchBy"`
	// WindowDays: the earlier lead counts when created within this many
	// days; 0 for any age.
	WindowDays int `json:"windowDays"`
	// OwnerGone is OwnerGoneRoute (the default, ""), OwnerGoneHold or
	// OwnerGoneFallback.
	OwnerGone string `json:"ownerGone"`
}

// Validate normalizes and checks the policy, naming fields under
// "returning.".
func (p *ReturningPolicy) Validate() error {
	if p.MatchBy == nil {
		p.MatchBy = []string{}
	}
	if p.OwnerGone == "" {
		p.OwnerGone = OwnerGoneRoute
	}
	seen := map[string]bool{}
	for i, k := range p.MatchBy {
		field := fmt.Sprintf("returning.matchBy[%d]", i)
		switch {
		case k != MatchEmail && k != MatchExternalID && k != MatchPhone && k != MatchEmailDomain:
			return ValidationError(FieldError{field, k, "Must be email, externalId, phone or emailDomain"})
		case seen[k]:
			return ValidationError(FieldError{field, k, "Appears twice"})
		}
		seen[k] = true
	}
	switch {
	case p.WindowDays < 0 || p.WindowDays > MaxReturningWindowDays:
		return ValidationError(FieldError{"returning.windowDays", p.WindowDays, fmt.Sprintf("Must be from 0 (any age) to %d", MaxReturningWindowDays)})
	case p.OwnerGone != OwnerGoneRoute && p.OwnerGone != OwnerGoneHold && p.OwnerGone != OwnerGoneFallback:
		return ValidationError(FieldError{"returning.ownerGone", p.OwnerGone, "Must be route, hold or fallback"})
	}
	return nil
}

// Account is a tenant: every lead, team, lead source and rotation belongs to
// exactly one. Its ID is the value of the x-account-id header.
type Account struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	DuplicatePolicy DuplicatePolicy `json:"duplicatePolicy"`
	// Returning says how returning contacts are recognised; off by default.
	Returning ReturningPolicy `json:"returning"`
	// OpenStatuses are the statuses of a lead that counts against its
	// assignee's capacity (RotationMember.MaxOpenLeads);
	// DefaultOpenStatuses when none are set.
	OpenStatuses []Status `json:"openStatuses"`
	// ActivityAccepts says whether the assignee's first completed activity
	// in an assignment also accepts the lead (see Service.AddActivity);
	// Validate fills the default, true.
	ActivityAccepts *bool     `json:"activityAccepts"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

var accountIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate checks the account's fields and fills the default policy.
func (a *Account) Validate() error {
	a.ID = strings.TrimSpace(a.ID)
	a.Name = strings.TrimSpace(a.Name)
	if a.DuplicatePolicy == "" {
		a.DuplicatePolicy = DuplicateReject
	}
	if a.ActivityAccepts == nil {
		on := true
		a.ActivityAccepts = &on
	}
	switch {
	case !accountIDPattern.MatchString(a.ID):
		return ValidationError(FieldError{"id", a.ID, "Must be 1 to 64 letters, digits, '.', '_' or '-'"})
	case textProblem(a.Name, MaxShortTextLength) != "":
		return checkText("name", a.Name, MaxShortTextLength)
	case !a.DuplicatePolicy.Valid():
		return ValidationError(FieldError{"duplicatePolicy", string(a.DuplicatePolicy), "Must be reject or allow"})
	}
	if err := a.ValidateOpenStatuses(); err != nil {
		return err
	}
	return a.Returning.Validate()
}

// DefaultOpenStatuses are the statuses of an open lead in an account that
// sets none: the lead is still being worked.
var DefaultOpenStatuses = []Status{StatusNew, StatusContacted, StatusFollowUp}

// ValidateOpenStatuses fills the default set of open statuses when none is
// given, checks each status (VALIDATION_ERROR naming openStatuses[i]: one
// that is no status, or one given twice, as a repeated matchBy is), and
// sorts the set.
func (a *Account) ValidateOpenStatuses() error {
	if len(a.OpenStatuses) == 0 {
		a.OpenStatuses = slices.Clone(DefaultOpenStatuses)
	}
	for i, st := range a.OpenStatuses {
		field := fmt.Sprintf("openStatuses[%d]", i)
		if !st.Valid() {
			return ValidationError(FieldError{field, string(st), statusMessage})
		}
		if slices.Contains(a.OpenStatuses[:i], st) {
			return ValidationError(FieldError{field, string(st), "Appears twice"})
		}
	}
	a.OpenStatuses = slices.Clone(a.OpenStatuses)
	slices.Sort(a.OpenStatuses)
	return nil
}

// IsOpen reports whether a lead with status st counts against its
// assignee's capacity under the account's OpenStatuses.
func (a *Account) IsOpen(st Status) bool { return isOpenStatus(a.OpenStatuses, st) }

func isOpenStatus(open []Status, st Status) bool {
	if len(open) == 0 {
		open = DefaultOpenStatuses
	}
	return slices.Contains(open, st)
}

// Role is what a member may do in an account.
type Role string

// The roles, from most to least powerful.
const (
	// RoleAdmin may do everything, including managing members and API keys.
	RoleAdmin Role = "admin"
	// RoleManager manages teams, lead sources, rotations and leads.
	RoleManager Role = "manager"
	// RoleAgent creates, reads and updates leads, and reads everything else.
	RoleAgent Role = "agent"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleManager || r == RoleAgent }

// Permission is one kind of action that roles are checked against.
type Permission int

// The permissions.
const (
	// PermRead reads leads and configuration.
	PermRead Permission = iota
	// PermWriteLeads creates and updates leads.
	PermWriteLeads
	// PermDeleteLeads deletes leads.
	PermDeleteLeads
	// PermWriteConfig changes teams, lead sources and rotations.
	PermWriteConfig
	// PermManageAccount changes members, API keys and account settings.
	PermManageAccount
	// PermReadAudit reads the account's whole audit log, deleted leads' too.
	PermReadAudit
)

// Can reports whether a member with role r may do what p names.
func (r Role) Can(p Permission) bool {
	switch r {
	case RoleAdmin:
		return true
	case RoleManager:
		return p != PermManageAccount && p != PermReadAudit
	case RoleAgent:
		return p == PermRead || p == PermWriteLeads
	}
	return false
}

// RequestInfo is what the audit log keeps of the request behind an action.
// Headers must already be sanitised: secrets masked.
type RequestInfo struct {
	Method    string
	Path      string
	IPAddress string
	Headers   map[string]string
}

// Actor is who acts, in which account, with which role: a member of the
// account as resolved from an API key, or an operator acting in-process.
type Actor struct {
	AccountID string
	Email     string
	Role      Role
	// APIKey is the public prefix of the key the request used; "" in-process.
	APIKey string
	// Request describes the HTTP request; nil in-process.
	Request *RequestInfo
}

// SystemActor returns an actor for in-process operators (the CLI, embedding
// programs): an admin of accountID named "system".
func SystemActor(accountID string) Actor {
	return Actor{AccountID: accountID, Email: "system", Role: RoleAdmin}
}

// Require returns FORBIDDEN unless a acts in an account with a role that
// may do what p names.
func (a Actor) Require(p Permission) error {
	if a.AccountID == "" {
		return Errorf(CodeForbidden, "no account given")
	}
	if !a.Role.Can(p) {
		return Errorf(CodeForbidden, "role %q may not do this", a.Role)
	}
	return nil
}

// CreateAccount stores a new account; VALIDATION_ERROR for a bad ID or policy,
// CONFLICT when the ID is taken. It is an operator's action: no actor.
func (s *Service) CreateAccount(ctx context.Context, a Account) (*Account, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	a.CreatedAt = s.clock()
	a.UpdatedAt = a.CreatedAt
	if err := s.store.CreateAccount(ctx, &a); err != nil {
		return nil, fmt.Errorf("create account %s: %w", a.ID, err)
	}
	return &a, nil
}

// Account returns actor's account.
func (s *Service) Account(ctx context.Context, actor Actor) (*Account, error) {
	if err := actor.Require(PermRead); err != nil {
		return nil, err
	}
	a, err := s.store.Account(ctx, actor.AccountID)
	if err != nil {
		return nil, fmt.Errorf("read account %s: %w", actor.AccountID, err)
	}
	return a, nil
}

// AccountPatch changes account settings; nil fields stay.
type AccountPatch struct {
	Name            *string          `json:"name,omitempty"`
	DuplicatePolicy *DuplicatePolicy `json:"duplicatePolicy,omitempty"`
	// Returning, when set, replaces the returning-contact policy whole.
	Returning *ReturningPolicy `json:"returning,omitempty"`
	// OpenStatuses, when set, replaces the statuses of an open lead; an
	// empty list restores the default.
	OpenStatuses *[]Status `json:"openStatuses,omitempty"`
	// ActivityAccepts, when set, turns accepting by the first activity on
	// or off.
	ActivityAccepts *bool `json:"activityAccepts,omitempty"`
}

// UpdateAccount changes actor's account's settings, audited as
// account_updated {before, after}; admins only.
func (s *Service) UpdateAccount(ctx context.Context, actor Actor, patch AccountPatch) (*Account, error) {
	if err := actor.Require(PermManageAccount); err != nil {
		return nil, err
	}
	now := s.clock()
	a, err := s.store.UpdateAccount(ctx, actor.AccountID, func(cur *Account) (*Account, []AuditEntry, error) {
		next := *cur
		if patch.Name != nil {
			// A name given is one: set, it cannot be blanked (an account
			// made without one keeps none until it is given one).
			next.Name = *patch.Name
			if err := validateName(&next.Name); err != nil {
				return nil, nil, err
			}
		}
		if patch.DuplicatePolicy != nil {
			next.DuplicatePolicy = *patch.DuplicatePolicy
		}
		if patch.Returning != nil {
			next.Returning = *patch.Returning
			next.Returning.MatchBy = slices.Clone(patch.Returning.MatchBy)
		}
		if patch.OpenStatuses != nil {
			next.OpenStatuses = slices.Clone(*patch.OpenStatuses)
		}
		if patch.ActivityAccepts != nil {
			on := *patch.ActivityAccepts
			next.ActivityAccepts = &on
		}
		if err := next.Validate(); err != nil {
			return nil, nil, err
		}
		before, after := snapshot(cur), snapshot(&next)
		if fmt.Sprint(before) == fmt.Sprint(after) {
			return nil, nil, nil
		}
		next.UpdatedAt = now
		after = snapshot(&next)
		e := newAuditEntry(actor, EventAccountUpdated, map[string]any{"before": before, "after": after}, now)
		return &next, []AuditEntry{e}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("update account: %w", err)
	}
	if patch.OpenStatuses != nil {
		// Every count of open leads counted the old statuses.
		if cfg, err := s.Configuration(ctx, actor); err == nil {
			s.forgetAllLoad(ctx, cfg)
		} else {
			s.log.WarnContext(ctx, "capacity: counts of open leads not dropped", "err", err)
		}
	}
	return a, nil
}
