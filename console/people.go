package console

import (
	"context"
	"net/http"
	"strings"

	"github.com/leadrotor/leadrotor/leads"
)

type peopleData struct {
	Members []leads.Member
	Keys    []leads.APIKey
	Roles   []leads.Role
	// NewKey is a key's secret, shown once, right after it is made; Link an
	// invitation or reset link, shown once.
	NewKey  string
	Link    string
	LinkFor string
}

// people lists the account's members (admins change roles, invite,
// reset passwords, remove) and the signed-in member's own API keys.
func (c *Console) people(ctx context.Context, r *request) (any, error) {
	d := peopleData{Roles: []leads.Role{leads.RoleAgent, leads.RoleManager, leads.RoleAdmin}}
	var err error
	if r.can(leads.PermManageAccount) {
		if d.Members, err = c.svc.Members(ctx, r.actor); err != nil {
			return nil, err
		}
	}
	if d.Keys, err = c.svc.MyAPIKeys(ctx, r.actor); err != nil {
		return nil, err
	}
	return d, nil
}

func (c *Console) addPerson(ctx context.Context, r *request) (string, error) {
	m := leads.Member{Email: strings.TrimSpace(r.PostFormValue("email")), Role: leads.Role(r.PostFormValue("role"))}
	if _, err := c.svc.AddMember(ctx, r.actor, m); err != nil {
		return "", withField(err, "addEmail")
	}
	return "/people?done=created", nil
}

func (c *Console) changeRole(ctx context.Context, r *request) (string, error) {
	email := r.PostFormValue("email")
	m := leads.Member{Email: email, Role: leads.Role(r.PostFormValue("role"))}
	if _, err := c.svc.UpdateMember(ctx, r.actor, m); err != nil {
		return "", withField(err, "role:"+email)
	}
	return "/people?done=member", nil
}

func (c *Console) removePerson(ctx context.Context, r *request) (string, error) {
	email := r.PostFormValue("email")
	if err := c.svc.RemoveMember(ctx, r.actor, email); err != nil {
		return "", withField(err, "role:"+email)
	}
	return "/people?done=removed", nil
}

// invite makes an invitation link (kind invite) or a password reset link
// (kind reset) and shows it once, to be sent to the person.
func (c *Console) invite(ctx context.Context, r *request) (string, error) {
	kind := r.PostFormValue("kind")
	email := strings.TrimSpace(r.PostFormValue("email"))
	role := leads.Role(r.PostFormValue("role"))
	token, inv, err := c.svc.CreateInvite(ctx, r.actor, email, role, kind, c.cfg.InviteTTL)
	if err != nil {
		if kind == "reset" {
			return "", withField(err, "role:"+email)
		}
		return "", withField(err, "inviteEmail")
	}
	d, err := c.people(ctx, r)
	if err != nil {
		return "", err
	}
	pd := d.(peopleData)
	pd.Link, pd.LinkFor = c.baseURL(r.Request)+Prefix+"/invite/"+token, inv.Email
	return "", c.showOnce(r, pd)
}

func (c *Console) createKey(ctx context.Context, r *request) (string, error) {
	secret, _, err := c.svc.CreateMyAPIKey(ctx, r.actor, strings.TrimSpace(r.PostFormValue("name")))
	if err != nil {
		return "", withField(err, "keyName")
	}
	d, err := c.people(ctx, r)
	if err != nil {
		return "", err
	}
	pd := d.(peopleData)
	pd.NewKey = secret
	return "", c.showOnce(r, pd)
}

func (c *Console) revokeKey(ctx context.Context, r *request) (string, error) {
	if err := c.svc.RevokeMyAPIKey(ctx, r.actor, r.PostFormValue("prefix")); err != nil {
		return "", withField(err, "key:"+r.PostFormValue("prefix"))
	}
	return "/people?done=revoked", nil
}

// showOnce answers an action with the people page holding a secret shown
// this once (never put in a URL, never stored).
func (c *Console) showOnce(r *request, d peopleData) error {
	c.render(r.w, r, "people", http.StatusOK, d)
	return errShowLink
}

// baseURL starts the links the console hands out.
func (c *Console) baseURL(r *http.Request) string {
	if c.cfg.BaseURL != "" {
		return strings.TrimRight(c.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
