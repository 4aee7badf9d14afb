package leads

import (
	"context"
	"time"
)

// Store is the persistence the Service needs: the union of what each of its
// callers needs, one interface per caller (LeadCreator for the create path,
// LeadStore for the leads once stored, ConfigStore for configuration
// management, KeyStore for API keys, AssignerStore for the background
// assigner and the rotators, StatsStore for statistics, SessionStore for
// the web console's sign-in). A fake or a new
// driver is checked by store/storetest.Exercise, the cases every Store
// passes.
//
// Errors: implementations translate their driver errors into *Error values:
// NOT_FOUND for a missing row, CONFLICT for a broken uniqueness rule, and
// the sentinels below where the Service must tell which rule broke; each
// method names the codes it returns for a refusal. Any method may also
// return SERVICE_UNAVAILABLE (IsUnavailable) when the database cannot be
// reached or does not answer, ctx's error, or an INTERNAL error.
//
// Contexts: every method honours ctx's deadline and cancellation, and
// passes its values (trace, request id) on to its statements. A write runs
// in one transaction, and one given up before its COMMIT stores nothing.
// Only a write whose ctx ends while it commits, or whose COMMIT gets no
// answer, may have stored what it reports as failed: InsertLead finds that
// out before it answers (OUTCOME_UNKNOWN when it cannot), the other writes
// return an error that IsUnavailable (or ctx's error) and leave it open. A
// Store knows nothing of rotation turns: what a failed write means for the
// turn taken for it is the caller's decision. The Service makes it in one
// place (turnWriteContext, afterWrite): the write that follows a turn keeps
// its caller's values and deadline, but is not cancelled when the caller
// goes away.
//
// Apply functions: the methods that change a stored object read it under a
// lock and let an apply (or entry) function decide the change and its audit
// entries. apply must not use the store, and may be called more than once (a
// store runs a transaction again when the database aborted it as a deadlock
// victim), so it decides from its arguments alone; an error from it is
// returned as it is, and nothing is written.
type Store interface {
	LeadCreator
	LeadStore
	ConfigStore
	KeyStore
	AssignerStore
	StatsStore
	SessionStore
}

// LeadCreator is what the create path needs: one read that answers what
// creating (or changing) a lead must know beyond the cached configuration,
// and the insert.
type LeadCreator interface {
	// LeadFacts reads, in one query, what writing a lead is checked
	// against: the account's configuration version, the lead an idempotency
	// key created, a live lead with an email, the live lead with an external
	// id, and, when asked, the caller's API key; NOT_FOUND for an unknown account, unless the query asks for a
	// key (then ConfigVersion is 0 and the credential's role "").
	LeadFacts(ctx context.Context, q LeadFactsQuery) (LeadFacts, error)
	// ReturningLead returns the newest lead of the account whose key by
	// (MatchEmail, MatchExternalID, MatchPhone, MatchEmailDomain) is value,
	// created at or after since, that has an assignee; nil when none. An
	// email and a domain are lower-cased.
	ReturningLead(ctx context.Context, accountID, by, value string, since time.Time) (*Lead, error)
	// RoutingRulesAt returns the account's routing rules as they were in
	// a configuration version (AccountConfig.RulesVersion); NOT_FOUND when
	// none were kept for it.
	RoutingRulesAt(ctx context.Context, accountID string, version int64) ([]RoutingRule, error)
	// InsertLead stores the lead and its audit entries in one transaction and
	// sets their IDs. It returns ErrIdempotencyKeyTaken, ErrEmailTaken or
	// ErrExternalIDTaken when the matching unique rule breaks, CONFLICT when the lead's team, lead
	// source or rotation does not exist in its account, and writes nothing
	// then; OUTCOME_UNKNOWN when the database stopped answering while it
	// committed and the store could not find out whether the lead is stored.
	InsertLead(ctx context.Context, n *NewLead) error
}

// LeadStore is what reading and changing stored leads needs: the lead
// pages, updates, assignment and deletion, and the audit log.
type LeadStore interface {
	// Lead returns a lead of the account, with its audit log oldest first when
	// withAudit is set; NOT_FOUND when the account has no such lead.
	Lead(ctx context.Context, accountID string, id int64, withAudit bool) (*Lead, error)
	// ListLeads returns up to q.Limit leads of the account that pass q.Filter,
	// in q's order, after q.After when it is set; none (no error) for an
	// unknown account. Audit logs are not filled.
	ListLeads(ctx context.Context, q LeadQuery) ([]Lead, error)
	// UpdateLead reads the lead, locked against concurrent writers, and calls
	// apply with it; apply's write (nil: nothing to write) is stored with its
	// audit entries in the same transaction, and the lead is returned with its
	// audit log. NOT_FOUND when the account has no such lead; ErrEmailTaken
	// or ErrExternalIDTaken when the new email or external id breaks its
	// unique rule.
	UpdateLead(ctx context.Context, accountID string, id int64, apply func(cur *Lead) (*LeadWrite, error)) (*Lead, error)
	// DeleteLead removes the lead, writing the audit entry and the events
	// that write makes of it in the same transaction; NOT_FOUND when the
	// account has no such lead. An error from write (the lead is not the
	// version the caller saw) deletes nothing and is returned.
	DeleteLead(ctx context.Context, accountID string, id int64, write func(cur *Lead) (AuditEntry, []Event, error)) error
	// Activities returns up to q.Limit activities of a lead of the account,
	// newest first by (OccurredAt, ID), after q.After when it is set;
	// NOT_FOUND when the account has no such lead.
	Activities(ctx context.Context, q ActivityQuery) ([]Activity, error)
	// AuditEntries returns up to q.Limit entries of the account with an id
	// above q.AfterID, of one lead or event when q says so, oldest first;
	// none (no error) for an unknown account.
	AuditEntries(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// ConfigStore is what configuration management needs: accounts, their
// members, teams, lead sources and rotations, and the snapshot of all of
// them that the Service caches. Every change increments the account's
// configuration version and writes its audit entries in the same
// transaction, so that cached configurations can be checked cheaply and no
// change goes unrecorded. Every change of an account's members and
// configuration first takes a lock on the account, so that rules over
// several objects (the last admin, one default rotation) hold. Each method
// but CreateAccount and Members returns NOT_FOUND for an unknown account.
type ConfigStore interface {
	// CreateAccount stores a new account; CONFLICT when the ID is taken.
	CreateAccount(ctx context.Context, a *Account) error
	// Account returns an account.
	Account(ctx context.Context, id string) (*Account, error)
	// UpdateAccount reads the account under its lock, lets apply decide the
	// change (nil: none) and stores it with apply's audit entries. It
	// returns the account as stored, or as it was when apply changed
	// nothing.
	UpdateAccount(ctx context.Context, id string, apply func(cur *Account) (*Account, []AuditEntry, error)) (*Account, error)
	// PutMember reads, under the account's lock, the member email (nil when
	// not a member) and how many admins the account has; apply decides the
	// member to store (nil: no change) and its audit entries, or refuses.
	// It returns the member as stored, or cur when apply changed nothing.
	// Rules over all the members (the last admin) hold because apply sees
	// them as they are.
	PutMember(ctx context.Context, accountID, email string, apply func(cur *Member, admins int) (*Member, []AuditEntry, error)) (*Member, error)
	// RemoveMember reads, under the account's lock, the member (NOT_FOUND
	// when not a member), how many admins the account has and the rotations
	// that name the member (in their list or as fallback assignee), by id;
	// apply makes the audit entry, or refuses. Then it removes the member,
	// and with it its places in rotations and as a fallback assignee.
	RemoveMember(ctx context.Context, accountID, email string, apply func(cur *Member, admins int, rotations []int64) (AuditEntry, error)) error
	// Members returns the members of an account, ordered by email; none
	// (no error) for an unknown account.
	Members(ctx context.Context, accountID string) ([]Member, error)
	// Member returns a member of an account; NOT_FOUND when not a member.
	Member(ctx context.Context, accountID, email string) (*Member, error)
	// CreateTeam stores a team and sets its ID; CONFLICT when its name is
	// taken in the account. entry makes the audit entry of the created team.
	CreateTeam(ctx context.Context, t *Team, entry func(created *Team) AuditEntry) error
	// UpdateTeam changes a team as apply decides and returns it as stored;
	// NOT_FOUND for no such team, CONFLICT for a name taken.
	UpdateTeam(ctx context.Context, accountID string, id int64, apply func(cur *Team) (*Team, []AuditEntry, error)) (*Team, error)
	// DeleteTeam deletes a team with its lead sources and rotation;
	// NOT_FOUND for no such team. A team with leads is TEAM_IN_USE unless
	// force, which detaches them from it (entry is told how many).
	DeleteTeam(ctx context.Context, accountID string, id int64, force bool, entry func(cur *Team, detached int) AuditEntry) error
	// CreateLeadSource stores a lead source of an existing team of the
	// account and sets its ID; TEAM_NOT_FOUND otherwise, CONFLICT when the
	// name is taken in the team.
	CreateLeadSource(ctx context.Context, s *LeadSource, entry func(created *LeadSource) AuditEntry) error
	// UpdateLeadSource changes a lead source as apply decides and returns it
	// as stored; NOT_FOUND for no such source, CONFLICT for a name taken.
	UpdateLeadSource(ctx context.Context, accountID string, id int64, apply func(cur *LeadSource) (*LeadSource, []AuditEntry, error)) (*LeadSource, error)
	// DeleteLeadSource deletes a lead source; NOT_FOUND for no such source,
	// LEAD_SOURCE_IN_USE while leads name it, unless force, which detaches
	// them from it (entry is told how many).
	DeleteLeadSource(ctx context.Context, accountID string, id int64, force bool, entry func(cur *LeadSource, detached int) AuditEntry) error
	// CreateRotation stores a rotation and its members and sets its ID;
	// CONFLICT for a second default rotation or a second rotation of one
	// team, TEAM_NOT_FOUND for a team not in the account,
	// MEMBER_NOT_IN_ACCOUNT for a member who is not the account's.
	CreateRotation(ctx context.Context, r *Rotation, entry func(created *Rotation) AuditEntry) error
	// UpdateRotation changes a rotation's settings and member list as apply
	// decides and returns it as stored; NOT_FOUND for no such rotation, and
	// the refusals of CreateRotation.
	UpdateRotation(ctx context.Context, accountID string, id int64, apply func(cur *Rotation) (*Rotation, []AuditEntry, error)) (*Rotation, error)
	// ChangeRoutingRules reads the account's routing rules in order under
	// the account's lock, lets apply decide the new list (nil: nothing
	// changes) and stores it in one transaction with apply's audit entries:
	// rules of ID 0 are added (and get their ID), rules missing from the
	// list deleted, the others updated, all in the list's order. It
	// returns the rules as stored. NOT_FOUND for no such account; CONFLICT
	// when two rules would have one name.
	ChangeRoutingRules(ctx context.Context, accountID string, apply func(cur []RoutingRule) ([]RoutingRule, []AuditEntry, error)) ([]RoutingRule, error)
	// DeleteRotation deletes a rotation; its leads keep their assignees.
	// NOT_FOUND for no such rotation.
	DeleteRotation(ctx context.Context, accountID string, id int64, entry func(cur *Rotation) AuditEntry) error
	// ChangeAvailability reads, under the account's lock, the member email
	// (NOT_FOUND when not a member) and their availability (Email set, the
	// rest empty when nothing is), lets apply decide the change (nil: none)
	// and stores it in one transaction with the change's audit entries. It
	// returns the member and their availability as stored. NOT_FOUND when
	// the period of time off to delete is not the member's; the
	// VALIDATION_ERROR of UnknownHolidayCalendar for a calendar that is
	// not the account's.
	ChangeAvailability(ctx context.Context, accountID, email string, apply func(m *Member, cur *MemberAvailability) (*AvailabilityChange, error)) (*Member, *MemberAvailability, error)
	// CreateHolidayCalendar stores a holiday calendar and sets its ID;
	// entry makes the audit entry of the created calendar, told how many
	// other calendars the account has (read under its lock), or refuses.
	// CONFLICT when the name is taken in the account.
	CreateHolidayCalendar(ctx context.Context, c *HolidayCalendar, entry func(created *HolidayCalendar, others int) (AuditEntry, error)) error
	// UpdateHolidayCalendar changes a holiday calendar as apply decides and
	// returns it as stored; NOT_FOUND for no such calendar, CONFLICT for a
	// name taken.
	UpdateHolidayCalendar(ctx context.Context, accountID string, id int64, apply func(cur *HolidayCalendar) (*HolidayCalendar, []AuditEntry, error)) (*HolidayCalendar, error)
	// DeleteHolidayCalendar deletes a holiday calendar; the members who
	// follow it (entry is told who, by email) follow none from then on.
	// NOT_FOUND for no such calendar.
	DeleteHolidayCalendar(ctx context.Context, accountID string, id int64, entry func(cur *HolidayCalendar, followers []string) AuditEntry) error
	// AccountConfig returns a consistent snapshot of the account's settings,
	// members, teams, lead sources, rotations, routing rules and members'
	// availability.
	AccountConfig(ctx context.Context, accountID string) (*AccountConfig, error)
}

// KeyStore is what API keys and authentication need. Keys belong to a user
// (an email), not to an account: the user's role comes from the account a
// request names.
type KeyStore interface {
	// CreateAPIKey stores a key under the SHA-256 (hex) of its secret and
	// sets its ID; CONFLICT when its prefix is taken.
	CreateAPIKey(ctx context.Context, k *APIKey, hash string) error
	// Credential returns, in one read, the key whose secret hashes to hash
	// (revoked or not) and its user's role in the account ("" when not a
	// member, or no such account); NOT_FOUND when there is no such key.
	Credential(ctx context.Context, hash, accountID string) (*Credential, error)
	// RevokeAPIKey marks the key with the given prefix revoked at now;
	// NOT_FOUND when there is no such live key.
	RevokeAPIKey(ctx context.Context, prefix string, now time.Time) error
	// TouchAPIKey records that the key was used at now; no error when there
	// is no such key.
	TouchAPIKey(ctx context.Context, id int64, now time.Time) error
	// APIKeys returns the keys of the user email, or of every user when
	// email is "", revoked ones included, by id.
	APIKeys(ctx context.Context, email string) ([]APIKey, error)
}

// AssignerStore is what the background assigner and the rotators need, in
// every process that shares the store: a lock so that one of them assigns,
// the leads that wait for assignment, and the record of each rotation's
// turns that a rotator rebuilds its state from and settles its open turns
// against (rotation.HistorySource). None of its methods refuses an unknown
// rotation: it has no turns.
type AssignerStore interface {
	// TryLock takes the lock name, held across every process sharing the
	// store, if nobody holds it; ok is false when somebody does. unlock
	// releases it.
	TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
	// PendingLeads returns up to limit leads of any account whose assignment
	// is pending or waiting, oldest first from after (an id, 0 for the
	// start), without audit logs.
	PendingLeads(ctx context.Context, after int64, limit int) ([]Lead, error)
	// RotationIDs returns the ids of every account's rotations, ascending.
	RotationIDs(ctx context.Context) ([]int64, error)
	// RotationHistory returns what is recorded of a rotation's turns,
	// counting assignments from since on.
	RotationHistory(ctx context.Context, rotationID int64, since time.Time) (RotationHistory, error)
	// StoredTurns returns those of turns (of rotation rotationID) that are
	// recorded, that is, whose leads were stored.
	StoredTurns(ctx context.Context, rotationID int64, turns []int64) ([]int64, error)
}

// StatsStore is what the statistics need: counts of what happened in a
// time window [from, to), empty (no error) for an unknown rotation or team.
type StatsStore interface {
	// SLACounts counts a rotation's SLA expiries in [from, to) per member.
	SLACounts(ctx context.Context, rotationID int64, from, to time.Time) (map[string]MemberSLA, error)
	// TurnCounts counts a rotation's turns per assignee.
	TurnCounts(ctx context.Context, rotationID int64, from, to time.Time) (map[string]int64, error)
	// SkipCounts counts the slots a rotation passed over, per member and reason.
	SkipCounts(ctx context.Context, rotationID int64, from, to time.Time) (map[string]map[string]int64, error)
	// ReturningCounts counts, per assignee, the leads of the account that
	// went to the owner of a returning contact (AssignReturning).
	ReturningCounts(ctx context.Context, accountID string, from, to time.Time) (map[string]int64, error)
	// LeadTimings returns, per assignee, the timings of the leads rotation
	// rotationID assigned in [from, to) that are still theirs.
	LeadTimings(ctx context.Context, rotationID int64, from, to time.Time) (map[string][]LeadTiming, error)
	// TeamLeadCounts counts a team's leads created in the window.
	TeamLeadCounts(ctx context.Context, accountID string, teamID int64, from, to time.Time) (TeamLeadCounts, error)
	// LeadArrivals counts an account's leads created in [from, to) per hour
	// from from (today, at an hour boundary after from, splits the window),
	// and every lead of the account that waits for its rotation.
	LeadArrivals(ctx context.Context, accountID string, from, to, today time.Time) (LeadArrivals, error)
}

// LeadArrivals is what StatsStore.LeadArrivals counts.
type LeadArrivals struct {
	// Hours maps an hour's index from the window's start to its leads.
	Hours map[int64]int64
	// Today counts the leads created from today on; ByAssignment splits
	// them by where they stand.
	Today        int64
	ByAssignment map[AssignmentStatus]int64
	// Pending counts every lead of the account waiting for its rotation;
	// Waiting those of them that wait for someone who can take them
	// (AssignmentWaiting).
	Pending int64
	Waiting int64
}

// SessionStore is what the web console's sign-in needs: members' password
// hashes, console sessions and invites. Like API keys, passwords and
// sessions belong to a user (an email), not to an account. Tokens are
// stored as their SHA-256 (hex) only; the store finds a session or an
// invite by that hash. Expiry is the Service's to judge, except where a
// method is given now.
type SessionStore interface {
	// Memberships returns the memberships of the user email in every
	// account, by account id; none (no error) for a user of no account.
	Memberships(ctx context.Context, email string) ([]Member, error)
	// PasswordHash returns the hash of the user's console password;
	// NOT_FOUND when none is set.
	PasswordHash(ctx context.Context, email string) (string, error)
	// SetPassword stores hash as the user's password hash, set at now, in
	// place of any before, and audit in the same transaction.
	SetPassword(ctx context.Context, email, hash string, now time.Time, audit []AuditEntry) error
	// AppendAudit stores audit entries of events that change nothing else
	// (a sign-in, a failed one); NOT_FOUND when an entry's account does not
	// exist, and then none is stored.
	AppendAudit(ctx context.Context, entries []AuditEntry) error
	// CreateSession stores a session under s.Hash (s.Role is not stored);
	// CONFLICT when the hash is taken, NOT_FOUND when it names an account
	// that does not exist.
	CreateSession(ctx context.Context, s *StoredSession) error
	// Session returns the session stored under hash, expired or not, with
	// its user's role, read now, in its account ("" when it names none or
	// the user is not a member there any more); NOT_FOUND when there is
	// none.
	Session(ctx context.Context, hash string) (*StoredSession, error)
	// ExtendSession sets when the session expires; no error when there is
	// no such session.
	ExtendSession(ctx context.Context, hash string, expiresAt time.Time) error
	// SwitchSession sets the session's account and CSRF token; NOT_FOUND
	// when there is no such session or account.
	SwitchSession(ctx context.Context, hash, accountID, csrfToken string) error
	// DeleteSession deletes the session and stores the audit entries entry
	// makes of it (none: nil) in the same transaction; NOT_FOUND when there
	// is no such session.
	DeleteSession(ctx context.Context, hash string, entry func(cur *Session) []AuditEntry) error
	// CreateInvite stores an invite under hash and its audit entries in one
	// transaction; CONFLICT when the hash is taken, NOT_FOUND for an
	// unknown account.
	CreateInvite(ctx context.Context, hash string, inv *Invite, audit []AuditEntry) error
	// Invite returns the invite stored under hash, used or expired ones
	// too; NOT_FOUND when there is none.
	Invite(ctx context.Context, hash string) (*Invite, error)
	// AcceptInvite uses the invite stored under hash, once: in one
	// transaction it takes the invite's account's lock, marks the invite
	// used at now, unless it is used already or expired at now (NOT_FOUND,
	// so that of concurrent calls exactly one gets further), and reads its
	// email's membership of its account (nil when none). apply decides what
	// to store (see InviteUse), or refuses. It returns the member as it is
	// then.
	AcceptInvite(ctx context.Context, hash string, now time.Time, apply func(inv *Invite, cur *Member) (*InviteUse, error)) (*Member, error)
	// PurgeExpired deletes the sessions and invites expired at now and
	// returns how many rows it deleted, of both.
	PurgeExpired(ctx context.Context, now time.Time) (int, error)
}

// StoredSession is a console session as the store keeps it.
type StoredSession struct {
	Session
	// Hash is the SHA-256 (hex) of the session's token.
	Hash string
	// TTL is how long the session lasts unused: each use moves its expiry
	// to TTL later (at most once a minute).
	TTL time.Duration
	// Role is the user's role in Session.AccountID, read with the session;
	// "" when it names no account or the user is not a member there.
	Role Role
}

// InviteUse is what accepting an invite stores, as AcceptInvite's apply
// decides, in the transaction that marks the invite used.
type InviteUse struct {
	// Member, when set, is added to the invite's account.
	Member *Member
	// PasswordHash, when set, becomes the password hash of the invite's
	// email; "" keeps the one there is.
	PasswordHash string
	// EndSessions deletes every console session of the invite's email.
	EndSessions bool
	Audit       []AuditEntry
}

// Credential is an API key and what its user is in one account.
type Credential struct {
	Key APIKey
	// Hash is the SHA-256 (hex) stored for the key. The store finds the key
	// by it, and the Service compares it again with the presented secret's
	// in constant time, so that the decision does not hang on how the
	// database compares strings.
	Hash string
	// Role is the user's role in the account, "" when not a member.
	Role Role
}

// TeamLeadCounts breaks down a team's leads.
type TeamLeadCounts struct {
	Total        int64
	ByAssignee   map[string]int64 // "" for unassigned
	ByLeadSource map[int64]int64  // 0 for none
	ByStatus     map[Status]int64
}

// LeadWrite is what UpdateLead stores.
type LeadWrite struct {
	// Lead is the whole lead as it is to be stored; nil leaves it as it is.
	// A write that changes its assignee, or records a turn, starts a new
	// assignment: the store sets its AssignedAt and clears its AcceptedAt
	// and FirstTouchAt.
	Lead  *Lead
	Audit []AuditEntry
	// Activity, when set, is stored as an activity of the lead, and gets
	// its ID, which the store also gives every entry of Audit as
	// data.activityId.
	Activity *Activity
	// UniqueEmail, when not nil, replaces the lead's entry in the unique-email
	// rule: the lower-cased email, or "" for none.
	UniqueEmail *string
	// Turn, when set, records that a rotation turn assigned the lead.
	Turn *TurnRecord
	// Events are the domain events of the change, written in the same
	// transaction (see Event).
	Events []Event
	// SLATimer, when set, is the clock of the assignment the write makes,
	// stored in the same transaction (see SLATimer).
	SLATimer *SLATimer
	// SLAExpiry, when set, records the expiry the write makes.
	SLAExpiry *SLAExpiry
	// IdempotencyKey and Fingerprint, when set, are stored as the key of
	// this write (an upsert that found the lead): unique per account, like
	// the key of a created lead, and answered by LeadFacts as its
	// IdempotentLeadID. A key already stored: ErrIdempotencyKeyTaken.
	IdempotencyKey string
	Fingerprint    string
}

// TurnRecord is a rotation turn as the store remembers it, for rebuilding
// the rotation's state and counting daily caps, whatever becomes of the lead.
type TurnRecord struct {
	RotationID int64
	Turn       int64
	Assignee   string
	At         time.Time
	// Skips are the members the turn passed over.
	Skips []Skip
	// State, when set, is the rotation's state at the turn (see
	// Turn.Checkpoint).
	State *Checkpoint
}

// Sentinel errors a Store returns from InsertLead.
var (
	// ErrIdempotencyKeyTaken: another lead of the account holds the key.
	ErrIdempotencyKeyTaken = &Error{Code: CodeConflict, Message: "idempotency key already used"}
	// ErrEmailTaken: another live lead of the account holds the email while
	// the account rejects duplicates.
	ErrEmailTaken = &Error{Code: CodeDuplicateEmail, Message: "Email already exists"}
	// ErrExternalIDTaken: another live lead of the account holds the
	// external id (the rule holds whatever the account's duplicate policy).
	ErrExternalIDTaken = &Error{Code: CodeDuplicateExternalID, Message: "External ID already exists"}
	// ErrTurnTaken: the rotation turn the lead was given is recorded
	// already, with another lead. The rotator's state is behind the store
	// (see StateResyncer); nothing was written. InsertLead and UpdateLead
	// return it.
	ErrTurnTaken = &Error{Code: CodeInternal, Message: "rotation turn already recorded"}
)

// AccountConfig is an account's configuration at one version.
type AccountConfig struct {
	Account Account
	// Version increases with every change of the account's configuration.
	Version     int64
	Teams       map[int64]*Team
	LeadSources map[int64]*LeadSource
	// TeamLeadSources counts each team's lead sources.
	TeamLeadSources map[int64]int
	// Members maps the account's members (lower-cased emails) to their roles.
	Members map[string]Role
	// TeamRotations maps a team ID to the team's rotation.
	TeamRotations map[int64]*Rotation
	// DefaultRotation is the account's default rotation, or nil.
	DefaultRotation *Rotation
	// PoolRotations maps the id of each rotation that is neither a team's
	// nor the default to it: pools that only routing rules send leads to.
	PoolRotations map[int64]*Rotation
	// Rules are the account's routing rules, in their order.
	Rules []RoutingRule
	// RulesVersion is the configuration version Rules were last changed
	// in, which the store keeps them under (RoutingRulesAt); 0 if never.
	RulesVersion int64
	// Availability maps each member (lower-cased email) who has a
	// schedule, time off or a holiday calendar to them; a member missing
	// is always available (see Away).
	Availability map[string]*MemberAvailability
	// HolidayCalendars maps the account's holiday calendars by id.
	HolidayCalendars map[int64]*HolidayCalendar
	// matchers are Rules' conditions compiled, when the Service loaded
	// the configuration (see compileRules).
	matchers []*Matcher
	// views keeps the rotations as members' availability makes turns see
	// them (see availableView); made when the Service loads the
	// configuration.
	views *viewCache
	// Subscribed holds the event types some enabled webhook endpoint of
	// the account subscribes to: the Service writes only those (unless
	// WithAllEvents).
	Subscribed map[EventType]bool
	// capped maps each member to the rotations that cap their open leads
	// (see prepareCapacity).
	capped map[string][]*Rotation
}

// Rotation returns the account's rotation with the given id, or nil.
func (c *AccountConfig) Rotation(id int64) *Rotation {
	if c.DefaultRotation != nil && c.DefaultRotation.ID == id {
		return c.DefaultRotation
	}
	for _, r := range c.TeamRotations {
		if r.ID == id {
			return r
		}
	}
	return c.PoolRotations[id]
}

// RotationFor returns the rotation that assigns a lead of team teamID (0 for
// none): the team's rotation, else the account's default, else nil.
func (c *AccountConfig) RotationFor(teamID int64) *Rotation {
	if r := c.TeamRotations[teamID]; r != nil && teamID != 0 {
		return r
	}
	return c.DefaultRotation
}

// LeadFactsQuery asks what LeadFacts answers.
type LeadFactsQuery struct {
	AccountID string
	// IdempotencyKey, when set, asks for the lead created with it.
	IdempotencyKey string
	// EmailKey, when set, asks for a live lead with that (lower-cased) email,
	// other than ExcludeLeadID.
	EmailKey string
	// ExternalID, when set, asks for the live lead with that external id
	// (exactly), other than ExcludeLeadID.
	ExternalID    string
	ExcludeLeadID int64
	// KeyHash, when set, asks for the API key with that hash and its user's
	// role in the account (see KeyStore.Credential). CreateLead sets it for
	// Credentials: authenticating in the same query saves each lead a round
	// trip.
	KeyHash string
}

// LeadFacts is what LeadCreator.LeadFacts reads.
type LeadFacts struct {
	// ConfigVersion is the account's configuration version.
	ConfigVersion int64
	// IdempotentLeadID is the lead created (or upserted) with the key, 0
	// when none, and IdempotentFingerprint the fingerprint of the request
	// that did it.
	IdempotentLeadID      int64
	IdempotentFingerprint string
	// DuplicateLeadID is the oldest live lead with the email, 0 when none.
	DuplicateLeadID int64
	// DuplicateExternalLeadID is the live lead with the external id, 0 when
	// none.
	DuplicateExternalLeadID int64
	// Credential is the key KeyHash names; nil when none was asked or found.
	Credential *Credential
}

// NewLead is a lead to insert with its audit entries.
type NewLead struct {
	Lead  *Lead
	Audit []AuditEntry
	// IdempotencyKey and Fingerprint, when set, are stored with the lead;
	// the key is unique per account.
	IdempotencyKey string
	Fingerprint    string
	// UniqueEmail, when set, is the lead's lower-cased email and must be unique
	// among the account's live leads (the account rejects duplicates).
	UniqueEmail string
	// Skips are the members the assigning turn passed over, for statistics.
	Skips []Skip
	// TurnState, when set, is the rotation's state at the assigning turn,
	// stored with the turn as a checkpoint (see Turn.Checkpoint).
	TurnState *Checkpoint
	// Events are the domain events of the new lead, written in the same
	// transaction; the store names the lead's id in them (Event.ForLead).
	Events []Event
	// SLATimer, when set, is the clock of the lead's assignment, stored in
	// the same transaction; the store names the lead's id in it.
	SLATimer *SLATimer
}
