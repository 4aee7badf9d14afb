package console

import (
	"context"
	"strings"

	"github.com/leadrotor/leadrotor/leads"
)

type teamsData struct {
	Teams []teamRow
}

type teamRow struct {
	leads.Team
	Sources []leads.LeadSource
}

// teams lists the teams with their lead sources; managers create, rename
// and delete them under the API's rules (a team or source with leads is
// deleted only when asked to detach them).
func (c *Console) teams(ctx context.Context, r *request) (any, error) {
	teams, err := c.svc.Teams(ctx, r.actor)
	if err != nil {
		return nil, err
	}
	var d teamsData
	for _, t := range teams {
		srcs, err := c.svc.LeadSources(ctx, r.actor, t.ID)
		if err != nil {
			return nil, err
		}
		d.Teams = append(d.Teams, teamRow{Team: t, Sources: srcs})
	}
	return d, nil
}

func (c *Console) createTeam(ctx context.Context, r *request) (string, error) {
	_, err := c.svc.CreateTeam(ctx, r.actor, leads.Team{Name: strings.TrimSpace(r.PostFormValue("name"))})
	if err != nil {
		return "", withField(err, "teamName")
	}
	return "/teams?done=created", nil
}

func (c *Console) renameTeam(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if _, err := c.svc.RenameTeam(ctx, r.actor, id, strings.TrimSpace(r.PostFormValue("name"))); err != nil {
		return "", withField(err, "teamName:"+r.PathValue("id"))
	}
	return "/teams?done=renamed", nil
}

func (c *Console) deleteTeam(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if err := c.svc.DeleteTeam(ctx, r.actor, id, r.PostFormValue("force") == "on"); err != nil {
		return "", withField(err, "deleteTeam:"+r.PathValue("id"))
	}
	return "/teams?done=deleted", nil
}

func (c *Console) createSource(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	_, err = c.svc.CreateLeadSource(ctx, r.actor, leads.LeadSource{TeamID: id, Name: strings.TrimSpace(r.PostFormValue("name"))})
	if err != nil {
		return "", withField(err, "sourceName:"+r.PathValue("id"))
	}
	return "/teams?done=created", nil
}

func (c *Console) renameSource(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if _, err := c.svc.RenameLeadSource(ctx, r.actor, id, strings.TrimSpace(r.PostFormValue("name"))); err != nil {
		return "", withField(err, "source:"+r.PathValue("id"))
	}
	return "/teams?done=renamed", nil
}

func (c *Console) deleteSource(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if err := c.svc.DeleteLeadSource(ctx, r.actor, id, r.PostFormValue("force") == "on"); err != nil {
		return "", withField(err, "source:"+r.PathValue("id"))
	}
	return "/teams?done=deleted", nil
}
