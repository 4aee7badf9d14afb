package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

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

// accountMemberPatch is the body of PATCH /members/{email}: the fields sent
// change. holidayCalendarId is kept raw to tell null (follow none) from
// absent.
type accountMemberPatch struct {
	Role              *leads.Role     `json:"role"`
	HolidayCalendarID json.RawMessage `json:"holidayCalendarId"`
}

// calendar returns the holiday calendar the patch sets (0: none) and
// whether it sets one.
func (p accountMemberPatch) calendar() (int64, bool, error) {
	raw := string(p.HolidayCalendarID)
	switch raw {
	case "":
		return 0, false, nil
	case "null":
		return 0, true, nil
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 0 {
		var v any
		_ = json.Unmarshal(p.HolidayCalendarID, &v)
		return 0, false, leads.ValidationError(leads.FieldError{Field: "holidayCalendarId", Value: v,
			Message: "Must be a holiday calendar's id, or null (or 0) for none"})
	}
	return id, true, nil
}

// updateMember is PATCH /members/{email} {"role", "holidayCalendarId"}:
// the role is the admins' to change, the holiday calendar the managers'
// too. With both, the calendar is checked before the role changes, so
// that a calendar that is not the account's changes nothing.
func (s *Server) updateMember(w http.ResponseWriter, req bunrouter.Request) error {
	email, err := memberParam(req, "email")
	if err != nil {
		return err
	}
	var in accountMemberPatch
	if err := decodeJSON(req.Request, &in); err != nil {
		return err
	}
	calendar, setCalendar, err := in.calendar()
	if err != nil {
		return err
	}
	ctx := req.Context()
	actor := actorFrom(ctx)
	var m *leads.Member
	if in.Role != nil || !setCalendar {
		var role leads.Role
		setIf(&role, in.Role)
		if setCalendar && calendar != 0 {
			if err := actor.Require(leads.PermManageAccount); err != nil {
				return err
			}
			if _, err := s.svc.HolidayCalendar(ctx, actor, calendar); leads.ErrorCode(err) == leads.CodeNotFound {
				return leads.UnknownHolidayCalendar(calendar)
			} else if err != nil {
				return err
			}
		}
		if m, err = s.svc.UpdateMember(ctx, actor, leads.Member{Email: email, Role: role}); err != nil {
			return err
		}
	}
	if setCalendar {
		if m, err = s.svc.SetMemberCalendar(ctx, actor, email, calendar); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// removeMember is DELETE /members/{email} (admins): 204.
func (s *Server) removeMember(w http.ResponseWriter, req bunrouter.Request) error {
	email, err := memberParam(req, "email")
	if err != nil {
		return err
	}
	ctx := req.Context()
	if err := s.svc.RemoveMember(ctx, actorFrom(ctx), email); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
