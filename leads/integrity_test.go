package leads_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestIssue10_03_RotationTimezoneIANAOnly: "Local" is each server's own
// zone, so servers in different zones would count a daily cap on different
// days; only IANA names pass. The Go zero value stays DefaultTimezone.
func TestIssue10_03_RotationTimezoneIANAOnly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, tz, want string // want "" for refused
	}{
		{"Local", "Local", ""},
		{"lower-case local", "local", ""},
		{"unknown", "Mars/Olympus", ""},
		{"zero value", "", "UTC"},
		{"UTC", "UTC", "UTC"},
		{"IANA", "America/New_York", "America/New_York"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := leads.Rotation{Name: "r", Default: true, Timezone: tc.tz}
			err := r.Validate()
			if tc.want == "" {
				requireCode(t, err, leads.CodeValidation)
				require.Equal(t, "timezone", leads.ErrorDetails(err)["field"])
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, r.Timezone)
		})
	}
	t.Run("ValidateTimezone refuses empty", func(t *testing.T) {
		requireCode(t, leads.ValidateTimezone(""), leads.CodeValidation)
	})
	t.Run("a stored Local counts days in UTC", func(t *testing.T) {
		r := leads.Rotation{Timezone: "Local"}
		require.Equal(t, "UTC", r.Location().String())
	})
}

// eachStore runs fn, in parallel, on a bundle per store backend (SQLite,
// and PostgreSQL when reachable), with the memory rotator: the races below
// are the store's.
func eachStore(t *testing.T, fn func(t *testing.T, ctx context.Context, b *bundle)) {
	t.Parallel()
	for _, backend := range storetest.All(t) {
		b := newBundle(t, env{backend.Name, backend, false})
		t.Run(backend.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, context.Background(), b)
		})
	}
}

// together runs every fn at once, each in a goroutine of its own released
// at the same moment, and returns their errors in order.
func together(fns ...func() error) []error {
	errs := make([]error, len(fns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn()
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// requireCodeIn fails unless err is nil or has one of the codes.
func requireCodeIn(t *testing.T, err error, codes ...string) {
	t.Helper()
	if err != nil {
		require.Contains(t, codes, leads.ErrorCode(err), "error: %v", err)
	}
}

// raceRounds is how often each race is run: enough that the old code lost
// every one of them in every run tried.
const raceRounds = 25

// TestIssue10_06_ConcurrentConfigWritesNoDeadlock: configuration writes that
// touch the same rows at the same moment took their locks in different
// orders and PostgreSQL killed one of them (SQLSTATE 40P01, a 500). Every
// one must now end in success or a domain error.
func TestIssue10_06_ConcurrentConfigWritesNoDeadlock(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, b *bundle) {
		for _, tc := range []struct {
			name string
			race func(t *testing.T, round int) []error
		}{
			{"team delete vs lead source deletes", func(t *testing.T, round int) []error {
				team := b.team(t, fmt.Sprintf("t%d-%s", round, randomHex(3)))
				s1, s2 := b.source(t, team.ID, "s1"), b.source(t, team.ID, "s2")
				for i, src := range []int64{s1.ID, s2.ID, s1.ID, s2.ID} {
					b.mustCreate(t, leads.LeadInput{FirstName: fmt.Sprint(i), LastName: "L", TeamID: team.ID, LeadSourceID: src}, leads.CreateOptions{})
				}
				return together(
					func() error { return b.svc.DeleteTeam(ctx, b.admin, team.ID, true) },
					func() error { return b.svc.DeleteLeadSource(ctx, b.admin, s1.ID, true) },
					func() error { return b.svc.DeleteLeadSource(ctx, b.admin, s2.ID, true) },
				)
			}},
			{"team delete vs rotation member add", func(t *testing.T, round int) []error {
				team := b.team(t, fmt.Sprintf("t%d-%s", round, randomHex(3)))
				b.source(t, team.ID, "s")
				rot := b.rotation(t, leads.Rotation{TeamID: team.ID, Members: b.members(3)})
				b.mustCreate(t, leads.LeadInput{FirstName: "a", LastName: "L", TeamID: team.ID}, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
				return together(
					func() error { return b.svc.DeleteTeam(ctx, b.admin, team.ID, true) },
					func() error {
						_, err := b.svc.UpdateRotation(ctx, b.admin, rot.ID, func(r *leads.Rotation) error {
							r.Members = append(r.Members, leads.RotationMember{User: b.reps[5]})
							return nil
						})
						return err
					},
					func() error { return b.svc.RemoveMember(ctx, b.admin, b.agent.Email) },
				)
			}},
			{"rotation, member and rotation member deletes and patches", func(t *testing.T, round int) []error {
				team := b.team(t, fmt.Sprintf("t%d-%s", round, randomHex(3)))
				rot := b.rotation(t, leads.Rotation{TeamID: team.ID, Members: b.members(4)})
				def := b.rotation(t, leads.Rotation{Default: true, Members: b.members(4)})
				drop := func(id int64, user string) func() error {
					return func() error {
						_, err := b.svc.UpdateRotation(ctx, b.admin, id, func(r *leads.Rotation) error {
							r.Members = slices.DeleteFunc(r.Members, func(m leads.RotationMember) bool { return m.User == user })
							r.Name += "!"
							return nil
						})
						return err
					}
				}
				errs := together(
					func() error { return b.svc.DeleteRotation(ctx, b.admin, def.ID) },
					func() error { return b.svc.RemoveMember(ctx, b.admin, b.reps[0]) },
					drop(rot.ID, b.reps[1]), drop(def.ID, b.reps[2]), drop(rot.ID, b.reps[3]),
					func() error { return b.svc.DeleteTeam(ctx, b.admin, team.ID, true) },
				)
				if err := b.svc.DeleteRotation(ctx, b.admin, def.ID); leads.ErrorCode(err) != leads.CodeNotFound {
					require.NoError(t, err)
				}
				return errs
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for round := range raceRounds {
					for _, m := range []string{b.agent.Email, b.reps[0]} {
						_, err := b.svc.PutMember(ctx, leads.SystemActor(b.accountID), leads.Member{Email: m, Role: leads.RoleAgent})
						require.NoError(t, err)
					}
					for _, err := range tc.race(t, round) {
						requireCodeIn(t, err, leads.CodeNotFound)
					}
				}
			})
		}
	})
}

// TestIssue10_08_LastAdminCannotBeRacedAway: two admins who demote or remove
// each other at the same moment both succeeded, leaving no admin. The rule
// now holds in the transaction: exactly one of them wins.
func TestIssue10_08_LastAdminCannotBeRacedAway(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, b *bundle) {
		root := leads.SystemActor(b.accountID)
		admins := []leads.Actor{b.admin, {AccountID: b.accountID, Email: "admin2@example.com", Role: leads.RoleAdmin}}
		demote := func(by leads.Actor, who string) func() error {
			return func() error {
				_, err := b.svc.UpdateMember(ctx, by, leads.Member{Email: who, Role: leads.RoleAgent})
				return err
			}
		}
		remove := func(by leads.Actor, who string) func() error {
			return func() error { return b.svc.RemoveMember(ctx, by, who) }
		}
		for _, tc := range []struct {
			name   string
			first  func(by leads.Actor, who string) func() error
			second func(by leads.Actor, who string) func() error
		}{
			{"demote each other", demote, demote},
			{"remove each other", remove, remove},
			{"one demotes, the other removes", demote, remove},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for range raceRounds {
					for _, a := range admins {
						_, err := b.svc.PutMember(ctx, root, leads.Member{Email: a.Email, Role: leads.RoleAdmin})
						require.NoError(t, err)
					}
					errs := together(tc.first(admins[0], admins[1].Email), tc.second(admins[1], admins[0].Email))
					members, err := b.store.Members(ctx, b.accountID)
					require.NoError(t, err)
					n := 0
					for _, m := range members {
						if m.Role == leads.RoleAdmin {
							n++
						}
					}
					require.Equal(t, 1, n, "admins left; errors %v", errs)
					failed := 0
					for _, err := range errs {
						if err != nil {
							requireCode(t, err, leads.CodeLastAdmin)
							failed++
						}
					}
					require.Equal(t, 1, failed, "errors %v", errs)
				}
			})
		}
	})
}

// TestIssue10_09_RemovedMemberNeverStaysInRotation: a member removed while a
// rotation was being pointed at them stayed the rotation's fallback (a
// reference to a non-member), or the rotation write failed on a foreign key
// reported as TEAM_NOT_FOUND. Now the reference never outlives the member,
// and a refused write says MEMBER_NOT_IN_ACCOUNT and which field.
func TestIssue10_09_RemovedMemberNeverStaysInRotation(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, b *bundle) {
		const leaving = "leaving@example.com"
		rot := b.defaultRotation(t, 3)
		for _, tc := range []struct {
			name   string
			field  string
			change func(r *leads.Rotation) error
		}{
			{"made fallback", "fallbackAssignee", func(r *leads.Rotation) error {
				r.FallbackAssignee = leaving
				return nil
			}},
			{"added as member", "members[3].user", func(r *leads.Rotation) error {
				r.Members = append(r.Members, leads.RotationMember{User: leaving})
				return nil
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for range raceRounds {
					_, err := b.svc.PutMember(ctx, leads.SystemActor(b.accountID), leads.Member{Email: leaving, Role: leads.RoleAgent})
					require.NoError(t, err)
					errs := together(
						func() error { return b.svc.RemoveMember(ctx, b.admin, leaving) },
						func() error {
							_, err := b.svc.UpdateRotation(ctx, b.admin, rot.ID, tc.change)
							return err
						},
					)
					require.NoError(t, errs[0])
					if errs[1] != nil {
						requireCode(t, errs[1], leads.CodeMemberNotInAccount)
						require.Equal(t, leaving, leads.ErrorDetails(errs[1])["user"])
						require.Equal(t, tc.field, leads.ErrorDetails(errs[1])["field"])
					}
					cfg, err := b.store.AccountConfig(ctx, b.accountID)
					require.NoError(t, err)
					got := cfg.Rotation(rot.ID)
					require.Empty(t, got.FallbackAssignee, "the fallback outlived the member")
					for _, m := range got.Members {
						require.NotEqual(t, leaving, m.User)
					}
				}
			})
		}
	})
}
