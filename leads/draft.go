package leads

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"
)

// NewDraft returns a Service over a draft of one account's configuration:
// an in-memory store that holds a deep copy of cfg (cfg itself is never
// modified, nor anything it points to) and that every configuration
// change made through the Service changes instead of the database. The
// Service is the one the live configuration is managed with, options
// aside: each change is checked as it is there, and the draft then
// refuses what the SQL store refuses (a name taken, a second default
// rotation, an unknown id…), so that a change the draft accepts is one the
// live account would accept too. Configuration returns the draft as it
// stands, prepared for routing as a live one is.
//
// It is for trying a configuration out ("what if"): nothing is written
// anywhere, and audit entries are discarded. The differences from the live
// account follow from holding configuration only:
//   - the draft has no leads: deleting a team or lead source never finds
//     it in use (TEAM_IN_USE, LEAD_SOURCE_IN_USE), and detaches none;
//   - what is not configuration (leads, API keys, sessions, statistics,
//     the assigner's reads) fails with ErrDraftConfigOnly;
//   - objects the draft creates get ids of their own, above the largest
//     of their kind in cfg, so that cfg's objects keep their live ids;
//   - a change of the routing rules sets RulesVersion to 0: no store keeps
//     the draft's rules, and routing decisions then describe the rules
//     themselves;
//   - a rotation may have an SLA although the draft runs no job runner;
//   - members the draft did not add have no CreatedAt (a configuration
//     does not keep it).
//
// The Service has no rotator: it assigns no lead by rotation.
func NewDraft(cfg *AccountConfig) *Service {
	s := NewService(newDraftStore(cfg), nil)
	s.draft = true
	return s
}

// ErrDraftConfigOnly is what the store of a draft (NewDraft) returns, with
// the method's name, for everything that is not configuration.
var ErrDraftConfigOnly = &Error{Code: CodeInternal, Message: "a draft holds configuration only"}

// configOnly is ErrDraftConfigOnly for the draft store's method.
func configOnly(method string) error {
	return fmt.Errorf("draft store: %s: %w", method, ErrDraftConfigOnly)
}

// draftStore is the Store of a draft: one account's configuration in
// memory. A change works on a copy of the state and replaces it only when
// it succeeds, as a transaction commits or rolls back whole.
type draftStore struct {
	mu sync.Mutex
	st *draftState
}

// draftState is what a draft store holds.
type draftState struct {
	// cfg is the configuration as a store returns one: nothing prepared,
	// rotations without the account's open statuses.
	cfg *AccountConfig
	// joined is when each member the draft added joined; the others'
	// dates are not in a configuration.
	joined map[string]time.Time
	// last is the largest id given so far, of each kind.
	last draftIDs
}

// draftIDs are ids of each kind of configuration object.
type draftIDs struct {
	team, leadSource, rotation, rule, timeOff, calendar int64
}

func newDraftStore(cfg *AccountConfig) *draftStore {
	if cfg == nil {
		cfg = &AccountConfig{}
	}
	st := &draftState{cfg: storedConfig(cfg), joined: map[string]time.Time{}}
	c := st.cfg
	st.last.team = maxID(maps.Keys(c.Teams))
	st.last.leadSource = maxID(maps.Keys(c.LeadSources))
	st.last.calendar = maxID(maps.Keys(c.HolidayCalendars))
	for _, r := range c.allRotations() {
		st.last.rotation = max(st.last.rotation, r.ID)
	}
	for _, r := range c.Rules {
		st.last.rule = max(st.last.rule, r.ID)
	}
	for _, a := range c.Availability {
		for _, t := range a.TimeOff {
			st.last.timeOff = max(st.last.timeOff, t.ID)
		}
	}
	return &draftStore{st: st}
}

func maxID(ids func(func(int64) bool)) int64 {
	var out int64
	for id := range ids {
		out = max(out, id)
	}
	return out
}

// storedConfig returns a deep copy of cfg in the form a store returns a
// configuration: every map and list made, nothing prepared (compiled
// rules, views, capacity), rotations without the account's open statuses
// and members without Away, and each team's lead sources counted.
func storedConfig(cfg *AccountConfig) *AccountConfig {
	out := &AccountConfig{
		Account:          cfg.Account.clone(),
		Version:          cfg.Version,
		Teams:            make(map[int64]*Team, len(cfg.Teams)),
		LeadSources:      make(map[int64]*LeadSource, len(cfg.LeadSources)),
		Members:          maps.Clone(cfg.Members),
		TeamRotations:    make(map[int64]*Rotation, len(cfg.TeamRotations)),
		PoolRotations:    make(map[int64]*Rotation, len(cfg.PoolRotations)),
		Rules:            cloneRules(cfg.Rules),
		RulesVersion:     cfg.RulesVersion,
		Availability:     make(map[string]*MemberAvailability, len(cfg.Availability)),
		HolidayCalendars: make(map[int64]*HolidayCalendar, len(cfg.HolidayCalendars)),
		Subscribed:       maps.Clone(cfg.Subscribed),
	}
	if out.Members == nil {
		out.Members = map[string]Role{}
	}
	for id, t := range cfg.Teams {
		team := *t
		out.Teams[id] = &team
	}
	for id, src := range cfg.LeadSources {
		s := *src
		out.LeadSources[id] = &s
	}
	out.countLeadSources()
	if cfg.DefaultRotation != nil {
		out.DefaultRotation = storedRotation(cfg.DefaultRotation)
	}
	for id, r := range cfg.TeamRotations {
		out.TeamRotations[id] = storedRotation(r)
	}
	for id, r := range cfg.PoolRotations {
		out.PoolRotations[id] = storedRotation(r)
	}
	for email, a := range cfg.Availability {
		if a != nil {
			out.Availability[email] = a.clone()
		}
	}
	for id, c := range cfg.HolidayCalendars {
		cal := c.clone()
		out.HolidayCalendars[id] = &cal
	}
	return out
}

// countLeadSources counts each team's lead sources (TeamLeadSources).
func (c *AccountConfig) countLeadSources() {
	c.TeamLeadSources = make(map[int64]int, len(c.Teams))
	for _, src := range c.LeadSources {
		c.TeamLeadSources[src.TeamID]++
	}
}

// clone returns a copy of a that shares no list or pointer with it.
func (a *Account) clone() Account {
	out := *a
	out.Returning.MatchBy = slices.Clone(a.Returning.MatchBy)
	out.OpenStatuses = slices.Clone(a.OpenStatuses)
	if a.ActivityAccepts != nil {
		on := *a.ActivityAccepts
		out.ActivityAccepts = &on
	}
	return out
}

// storedRotation is a copy of r as a store keeps it: a member list (empty,
// not nil, for none) without Away, and no open statuses.
func storedRotation(r *Rotation) *Rotation {
	out := r.clone()
	if out.Members == nil {
		out.Members = []RotationMember{}
	}
	for i := range out.Members {
		out.Members[i].Away = ""
	}
	out.OpenStatuses = nil
	return out
}

// cloneRules returns a copy of rules (a list, empty for none) whose
// conditions share nothing with theirs.
func cloneRules(rules []RoutingRule) []RoutingRule {
	out := make([]RoutingRule, len(rules))
	for i, r := range rules {
		r.Conditions = r.Conditions.clone()
		out[i] = r
	}
	return out
}

// clone returns a deep copy of c.
func (c Condition) clone() Condition {
	c.Value = cloneValue(c.Value)
	c.All, c.Any = cloneConditions(c.All), cloneConditions(c.Any)
	return c
}

func cloneConditions(cs []Condition) []Condition {
	if cs == nil {
		return nil
	}
	out := make([]Condition, len(cs))
	for i, c := range cs {
		out[i] = c.clone()
	}
	return out
}

// cloneValue returns a copy of a condition's value that shares no list or
// map with it: a JSON value ([]any, map[string]any), or a list of a Go
// type a caller wrote ([]string…).
func cloneValue(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = cloneValue(e)
		}
		return out
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && !rv.IsNil() {
		out := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
		reflect.Copy(out, rv)
		return out.Interface()
	}
	return v
}

// clone returns a copy of a, not yet prepared, that shares nothing with a;
// a list of time off, empty for none.
func (a *MemberAvailability) clone() *MemberAvailability {
	out := &MemberAvailability{Email: a.Email, TimeOff: slices.Clone(a.TimeOff), HolidayCalendarID: a.HolidayCalendarID}
	if out.TimeOff == nil {
		out.TimeOff = []TimeOff{}
	}
	if a.Schedule != nil {
		out.Schedule = a.Schedule.clone()
	}
	return out
}

// clone returns a copy of st that a change may modify.
func (st *draftState) clone() *draftState {
	return &draftState{cfg: storedConfig(st.cfg), joined: maps.Clone(st.joined), last: st.last}
}

// tx runs change on a copy of the state of account accountID (NOT_FOUND
// for another), and keeps the copy, its configuration version incremented,
// when change reports a change and no error.
func (d *draftStore) tx(ctx context.Context, accountID string, change func(st *draftState) (changed bool, err error)) error {
	return d.read(ctx, accountID, func(cur *draftState) error {
		next := cur.clone()
		changed, err := change(next)
		if err != nil || !changed {
			return err
		}
		next.cfg.Version++
		next.cfg.countLeadSources()
		d.st = next
		return nil
	})
}

// read runs fn, under the store's lock, on the state of account accountID
// (NOT_FOUND for another); fn must not modify it (tx replaces it).
func (d *draftStore) read(ctx context.Context, accountID string, fn func(st *draftState) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if accountID != d.st.cfg.Account.ID {
		return notFound("account")
	}
	return fn(d.st)
}

// member returns member email, nil when not a member.
func (st *draftState) member(email string) *Member {
	role, ok := st.cfg.Members[email]
	if !ok {
		return nil
	}
	m := &Member{AccountID: st.cfg.Account.ID, Email: email, Role: role, CreatedAt: st.joined[email]}
	if a := st.cfg.Availability[email]; a != nil {
		m.HolidayCalendarID = a.HolidayCalendarID
	}
	return m
}

// admins counts the account's admins.
func (st *draftState) admins() int {
	n := 0
	for _, role := range st.cfg.Members {
		if role == RoleAdmin {
			n++
		}
	}
	return n
}

// availability returns a copy of member email's availability: Email set,
// the rest empty when nothing is.
func (st *draftState) availability(email string) *MemberAvailability {
	if a := st.cfg.Availability[email]; a != nil {
		return a.clone()
	}
	return &MemberAvailability{Email: email, TimeOff: []TimeOff{}}
}

// putAvailability stores a as member email's availability, or forgets it
// when nothing is set, as a store's configuration has no entry then.
func (st *draftState) putAvailability(email string, a *MemberAvailability) {
	if a.Schedule == nil && len(a.TimeOff) == 0 && a.HolidayCalendarID == 0 {
		delete(st.cfg.Availability, email)
		return
	}
	st.cfg.Availability[email] = a
}

// placeRotation puts r where its kind goes: the default, a team's, or a pool.
func (st *draftState) placeRotation(r *Rotation) {
	switch {
	case r.Default:
		st.cfg.DefaultRotation = r
	case r.TeamID != 0:
		st.cfg.TeamRotations[r.TeamID] = r
	default:
		st.cfg.PoolRotations[r.ID] = r
	}
}

// removeRotation takes rotation id out of the configuration.
func (st *draftState) removeRotation(id int64) {
	c := st.cfg
	if c.DefaultRotation != nil && c.DefaultRotation.ID == id {
		c.DefaultRotation = nil
	}
	maps.DeleteFunc(c.TeamRotations, func(_ int64, r *Rotation) bool { return r.ID == id })
	delete(c.PoolRotations, id)
}

// checkRotation refuses r, rotation id (0 for a new one) that was named
// was before, as the schema and the store do: what it names that the
// account does not have, a new name another rotation has (only a new one:
// rotations named alike from before stay editable), a second default
// rotation, a second rotation of one team.
func (st *draftState) checkRotation(r *Rotation, id int64, was string) error {
	if err := r.checkRefs(st.cfg); err != nil {
		return err
	}
	c := st.cfg
	if r.Name != was {
		for _, other := range c.allRotations() {
			if other.Name == r.Name && other.ID != id {
				return NameTaken(KindRotation, r.Name)
			}
		}
	}
	switch {
	case r.Default && r.TeamID != 0:
		return fmt.Errorf("write rotation: a rotation is a team's or the default, not both")
	case r.Default && c.DefaultRotation != nil && c.DefaultRotation.ID != id:
		return Errorf(CodeConflict, "the account already has a default rotation")
	case r.TeamID != 0 && c.TeamRotations[r.TeamID] != nil && c.TeamRotations[r.TeamID].ID != id:
		return Errorf(CodeConflict, "team %d already has a rotation", r.TeamID)
	}
	return nil
}

// LeadFacts answers the configuration version only; NOT_FOUND for another
// account.
func (d *draftStore) LeadFacts(ctx context.Context, q LeadFactsQuery) (LeadFacts, error) {
	if q.IdempotencyKey != "" || q.EmailKey != "" || q.ExternalID != "" || q.KeyHash != "" {
		return LeadFacts{}, configOnly("LeadFacts")
	}
	var facts LeadFacts
	err := d.read(ctx, q.AccountID, func(st *draftState) error {
		facts.ConfigVersion = st.cfg.Version
		return nil
	})
	return facts, err
}

// RoutingRulesAt returns the draft's rules when version is the one they
// are kept under (not 0: the draft's own rules are kept by no store).
func (d *draftStore) RoutingRulesAt(ctx context.Context, accountID string, version int64) ([]RoutingRule, error) {
	var out []RoutingRule
	err := d.read(ctx, accountID, func(st *draftState) error {
		if version == 0 || version != st.cfg.RulesVersion {
			return notFound("routing rules version")
		}
		out = cloneRules(st.cfg.Rules)
		return nil
	})
	return out, err
}

// AccountConfig returns a copy of the draft's configuration.
func (d *draftStore) AccountConfig(ctx context.Context, accountID string) (*AccountConfig, error) {
	var out *AccountConfig
	err := d.read(ctx, accountID, func(st *draftState) error {
		out = storedConfig(st.cfg)
		return nil
	})
	return out, err
}

// CreateAccount refuses: the draft holds one account, CONFLICT for its id.
func (d *draftStore) CreateAccount(ctx context.Context, a *Account) error {
	err := d.read(ctx, a.ID, func(*draftState) error { return Errorf(CodeConflict, "account %s already exists", a.ID) })
	if ErrorCode(err) == CodeNotFound {
		return configOnly("CreateAccount")
	}
	return err
}

// Account returns the draft's account.
func (d *draftStore) Account(ctx context.Context, id string) (*Account, error) {
	var out Account
	err := d.read(ctx, id, func(st *draftState) error {
		out = st.cfg.Account.clone()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateAccount changes the account's settings as apply decides.
func (d *draftStore) UpdateAccount(ctx context.Context, id string, apply func(cur *Account) (*Account, []AuditEntry, error)) (*Account, error) {
	var out *Account
	err := d.tx(ctx, id, func(st *draftState) (bool, error) {
		cur := st.cfg.Account.clone()
		out = &cur
		next, _, err := apply(&cur)
		if err != nil || next == nil {
			return false, err
		}
		// What the store writes of an account: its settings and updatedAt.
		a := &st.cfg.Account
		stored := next.clone()
		a.Name, a.DuplicatePolicy, a.Returning, a.OpenStatuses, a.UpdatedAt =
			stored.Name, stored.DuplicatePolicy, stored.Returning, stored.OpenStatuses, stored.UpdatedAt.UTC()
		if a.Returning.MatchBy == nil {
			a.Returning.MatchBy = []string{}
		}
		if len(a.OpenStatuses) == 0 {
			a.OpenStatuses = slices.Clone(DefaultOpenStatuses)
		}
		on := next.AcceptsOnActivity()
		a.ActivityAccepts = &on
		out = next
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutMember adds or changes member email as apply decides.
func (d *draftStore) PutMember(ctx context.Context, accountID, email string, apply func(cur *Member, admins int) (*Member, []AuditEntry, error)) (*Member, error) {
	var out *Member
	err := d.tx(ctx, accountID, func(st *draftState) (bool, error) {
		cur := st.member(email)
		out = cur
		next, _, err := apply(cur, st.admins())
		if err != nil || next == nil {
			return false, err
		}
		if _, ok := st.cfg.Members[next.Email]; !ok {
			st.joined[next.Email] = next.CreatedAt.UTC()
		}
		st.cfg.Members[next.Email] = next.Role
		out = next
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RemoveMember removes member email as apply allows, and with it their
// places in rotations, as fallback assignee, and their availability.
func (d *draftStore) RemoveMember(ctx context.Context, accountID, email string, apply func(cur *Member, admins int, rotations []int64) (AuditEntry, error)) error {
	return d.tx(ctx, accountID, func(st *draftState) (bool, error) {
		cur := st.member(email)
		if cur == nil {
			return false, notFound("member")
		}
		var named []int64
		for _, r := range st.cfg.allRotations() {
			if r.FallbackAssignee == email || slices.ContainsFunc(r.Members, func(m RotationMember) bool { return m.User == email }) {
				named = append(named, r.ID)
			}
		}
		slices.Sort(named)
		if _, err := apply(cur, st.admins(), named); err != nil {
			return false, err
		}
		delete(st.cfg.Members, email)
		delete(st.cfg.Availability, email)
		delete(st.joined, email)
		for _, r := range st.cfg.allRotations() {
			r.Members = slices.DeleteFunc(r.Members, func(m RotationMember) bool { return m.User == email })
			if r.FallbackAssignee == email {
				r.FallbackAssignee = ""
			}
		}
		return true, nil
	})
}

// Members returns the account's members by email; none for another account.
func (d *draftStore) Members(ctx context.Context, accountID string) ([]Member, error) {
	out := []Member{}
	err := d.read(ctx, accountID, func(st *draftState) error {
		for _, email := range slices.Sorted(maps.Keys(st.cfg.Members)) {
			out = append(out, *st.member(email))
		}
		return nil
	})
	if ErrorCode(err) == CodeNotFound {
		return []Member{}, nil
	}
	return out, err
}

// Member returns member email; NOT_FOUND when not a member.
func (d *draftStore) Member(ctx context.Context, accountID, email string) (*Member, error) {
	var out *Member
	err := d.read(ctx, accountID, func(st *draftState) error {
		if out = st.member(email); out == nil {
			return notFound("member")
		}
		return nil
	})
	if ErrorCode(err) == CodeNotFound {
		return nil, notFound("member")
	}
	return out, err
}

// create stores a new object under the next id of its kind (last), set in
// *id (0 again when it fails), when check allows; put stores it and makes
// its audit entry, or refuses.
func (d *draftStore) create(ctx context.Context, accountID string, id *int64, last func(ids *draftIDs) *int64,
	check func(st *draftState) error, put func(st *draftState) error) error {
	err := d.tx(ctx, accountID, func(st *draftState) (bool, error) {
		*id = 0
		if err := check(st); err != nil {
			return false, err
		}
		n := last(&st.last)
		*n++
		*id = *n
		return true, put(st)
	})
	if err != nil {
		*id = 0
	}
	return err
}

// draftChange reads the object get finds (NOT_FOUND naming kind when none),
// lets apply decide the change on a copy of it, and has put store what
// apply returns (nil: nothing changes), or refuse it. It returns what
// apply returned, or the copy when apply changed nothing.
func draftChange[T any](ctx context.Context, d *draftStore, accountID, kind string, get func(c *AccountConfig) *T, copyOf func(*T) *T,
	apply func(cur *T) (*T, []AuditEntry, error), put func(st *draftState, stored, next *T) error) (*T, error) {
	var out *T
	err := d.tx(ctx, accountID, func(st *draftState) (bool, error) {
		stored := get(st.cfg)
		if stored == nil {
			return false, notFound(kind)
		}
		out = copyOf(stored)
		next, _, err := apply(out)
		if err != nil || next == nil {
			return false, err
		}
		out = next
		return true, put(st, stored, next)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// draftRemove has remove delete the object get finds (NOT_FOUND naming
// kind when none), with what goes with it, and make its audit entry.
func draftRemove[T any](ctx context.Context, d *draftStore, accountID, kind string, get func(c *AccountConfig) *T, remove func(st *draftState, cur *T)) error {
	return d.tx(ctx, accountID, func(st *draftState) (bool, error) {
		cur := get(st.cfg)
		if cur == nil {
			return false, notFound(kind)
		}
		remove(st, cur)
		return true, nil
	})
}

// draftNamed is a kind of object a draft keeps by id and by a name unique
// in a scope (teams in the account, lead sources in their team), of which
// a rename writes the name and the update time.
type draftNamed[T any] struct {
	kind    string // what NOT_FOUND names
	objects func(c *AccountConfig) map[int64]*T
	last    func(ids *draftIDs) *int64
	fields  func(obj *T) (id *int64, name *string, createdAt, updatedAt *time.Time)
	// taken is the CONFLICT of obj's name when another object (not obj's
	// id) of its scope has it.
	taken func(c *AccountConfig, obj *T) error
}

var draftTeams = draftNamed[Team]{
	kind:    "team",
	objects: func(c *AccountConfig) map[int64]*Team { return c.Teams },
	last:    func(ids *draftIDs) *int64 { return &ids.team },
	fields: func(t *Team) (*int64, *string, *time.Time, *time.Time) {
		return &t.ID, &t.Name, &t.CreatedAt, &t.UpdatedAt
	},
	taken: func(c *AccountConfig, t *Team) error {
		for _, other := range c.Teams {
			if other.Name == t.Name && other.ID != t.ID {
				return NameTaken(KindTeam, t.Name)
			}
		}
		return nil
	},
}

var draftLeadSources = draftNamed[LeadSource]{
	kind:    "lead source",
	objects: func(c *AccountConfig) map[int64]*LeadSource { return c.LeadSources },
	last:    func(ids *draftIDs) *int64 { return &ids.leadSource },
	fields: func(s *LeadSource) (*int64, *string, *time.Time, *time.Time) {
		return &s.ID, &s.Name, &s.CreatedAt, &s.UpdatedAt
	},
	taken: func(c *AccountConfig, s *LeadSource) error {
		for _, other := range c.LeadSources {
			if other.TeamID == s.TeamID && other.Name == s.Name && other.ID != s.ID {
				return NameTaken(KindLeadSource, s.Name)
			}
		}
		return nil
	},
}

// create stores obj, when check (nil: none) allows and its name is free,
// and sets its ID; entry makes its audit entry.
func (k draftNamed[T]) create(ctx context.Context, d *draftStore, accountID string, obj *T, check func(c *AccountConfig) error, entry func(created *T) AuditEntry) error {
	id, _, createdAt, updatedAt := k.fields(obj)
	return d.create(ctx, accountID, id, k.last, func(st *draftState) error {
		if check != nil {
			if err := check(st.cfg); err != nil {
				return err
			}
		}
		return k.taken(st.cfg, obj)
	}, func(st *draftState) error {
		stored := *obj
		_, _, storedCreated, storedUpdated := k.fields(&stored)
		*storedCreated, *storedUpdated = createdAt.UTC(), updatedAt.UTC()
		k.objects(st.cfg)[*id] = &stored
		entry(obj)
		return nil
	})
}

// get returns a function that finds object id.
func (k draftNamed[T]) get(id int64) func(c *AccountConfig) *T {
	return func(c *AccountConfig) *T { return k.objects(c)[id] }
}

// rename renames object id as apply decides, when the name is free.
func (k draftNamed[T]) rename(ctx context.Context, d *draftStore, accountID string, id int64, apply func(cur *T) (*T, []AuditEntry, error)) (*T, error) {
	return draftChange(ctx, d, accountID, k.kind, k.get(id), func(t *T) *T { out := *t; return &out }, apply,
		func(st *draftState, stored, next *T) error {
			written := *stored
			_, name, _, updatedAt := k.fields(next)
			_, writtenName, _, writtenUpdated := k.fields(&written)
			*writtenName, *writtenUpdated = *name, updatedAt.UTC()
			if err := k.taken(st.cfg, &written); err != nil {
				return err
			}
			*stored = written
			return nil
		})
}

// remove deletes object id and, when cascade is set, what goes with it;
// entry makes its audit entry, told that no lead was detached (a draft has
// none).
func (k draftNamed[T]) remove(ctx context.Context, d *draftStore, accountID string, id int64, cascade func(c *AccountConfig), entry func(cur *T, detached int) AuditEntry) error {
	return draftRemove(ctx, d, accountID, k.kind, k.get(id), func(st *draftState, cur *T) {
		delete(k.objects(st.cfg), id)
		if cascade != nil {
			cascade(st.cfg)
		}
		entry(cur, 0)
	})
}

// CreateTeam stores a team and sets its ID.
func (d *draftStore) CreateTeam(ctx context.Context, t *Team, entry func(created *Team) AuditEntry) error {
	return draftTeams.create(ctx, d, t.AccountID, t, nil, entry)
}

// UpdateTeam renames a team as apply decides.
func (d *draftStore) UpdateTeam(ctx context.Context, accountID string, id int64, apply func(cur *Team) (*Team, []AuditEntry, error)) (*Team, error) {
	return draftTeams.rename(ctx, d, accountID, id, apply)
}

// DeleteTeam deletes a team with its lead sources and rotation; the draft
// has no leads to find it in use or detach.
func (d *draftStore) DeleteTeam(ctx context.Context, accountID string, id int64, _ bool, entry func(cur *Team, detached int) AuditEntry) error {
	return draftTeams.remove(ctx, d, accountID, id, func(c *AccountConfig) {
		maps.DeleteFunc(c.LeadSources, func(_ int64, src *LeadSource) bool { return src.TeamID == id })
		delete(c.TeamRotations, id)
	}, entry)
}

// CreateLeadSource stores a lead source of a team of the account and sets
// its ID.
func (d *draftStore) CreateLeadSource(ctx context.Context, s *LeadSource, entry func(created *LeadSource) AuditEntry) error {
	return draftLeadSources.create(ctx, d, s.AccountID, s, func(c *AccountConfig) error {
		if c.Teams[s.TeamID] == nil {
			return &Error{Code: CodeTeamNotFound, Message: "team not found", Details: map[string]any{"teamId": s.TeamID}}
		}
		return nil
	}, entry)
}

// UpdateLeadSource renames a lead source as apply decides.
func (d *draftStore) UpdateLeadSource(ctx context.Context, accountID string, id int64, apply func(cur *LeadSource) (*LeadSource, []AuditEntry, error)) (*LeadSource, error) {
	return draftLeadSources.rename(ctx, d, accountID, id, apply)
}

// DeleteLeadSource deletes a lead source; the draft has no leads to find
// it in use or detach.
func (d *draftStore) DeleteLeadSource(ctx context.Context, accountID string, id int64, _ bool, entry func(cur *LeadSource, detached int) AuditEntry) error {
	return draftLeadSources.remove(ctx, d, accountID, id, nil, entry)
}

// CreateRotation stores a rotation and sets its ID.
func (d *draftStore) CreateRotation(ctx context.Context, r *Rotation, entry func(created *Rotation) AuditEntry) error {
	return d.create(ctx, r.AccountID, &r.ID, func(ids *draftIDs) *int64 { return &ids.rotation },
		func(st *draftState) error { return st.checkRotation(r, 0, "") },
		func(st *draftState) error {
			stored := storedRotation(r)
			stored.CreatedAt, stored.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
			st.placeRotation(stored)
			entry(r)
			return nil
		})
}

// rotation returns a function that finds rotation id.
func rotation(id int64) func(c *AccountConfig) *Rotation {
	return func(c *AccountConfig) *Rotation { return c.Rotation(id) }
}

// UpdateRotation changes a rotation's settings and members as apply
// decides.
func (d *draftStore) UpdateRotation(ctx context.Context, accountID string, id int64, apply func(cur *Rotation) (*Rotation, []AuditEntry, error)) (*Rotation, error) {
	return draftChange(ctx, d, accountID, "rotation", rotation(id), storedRotation, apply, func(st *draftState, stored, next *Rotation) error {
		if err := st.checkRotation(next, id, stored.Name); err != nil {
			return err
		}
		// What the store writes: the settings, updatedAt and the members.
		written := storedRotation(next)
		written.ID, written.AccountID, written.CreatedAt, written.UpdatedAt = id, stored.AccountID, stored.CreatedAt, next.UpdatedAt.UTC()
		st.removeRotation(id)
		st.placeRotation(written)
		return nil
	})
}

// DeleteRotation deletes a rotation.
func (d *draftStore) DeleteRotation(ctx context.Context, accountID string, id int64, entry func(cur *Rotation) AuditEntry) error {
	return draftRemove(ctx, d, accountID, "rotation", rotation(id), func(st *draftState, cur *Rotation) {
		st.removeRotation(id)
		entry(cur)
	})
}

// ChangeRoutingRules replaces the account's rules with the list apply
// decides: new rules get their IDs, and RulesVersion becomes 0.
func (d *draftStore) ChangeRoutingRules(ctx context.Context, accountID string, apply func(cur []RoutingRule) ([]RoutingRule, []AuditEntry, error)) ([]RoutingRule, error) {
	var out []RoutingRule
	err := d.tx(ctx, accountID, func(st *draftState) (bool, error) {
		cur := st.cfg.Rules
		next, _, err := apply(cloneRules(cur))
		if err != nil {
			return false, err
		}
		if next == nil {
			out = cur
			return false, nil
		}
		names := make(map[string]bool, len(next))
		for _, r := range next {
			if names[r.Name] {
				return false, NameTaken(KindRoutingRule, r.Name)
			}
			names[r.Name] = true
		}
		out = make([]RoutingRule, len(next))
		for i, r := range next {
			if r.ID == 0 {
				st.last.rule++
				r.ID = st.last.rule
			}
			r.AccountID, r.CreatedAt, r.UpdatedAt = accountID, r.CreatedAt.UTC(), r.UpdatedAt.UTC()
			out[i] = r
		}
		st.cfg.Rules = cloneRules(out)
		st.cfg.RulesVersion = 0
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ChangeAvailability changes member email's availability as apply decides.
func (d *draftStore) ChangeAvailability(ctx context.Context, accountID, email string, apply func(m *Member, cur *MemberAvailability) (*AvailabilityChange, error)) (*Member, *MemberAvailability, error) {
	var m *Member
	var out *MemberAvailability
	err := d.tx(ctx, accountID, func(st *draftState) (bool, error) {
		if m = st.member(email); m == nil {
			return false, notFound("member")
		}
		out = st.availability(email)
		change, err := apply(m, out)
		if err != nil || change == nil {
			return false, err
		}
		if err := st.changeAvailability(email, change); err != nil {
			return false, err
		}
		if change.Audit != nil {
			change.Audit()
		}
		m, out = st.member(email), st.availability(email)
		return true, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return m, out, nil
}

// changeAvailability writes change of member email's availability, in the
// store's order: the schedule, a period added, one deleted (NOT_FOUND when
// not the member's), the calendar (the VALIDATION_ERROR of
// UnknownHolidayCalendar for one not the account's).
func (st *draftState) changeAvailability(email string, change *AvailabilityChange) error {
	a := st.availability(email)
	if change.SetSchedule {
		a.Schedule = nil
		if change.Schedule != nil {
			a.Schedule = change.Schedule.clone()
		}
	}
	if t := change.AddTimeOff; t != nil {
		st.last.timeOff++
		t.ID = st.last.timeOff
		a.TimeOff = append(a.TimeOff, TimeOff{ID: t.ID, Email: email, Start: t.Start.UTC(), End: t.End.UTC(), Note: t.Note, CreatedAt: t.CreatedAt.UTC()})
		slices.SortFunc(a.TimeOff, func(x, y TimeOff) int { return cmp.Or(x.Start.Compare(y.Start), cmp.Compare(x.ID, y.ID)) })
	}
	if id := change.DeleteTimeOff; id != 0 {
		i := slices.IndexFunc(a.TimeOff, func(t TimeOff) bool { return t.ID == id })
		if i < 0 {
			return notFound("time off")
		}
		a.TimeOff = slices.Delete(a.TimeOff, i, i+1)
	}
	if change.SetCalendar {
		if id := change.HolidayCalendarID; id != 0 && st.cfg.HolidayCalendars[id] == nil {
			return UnknownHolidayCalendar(id)
		}
		a.HolidayCalendarID = change.HolidayCalendarID
	}
	st.putAvailability(email, a)
	return nil
}

// calendarNameTaken is the CONFLICT of a name another holiday calendar
// (not id) of the account has.
func (st *draftState) calendarNameTaken(name string, id int64) error {
	for _, c := range st.cfg.HolidayCalendars {
		if c.Name == name && c.ID != id {
			return NameTaken(KindHolidayCalendar, name)
		}
	}
	return nil
}

// storedCalendar is a copy of c as a store keeps it.
func storedCalendar(c *HolidayCalendar) *HolidayCalendar {
	out := c.clone()
	if out.Dates == nil {
		out.Dates = []string{}
	}
	out.CreatedAt, out.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &out
}

// CreateHolidayCalendar stores a holiday calendar and sets its ID, as entry
// allows given how many others the account has.
func (d *draftStore) CreateHolidayCalendar(ctx context.Context, c *HolidayCalendar, entry func(created *HolidayCalendar, others int) (AuditEntry, error)) error {
	return d.create(ctx, c.AccountID, &c.ID, func(ids *draftIDs) *int64 { return &ids.calendar },
		func(st *draftState) error { return st.calendarNameTaken(c.Name, 0) },
		func(st *draftState) error {
			others := len(st.cfg.HolidayCalendars)
			st.cfg.HolidayCalendars[c.ID] = storedCalendar(c)
			_, err := entry(c, others)
			return err
		})
}

// calendar returns a function that finds holiday calendar id.
func calendar(id int64) func(c *AccountConfig) *HolidayCalendar {
	return func(c *AccountConfig) *HolidayCalendar { return c.HolidayCalendars[id] }
}

// UpdateHolidayCalendar changes a holiday calendar as apply decides.
func (d *draftStore) UpdateHolidayCalendar(ctx context.Context, accountID string, id int64, apply func(cur *HolidayCalendar) (*HolidayCalendar, []AuditEntry, error)) (*HolidayCalendar, error) {
	return draftChange(ctx, d, accountID, "holiday calendar", calendar(id), storedCalendar, apply, func(st *draftState, stored, next *HolidayCalendar) error {
		if err := st.calendarNameTaken(next.Name, id); err != nil {
			return err
		}
		written := storedCalendar(next)
		written.ID, written.AccountID, written.CreatedAt = id, stored.AccountID, stored.CreatedAt
		st.cfg.HolidayCalendars[id] = written
		return nil
	})
}

// DeleteHolidayCalendar deletes a holiday calendar; its followers follow
// none from then on.
func (d *draftStore) DeleteHolidayCalendar(ctx context.Context, accountID string, id int64, entry func(cur *HolidayCalendar, followers []string) AuditEntry) error {
	return draftRemove(ctx, d, accountID, "holiday calendar", calendar(id), func(st *draftState, cur *HolidayCalendar) {
		followers := []string{}
		for _, email := range slices.Sorted(maps.Keys(st.cfg.Availability)) {
			if a := st.cfg.Availability[email]; a.HolidayCalendarID == id {
				followers = append(followers, email)
				a.HolidayCalendarID = 0
				st.putAvailability(email, a)
			}
		}
		delete(st.cfg.HolidayCalendars, id)
		entry(cur, followers)
	})
}

// What is not configuration: a draft has none of it.

// ReturningLead fails: a draft has no leads.
func (d *draftStore) ReturningLead(context.Context, string, string, string, time.Time) (*Lead, error) {
	return nil, configOnly("ReturningLead")
}

// InsertLead fails: a draft stores no lead.
func (d *draftStore) InsertLead(context.Context, *NewLead) error { return configOnly("InsertLead") }

// Lead fails: a draft has no leads.
func (d *draftStore) Lead(context.Context, string, int64, bool) (*Lead, error) {
	return nil, configOnly("Lead")
}

// ListLeads fails: a draft has no leads.
func (d *draftStore) ListLeads(context.Context, LeadQuery) ([]Lead, error) {
	return nil, configOnly("ListLeads")
}

// UpdateLead fails: a draft has no leads.
func (d *draftStore) UpdateLead(context.Context, string, int64, func(cur *Lead) (*LeadWrite, error)) (*Lead, error) {
	return nil, configOnly("UpdateLead")
}

// DeleteLead fails: a draft has no leads.
func (d *draftStore) DeleteLead(context.Context, string, int64, func(cur *Lead) (AuditEntry, []Event, error)) error {
	return configOnly("DeleteLead")
}

// Activities fails: a draft has no leads.
func (d *draftStore) Activities(context.Context, ActivityQuery) ([]Activity, error) {
	return nil, configOnly("Activities")
}

// AuditEntries fails: a draft keeps no audit log.
func (d *draftStore) AuditEntries(context.Context, AuditQuery) ([]AuditEntry, error) {
	return nil, configOnly("AuditEntries")
}

// CreateAPIKey fails: a draft has no API keys.
func (d *draftStore) CreateAPIKey(context.Context, *APIKey, string) error {
	return configOnly("CreateAPIKey")
}

// Credential fails: a draft has no API keys.
func (d *draftStore) Credential(context.Context, string, string) (*Credential, error) {
	return nil, configOnly("Credential")
}

// RevokeAPIKey fails: a draft has no API keys.
func (d *draftStore) RevokeAPIKey(context.Context, string, time.Time) error {
	return configOnly("RevokeAPIKey")
}

// TouchAPIKey fails: a draft has no API keys.
func (d *draftStore) TouchAPIKey(context.Context, int64, time.Time) error {
	return configOnly("TouchAPIKey")
}

// APIKeys fails: a draft has no API keys.
func (d *draftStore) APIKeys(context.Context, string) ([]APIKey, error) {
	return nil, configOnly("APIKeys")
}

// TryLock fails: a draft runs no assigner.
func (d *draftStore) TryLock(context.Context, string) (func(), bool, error) {
	return nil, false, configOnly("TryLock")
}

// PendingLeads fails: a draft has no leads.
func (d *draftStore) PendingLeads(context.Context, int64, int) ([]Lead, error) {
	return nil, configOnly("PendingLeads")
}

// RotationIDs fails: a draft runs no assigner.
func (d *draftStore) RotationIDs(context.Context) ([]int64, error) {
	return nil, configOnly("RotationIDs")
}

// RotationHistory fails: a draft records no turn.
func (d *draftStore) RotationHistory(context.Context, int64, time.Time) (RotationHistory, error) {
	return RotationHistory{}, configOnly("RotationHistory")
}

// StoredTurns fails: a draft records no turn.
func (d *draftStore) StoredTurns(context.Context, int64, []int64) ([]int64, error) {
	return nil, configOnly("StoredTurns")
}

// SLACounts fails: a draft keeps no statistics.
func (d *draftStore) SLACounts(context.Context, int64, time.Time, time.Time) (map[string]MemberSLA, error) {
	return nil, configOnly("SLACounts")
}

// TurnCounts fails: a draft keeps no statistics.
func (d *draftStore) TurnCounts(context.Context, int64, time.Time, time.Time) (map[string]int64, error) {
	return nil, configOnly("TurnCounts")
}

// SkipCounts fails: a draft keeps no statistics.
func (d *draftStore) SkipCounts(context.Context, int64, time.Time, time.Time) (map[string]map[string]int64, error) {
	return nil, configOnly("SkipCounts")
}

// ReturningCounts fails: a draft keeps no statistics.
func (d *draftStore) ReturningCounts(context.Context, string, time.Time, time.Time) (map[string]int64, error) {
	return nil, configOnly("ReturningCounts")
}

// LeadTimings fails: a draft keeps no statistics.
func (d *draftStore) LeadTimings(context.Context, int64, time.Time, time.Time) (map[string][]LeadTiming, error) {
	return nil, configOnly("LeadTimings")
}

// TeamLeadCounts fails: a draft keeps no statistics.
func (d *draftStore) TeamLeadCounts(context.Context, string, int64, time.Time, time.Time) (TeamLeadCounts, error) {
	return TeamLeadCounts{}, configOnly("TeamLeadCounts")
}

// LeadArrivals fails: a draft keeps no statistics.
func (d *draftStore) LeadArrivals(context.Context, string, time.Time, time.Time, time.Time) (LeadArrivals, error) {
	return LeadArrivals{}, configOnly("LeadArrivals")
}

// Memberships fails: a draft has no users, only one account's members.
func (d *draftStore) Memberships(context.Context, string) ([]Member, error) {
	return nil, configOnly("Memberships")
}

// PasswordHash fails: a draft has no console users.
func (d *draftStore) PasswordHash(context.Context, string) (string, error) {
	return "", configOnly("PasswordHash")
}

// SetPassword fails: a draft has no console users.
func (d *draftStore) SetPassword(context.Context, string, string, time.Time, []AuditEntry) error {
	return configOnly("SetPassword")
}

// AppendAudit fails: a draft keeps no audit log.
func (d *draftStore) AppendAudit(context.Context, []AuditEntry) error {
	return configOnly("AppendAudit")
}

// CreateSession fails: a draft has no console sessions.
func (d *draftStore) CreateSession(context.Context, *StoredSession) error {
	return configOnly("CreateSession")
}

// Session fails: a draft has no console sessions.
func (d *draftStore) Session(context.Context, string) (*StoredSession, error) {
	return nil, configOnly("Session")
}

// ExtendSession fails: a draft has no console sessions.
func (d *draftStore) ExtendSession(context.Context, string, time.Time) error {
	return configOnly("ExtendSession")
}

// SwitchSession fails: a draft has no console sessions.
func (d *draftStore) SwitchSession(context.Context, string, string, string) error {
	return configOnly("SwitchSession")
}

// DeleteSession fails: a draft has no console sessions.
func (d *draftStore) DeleteSession(context.Context, string, func(cur *Session) []AuditEntry) error {
	return configOnly("DeleteSession")
}

// CreateInvite fails: a draft has no invites.
func (d *draftStore) CreateInvite(context.Context, string, *Invite, []AuditEntry) error {
	return configOnly("CreateInvite")
}

// Invite fails: a draft has no invites.
func (d *draftStore) Invite(context.Context, string) (*Invite, error) {
	return nil, configOnly("Invite")
}

// AcceptInvite fails: a draft has no invites.
func (d *draftStore) AcceptInvite(context.Context, string, time.Time, func(inv *Invite, cur *Member) (*InviteUse, error)) (*Member, error) {
	return nil, configOnly("AcceptInvite")
}

// PurgeExpired fails: a draft has no sessions or invites.
func (d *draftStore) PurgeExpired(context.Context, time.Time) (int, error) {
	return 0, configOnly("PurgeExpired")
}

var _ Store = (*draftStore)(nil)
