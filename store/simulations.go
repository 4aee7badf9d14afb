package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

var _ leads.SimulationStore = (*Store)(nil)

// simulationRow is a simulation as stored.
type simulationRow struct {
	bun.BaseModel `bun:"table:simulations"`

	ID           int64          `bun:"id,pk,autoincrement"`
	AccountID    string         `bun:"account_id"`
	Status       string         `bun:"status"`
	From         time.Time      `bun:"window_from"`
	To           time.Time      `bun:"window_to"`
	Config       sql.NullString `bun:"config"`
	CreatedBy    string         `bun:"created_by"`
	Progress     int64          `bun:"progress"`
	Total        sql.NullInt64  `bun:"total"`
	Result       sql.NullString `bun:"result"`
	ErrorCode    string         `bun:"error_code"`
	ErrorMessage string         `bun:"error_message"`
	ErrorField   string         `bun:"error_field"`
	Runner       string         `bun:"runner"`
	HeartbeatAt  time.Time      `bun:"heartbeat_at"`
	CreatedAt    time.Time      `bun:"created_at"`
	StartedAt    *time.Time     `bun:"started_at"`
	FinishedAt   *time.Time     `bun:"finished_at"`
	ExpiresAt    time.Time      `bun:"expires_at"`
}

// rawJSON is s as JSON, nil for NULL.
func rawJSON(s sql.NullString) json.RawMessage {
	if !s.Valid {
		return nil
	}
	return json.RawMessage(s.String)
}

// nullJSON is raw as a column, NULL for none.
func nullJSON(raw json.RawMessage) sql.NullString {
	return sql.NullString{String: string(raw), Valid: len(raw) > 0}
}

func (r *simulationRow) simulation() *leads.Simulation {
	sim := &leads.Simulation{ID: r.ID, AccountID: r.AccountID, Status: leads.SimulationStatus(r.Status),
		From: r.From.UTC(), To: r.To.UTC(), Config: rawJSON(r.Config), CreatedBy: r.CreatedBy, Progress: r.Progress,
		Result: rawJSON(r.Result), Runner: r.Runner, HeartbeatAt: r.HeartbeatAt.UTC(), CreatedAt: r.CreatedAt.UTC(),
		StartedAt: utcPtr(r.StartedAt), FinishedAt: utcPtr(r.FinishedAt), ExpiresAt: r.ExpiresAt.UTC()}
	if r.Total.Valid {
		sim.Total = &r.Total.Int64
	}
	if r.ErrorCode != "" {
		sim.Error = &leads.SimulationError{Code: r.ErrorCode, Message: r.ErrorMessage, Field: r.ErrorField}
	}
	return sim
}

// unfinished are the statuses of a simulation that still runs, or waits to.
var unfinished = bun.List([]string{string(leads.SimulationQueued), string(leads.SimulationRunning)})

// CreateSimulation stores sim, queued, and sets its ID; NOT_FOUND for an
// unknown account.
func (s *Store) CreateSimulation(ctx context.Context, sim *leads.Simulation) (err error) {
	defer translate(&err)
	row := &simulationRow{AccountID: sim.AccountID, Status: string(leads.SimulationQueued), From: sim.From.UTC(), To: sim.To.UTC(),
		Config: nullJSON(sim.Config), CreatedBy: sim.CreatedBy, Runner: sim.Runner, HeartbeatAt: sim.HeartbeatAt.UTC(),
		CreatedAt: sim.CreatedAt.UTC(), ExpiresAt: sim.ExpiresAt.UTC()}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		return accountRef(err, "insert simulation")
	}
	sim.ID, sim.Status = row.ID, leads.SimulationQueued
	return nil
}

// Simulation returns a simulation of the account; NOT_FOUND otherwise.
func (s *Store) Simulation(ctx context.Context, accountID string, id int64) (_ *leads.Simulation, err error) {
	defer translate(&err)
	row := new(simulationRow)
	if err := s.db.NewSelect().Model(row).Where("account_id = ?", accountID).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "simulation")
	}
	return row.simulation(), nil
}

// Simulations lists the account's simulations, newest first, without
// their configs and results.
func (s *Store) Simulations(ctx context.Context, q leads.SimulationQuery) (_ []leads.Simulation, err error) {
	defer translate(&err)
	var rows []simulationRow
	sel := s.db.NewSelect().Model(&rows).ExcludeColumn("config", "result").Where("account_id = ?", q.AccountID)
	if q.After != nil {
		sel = sel.Where("(created_at < ? OR (created_at = ? AND id < ?))", q.After.At.UTC(), q.After.At.UTC(), q.After.ID)
	}
	if err := sel.OrderExpr("created_at DESC, id DESC").Limit(int64(q.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("select simulations: %w", err)
	}
	out := make([]leads.Simulation, len(rows))
	for i := range rows {
		out[i] = *rows[i].simulation()
	}
	return out, nil
}

// StartSimulation marks a queued simulation running; NOT_FOUND when it is
// not queued.
func (s *Store) StartSimulation(ctx context.Context, id int64, at time.Time, total int64) (err error) {
	defer translate(&err)
	res, err := s.db.NewUpdate().Model((*simulationRow)(nil)).
		Set("status = ?", string(leads.SimulationRunning)).Set("started_at = ?", at.UTC()).
		Set("heartbeat_at = ?", at.UTC()).Set("total = ?", total).
		Where("id = ?", id).Where("status = ?", string(leads.SimulationQueued)).Exec(ctx)
	return oneRow(res, err, "start simulation", "queued simulation")
}

// SimulationProgress records how many leads a running simulation has
// replayed, and that its runner is alive.
func (s *Store) SimulationProgress(ctx context.Context, id int64, done int64, at time.Time) (err error) {
	defer translate(&err)
	_, err = s.db.NewUpdate().Model((*simulationRow)(nil)).Set("progress = ?", done).Set("heartbeat_at = ?", at.UTC()).
		Where("id = ?", id).Where("status = ?", string(leads.SimulationRunning)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("simulation progress: %w", err)
	}
	return nil
}

// FinishSimulation records a simulation's end; NOT_FOUND when it had
// finished already.
func (s *Store) FinishSimulation(ctx context.Context, id int64, result json.RawMessage, fail *leads.SimulationError, at, expires time.Time) (err error) {
	defer translate(&err)
	upd := s.db.NewUpdate().Model((*simulationRow)(nil)).Set("finished_at = ?", at.UTC()).Set("expires_at = ?", expires.UTC())
	if fail != nil {
		upd = upd.Set("status = ?", string(leads.SimulationFailed)).
			Set("error_code = ?", fail.Code).Set("error_message = ?", fail.Message).Set("error_field = ?", fail.Field)
	} else {
		upd = upd.Set("status = ?", string(leads.SimulationDone)).Set("result = ?", nullJSON(result)).
			Set("progress = coalesce(total, progress)")
	}
	res, err := upd.Where("id = ?", id).Where("status IN (?)", unfinished).Exec(ctx)
	return oneRow(res, err, "finish simulation", "unfinished simulation")
}

// CountLeadsCreated counts the account's leads created in [from, to).
func (s *Store) CountLeadsCreated(ctx context.Context, accountID string, from, to time.Time) (_ int64, err error) {
	defer translate(&err)
	n, err := s.reads.NewSelect().Model((*leadRow)(nil)).Where("account_id = ?", accountID).
		Where("created_at >= ?", from.UTC()).Where("created_at < ?", to.UTC()).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count leads: %w", err)
	}
	return int64(n), nil
}

// HeartbeatSimulations renews the heartbeat of runner's unfinished
// simulations.
func (s *Store) HeartbeatSimulations(ctx context.Context, runner string, at time.Time) (err error) {
	defer translate(&err)
	_, err = s.db.NewUpdate().Model((*simulationRow)(nil)).Set("heartbeat_at = ?", at.UTC()).
		Where("runner = ?", runner).Where("status IN (?)", unfinished).Exec(ctx)
	if err != nil {
		return fmt.Errorf("simulation heartbeat: %w", err)
	}
	return nil
}

// FailStaleSimulations marks failed the unfinished simulations whose
// heartbeat is older than before.
func (s *Store) FailStaleSimulations(ctx context.Context, before time.Time, fail leads.SimulationError, at, expires time.Time) (_ int64, err error) {
	defer translate(&err)
	res, err := s.db.NewUpdate().Model((*simulationRow)(nil)).Set("status = ?", string(leads.SimulationFailed)).
		Set("error_code = ?", fail.Code).Set("error_message = ?", fail.Message).Set("error_field = ?", fail.Field).
		Set("finished_at = ?", at.UTC()).Set("expires_at = ?", expires.UTC()).
		Where("status IN (?)", unfinished).Where("heartbeat_at < ?", before.UTC()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("fail stale simulations: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// PurgeSimulations deletes the finished simulations expired before at.
func (s *Store) PurgeSimulations(ctx context.Context, at time.Time) (_ int64, err error) {
	defer translate(&err)
	res, err := s.db.NewDelete().Model((*simulationRow)(nil)).Where("expires_at < ?", at.UTC()).
		Where("status NOT IN (?)", unfinished).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge simulations: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// oneRow is the error of an update that must change one row: err as it
// is, NOT_FOUND (what) when it changed none.
func oneRow(res sql.Result, err error, op, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return leads.Errorf(leads.CodeNotFound, "%s not found", what)
	}
	return nil
}
