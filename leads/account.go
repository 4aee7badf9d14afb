package leads

import (
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

// Member is a user (an email) with a role in an account.
type Member struct {
	AccountID string    `json:"accountId"`
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"createdAt"`
}

// Validate normalizes the email to lower case and checks email and role.
func (m *Member) Validate() error {
	m.Email = EmailKey(m.Email)
	if !ValidEmail(m.Email) {
		return ValidationError(FieldError{"email", shorten(m.Email), "Must be a valid email address"})
	}
	if !m.Role.Valid() {
		return ValidationError(FieldError{"role", string(m.Role), "Must be admin, manager or agent"})
	}
	return nil
}

// APIKey is the stored, public part of an API key. The secret is shown once
// when the key is created and only its SHA-256 is kept.
type APIKey struct {
	ID int64 `json:"id"`
	// Email is the user the key acts as.
	Email string `json:"email"`
	// Prefix identifies the key in logs and audit entries without revealing it.
	Prefix     string     `json:"prefix"`
	Name       string     `json:"name,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
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

// Team groups sales reps; leads may be required to name one.
type Team struct {
	ID        int64     `json:"id"`
	AccountID string    `json:"accountId"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Validate checks the team's name.
func (t *Team) Validate() error {
	return validateName(&t.Name)
}

// LeadSource is where a team's leads come from (a form, a campaign, a bot).
type LeadSource struct {
	ID        int64     `json:"id"`
	AccountID string    `json:"accountId"`
	TeamID    int64     `json:"teamId"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Validate checks the lead source's name.
func (s *LeadSource) Validate() error {
	return validateName(&s.Name)
}

func validateName(name *string) error {
	*name = strings.TrimSpace(*name)
	if *name == "" {
		return ValidationError(FieldError{"name", *name, "Is required"})
	}
	return checkText("name", *name, MaxShortTextLength)
}

// Audit events.
const (
	EventLeadCreated     = "lead_created"
	EventLeadAssigned    = "lead_assigned"
	EventLeadNotAssigned = "lead_not_assigned"
	// EventAssignmentDeferred: the lead was stored while its rotation could
	// not be asked; it is assigned later (lead_assigned with deferred: true).
	EventAssignmentDeferred = "assignment_deferred"
	EventLeadUpdated        = "lead_updated"
	EventStatusChanged      = "status_changed"
	EventLeadReassigned     = "lead_reassigned"
	EventLeadDeleted        = "lead_deleted"

	EventTeamCreated       = "team_created"
	EventTeamUpdated       = "team_updated"
	EventTeamDeleted       = "team_deleted"
	EventLeadSourceCreated = "lead_source_created"
	EventLeadSourceUpdated = "lead_source_updated"
	EventLeadSourceDeleted = "lead_source_deleted"
	EventRotationCreated   = "rotation_created"
	EventRotationUpdated   = "rotation_updated"
	EventRotationDeleted   = "rotation_deleted"
	EventMemberAdded       = "member_added"
	EventMemberUpdated     = "member_updated"
	EventMemberRemoved     = "member_removed"
	EventAccountUpdated    = "account_updated"
)

// AuditEntry is one event in a lead's history, in seed 002's shape
// (account_id spelled as there).
type AuditEntry struct {
	ID               int64             `json:"id"`
	LeadID           int64             `json:"leadId,omitempty"`
	Event            string            `json:"event"`
	User             string            `json:"user"`
	APIKey           *string           `json:"apiKey"`
	Data             map[string]any    `json:"data"`
	Created          time.Time         `json:"created"`
	RequestMethod    string            `json:"requestMethod,omitempty"`
	RequestPath      string            `json:"requestPath,omitempty"`
	RequestHeaders   map[string]string `json:"requestHeaders,omitempty"`
	RequestIPAddress string            `json:"requestIpAddress,omitempty"`
	AccountID        string            `json:"account_id"`
}

// newAuditEntry records that actor caused event at now.
func newAuditEntry(actor Actor, event string, data map[string]any, now time.Time) AuditEntry {
	e := AuditEntry{Event: event, User: actor.Email, Data: data, Created: now, AccountID: actor.AccountID}
	if actor.APIKey != "" {
		key := actor.APIKey
		e.APIKey = &key
	}
	if r := actor.Request; r != nil {
		e.RequestMethod, e.RequestPath, e.RequestIPAddress, e.RequestHeaders = r.Method, r.Path, r.IPAddress, r.Headers
	}
	return e
}
