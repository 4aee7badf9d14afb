package httpapi

import (
	"net/http"
	"net/url"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// getAccount is GET /account: the account's settings.
func (s *Server) getAccount(w http.ResponseWriter, req bunrouter.Request) error {
	ctx := req.Context()
	a, err := s.svc.Account(ctx, actorFrom(ctx))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// updateAccount is PATCH /account (admins): name, duplicatePolicy, returning.
func (s *Server) updateAccount(w http.ResponseWriter, req bunrouter.Request) error {
	var in leads.AccountPatch
	if err := decodeJSON(req.Request, &in); err != nil {
		return err
	}
	ctx := req.Context()
	a, err := s.svc.UpdateAccount(ctx, actorFrom(ctx), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

type newMemberInput struct {
	Email string     `json:"email"`
	Role  leads.Role `json:"role"`
}

type roleInput struct {
	Role leads.Role `json:"role"`
}

// listMembers is GET /members (admins).
func (s *Server) listMembers(w http.ResponseWriter, req bunrouter.Request) error {
	ctx := req.Context()
	ms, err := s.svc.Members(ctx, actorFrom(ctx))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[leads.Member]{ms})
	return nil
}

// addMember is POST /members {"email", "role"} (admins): 201, 409 when the
// user is a member already.
func (s *Server) addMember(w http.ResponseWriter, req bunrouter.Request) error {
	var in newMemberInput
	if err := decodeJSON(req.Request, &in); err != nil {
		return err
	}
	ctx := req.Context()
	m, err := s.svc.AddMember(ctx, actorFrom(ctx), leads.Member{Email: in.Email, Role: in.Role})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/members/"+url.PathEscape(m.Email))
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// updateMember is PATCH /members/{email} {"role"} (admins).
func (s *Server) updateMember(w http.ResponseWriter, req bunrouter.Request) error {
	email, err := url.PathUnescape(req.Param("email"))
	if err != nil {
		return leads.Errorf(leads.CodeNotFound, "member not found")
	}
	var in roleInput
	if err := decodeJSON(req.Request, &in); err != nil {
		return err
	}
	ctx := req.Context()
	m, err := s.svc.UpdateMember(ctx, actorFrom(ctx), leads.Member{Email: email, Role: in.Role})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// removeMember is DELETE /members/{email} (admins): 204.
func (s *Server) removeMember(w http.ResponseWriter, req bunrouter.Request) error {
	email, err := url.PathUnescape(req.Param("email"))
	if err != nil {
		return leads.Errorf(leads.CodeNotFound, "member not found")
	}
	ctx := req.Context()
	if err := s.svc.RemoveMember(ctx, actorFrom(ctx), email); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
