package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// rotationInput is the body of POST and PUT /rotations. The read-only fields
// of a Rotation are accepted and ignored, so that a rotation read from the
// API can be sent back changed.
type rotationInput struct {
	Name               string `json:"name"`
	TeamID             int64  `json:"teamId"`
	Default            bool   `json:"default"`
	FallbackAssignee   string `json:"fallbackAssignee"`
	WhenNobodyEligible string `json:"whenNobodyEligible"`
	// SLA is the rotation's SLA; omitted or null for none.
	SLA *leads.SLA `json:"sla"`
	// Timezone is nil when omitted (then leads.DefaultTimezone); one sent
	// must be an IANA name, "" included.
	Timezone  *string                `json:"timezone"`
	Members   []leads.RotationMember `json:"members"`
	ID        json.RawMessage        `json:"id"`
	AccountID json.RawMessage        `json:"accountId"`
	CreatedAt json.RawMessage        `json:"createdAt"`
	UpdatedAt json.RawMessage        `json:"updatedAt"`
}

// rotation returns the rotation in describes; VALIDATION_ERROR for a time
// zone sent that is not an IANA name.
func (in rotationInput) rotation() (leads.Rotation, error) {
	tz := leads.DefaultTimezone
	if in.Timezone != nil {
		if err := leads.ValidateTimezone(*in.Timezone); err != nil {
			return leads.Rotation{}, err
		}
		tz = *in.Timezone
	}
	return leads.Rotation{Name: in.Name, TeamID: in.TeamID, Default: in.Default, FallbackAssignee: in.FallbackAssignee,
		WhenNobodyEligible: in.WhenNobodyEligible, SLA: in.SLA, Timezone: tz, Members: in.Members}, nil
}

// rotationPatch is the body of PATCH /rotations/{id}: fields sent change.
// null removes teamId, fallbackAssignee, whenNobodyEligible and sla; the
// body's walk refuses it for the other fields, as for every PATCH's
// pointer fields (exactWalker.refuseNull).
type rotationPatch struct {
	Name               *string                 `json:"name"`
	TeamID             patchField[int64]       `json:"teamId"`
	Default            *bool                   `json:"default"`
	FallbackAssignee   patchField[string]      `json:"fallbackAssignee"`
	WhenNobodyEligible patchField[string]      `json:"whenNobodyEligible"`
	SLA                patchField[*leads.SLA]  `json:"sla"`
	Timezone           *string                 `json:"timezone"`
	Members            *[]leads.RotationMember `json:"members"`
}

// patchField is a field of a PATCH body that null removes: absent, null,
// or a value. encoding/json decodes null into a pointer field as nil, as
// if the field were absent.
type patchField[T any] struct {
	set, null bool
	v         T
}

// UnmarshalJSON reads null or a value, refusing unknown keys.
func (p *patchField[T]) UnmarshalJSON(b []byte) error {
	p.set = true
	if string(bytes.TrimSpace(b)) == "null" {
		p.null = true
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(&p.v)
}

// wrappedType is T: the body's checks (checkExact, the naming of a
// refused field) look through the wrapper into it.
func (*patchField[T]) wrappedType() reflect.Type { return reflect.TypeFor[T]() }

// given reports whether a value (not null) was sent.
func (p patchField[T]) given() bool { return p.set && !p.null }

// apply sets *dst to what was sent: the value, or the zero value for null.
func (p patchField[T]) apply(dst *T) {
	if p.set {
		*dst = p.v // the zero value when null
	}
}

// memberPatch is the body of PATCH /rotations/{id}/members/{user}.
type memberPatch struct {
	Weight   *int  `json:"weight"`
	Paused   *bool `json:"paused"`
	DailyCap *int  `json:"dailyCap"`
	// MaxOpenLeads is the member's capacity; 0 removes it.
	MaxOpenLeads *int `json:"maxOpenLeads"`
}

// memberInput is the body of POST /rotations/{id}/members: a member, and
// where in the turn order it goes (0-based; default: last).
type memberInput struct {
	leads.RotationMember
	Position *int `json:"position"`
}

func (s *Server) createRotation(w http.ResponseWriter, req bunrouter.Request) error {
	return create(w, req, func(r *leads.Rotation) string { return "/rotations/" + strconv.FormatInt(r.ID, 10) },
		func(ctx context.Context, a leads.Actor, in rotationInput) (*leads.Rotation, error) {
			r, err := in.rotation()
			if err != nil {
				return nil, err
			}
			return s.svc.CreateRotation(ctx, a, r)
		})
}

func (s *Server) listRotations(w http.ResponseWriter, req bunrouter.Request) error {
	return listAll(w, req, s.svc.Rotations)
}

func (s *Server) getRotation(w http.ResponseWriter, req bunrouter.Request) error {
	return getID(w, req, "rotation", s.svc.Rotation)
}

// replaceRotation is PUT /rotations/{id}: the whole rotation.
func (s *Server) replaceRotation(w http.ResponseWriter, req bunrouter.Request) error {
	var in rotationInput
	return s.changeRotation(w, req, &in, func(r *leads.Rotation) error {
		next, err := in.rotation()
		if err != nil {
			return err
		}
		next.ID = r.ID
		*r = next
		return nil
	})
}

// patchRotation is PATCH /rotations/{id}: only the fields sent change; a
// members list sent replaces the list.
func (s *Server) patchRotation(w http.ResponseWriter, req bunrouter.Request) error {
	var in rotationPatch
	return s.changeRotation(w, req, &in, func(r *leads.Rotation) error {
		if in.Timezone != nil {
			if err := leads.ValidateTimezone(*in.Timezone); err != nil {
				return err
			}
		}
		setIf(&r.Name, in.Name)
		in.TeamID.apply(&r.TeamID)
		setIf(&r.Default, in.Default)
		in.FallbackAssignee.apply(&r.FallbackAssignee)
		in.WhenNobodyEligible.apply((*string)(&r.WhenNobodyEligible))
		in.SLA.apply(&r.SLA)
		setIf(&r.Timezone, in.Timezone)
		setIf(&r.Members, in.Members)
		if in.TeamID.given() && in.TeamID.v != 0 && in.Default == nil {
			r.Default = false
		}
		if in.Default != nil && *in.Default && !in.TeamID.set {
			r.TeamID = 0
		}
		return nil
	})
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// addRotationMember is POST /rotations/{id}/members: 201 with the rotation.
func (s *Server) addRotationMember(w http.ResponseWriter, req bunrouter.Request) error {
	var in memberInput
	pos := -1
	err := s.changeRotationStatus(w, req, &in, http.StatusCreated, func(r *leads.Rotation) error {
		m := in.RotationMember
		m.User = leads.EmailKey(m.User)
		if slices.ContainsFunc(r.Members, func(x leads.RotationMember) bool { return x.User == m.User }) {
			return leads.Errorf(leads.CodeConflict, "%s is in the rotation already", m.User)
		}
		pos = len(r.Members)
		if in.Position != nil {
			if *in.Position < 0 || *in.Position > len(r.Members) {
				return leads.ValidationError(leads.FieldError{Field: "position", Value: *in.Position,
					Message: "Must be from 0 to " + strconv.Itoa(len(r.Members))})
			}
			pos = *in.Position
		}
		r.Members = slices.Insert(r.Members, pos, m)
		return nil
	})
	return asMemberField(err, pos)
}

// asMemberField names the fields of err that the rotation's validation
// names for its member at index i (members[3].user) as the body of that
// one member names them (user); other errors are returned as they are.
func asMemberField(err error, i int) error {
	var e *leads.Error
	if i < 0 || !errors.As(err, &e) {
		return err
	}
	prefix := "members[" + strconv.Itoa(i) + "]."
	field, _ := e.Details["field"].(string)
	if !strings.HasPrefix(field, prefix) {
		return err
	}
	details := maps.Clone(e.Details)
	details["field"] = strings.TrimPrefix(field, prefix)
	if errs, ok := details["errors"].([]leads.FieldError); ok {
		errs = slices.Clone(errs)
		for j := range errs {
			errs[j].Field = strings.TrimPrefix(errs[j].Field, prefix)
		}
		details["errors"] = errs
	}
	return &leads.Error{Code: e.Code, Message: e.Message, Details: details, Err: e.Err}
}

// patchRotationMember is PATCH /rotations/{id}/members/{user}: pause,
// resume, weight, cap.
func (s *Server) patchRotationMember(w http.ResponseWriter, req bunrouter.Request) error {
	user, err := userParam(req)
	if err != nil {
		return err
	}
	var in memberPatch
	at := -1
	err = s.changeRotation(w, req, &in, func(r *leads.Rotation) error {
		i := slices.IndexFunc(r.Members, func(m leads.RotationMember) bool { return m.User == user })
		if i < 0 {
			return leads.Errorf(leads.CodeNotFound, "%s is not in the rotation", user)
		}
		at = i
		setIf(&r.Members[i].Weight, in.Weight)
		setIf(&r.Members[i].Paused, in.Paused)
		setIf(&r.Members[i].DailyCap, in.DailyCap)
		setIf(&r.Members[i].MaxOpenLeads, in.MaxOpenLeads)
		return nil
	})
	return asMemberField(err, at)
}

// removeRotationMember is DELETE /rotations/{id}/members/{user}: 200 with the
// rotation as it is now.
func (s *Server) removeRotationMember(w http.ResponseWriter, req bunrouter.Request) error {
	user, err := userParam(req)
	if err != nil {
		return err
	}
	return s.changeRotation(w, req, nil, func(r *leads.Rotation) error {
		i := slices.IndexFunc(r.Members, func(m leads.RotationMember) bool { return m.User == user })
		if i < 0 {
			return leads.Errorf(leads.CodeNotFound, "%s is not in the rotation", user)
		}
		r.Members = slices.Delete(r.Members, i, i+1)
		return nil
	})
}

func userParam(req bunrouter.Request) (string, error) { return memberParam(req, "user") }

// memberParam reads the path parameter name, a member's email (escaped or
// not); one that does not unescape cannot name a member: NOT_FOUND.
func memberParam(req bunrouter.Request, name string) (string, error) {
	email, err := url.PathUnescape(req.Param(name))
	if err != nil {
		return "", leads.Errorf(leads.CodeNotFound, "member not found")
	}
	return leads.EmailKey(email), nil
}

// changeRotation decodes body (when not nil) and applies change to the
// rotation named by the path, answering 200 with the result.
func (s *Server) changeRotation(w http.ResponseWriter, req bunrouter.Request, body any, change func(*leads.Rotation) error) error {
	return s.changeRotationStatus(w, req, body, http.StatusOK, change)
}

func (s *Server) changeRotationStatus(w http.ResponseWriter, req bunrouter.Request, body any, status int, change func(*leads.Rotation) error) error {
	return serveID(w, req, "rotation", status, func(ctx context.Context, a leads.Actor, id int64) (*leads.Rotation, error) {
		if body != nil {
			if err := decodeJSON(req.Request, body); err != nil {
				return nil, err
			}
		}
		return s.svc.UpdateRotation(ctx, a, id, change)
	})
}

func (s *Server) deleteRotation(w http.ResponseWriter, req bunrouter.Request) error {
	return remove(w, req, "rotation", s.svc.DeleteRotation)
}

// nextTurns is GET /rotations/{id}/next[?n=5][&at=<date-time>].
func (s *Server) nextTurns(w http.ResponseWriter, req bunrouter.Request) error {
	return getID(w, req, "rotation", func(ctx context.Context, a leads.Actor, id int64) (*leads.RotationPreview, error) {
		n := 5
		if v := req.URL.Query().Get("n"); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil {
				return nil, leads.ValidationError(leads.FieldError{Field: "n", Value: v, Message: "Must be an integer from 1 to 100"})
			}
		}
		at, err := timeParam(req.URL.Query(), "at")
		if err != nil {
			return nil, err
		}
		if at == nil {
			return s.svc.NextTurns(ctx, a, id, n)
		}
		return s.svc.NextTurnsAt(ctx, a, id, n, *at)
	})
}

// rotationStats is GET /rotations/{id}/stats[?from=&to=].
func (s *Server) rotationStats(w http.ResponseWriter, req bunrouter.Request) error {
	return stats(w, req, "rotation", s.svc.RotationStats)
}
