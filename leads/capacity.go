package leads

import (
	"context"
	"sync"
	"time"
)

// A member's capacity (RotationMember.MaxOpenLeads) counts their open
// leads: leads assigned to them whose status is one of the account's
// OpenStatuses. A rotator that is a LoadCounter keeps the count of each
// rotation that caps the member, and a turn checks and takes a place in
// one step. Every other change to a member's open leads is reported to
// it here, after the change is stored: a lead assigned to the member other
// than by the rotation's own turn (by hand, by a rule, as a returning
// contact's owner, by another rotation), closed or reopened, reassigned,
// or deleted.

// loadDelay bounds how long a report of changed open leads may take.
const loadDelay = 5 * time.Second

// prepareCapacity records, on a configuration loaded by the Service, the
// account's open statuses on each rotation, and which rotations cap each
// member.
func (c *AccountConfig) prepareCapacity() {
	c.capped = make(map[string][]*Rotation)
	for _, r := range c.allRotations() {
		r.OpenStatuses = c.Account.OpenStatuses
		for _, m := range r.Members {
			if m.MaxOpenLeads > 0 {
				c.capped[m.User] = append(c.capped[m.User], r)
			}
		}
	}
}

// allRotations returns the configuration's rotations, in no order.
func (c *AccountConfig) allRotations() []*Rotation {
	out := make([]*Rotation, 0, 1+len(c.TeamRotations)+len(c.PoolRotations))
	if c.DefaultRotation != nil {
		out = append(out, c.DefaultRotation)
	}
	for _, r := range c.TeamRotations {
		out = append(out, r)
	}
	for _, r := range c.PoolRotations {
		out = append(out, r)
	}
	return out
}

// holder returns who lead l counts against as an open lead: its assignee
// when its status is open, else "" (also for no lead).
func (c *AccountConfig) holder(l *Lead) string {
	if l == nil || l.AssignedTo == "" || !isOpenStatus(c.Account.OpenStatuses, l.Status) {
		return ""
	}
	return l.AssignedTo
}

// loadChange is a change to a member's open leads as one rotation counts
// them.
type loadChange struct {
	rot   *Rotation
	user  string
	delta int
}

// loadChanges returns what the change of a lead from before to after (nil:
// none) does to the open leads each capping rotation counts. turnOf, when
// not nil, is the rotation whose turn gave after its assignee in this same
// change: that turn counted its lead already.
func (c *AccountConfig) loadChanges(before, after *Lead, turnOf *Rotation) []loadChange {
	if len(c.capped) == 0 {
		return nil
	}
	from, to := c.holder(before), c.holder(after)
	var out []loadChange
	add := func(user string, delta int, except int64) {
		for _, r := range c.capped[user] {
			if r.ID != except {
				out = append(out, loadChange{r, user, delta})
			}
		}
	}
	turnID := int64(0)
	if turnOf != nil && after != nil {
		turnID = turnOf.ID
		if to == "" && after.AssignedTo != "" {
			// The turn counted a lead that is not open: take it back.
			for _, r := range c.capped[after.AssignedTo] {
				if r.ID == turnID {
					out = append(out, loadChange{r, after.AssignedTo, -1})
				}
			}
		}
	}
	if from == to {
		return out
	}
	if from != "" {
		add(from, -1, 0)
	}
	if to != "" {
		add(to, 1, turnID)
	}
	return out
}

// reportLoad tells the rotator of the change of a lead from before to
// after (see loadChanges). A report that fails leaves a count that may be
// wrong: the counts are dropped when the rotator answers again
// (retryLoad), and counted afresh from the store.
func (s *Service) reportLoad(ctx context.Context, cfg *AccountConfig, before, after *Lead, turnOf *Rotation) {
	changes := cfg.loadChanges(before, after, turnOf)
	if len(changes) == 0 {
		return
	}
	lc, ok := s.rotator.(LoadCounter)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadDelay)
	defer cancel()
	for _, ch := range changes {
		if err := lc.AddLoad(ctx, ch.rot, ch.user, ch.delta); err != nil {
			s.log.WarnContext(ctx, "capacity: count of open leads not updated; it will be counted again", "rotation", ch.rot.ID, "user", ch.user, "err", err)
			s.staleLoad.add(ch.rot, ch.user)
		}
	}
}

// retryLoad drops the counts whose updates failed, so that the rotator
// counts them afresh from the store; those it cannot drop yet stay.
func (s *Service) retryLoad(ctx context.Context) {
	lc, ok := s.rotator.(LoadCounter)
	if !ok {
		return
	}
	for rot, users := range s.staleLoad.take() {
		if err := lc.ForgetLoad(ctx, rot, users); err != nil {
			for _, u := range users {
				s.staleLoad.add(rot, u)
			}
		}
	}
}

// newlyCappedMembers returns the members of next that have a capacity and
// had none in cur (or were not in it): a count the rotator may still keep
// of them is from before, when nothing reported their changes.
func newlyCappedMembers(cur, next *Rotation) []string {
	had := make(map[string]bool, len(cur.Members))
	for _, m := range cur.Members {
		had[m.User] = m.MaxOpenLeads > 0
	}
	var out []string
	for _, m := range next.Members {
		if m.MaxOpenLeads > 0 && !had[m.User] {
			out = append(out, m.User)
		}
	}
	return out
}

// forgetLoad drops rot's counts of users' open leads, to be counted afresh
// from the store; what cannot be dropped now is dropped by RunAssigner.
func (s *Service) forgetLoad(ctx context.Context, rot *Rotation, users []string) {
	lc, ok := s.rotator.(LoadCounter)
	if !ok || len(users) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadDelay)
	defer cancel()
	if err := lc.ForgetLoad(ctx, rot, users); err != nil {
		s.log.WarnContext(ctx, "capacity: counts of open leads not dropped; they will be", "rotation", rot.ID, "err", err)
		for _, u := range users {
			s.staleLoad.add(rot, u)
		}
	}
}

// forgetAllLoad drops every count of open leads of cfg's rotations: the
// account's open statuses changed.
func (s *Service) forgetAllLoad(ctx context.Context, cfg *AccountConfig) {
	for _, r := range cfg.allRotations() {
		var users []string
		for _, m := range r.Members {
			if m.MaxOpenLeads > 0 {
				users = append(users, m.User)
			}
		}
		s.forgetLoad(ctx, r, users)
	}
}

// staleLoads are counts of open leads that may be wrong, by rotation.
type staleLoads struct {
	mu    sync.Mutex
	users map[*Rotation][]string
}

func (sl *staleLoads) add(rot *Rotation, user string) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.users == nil {
		sl.users = make(map[*Rotation][]string)
	}
	sl.users[rot] = append(sl.users[rot], user)
}

func (sl *staleLoads) take() map[*Rotation][]string {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	out := sl.users
	sl.users = nil
	return out
}
