package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
)

// setBenchAvailability gives every member of the bench rotation what
// issue 14 lets a manager configure, all of it leaving them able to take
// every lead, so that each lead pays for reading it in full: a weekly
// schedule of whole days in a time zone of its own, a period of time off
// far ahead, a holiday calendar of far-off dates, and a capacity of open
// leads too large to reach (benchCapacity), which every turn checks and
// counts. It goes through the API, as a manager would.
// benchCapacity is each member's capacity under --availability: more open
// leads than a run makes.
const benchCapacity = 100_000_000

func setBenchAvailability(ctx context.Context, t *benchTarget) error {
	rot, err := benchRotation(ctx, t)
	if err != nil {
		return fmt.Errorf("availability: %w", err)
	}
	raw, err := t.send(ctx, "POST", "/holiday-calendars", map[string]any{
		"name": "Bench holidays", "timezone": "Europe/Paris", "dates": []string{"2099-12-25", "2099-12-26"},
	}, http.StatusCreated)
	if err != nil {
		return fmt.Errorf("availability: %w", err)
	}
	var cal struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(raw, &cal); err != nil {
		return fmt.Errorf("availability: %w", err)
	}
	day := []map[string]string{{"start": "00:00", "end": "12:00"}, {"start": "12:00", "end": "24:00"}}
	schedule := map[string]any{"timezone": "America/New_York"}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		schedule[d] = day
	}
	for _, m := range rot.Members {
		member := "/members/" + url.PathEscape(m.User)
		steps := []struct {
			method, path string
			body         any
			want         int
		}{
			{"PUT", member + "/schedule", schedule, http.StatusOK},
			{"POST", member + "/time-off", map[string]string{"start": "2099-07-01T00:00:00Z", "end": "2099-07-15T00:00:00Z", "note": "bench"}, http.StatusCreated},
			{"PATCH", member, map[string]int64{"holidayCalendarId": cal.ID}, http.StatusOK},
			{"PATCH", fmt.Sprintf("/rotations/%d/members/%s", rot.ID, url.PathEscape(m.User)), map[string]int{"maxOpenLeads": benchCapacity}, http.StatusOK},
		}
		for _, s := range steps {
			if _, err := t.send(ctx, s.method, s.path, s.body, s.want); err != nil {
				return fmt.Errorf("availability of %s: %w", m.User, err)
			}
		}
	}
	return nil
}

// setBenchSLA puts an SLA on the bench rotation, through the API: every
// lead the rotation assigns gets a timer, written with it. Its time (an
// hour, on the working-hours clock) is longer than any run, so that the
// run measures what the timers cost the create path, not expiries.
func setBenchSLA(ctx context.Context, t *benchTarget) error {
	rot, err := benchRotation(ctx, t)
	if err != nil {
		return fmt.Errorf("sla: %w", err)
	}
	sla := map[string]any{"acceptWithin": "1h", "clock": "working_hours", "maxReassignments": 2}
	if _, err := t.send(ctx, "PATCH", fmt.Sprintf("/rotations/%d", rot.ID), map[string]any{"sla": sla}, http.StatusOK); err != nil {
		return fmt.Errorf("sla: %w", err)
	}
	return nil
}

// startCPUProfile profiles the process's CPU into path until the returned
// function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
