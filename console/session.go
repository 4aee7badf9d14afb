package console

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/leadrotor/leadrotor/leads"
)

// The session cookie: host-only and for the whole site under TLS (the
// __Host- prefix makes the browser refuse one set otherwise), for the
// console's path on plain HTTP (a developer's machine).
const (
	cookieName       = "lr_console"
	secureCookieName = "__Host-lr_console"
)

func sessionCookie(r *http.Request, token string, maxAge int) *http.Cookie {
	ck := &http.Cookie{Name: cookieName, Value: token, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: maxAge}
	if r.TLS != nil {
		ck.Name, ck.Path, ck.Secure = secureCookieName, "/", true
	}
	return ck
}

func sessionToken(r *http.Request) string {
	for _, name := range []string{secureCookieName, cookieName} {
		if ck, err := r.Cookie(name); err == nil && ck.Value != "" {
			return ck.Value
		}
	}
	return ""
}

// signedIn runs h for a request with a live session; others are sent to
// sign in (or refused, for a change). needAccount sends a session that has
// not picked an account yet to the account picker.
func (c *Console) signedIn(h func(http.ResponseWriter, *request), needAccount bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		token := sessionToken(hr)
		var sess *leads.Session
		var actor leads.Actor
		err := fmt.Errorf("no session")
		if token != "" {
			sess, actor, err = c.svc.Session(hr.Context(), token)
		}
		if err != nil {
			if token != "" && statusOf(err) >= 500 {
				c.fail(w, &request{Request: hr}, err)
				return
			}
			if hr.Method != http.MethodGet {
				c.renderStatus(w, hr, nil, http.StatusUnauthorized, "Your session has ended. Sign in again.")
				return
			}
			http.Redirect(w, hr, Prefix+"/signin?next="+url.QueryEscape(hr.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		r := &request{Request: hr, w: w, session: sess, token: token, actor: actor}
		if sess.AccountID == "" {
			if needAccount {
				http.Redirect(w, hr, Prefix+"/account", http.StatusSeeOther)
				return
			}
		} else {
			r.actor.Request = c.requestInfo(hr)
			if r.account, err = c.svc.Account(hr.Context(), r.actor); err != nil {
				c.fail(w, r, err)
				return
			}
		}
		h(w, r)
	})
}

type signInData struct {
	Email, Next, Message string
	Error                string
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	d := signInData{Next: safeNext(r.URL.Query().Get("next"))}
	if r.URL.Query().Has("signed_out") {
		d.Message = "You have signed out."
	}
	c.renderPublic(w, r, "signin", http.StatusOK, d)
}

// signIn checks an email and password and starts a session. Attempts are
// limited per client address and per email, so that guessing is slow
// from one place and against one person.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.renderStatus(w, r, nil, http.StatusBadRequest, "The form could not be read.")
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	d := signInData{Email: email, Next: safeNext(r.PostFormValue("next"))}
	if !c.allowSignIn(w, r, email, func(msg string) {
		d.Error = msg
		c.renderPublic(w, r, "signin", http.StatusTooManyRequests, d)
	}) {
		return
	}
	members, err := c.svc.SignIn(r.Context(), email, r.PostFormValue("password"), c.requestInfo(r))
	if err != nil {
		if statusOf(err) >= 500 {
			c.fail(w, &request{Request: r}, err)
			return
		}
		d.Error = "The email or the password is wrong."
		c.renderPublic(w, r, "signin", http.StatusUnauthorized, d)
		return
	}
	account := ""
	if len(members) == 1 {
		account = members[0].AccountID
	}
	if !c.startSession(w, r, email, account) {
		return
	}
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

// allowSignIn takes one password attempt from the allowances of the client
// address and of the email; when either is spent it sets Retry-After,
// calls refuse with what to tell the person, and returns false.
func (c *Console) allowSignIn(w http.ResponseWriter, r *http.Request, email string, refuse func(msg string)) bool {
	for _, key := range []string{"ip:" + c.cfg.ClientIP(r), "email:" + leads.EmailKey(email)} {
		res, err := c.cfg.Limiter.Allow(r.Context(), "console-signin:"+key, c.cfg.SignInLimit)
		if err == nil && !res.Allowed {
			wait := int(math.Ceil(res.RetryAfter.Seconds()))
			w.Header().Set("Retry-After", fmt.Sprint(wait))
			refuse(fmt.Sprintf("Too many sign-in attempts. Try again in %d seconds.", wait))
			return false
		}
	}
	return true
}

// startSession starts a session and sets its cookie; false when it could
// not, the response written.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, email, account string) bool {
	token, _, err := c.svc.StartSession(r.Context(), email, account, c.cfg.SessionTTL)
	if err != nil {
		c.fail(w, &request{Request: r}, err)
		return false
	}
	http.SetCookie(w, sessionCookie(r, token, int(c.cfg.SessionTTL.Seconds())))
	return true
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	token := sessionToken(r)
	if token != "" {
		sess, _, err := c.svc.Session(r.Context(), token)
		if err == nil {
			_ = r.ParseForm()
			if !c.validCSRF(&request{Request: r, session: sess}) {
				c.renderStatus(w, r, nil, http.StatusForbidden, "This form has expired. Reload the page and try again.")
				return
			}
			if err := c.svc.EndSession(r.Context(), token, c.requestInfo(r)); err != nil {
				c.fail(w, &request{Request: r}, err)
				return
			}
		}
	}
	http.SetCookie(w, sessionCookie(r, "", -1))
	http.Redirect(w, r, Prefix+"/signin?signed_out=1", http.StatusSeeOther)
}

type accountData struct {
	Members []leads.Member
}

func (c *Console) accountPage(w http.ResponseWriter, r *request) {
	members, err := c.svc.Memberships(r.Context(), r.session.Email)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "account", http.StatusOK, accountData{Members: members})
}

func (c *Console) switchAccount(w http.ResponseWriter, r *request) {
	if err := r.ParseForm(); err != nil || !c.validCSRF(r) {
		c.renderStatus(w, r.Request, r, http.StatusForbidden, "This form has expired. Reload the page and try again.")
		return
	}
	if _, _, err := c.svc.SwitchAccount(r.Context(), r.token, r.PostFormValue("account")); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r.Request, Prefix+"/", http.StatusSeeOther)
}

type inviteData struct {
	Invite *leads.Invite
	Error  string
	Field  string
}

func (c *Console) invitePage(w http.ResponseWriter, r *http.Request) {
	inv, err := c.svc.Invite(r.Context(), r.PathValue("token"))
	if err != nil {
		c.renderStatus(w, r, nil, statusOf(err), "This link is not valid: it was used already, it expired, or it was never made.")
		return
	}
	c.renderPublic(w, r, "invite", http.StatusOK, inviteData{Invite: inv})
}

// acceptInvite sets the password an invitation or a reset link asks for,
// and signs the member in.
func (c *Console) acceptInvite(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	inv, err := c.svc.Invite(r.Context(), token)
	if err != nil {
		c.renderStatus(w, r, nil, statusOf(err), "This link is not valid: it was used already, it expired, or it was never made.")
		return
	}
	if err := r.ParseForm(); err != nil {
		c.renderStatus(w, r, nil, http.StatusBadRequest, "The form could not be read.")
		return
	}
	// Accepting an invite of an email that has a password checks it:
	// limited as sign-ins are.
	if inv.HasPassword && !c.allowSignIn(w, r, inv.Email, func(msg string) {
		c.renderPublic(w, r, "invite", http.StatusTooManyRequests, inviteData{Invite: inv, Error: msg})
	}) {
		return
	}
	pw := r.PostFormValue("password")
	if !inv.HasPassword && pw != r.PostFormValue("confirm") {
		c.renderPublic(w, r, "invite", http.StatusUnprocessableEntity, inviteData{Invite: inv, Field: "confirm", Error: "The two passwords differ."})
		return
	}
	m, err := c.svc.AcceptInvite(r.Context(), token, pw)
	if err != nil {
		if leads.ErrorCode(err) == leads.CodeUnauthenticated {
			c.renderPublic(w, r, "invite", http.StatusUnauthorized, inviteData{Invite: inv, Field: "password", Error: "That is not your password."})
			return
		}
		field, _ := leads.ErrorDetails(err)["field"].(string)
		c.renderPublic(w, r, "invite", statusOf(err), inviteData{Invite: inv, Field: field, Error: leads.ErrorMessage(err)})
		return
	}
	if !c.startSession(w, r, m.Email, m.AccountID) {
		return
	}
	http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
}

// safeNext keeps a return path only when it is the console's own.
func safeNext(next string) string {
	if strings.HasPrefix(next, Prefix+"/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return Prefix + "/"
}
