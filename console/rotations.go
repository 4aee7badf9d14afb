package console

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/leadrotor/leadrotor/leads"
)

// NextTurns is how many coming turns the rotation board shows.
const NextTurns = 10

type rotationsData struct {
	Rotations  []leads.Rotation
	Teams      []leads.Team
	TeamNames  map[int64]string
	HasDefault bool
}

func (c *Console) rotations(ctx context.Context, r *request) (any, error) {
	rots, err := c.svc.Rotations(ctx, r.actor)
	if err != nil {
		return nil, err
	}
	teams, err := c.svc.Teams(ctx, r.actor)
	if err != nil {
		return nil, err
	}
	d := rotationsData{Rotations: rots, TeamNames: map[int64]string{}}
	with := map[int64]bool{}
	for _, rot := range rots {
		with[rot.TeamID] = true
		d.HasDefault = d.HasDefault || rot.Default
	}
	for _, t := range teams {
		d.TeamNames[t.ID] = t.Name
		if !with[t.ID] {
			d.Teams = append(d.Teams, t)
		}
	}
	return d, nil
}

func (c *Console) createRotation(ctx context.Context, r *request) (string, error) {
	rot := leads.Rotation{Name: strings.TrimSpace(r.PostFormValue("name")), Timezone: strings.TrimSpace(r.PostFormValue("timezone"))}
	switch team := r.PostFormValue("teamId"); team {
	case "default":
		rot.Default = true
	case "pool": // neither a team's nor the default: routing rules send leads to it
	default:
		id, err := formInt("teamId", team)
		if err != nil {
			return "", err
		}
		rot.TeamID = id
	}
	created, err := c.svc.CreateRotation(ctx, r.actor, rot)
	if err != nil {
		return "", err
	}
	return path("rotations", created.ID) + "?done=rotation", nil
}

type boardData struct {
	Rotation   *leads.Rotation
	TeamName   string
	Preview    *leads.RotationPreview
	Stats      *leads.RotationStats
	Chart      shareChart
	Members    []boardMember
	Candidates []string
	Timezones  []string
	// SLA is the settings form's SLA part.
	SLA slaForm
}

// boardMember is a member in turn order with what the board shows of it.
type boardMember struct {
	leads.MemberStatus
	Position      int
	First, Last   bool
	Assigned      int64
	Share, Target float64
	NextTurns     int
	// Speed and SLA are today's speed to lead and SLA counts.
	Speed leads.SpeedToLead
	SLA   leads.MemberSLA
}

// rotationBoard shows a rotation's members in turn order, who gets the
// coming turns and whom they pass over, today's share against the
// weighted target, speed to lead and SLA expiries, and the settings.
func (c *Console) rotationBoard(ctx context.Context, r *request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	rot, err := c.svc.Rotation(ctx, r.actor, id)
	if err != nil {
		return nil, err
	}
	preview, err := c.svc.NextTurns(ctx, r.actor, id, NextTurns)
	if err != nil {
		return nil, err
	}
	stats, err := c.svc.RotationStats(ctx, r.actor, id, nil, nil)
	if err != nil {
		return nil, err
	}
	d := boardData{Rotation: rot, Preview: preview, Stats: stats, Chart: newShareChart(stats), SLA: newSLAForm(rot.SLA, r.form)}
	if rot.TeamID != 0 {
		if t, err := c.svc.Team(ctx, r.actor, rot.TeamID); err == nil {
			d.TeamName = t.Name
		}
	}
	byUser := map[string]leads.MemberStats{}
	for _, m := range stats.Members {
		byUser[m.User] = m
	}
	next := map[string]int{}
	for _, t := range preview.Next {
		next[t.Assignee]++
	}
	for i, m := range preview.Members {
		st := byUser[m.User]
		d.Members = append(d.Members, boardMember{MemberStatus: m, Position: i + 1, First: i == 0, Last: i == len(preview.Members)-1,
			Assigned: st.Assigned, Share: st.Share, Target: st.TargetShare, NextTurns: next[m.User], Speed: st.SpeedToLead, SLA: st.SLA})
	}
	if r.can(leads.PermWriteConfig) {
		emails, err := c.svc.Assignees(ctx, r.actor)
		if err != nil {
			return nil, err
		}
		in := map[string]bool{}
		for _, m := range rot.Members {
			in[leads.EmailKey(m.User)] = true
		}
		for _, e := range emails {
			if !in[e] {
				d.Candidates = append(d.Candidates, e)
			}
		}
	}
	return d, nil
}

// changeMember applies one member action of the board: pause, resume,
// move up or down, remove, or a new weight or daily cap.
func (c *Console) changeMember(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	user := r.PostFormValue("user")
	op := r.PostFormValue("op")
	_, err = c.svc.UpdateRotation(ctx, r.actor, id, func(rot *leads.Rotation) error {
		i := slices.IndexFunc(rot.Members, func(m leads.RotationMember) bool { return strings.EqualFold(m.User, user) })
		if i < 0 {
			return leads.Errorf(leads.CodeNotFound, "%s is not in this rotation", user)
		}
		m := &rot.Members[i]
		switch op {
		case "pause":
			m.Paused = true
		case "resume":
			m.Paused = false
		case "up", "down":
			j := i - 1
			if op == "down" {
				j = i + 1
			}
			if j < 0 || j >= len(rot.Members) {
				return nil
			}
			rot.Members[i], rot.Members[j] = rot.Members[j], rot.Members[i]
		case "remove":
			rot.Members = slices.Delete(rot.Members, i, i+1)
		case "weight":
			w, err := formWeight("weight:"+user, r.PostFormValue("weight"))
			if err != nil {
				return err
			}
			m.Weight = int(w)
		case "cap":
			capacity := int64(0)
			if v := strings.TrimSpace(r.PostFormValue("dailyCap")); v != "" {
				if capacity, err = formInt("dailyCap:"+user, v); err != nil {
					return err
				}
			}
			m.DailyCap = int(capacity)
		case "capacity":
			capacity := int64(0)
			if v := strings.TrimSpace(r.PostFormValue("maxOpenLeads")); v != "" {
				if capacity, err = formInt("maxOpenLeads:"+user, v); err != nil {
					return err
				}
				if capacity < 1 {
					return leads.ValidationError(leads.FieldError{Field: "maxOpenLeads:" + user, Value: v, Message: "Must be at least 1, or empty for no limit"})
				}
			}
			m.MaxOpenLeads = int(capacity)
		default:
			return leads.ValidationError(leads.FieldError{Field: "op", Value: op, Message: "Must be pause, resume, up, down, remove, weight, cap or capacity"})
		}
		return nil
	})
	if err != nil {
		return "", memberField(err, user)
	}
	return path("rotations", id) + "?done=saved", nil
}

// memberField points a rotation's member-field refusal
// (members[2].weight) at the board's input of that member (weight:user).
func memberField(err error, user string) error {
	field, _ := leads.ErrorDetails(err)["field"].(string)
	if i := strings.LastIndexByte(field, '.'); i >= 0 && strings.HasPrefix(field, "members[") {
		return withField(err, field[i+1:]+":"+user)
	}
	return err
}

// withField returns a refusal as one naming the page's input field, where
// its message is then shown; an error that is no refusal (a backend down,
// a bug) is returned as it is.
func withField(err error, field string) error {
	return withFieldText(err, field, errorText(err))
}

// withFieldText is withField with the message shown next to the field.
func withFieldText(err error, field, text string) error {
	if code := leads.ErrorCode(err); code == leads.CodeServiceUnavailable || code == leads.CodeInternal {
		return err
	}
	e := leads.Errorf(leads.ErrorCode(err), "%s", leads.ErrorMessage(err))
	e.Details = map[string]any{"field": field, "message": text}
	e.Err = err
	return e
}

func (c *Console) addMember(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	user := strings.TrimSpace(r.PostFormValue("user"))
	w, err := formWeight("addWeight", r.PostFormValue("weight"))
	if err != nil {
		return "", err
	}
	_, err = c.svc.UpdateRotation(ctx, r.actor, id, func(rot *leads.Rotation) error {
		rot.Members = append(rot.Members, leads.RotationMember{User: user, Weight: int(w)})
		return nil
	})
	if err != nil {
		field, _ := leads.ErrorDetails(err)["field"].(string)
		switch {
		case strings.HasSuffix(field, ".weight"):
			return "", withField(err, "addWeight")
		case strings.HasSuffix(field, ".user") || leads.ErrorCode(err) == leads.CodeMemberNotInAccount:
			return "", withField(err, "addUser")
		}
		return "", err
	}
	return path("rotations", id) + "?done=saved", nil
}

// rotationSettings saves the board's settings form: name, fallback, what
// happens when nobody is eligible, timezone, and the SLA (set, changed, or
// removed when "SLA on" is not ticked).
func (c *Console) rotationSettings(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	_, err = c.svc.UpdateRotation(ctx, r.actor, id, func(rot *leads.Rotation) error {
		// Read in here, after the Service has checked the role: an agent
		// is refused as one, whatever they typed.
		sla, err := parseSLAForm(r.PostForm)
		if err != nil {
			return err
		}
		rot.Name = strings.TrimSpace(r.PostFormValue("name"))
		rot.FallbackAssignee = strings.TrimSpace(r.PostFormValue("fallbackAssignee"))
		rot.WhenNobodyEligible = r.PostFormValue("whenNobodyEligible")
		rot.Timezone = strings.TrimSpace(r.PostFormValue("timezone"))
		rot.SLA = sla
		return nil
	})
	if err != nil {
		return "", err
	}
	return path("rotations", id) + "?done=saved", nil
}

func (c *Console) deleteRotation(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if err := c.svc.DeleteRotation(ctx, r.actor, id); err != nil {
		return "", err
	}
	return "/rotations?done=deleted", nil
}

// pathID is the page's {id}.
func pathID(r *request) (int64, error) { return pathIDOf(r, "id") }

// pathIDOf is the page's id named name in its pattern ({delivery}).
func pathIDOf(r *request, name string) (int64, error) {
	id, ok := leads.ParseID(r.PathValue(name))
	if !ok {
		return 0, leads.Errorf(leads.CodeNotFound, "no such page")
	}
	return id, nil
}

// formInt reads a whole number typed into field.
func formInt(field, v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, leads.ValidationError(leads.FieldError{Field: field, Value: v, Message: fmt.Sprintf("Must be a whole number, not %q", v)})
	}
	return n, nil
}

// formWeight reads a weight typed into field. The Go API reads a weight of
// 0 as the default, 1; typed by a person, 0 is refused rather than changed.
func formWeight(field, v string) (int64, error) {
	w, err := formInt(field, v)
	if err == nil && (w < 1 || w > leads.MaxMemberWeight) {
		err = leads.ValidationError(leads.FieldError{Field: field, Value: v, Message: fmt.Sprintf("Must be from 1 to %d", leads.MaxMemberWeight)})
	}
	return w, err
}
