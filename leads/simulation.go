package leads

import (
	"context"
	"encoding/json"
	"time"
)

// A simulation replays an account's past leads through a configuration
// (the live one, or one a spec proposes) and compares what it would have
// done with what happened. The replay itself is package simulate's; this
// file holds what is kept of a simulation run in the background (its
// record, Simulation), the store interface that keeps it, and the
// interface (Simulator) the HTTP API and the console call, which package
// simulations implements.

// SimulationStatus is where a simulation is in its life.
type SimulationStatus string

// The statuses, in order.
const (
	SimulationQueued  SimulationStatus = "queued"
	SimulationRunning SimulationStatus = "running"
	SimulationDone    SimulationStatus = "done"
	SimulationFailed  SimulationStatus = "failed"
)

// Finished reports whether s is done or failed: nothing changes the
// simulation any more.
func (s SimulationStatus) Finished() bool { return s == SimulationDone || s == SimulationFailed }

// SimulationInterrupted is the code of a simulation's error when the
// server running it stopped (or died) before it finished. It is found only
// in a simulation's error, never as an API error's code.
const SimulationInterrupted = "INTERRUPTED"

// Simulation is a simulation as kept: its input, where it is, and, once
// done, its result.
type Simulation struct {
	ID        int64            `json:"id"`
	AccountID string           `json:"-"`
	Status    SimulationStatus `json:"status"`
	// From and To are the window: the leads created at or after From and
	// before To are replayed.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Config is the proposed change as submitted (a spec, as JSON); null
	// for a replay of the configuration as it is.
	Config json.RawMessage `json:"config"`
	// CreatedBy is the email of the member who submitted it.
	CreatedBy string `json:"createdBy"`
	// Progress is how many leads have been replayed so far (updated every
	// 10,000 leads); Total how many the window holds, once known.
	Progress int64  `json:"progress"`
	Total    *int64 `json:"total"`
	// Result is the replay's outcome (a simulate.Result) once Status is
	// done; null before.
	Result json.RawMessage `json:"result"`
	// Error says why a failed simulation failed.
	Error      *SimulationError `json:"error"`
	CreatedAt  time.Time        `json:"createdAt"`
	StartedAt  *time.Time       `json:"startedAt"`
	FinishedAt *time.Time       `json:"finishedAt"`
	// ExpiresAt is when the simulation and its result are deleted.
	ExpiresAt time.Time `json:"expiresAt"`
	// Runner names the server process that runs it, and HeartbeatAt is when
	// that process last said it still does: a queued or running simulation
	// whose heartbeat is old was left by a process that died.
	Runner      string    `json:"-"`
	HeartbeatAt time.Time `json:"-"`
}

// SimulationError is why a simulation failed: an error code (those of
// the API, or SimulationInterrupted), its message, and the field it names,
// if any.
type SimulationError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// SimulationInput is what a simulation is asked for: the window, and at
// most one of Config (a spec as JSON, as leadrotor apply's file declares
// it) and ConfigYAML (the same as YAML text). Without either the replay
// runs through the configuration as it is.
type SimulationInput struct {
	From       time.Time       `json:"from"`
	To         time.Time       `json:"to"`
	Config     json.RawMessage `json:"config,omitempty"`
	ConfigYAML string          `json:"configYaml,omitempty"`
}

// CheckSimulationTime refuses a time of a simulation's window, given in
// field, that is before 1970-01-01T00:00:00Z: no lead is older, and Go's
// zero time, which an absent time decodes to, is before it. A decoder that
// can tell a time given from one absent refuses a given zero time with it,
// so that it is not said to be missing.
func CheckSimulationTime(field string, t time.Time) *FieldError {
	if !t.Before(time.Unix(0, 0)) {
		return nil
	}
	return &FieldError{Field: field, Value: t, Message: "Must not be before 1970-01-01T00:00:00Z"}
}

// SimulationListOptions asks for one page of an account's simulations,
// newest first.
type SimulationListOptions struct {
	// Limit is the page size: DefaultPageSize when 0, at most MaxPageSize.
	Limit int
	// Cursor continues from the page whose NextCursor it is.
	Cursor string
}

// SimulationPage is one page of simulations, without their results;
// NextCursor is nil on the last page.
type SimulationPage struct {
	Data       []Simulation `json:"data"`
	NextCursor *string      `json:"nextCursor"`
}

// SimulationQuery is what a SimulationStore lists: an account's
// simulations in the order (createdAt, id) descending, up to Limit, after
// After when it is set.
type SimulationQuery struct {
	AccountID string
	Limit     int
	After     *Cursor
}

// simulationOrder names the order of simulation listings in their
// cursors, so that a cursor of another listing is refused.
const simulationOrder = "simulations"

// Query validates o into the store query of accountID's simulations:
// VALIDATION_ERROR naming limit or cursor. The query asks for one row more
// than the page holds, which tells Page whether there is a next page.
func (o SimulationListOptions) Query(accountID string) (SimulationQuery, error) {
	q := SimulationQuery{AccountID: accountID}
	var err error
	if q.Limit, err = pageSize(o.Limit); err != nil {
		return q, err
	}
	if o.Cursor != "" {
		if q.After, err = decodeCursor(o.Cursor, simulationOrder, false); err != nil {
			return q, err
		}
	}
	q.Limit++
	return q, nil
}

// SimulationPageOf returns the page of rows, which q (made by Query)
// listed.
func SimulationPageOf(q SimulationQuery, rows []Simulation) *SimulationPage {
	page := &SimulationPage{Data: rows}
	if rows == nil {
		page.Data = []Simulation{}
	}
	if len(rows) == q.Limit {
		page.Data = rows[:len(rows)-1]
		last := page.Data[len(page.Data)-1]
		next := encodeCursor(simulationOrder, false, Cursor{At: last.CreatedAt, ID: last.ID})
		page.NextCursor = &next
	}
	return page
}

// SimulationStore keeps simulations. The simulations run in the process
// that created them (Runner); the store only records where they are.
type SimulationStore interface {
	// CreateSimulation stores sim, queued, and sets its ID; NOT_FOUND for
	// an unknown account.
	CreateSimulation(ctx context.Context, sim *Simulation) error
	// Simulation returns a simulation of the account with its result;
	// NOT_FOUND otherwise.
	Simulation(ctx context.Context, accountID string, id int64) (*Simulation, error)
	// Simulations lists the account's simulations as q asks, without their
	// configs and results.
	Simulations(ctx context.Context, q SimulationQuery) ([]Simulation, error)
	// StartSimulation marks a queued simulation running from at, with the
	// number of leads its window holds; NOT_FOUND when it is not queued
	// any more (a sweep found its runner dead).
	StartSimulation(ctx context.Context, id int64, at time.Time, total int64) error
	// SimulationProgress records how many leads a running simulation has
	// replayed.
	SimulationProgress(ctx context.Context, id int64, done int64, at time.Time) error
	// FinishSimulation records a running or queued simulation's end: done
	// with result, or failed with fail; its retention runs from at until
	// expires. NOT_FOUND when it had finished already.
	FinishSimulation(ctx context.Context, id int64, result json.RawMessage, fail *SimulationError, at, expires time.Time) error
	// CountLeadsCreated counts the account's leads created at or after
	// from and before to, deleted ones included (a replay replays those).
	CountLeadsCreated(ctx context.Context, accountID string, from, to time.Time) (int64, error)
	// HeartbeatSimulations records at as the heartbeat of runner's
	// simulations that are queued or running.
	HeartbeatSimulations(ctx context.Context, runner string, at time.Time) error
	// FailStaleSimulations marks failed, with fail, as of at, the queued
	// or running simulations whose heartbeat is older than before (their
	// runner died), and returns how many; their retention runs until
	// expires.
	FailStaleSimulations(ctx context.Context, before time.Time, fail SimulationError, at, expires time.Time) (int64, error)
	// PurgeSimulations deletes the finished simulations that expired
	// before at, and returns how many.
	PurgeSimulations(ctx context.Context, at time.Time) (int64, error)
}

// Simulator is what the HTTP API and the console ask of simulations;
// package simulations implements it. Managers and admins only: the others
// get FORBIDDEN.
type Simulator interface {
	// CreateSimulation checks in (VALIDATION_ERROR naming the field, or the
	// line of ConfigYAML; MEMBER_NOT_IN_ACCOUNT and the other refusals of
	// the proposed change, naming its field), stores the simulation,
	// queued, and runs it in the background.
	CreateSimulation(ctx context.Context, actor Actor, in SimulationInput) (*Simulation, error)
	// Simulation returns one of actor's account's simulations, with its
	// result when done; NOT_FOUND otherwise.
	Simulation(ctx context.Context, actor Actor, id int64) (*Simulation, error)
	// Simulations lists actor's account's simulations, newest first,
	// without configs and results.
	Simulations(ctx context.Context, actor Actor, opts SimulationListOptions) (*SimulationPage, error)
}
