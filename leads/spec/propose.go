package spec

import (
	"context"

	"github.com/leadrotor/leadrotor/leads"
)

// Propose returns the configuration actor's account would have once spec
// is applied to cfg (its configuration as it is, or as it was), and the
// plan of that apply, writing nothing: it runs Apply, not as a dry run, on
// a draft of cfg (leads.NewDraft), so that the proposed configuration is
// made by the code, and checked by the rules, that leadrotor apply runs.
// What spec omits stays as cfg has it; cfg itself is not modified.
//
// The errors are Apply's: FORBIDDEN, VALIDATION_ERROR naming the field of
// spec at fault, MEMBER_NOT_IN_ACCOUNT, LAST_ADMIN, a change the account's
// rules refuse…, with the plan when Apply returns one (Applied says how
// far it got); NOT_FOUND when cfg is not actor's account's. The
// configuration returned is the draft's, prepared for routing as the
// live Service prepares one (see leads.NewDraft for how it differs from
// the live account's: new objects' ids, RulesVersion 0 when the rules
// change).
func (spec Spec) Propose(ctx context.Context, cfg *leads.AccountConfig, actor leads.Actor) (*leads.AccountConfig, *Plan, error) {
	draft := leads.NewDraft(cfg)
	plan, err := spec.Apply(ctx, draft, actor, false)
	if err != nil {
		return nil, plan, err
	}
	proposed, err := draft.Configuration(ctx, actor)
	if err != nil {
		return nil, plan, err
	}
	return proposed, plan, nil
}
