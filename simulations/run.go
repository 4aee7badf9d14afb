package simulations

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/simulate"
)

// interrupted is the error of a simulation whose process stopped before
// it finished.
var interrupted = leads.SimulationError{Code: leads.SimulationInterrupted,
	Message: "interrupted: the server running the simulation stopped before it finished; run it again"}

// finishTimeout bounds the write of a simulation's end once Run's context
// is done.
const finishTimeout = 5 * time.Second

// Run runs the queued simulations, Workers at a time, renews their
// heartbeat, and sweeps: at once and every Heartbeat, the simulations
// whose process died are marked failed (INTERRUPTED) and the expired ones
// deleted. It returns when ctx is done, once the simulations it was running
// and those still queued are marked failed, INTERRUPTED.
func (s *Service) Run(ctx context.Context) {
	s.Sweep(ctx)
	var wg sync.WaitGroup
	for range s.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-s.jobs:
					s.run(ctx, j)
					<-s.slots
				}
			}
		}()
	}
	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			s.drain(ctx)
			return
		case <-tick.C:
			if err := s.store.HeartbeatSimulations(ctx, s.runner, s.now()); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "simulations: heartbeat", "err", err)
			}
			s.Sweep(ctx)
		}
	}
}

// Start runs Run in a goroutine of its own until the stop it returns is
// called; stop returns once Run has.
func (s *Service) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// drain marks the simulations still queued failed, INTERRUPTED.
func (s *Service) drain(ctx context.Context) {
	for {
		select {
		case j := <-s.jobs:
			s.finish(ctx, j.sim, nil, &interrupted)
			<-s.slots
		default:
			return
		}
	}
}

// Sweep marks failed, INTERRUPTED, the simulations whose process died
// (their heartbeat missed four beats), and deletes the finished ones that
// have expired. Run sweeps when it starts and every Heartbeat.
func (s *Service) Sweep(ctx context.Context) {
	now := s.now()
	stale := now.Add(-staleHeartbeats * s.opts.Heartbeat)
	n, err := s.store.FailStaleSimulations(ctx, stale, interrupted, now, now.Add(s.opts.Retention))
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.WarnContext(ctx, "simulations: sweep interrupted ones", "err", err)
	case n > 0:
		s.log.InfoContext(ctx, "simulations: marked interrupted, their server stopped", "simulations", n)
	}
	if _, err := s.store.PurgeSimulations(ctx, now); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "simulations: purge expired", "err", err)
	}
}

// run runs one simulation and records its end.
func (s *Service) run(ctx context.Context, j job) {
	sim := j.sim
	total, err := s.store.CountLeadsCreated(ctx, sim.AccountID, sim.From, sim.To)
	if err == nil {
		err = s.store.StartSimulation(ctx, sim.ID, s.now(), total)
		if leads.ErrorCode(err) == leads.CodeNotFound {
			return // swept meanwhile: nothing left to do
		}
	}
	var res *simulate.Result
	if err == nil {
		progress, written := s.progressWriter(ctx, sim.ID)
		res, err = simulate.Run(ctx, s.store, j.cfg, simulate.Options{AccountID: sim.AccountID, From: sim.From, To: sim.To,
			MaxWindow: s.opts.MaxWindow, Live: j.live, Progress: progress})
		written()
	}
	var raw json.RawMessage
	if err == nil {
		raw, err = json.Marshal(res)
	}
	if err != nil {
		s.finish(ctx, sim, nil, s.failure(ctx, sim, err))
		return
	}
	s.finish(ctx, sim, raw, nil)
}

// progressWriter returns the Progress function of simulation id's replay,
// and written, which waits until the last progress reported is recorded.
// The progress is written by a goroutine of its own, the latest count
// replacing one not written yet: the replay calls Progress while it reads
// the leads, and must not wait for a write (on a SQLite database in
// memory, whose one connection the read holds, it would wait for ever).
func (s *Service) progressWriter(ctx context.Context, id int64) (progress func(done int), written func()) {
	latest := make(chan int, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for done := range latest {
			if err := s.store.SimulationProgress(ctx, id, int64(done), s.now()); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "simulations: progress", "simulation", id, "err", err)
			}
		}
	}()
	progress = func(done int) {
		for {
			select {
			case latest <- done:
				return
			default:
				select {
				case <-latest: // not written yet: done replaces it
				default:
				}
			}
		}
	}
	return progress, func() {
		close(latest)
		<-finished
	}
}

// failure is what a simulation's record says of err.
func (s *Service) failure(ctx context.Context, sim *leads.Simulation, err error) *leads.SimulationError {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || leads.IsUnavailable(err)) {
		return &interrupted
	}
	code := leads.ErrorCode(err)
	if code == leads.CodeInternal {
		s.log.ErrorContext(ctx, "simulation failed", "simulation", sim.ID, "account", sim.AccountID, "err", err)
	}
	field, _ := leads.ErrorDetails(err)["field"].(string)
	return &leads.SimulationError{Code: code, Message: leads.ErrorMessage(err), Field: field}
}

// finish records sim's end, even once ctx is done (the process stopping).
func (s *Service) finish(ctx context.Context, sim *leads.Simulation, result json.RawMessage, fail *leads.SimulationError) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	now := s.now()
	err := s.store.FinishSimulation(wctx, sim.ID, result, fail, now, now.Add(s.opts.Retention))
	if err != nil && leads.ErrorCode(err) != leads.CodeNotFound {
		s.log.ErrorContext(ctx, "simulations: record the end", "simulation", sim.ID, "err", err)
	}
}
