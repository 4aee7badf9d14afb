package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

// The bun models are private: the rest of leadrotor sees only leads types.

type accountRow struct {
	bun.BaseModel `bun:"table:accounts"`

	ID              string                `bun:"id,pk"`
	Name            string                `bun:"name"`
	DuplicatePolicy string                `bun:"duplicate_policy"`
	Returning       leads.ReturningPolicy `bun:"returning_policy,type:jsonb"`
	OpenStatuses    string                `bun:"open_statuses"`
	ActivityAccepts bool                  `bun:"activity_accepts"`
	ConfigVersion   int64                 `bun:"config_version"`
	CreatedAt       time.Time             `bun:"created_at"`
	UpdatedAt       time.Time             `bun:"updated_at"`
}

func (r *accountRow) account() *leads.Account {
	returning := r.Returning
	if returning.MatchBy == nil {
		returning.MatchBy = []string{}
	}
	return &leads.Account{ID: r.ID, Name: r.Name, DuplicatePolicy: leads.DuplicatePolicy(r.DuplicatePolicy), Returning: returning,
		OpenStatuses: parseStatuses(r.OpenStatuses), ActivityAccepts: &r.ActivityAccepts, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// parseStatuses reads the open statuses column: comma-separated, "" for
// the default set.
func parseStatuses(s string) []leads.Status {
	if s == "" {
		return slices.Clone(leads.DefaultOpenStatuses)
	}
	return splitList[leads.Status](s)
}

// formatStatuses writes the open statuses column ("" for the default set).
func formatStatuses(ss []leads.Status) string {
	if slices.Equal(ss, leads.DefaultOpenStatuses) {
		return ""
	}
	return joinList(ss)
}

// splitList reads a comma-separated column of names (open statuses, event
// types): never nil, empty items left out.
func splitList[T ~string](s string) []T {
	out := []T{}
	for _, v := range strings.Split(s, ",") {
		if v != "" {
			out = append(out, T(v))
		}
	}
	return out
}

// joinList writes names as a comma-separated column.
func joinList[T ~string](vs []T) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = string(v)
	}
	return strings.Join(parts, ",")
}

type memberRow struct {
	bun.BaseModel `bun:"table:members"`

	AccountID         string    `bun:"account_id,pk"`
	Email             string    `bun:"email,pk"`
	Role              string    `bun:"role"`
	HolidayCalendarID int64     `bun:"holiday_calendar_id,nullzero"`
	CreatedAt         time.Time `bun:"created_at"`
}

func (r *memberRow) member() leads.Member {
	return leads.Member{AccountID: r.AccountID, Email: r.Email, Role: leads.Role(r.Role), HolidayCalendarID: r.HolidayCalendarID,
		CreatedAt: r.CreatedAt.UTC()}
}

type apiKeyRow struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID         int64      `bun:"id,pk,autoincrement"`
	Email      string     `bun:"email"`
	Prefix     string     `bun:"prefix"`
	Hash       string     `bun:"hash"`
	Name       string     `bun:"name"`
	CreatedAt  time.Time  `bun:"created_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	RevokedAt  *time.Time `bun:"revoked_at"`
}

func (r *apiKeyRow) apiKey() *leads.APIKey {
	return &leads.APIKey{ID: r.ID, Email: r.Email, Prefix: r.Prefix, Name: r.Name, CreatedAt: r.CreatedAt.UTC(),
		LastUsedAt: utcPtr(r.LastUsedAt), RevokedAt: utcPtr(r.RevokedAt)}
}

type passwordRow struct {
	bun.BaseModel `bun:"table:member_passwords"`

	Email        string    `bun:"email,pk"`
	PasswordHash string    `bun:"password_hash"`
	UpdatedAt    time.Time `bun:"updated_at"`
}

type sessionRow struct {
	bun.BaseModel `bun:"table:console_sessions,alias:cs"`

	TokenHash string    `bun:"token_hash,pk"`
	Email     string    `bun:"email"`
	AccountID string    `bun:"account_id,nullzero"`
	CSRFToken string    `bun:"csrf_token"`
	TTLMillis int64     `bun:"ttl_ms"`
	CreatedAt time.Time `bun:"created_at"`
	ExpiresAt time.Time `bun:"expires_at"`
}

func (r *sessionRow) session() leads.Session {
	return leads.Session{Email: r.Email, AccountID: r.AccountID, CSRFToken: r.CSRFToken,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC()}
}

type inviteRow struct {
	bun.BaseModel `bun:"table:invites"`

	TokenHash string     `bun:"token_hash,pk"`
	AccountID string     `bun:"account_id"`
	Email     string     `bun:"email"`
	Role      string     `bun:"role"`
	Kind      string     `bun:"kind"`
	CreatedBy string     `bun:"created_by"`
	CreatedAt time.Time  `bun:"created_at"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
}

func (r *inviteRow) invite() *leads.Invite {
	return &leads.Invite{AccountID: r.AccountID, Email: r.Email, Role: leads.Role(r.Role), Kind: r.Kind,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), UsedAt: utcPtr(r.UsedAt)}
}

type teamRow struct {
	bun.BaseModel `bun:"table:teams"`

	ID        int64     `bun:"id,pk,autoincrement"`
	AccountID string    `bun:"account_id"`
	Name      string    `bun:"name"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
}

func (r *teamRow) team() *leads.Team {
	return &leads.Team{ID: r.ID, AccountID: r.AccountID, Name: r.Name, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type leadSourceRow struct {
	bun.BaseModel `bun:"table:lead_sources"`

	ID        int64     `bun:"id,pk,autoincrement"`
	AccountID string    `bun:"account_id"`
	TeamID    int64     `bun:"team_id"`
	Name      string    `bun:"name"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
}

func (r *leadSourceRow) leadSource() *leads.LeadSource {
	return &leads.LeadSource{ID: r.ID, AccountID: r.AccountID, TeamID: r.TeamID, Name: r.Name,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type rotationRow struct {
	bun.BaseModel `bun:"table:rotations"`

	ID               int64      `bun:"id,pk,autoincrement"`
	AccountID        string     `bun:"account_id"`
	TeamID           int64      `bun:"team_id,nullzero"`
	IsDefault        bool       `bun:"is_default"`
	Name             string     `bun:"name"`
	FallbackAssignee string     `bun:"fallback_assignee"`
	WhenNobody       string     `bun:"when_nobody_eligible"`
	SLA              *leads.SLA `bun:"sla,type:jsonb,nullzero"`
	Timezone         string     `bun:"timezone"`
	CreatedAt        time.Time  `bun:"created_at"`
	UpdatedAt        time.Time  `bun:"updated_at"`
}

func newRotationRow(r *leads.Rotation) *rotationRow {
	return &rotationRow{ID: r.ID, AccountID: r.AccountID, TeamID: r.TeamID, IsDefault: r.Default, Name: r.Name,
		FallbackAssignee: r.FallbackAssignee, WhenNobody: r.WhenNobodyEligible, SLA: r.SLA, Timezone: r.Timezone, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// rotation is the rotation r stores (its members apart); one whose
// fallback assignee was removed from the account falls back to nobody
// (leads.Rotation.FallBackToNobody).
func (r *rotationRow) rotation() *leads.Rotation {
	rot := &leads.Rotation{ID: r.ID, AccountID: r.AccountID, TeamID: r.TeamID, Default: r.IsDefault, Name: r.Name,
		FallbackAssignee: r.FallbackAssignee, WhenNobodyEligible: r.WhenNobody, SLA: r.SLA, Timezone: r.Timezone, Members: []leads.RotationMember{},
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	rot.FallBackToNobody()
	return rot
}

type rotationMemberRow struct {
	bun.BaseModel `bun:"table:rotation_members"`

	RotationID int64  `bun:"rotation_id,pk"`
	AccountID  string `bun:"account_id"`
	Position   int    `bun:"position"`
	Email      string `bun:"email,pk"`
	Weight     int    `bun:"weight"`
	Paused     bool   `bun:"paused"`
	DailyCap   int    `bun:"daily_cap"`
	MaxOpen    int    `bun:"max_open_leads"`
}

// member is the row as a rotation member.
func (m *rotationMemberRow) member() leads.RotationMember {
	return leads.RotationMember{User: m.Email, Weight: m.Weight, Paused: m.Paused, DailyCap: m.DailyCap, MaxOpenLeads: m.MaxOpen}
}

func rotationMemberRows(r *leads.Rotation) []rotationMemberRow {
	rows := make([]rotationMemberRow, len(r.Members))
	for i, m := range r.Members {
		rows[i] = rotationMemberRow{RotationID: r.ID, AccountID: r.AccountID, Position: i, Email: m.User,
			Weight: m.Weight, Paused: m.Paused, DailyCap: m.DailyCap, MaxOpen: m.MaxOpenLeads}
	}
	return rows
}

type leadRow struct {
	bun.BaseModel `bun:"table:leads"`

	ID                       int64          `bun:"id,pk,autoincrement"`
	AccountID                string         `bun:"account_id"`
	TeamID                   int64          `bun:"team_id,nullzero"`
	LeadSourceID             int64          `bun:"lead_source_id,nullzero"`
	ApplicationID            string         `bun:"application_id"`
	FirstName                string         `bun:"first_name"`
	LastName                 string         `bun:"last_name"`
	ImgSrc                   string         `bun:"img_src"`
	Email                    string         `bun:"email"`
	Phone                    string         `bun:"phone"`
	Company                  string         `bun:"company"`
	JobTitle                 string         `bun:"job_title"`
	Branch                   string         `bun:"branch"`
	Source                   string         `bun:"source"`
	Position                 string         `bun:"position"`
	Location                 string         `bun:"location"`
	ProductsServicesSold     string         `bun:"products_services_sold"`
	NumberOfEmployees        *int64         `bun:"number_of_employees"`
	CurrentPaymentProcessor  string         `bun:"current_payment_processor"`
	MonthlyTransactionVolume *int64         `bun:"monthly_transaction_volume"`
	InterestedInSwitching    *bool          `bun:"interested_in_switching"`
	ProcessStage             string         `bun:"process_stage"`
	BuyingRole               string         `bun:"buying_role"`
	AssignedTo               string         `bun:"assigned_to"`
	Notes                    string         `bun:"notes"`
	LastContacted            *time.Time     `bun:"last_contacted"`
	Archived                 bool           `bun:"archived"`
	CreatedBy                string         `bun:"created_by"`
	ExternalID               string         `bun:"external_id,nullzero"`
	HotScore                 *int64         `bun:"hot_score"`
	Status                   string         `bun:"status"`
	Metadata                 map[string]any `bun:"metadata,type:jsonb,json_use_number"`
	RotationID               int64          `bun:"rotation_id,nullzero"`
	RotationTurn             int64          `bun:"rotation_turn"`
	AssignedAt               *time.Time     `bun:"assigned_at"`
	AcceptedAt               *time.Time     `bun:"accepted_at"`
	FirstTouchAt             *time.Time     `bun:"first_touch_at"`
	LastActivityAt           *time.Time     `bun:"last_activity_at"`
	SLADueAt                 *time.Time     `bun:"sla_due_at"`
	AssignmentPending        bool           `bun:"assignment_pending"`
	WaitingReason            string         `bun:"waiting_reason"`
	EmailNorm                string         `bun:"email_norm,nullzero"`
	PhoneKey                 string         `bun:"phone_key"`
	EmailUnique              string         `bun:"email_unique,nullzero"`
	IdempotencyKey           string         `bun:"idempotency_key,nullzero"`
	IdempotencyFingerprint   string         `bun:"idempotency_fingerprint"`
	CreatedAt                time.Time      `bun:"created_at"`
	UpdatedAt                time.Time      `bun:"updated_at"`
}

// newLeadRow maps a lead to its row; the columns a Lead does not carry
// (assigned_at, idempotency, unique email) are the caller's to set.
func newLeadRow(l *leads.Lead) *leadRow {
	r := &leadRow{
		ID: l.ID, AccountID: l.AccountID, TeamID: l.TeamID, LeadSourceID: l.LeadSourceID, ApplicationID: l.ApplicationID,
		FirstName: l.FirstName, LastName: l.LastName, ImgSrc: l.ImgSrc, Email: l.Email, Phone: l.Phone,
		Company: l.Company, JobTitle: l.JobTitle, Branch: l.Branch, Source: l.Source, Position: l.Position,
		Location: l.Location, ProductsServicesSold: l.ProductsServicesSold, NumberOfEmployees: l.NumberOfEmployees,
		CurrentPaymentProcessor: l.CurrentPaymentProcessor, MonthlyTransactionVolume: l.MonthlyTransactionVolume,
		InterestedInSwitching: l.InterestedInSwitching, ProcessStage: l.ProcessStage, BuyingRole: l.BuyingRole,
		AssignedTo: l.AssignedTo, Notes: l.Notes, LastContacted: l.LastContacted, Archived: l.Archived,
		CreatedBy: l.CreatedBy, ExternalID: l.ExternalID, HotScore: l.HotScore, Status: string(l.Status),
		Metadata: l.Metadata, RotationID: l.RotationID,
		RotationTurn: l.RotationTurn,
		AcceptedAt:   l.AcceptedAt, FirstTouchAt: l.FirstTouchAt, LastActivityAt: l.LastActivityAt, SLADueAt: l.SLADueAt,
		AssignmentPending: l.AssignmentStatus == leads.AssignmentPending || l.AssignmentStatus == leads.AssignmentWaiting,
		WaitingReason:     waitingReason(l),
		EmailNorm:         leads.EmailKey(l.Email), PhoneKey: leads.PhoneKey(l.Phone), CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt,
	}
	return r
}

// waitingReason is what the row keeps of why l waits: nothing unless it does.
func waitingReason(l *leads.Lead) string {
	if l.AssignmentStatus != leads.AssignmentWaiting {
		return ""
	}
	if l.WaitingReason == "" {
		return "waiting" // the status lives on the reason's presence
	}
	return l.WaitingReason
}

func (r *leadRow) lead() *leads.Lead {
	status, waiting := leads.AssignmentUnassigned, ""
	switch {
	case r.AssignmentPending && r.WaitingReason != "":
		status, waiting = leads.AssignmentWaiting, r.WaitingReason
	case r.AssignmentPending:
		status = leads.AssignmentPending
	case r.AssignedTo != "":
		status = leads.AssignmentAssigned
	}
	return &leads.Lead{
		ID: r.ID, AccountID: r.AccountID, ApplicationID: r.ApplicationID,
		LeadInput: leads.LeadInput{
			TeamID: r.TeamID, LeadSourceID: r.LeadSourceID,
			FirstName: r.FirstName, LastName: r.LastName, ImgSrc: r.ImgSrc, Email: r.Email, Phone: r.Phone,
			Company: r.Company, JobTitle: r.JobTitle, Branch: r.Branch, Source: r.Source, Position: r.Position,
			Location: r.Location, ProductsServicesSold: r.ProductsServicesSold, NumberOfEmployees: r.NumberOfEmployees,
			CurrentPaymentProcessor: r.CurrentPaymentProcessor, MonthlyTransactionVolume: r.MonthlyTransactionVolume,
			InterestedInSwitching: r.InterestedInSwitching, ProcessStage: r.ProcessStage, BuyingRole: r.BuyingRole,
			AssignedTo: r.AssignedTo, Notes: r.Notes, LastContacted: utcPtr(r.LastContacted), Archived: r.Archived,
			CreatedBy: r.CreatedBy, ExternalID: r.ExternalID, HotScore: r.HotScore, Status: leads.Status(r.Status),
			Metadata: r.Metadata,
		},
		RotationID: r.RotationID, RotationTurn: r.RotationTurn, AssignmentStatus: status, WaitingReason: waiting,
		AssignedAt: utcPtr(r.AssignedAt), AcceptedAt: utcPtr(r.AcceptedAt), FirstTouchAt: utcPtr(r.FirstTouchAt),
		LastActivityAt: utcPtr(r.LastActivityAt), SLADueAt: utcPtr(r.SLADueAt),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

type activityRow struct {
	bun.BaseModel `bun:"table:lead_activities"`

	ID         int64     `bun:"id,pk,autoincrement"`
	AccountID  string    `bun:"account_id"`
	LeadID     int64     `bun:"lead_id"`
	Type       string    `bun:"type"`
	Title      string    `bun:"title"`
	Note       string    `bun:"note"`
	OccurredAt time.Time `bun:"occurred_at"`
	Completed  bool      `bun:"completed"`
	Outcome    string    `bun:"outcome"`
	CreatedBy  string    `bun:"created_by"`
	CreatedAt  time.Time `bun:"created_at"`
}

func newActivityRow(a *leads.Activity) *activityRow {
	return &activityRow{ID: a.ID, AccountID: a.AccountID, LeadID: a.LeadID, Type: string(a.Type), Title: a.Title, Note: a.Note,
		OccurredAt: a.OccurredAt, Completed: a.Completed, Outcome: a.Outcome, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt}
}

func (r *activityRow) activity() leads.Activity {
	return leads.Activity{ID: r.ID, AccountID: r.AccountID, LeadID: r.LeadID, Type: leads.ActivityType(r.Type), Title: r.Title,
		Note: r.Note, OccurredAt: r.OccurredAt.UTC(), Completed: r.Completed, Outcome: r.Outcome, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC()}
}

type turnRow struct {
	bun.BaseModel `bun:"table:rotation_turns"`

	ID         int64     `bun:"id,pk,autoincrement"`
	RotationID int64     `bun:"rotation_id"`
	Turn       int64     `bun:"turn"`
	Assignee   string    `bun:"assignee"`
	LeadID     int64     `bun:"lead_id,nullzero"`
	AssignedAt time.Time `bun:"assigned_at"`
	// State is the rotation's state after the turn, as JSON, on checkpoint
	// turns only.
	State string `bun:"state,nullzero"`
}

// newTurnRow returns the row of a turn that assigned leadID (0: not known
// yet), with its checkpoint state when it has one.
func newTurnRow(rotationID, turn int64, assignee string, leadID int64, at time.Time, state *leads.Checkpoint) (*turnRow, error) {
	r := &turnRow{RotationID: rotationID, Turn: turn, Assignee: assignee, LeadID: leadID, AssignedAt: at}
	if state != nil {
		raw, err := json.Marshal(state)
		if err != nil {
			return nil, fmt.Errorf("encode rotation state: %w", err)
		}
		r.State = string(raw)
	}
	return r, nil
}

type skipRow struct {
	bun.BaseModel `bun:"table:rotation_skips"`

	ID         int64     `bun:"id,pk,autoincrement"`
	RotationID int64     `bun:"rotation_id"`
	Turn       int64     `bun:"turn"`
	Member     string    `bun:"member"`
	Reason     string    `bun:"reason"`
	Slots      int       `bun:"slots"`
	SkippedAt  time.Time `bun:"skipped_at"`
}

func skipRows(rotationID, turn int64, skips []leads.Skip, at time.Time) []skipRow {
	rows := make([]skipRow, len(skips))
	for i, sk := range skips {
		rows[i] = skipRow{RotationID: rotationID, Turn: turn, Member: sk.User, Reason: sk.Reason, Slots: sk.Slots, SkippedAt: at}
	}
	return rows
}

type auditRow struct {
	bun.BaseModel `bun:"table:audit_log"`

	ID             int64             `bun:"id,pk,autoincrement"`
	AccountID      string            `bun:"account_id"`
	LeadID         int64             `bun:"lead_id,nullzero"`
	Event          string            `bun:"event"`
	UserEmail      string            `bun:"user_email"`
	APIKey         *string           `bun:"api_key"`
	Data           map[string]any    `bun:"data,type:jsonb,json_use_number"`
	RequestMethod  string            `bun:"request_method"`
	RequestPath    string            `bun:"request_path"`
	RequestHeaders map[string]string `bun:"request_headers,type:jsonb"`
	RequestIP      string            `bun:"request_ip"`
	CreatedAt      time.Time         `bun:"created_at"`
}

func newAuditRow(e *leads.AuditEntry) auditRow {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	return auditRow{ID: e.ID, AccountID: e.AccountID, LeadID: e.LeadID, Event: e.Event, UserEmail: e.User,
		APIKey: e.APIKey, Data: data, RequestMethod: e.RequestMethod, RequestPath: e.RequestPath,
		RequestHeaders: e.RequestHeaders, RequestIP: e.RequestIPAddress, CreatedAt: e.Created}
}

func (r *auditRow) entry() leads.AuditEntry {
	return leads.AuditEntry{ID: r.ID, LeadID: r.LeadID, Event: r.Event, User: r.UserEmail, APIKey: r.APIKey,
		Data: r.Data, Created: r.CreatedAt.UTC(), RequestMethod: r.RequestMethod, RequestPath: r.RequestPath,
		RequestHeaders: r.RequestHeaders, RequestIPAddress: r.RequestIP, AccountID: r.AccountID}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type routingRuleRow struct {
	bun.BaseModel `bun:"table:routing_rules"`

	ID         int64            `bun:"id,pk,autoincrement"`
	AccountID  string           `bun:"account_id"`
	Position   int              `bun:"position"`
	Name       string           `bun:"name"`
	Enabled    bool             `bun:"enabled"`
	Conditions leads.Condition  `bun:"conditions,type:jsonb"`
	Action     leads.RuleAction `bun:"action,type:jsonb"`
	CreatedAt  time.Time        `bun:"created_at"`
	UpdatedAt  time.Time        `bun:"updated_at"`
}

func (r *routingRuleRow) rule() leads.RoutingRule {
	return leads.RoutingRule{ID: r.ID, AccountID: r.AccountID, Name: r.Name, Enabled: r.Enabled, Conditions: r.Conditions,
		Action: r.Action, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type scheduleRow struct {
	bun.BaseModel `bun:"table:member_schedules"`

	AccountID string          `bun:"account_id,pk"`
	Email     string          `bun:"email,pk"`
	Schedule  *leads.Schedule `bun:"schedule,type:jsonb"`
}

type timeOffRow struct {
	bun.BaseModel `bun:"table:member_time_off"`

	ID        int64     `bun:"id,pk,autoincrement"`
	AccountID string    `bun:"account_id"`
	Email     string    `bun:"email"`
	StartsAt  time.Time `bun:"starts_at"`
	EndsAt    time.Time `bun:"ends_at"`
	Note      string    `bun:"note"`
	CreatedAt time.Time `bun:"created_at"`
}

func (r *timeOffRow) timeOff() leads.TimeOff {
	return leads.TimeOff{ID: r.ID, Email: r.Email, Start: r.StartsAt.UTC(), End: r.EndsAt.UTC(), Note: r.Note, CreatedAt: r.CreatedAt.UTC()}
}

type holidayCalendarRow struct {
	bun.BaseModel `bun:"table:holiday_calendars"`

	ID        int64     `bun:"id,pk,autoincrement"`
	AccountID string    `bun:"account_id"`
	Name      string    `bun:"name"`
	Timezone  string    `bun:"timezone"`
	Dates     []string  `bun:"dates,type:jsonb"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
}

func newHolidayCalendarRow(c *leads.HolidayCalendar) *holidayCalendarRow {
	return &holidayCalendarRow{ID: c.ID, AccountID: c.AccountID, Name: c.Name, Timezone: c.Timezone, Dates: c.Dates,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func (r *holidayCalendarRow) calendar() *leads.HolidayCalendar {
	dates := r.Dates
	if dates == nil {
		dates = []string{}
	}
	return &leads.HolidayCalendar{ID: r.ID, AccountID: r.AccountID, Name: r.Name, Timezone: r.Timezone, Dates: dates,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// slaExpiryRow is an assignment whose time to accept ran out
// (leads.SLAExpiry).
type slaExpiryRow struct {
	bun.BaseModel `bun:"table:sla_expiries"`

	ID           int64     `bun:"id,pk,autoincrement"`
	AccountID    string    `bun:"account_id"`
	RotationID   int64     `bun:"rotation_id"`
	LeadID       int64     `bun:"lead_id"`
	Assignee     string    `bun:"assignee"`
	NextAssignee string    `bun:"next_assignee"`
	Action       string    `bun:"action"`
	ExpiredAt    time.Time `bun:"expired_at"`
}
