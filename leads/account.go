package leads

import (
	"context"
	"fmt"
	"regexp"
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

// Account is a tenant: every lead, team, lead source and rotation belongs to
// exactly one. Its ID is the value of the x-account-id header.
type Account struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	DuplicatePolicy DuplicatePolicy `json:"duplicatePolicy"`
	CreatedAt       time.Time       `json:"createdAt"`
	UpdatedAt       time.Time       `json:"updatedAt"`
}

var accountIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate checks the account's fields and fills the default policy.
func (a *Account) Validate() error {
	a.ID = strings.TrimSpace(a.ID)
	a.Name = strings.TrimSpace(a.Name)
	if a.DuplicatePolicy == "" {
		a.DuplicatePolicy = DuplicateReject
	}
	switch {
	case !accountIDPattern.MatchString(a.ID):
		return ValidationError(FieldError{"id", a.ID, "Must be 1 to 64 letters, digits, '.', '_' or '-'"})
	case textProblem(a.Name, MaxShortTextLength) != "":
		return checkText("name", a.Name, MaxShortTextLength)
	case !a.DuplicatePolicy.Valid():
		return ValidationError(FieldError{"duplicatePolicy", string(a.DuplicatePolicy), "Must be reject or allow"})
	}
	return nil
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
			next.Name = *patch.Name
		}
		if patch.DuplicatePolicy != nil {
			next.DuplicatePolicy = *patch.DuplicatePolicy
		}
		if err := next.Validate(); err != nil {
			return nil, nil, err
		}
		if next.Name == cur.Name && next.DuplicatePolicy == cur.DuplicatePolicy {
			return nil, nil, nil
		}
		next.UpdatedAt = now
		e := newAuditEntry(actor, EventAccountUpdated, map[string]any{"before": snapshot(cur), "after": snapshot(&next)}, now)
		return &next, []AuditEntry{e}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("update account: %w", err)
	}
	return a, nil
}
