// Package simulations runs simulations (package simulate's replays) in the
// background for the HTTP API and the console: it checks what is asked,
// proposes the configuration a spec would make (leads/spec's Propose),
// stores the simulation, runs it in this process, a few at a time, and
// records its progress and its result or its error. It implements
// leads.Simulator.
//
// A simulation runs in the process that accepted it. That process renews a
// heartbeat of its simulations while it has them; one whose heartbeat goes
// stale (its process died) is marked failed, INTERRUPTED, by whichever
// process sweeps next. Finished simulations are kept for the retention,
// then purged.
package simulations

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/leads/spec"
	"github.com/leadrotor/leadrotor/leads/spec/specfile"
	"github.com/leadrotor/leadrotor/simulate"
)

// Defaults of Options.
const (
	// DefaultRetention is how long a finished simulation is kept.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultWorkers is how many simulations a process runs at once: a
	// replay keeps a CPU busy, and lead intake needs the others.
	DefaultWorkers = 1
	// DefaultQueue is how many more a process keeps waiting; past that a
	// new one is refused (SERVICE_UNAVAILABLE) until one finishes.
	DefaultQueue = 16
	// DefaultHeartbeat is how often a process says its simulations still
	// run, and sweeps the stale and expired ones.
	DefaultHeartbeat = 30 * time.Second
)

// staleHeartbeats is how many heartbeats a simulation may miss before it
// is taken for one whose process died.
const staleHeartbeats = 4

// Store is what simulations need of the store: the history to replay,
// and the simulations' rows.
type Store interface {
	leads.HistoryStore
	leads.SimulationStore
}

// Configurations gives the configuration of an actor's account as it is:
// leads.Service.
type Configurations interface {
	Configuration(ctx context.Context, actor leads.Actor) (*leads.AccountConfig, error)
}

// Options configures a Service; the zero value of each field picks the
// default.
type Options struct {
	// MaxWindow bounds a simulation's window (default simulate.MaxWindow).
	MaxWindow time.Duration
	// Retention is how long a finished simulation is kept (default
	// DefaultRetention).
	Retention time.Duration
	// Workers is how many simulations run at once in this process
	// (default DefaultWorkers); Queue how many more wait (default
	// DefaultQueue).
	Workers, Queue int
	// Heartbeat is how often this process renews its simulations'
	// heartbeat and sweeps stale and expired ones (default
	// DefaultHeartbeat).
	Heartbeat time.Duration
	// Logger logs failed simulations and sweeps (default: none).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service runs simulations. Its methods may be called before Run; what
// they queue runs once Run does.
type Service struct {
	configs Configurations
	store   Store
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	// runner names this process in the rows of its simulations.
	runner string
	// slots holds a token per simulation queued or running: its capacity
	// is the bound on both.
	slots chan struct{}
	jobs  chan job
}

var _ leads.Simulator = (*Service)(nil)

// job is a simulation to run, with the configuration it runs through,
// proposed when it was submitted.
type job struct {
	sim *leads.Simulation
	cfg *leads.AccountConfig
	// live is the live configuration when cfg is a proposed one.
	live *leads.AccountConfig
}

// New returns a Service over configs (the leads.Service) and store.
func New(configs Configurations, store Store, opts Options) *Service {
	if opts.MaxWindow <= 0 {
		opts.MaxWindow = simulate.MaxWindow
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	capacity := opts.Workers + opts.Queue
	return &Service{configs: configs, store: store, opts: opts, log: opts.Logger, now: opts.Now,
		runner: hex.EncodeToString(id[:]), slots: make(chan struct{}, capacity), jobs: make(chan job, capacity)}
}

// MaxWindow is the longest window a simulation may have.
func (s *Service) MaxWindow() time.Duration { return s.opts.MaxWindow }

// CreateSimulation checks in, stores the simulation, queued, and queues
// it to run in this process. Managers and admins only (FORBIDDEN), as
// the replay reads every lead of the account. VALIDATION_ERROR names the
// field at fault: from or to (the window: to after from, at most the
// maximum window), config or configYaml (both given, or one that does not
// parse: its field, or the YAML's line in details.line), or the field of
// the proposed change that Propose refuses (config.rotations[0].name);
// the other refusals of the change (MEMBER_NOT_IN_ACCOUNT, LAST_ADMIN,
// FORBIDDEN) name it in details.field too. SERVICE_UNAVAILABLE when this
// process has as many simulations waiting as it keeps.
func (s *Service) CreateSimulation(ctx context.Context, actor leads.Actor, in leads.SimulationInput) (*leads.Simulation, error) {
	if err := actor.Require(leads.PermWriteConfig); err != nil {
		return nil, err
	}
	opts := simulate.Options{AccountID: actor.AccountID, From: in.From, To: in.To, MaxWindow: s.opts.MaxWindow}
	if err := opts.Check(); err != nil {
		return nil, err
	}
	proposal, field, err := readSpec(in)
	if err != nil {
		return nil, err
	}
	cfg, err := s.configs.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	var config json.RawMessage
	var live *leads.AccountConfig
	if proposal != nil {
		live = cfg
		if cfg, _, err = proposal.Propose(ctx, cfg, actor); err != nil {
			return nil, atField(err, field)
		}
		if config, err = json.Marshal(proposal); err != nil {
			return nil, fmt.Errorf("simulation: %w", err)
		}
	}
	select {
	case s.slots <- struct{}{}:
	default:
		return nil, leads.Unavailable("the simulation queue", errors.New("full"))
	}
	now := s.now().UTC()
	sim := &leads.Simulation{AccountID: actor.AccountID, From: in.From.UTC(), To: in.To.UTC(), Config: config,
		CreatedBy: actor.Email, Runner: s.runner, HeartbeatAt: now, CreatedAt: now, ExpiresAt: now.Add(s.opts.Retention)}
	if err := s.store.CreateSimulation(ctx, sim); err != nil {
		<-s.slots
		return nil, fmt.Errorf("create simulation: %w", err)
	}
	s.jobs <- job{sim: sim, cfg: cfg, live: live}
	return sim, nil
}

// Simulation returns one of actor's account's simulations, with its
// result when done; NOT_FOUND otherwise, FORBIDDEN for agents.
func (s *Service) Simulation(ctx context.Context, actor leads.Actor, id int64) (*leads.Simulation, error) {
	if err := actor.Require(leads.PermWriteConfig); err != nil {
		return nil, err
	}
	sim, err := s.store.Simulation(ctx, actor.AccountID, id)
	if err != nil {
		return nil, fmt.Errorf("read simulation %d: %w", id, err)
	}
	return sim, nil
}

// Simulations lists actor's account's simulations, newest first, without
// configs and results; VALIDATION_ERROR names a bad limit or cursor,
// FORBIDDEN for agents.
func (s *Service) Simulations(ctx context.Context, actor leads.Actor, opts leads.SimulationListOptions) (*leads.SimulationPage, error) {
	if err := actor.Require(leads.PermWriteConfig); err != nil {
		return nil, err
	}
	q, err := opts.Query(actor.AccountID)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.Simulations(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list simulations: %w", err)
	}
	return leads.SimulationPageOf(q, rows), nil
}

// readSpec reads the proposed change of in, and the field it came in
// (config or configYaml); a nil spec when in proposes none.
func readSpec(in leads.SimulationInput) (*spec.Spec, string, error) {
	raw := bytes.TrimSpace(in.Config)
	hasJSON := len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
	hasYAML := strings.TrimSpace(in.ConfigYAML) != ""
	switch {
	case hasJSON && hasYAML:
		return nil, "", leads.ValidationError(leads.FieldError{Field: "configYaml", Message: "Give config or configYaml, not both"})
	case hasJSON:
		var sp spec.Spec
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sp); err != nil {
			return nil, "", jsonSpecError(err)
		}
		return &sp, "config", nil
	case hasYAML:
		sp, err := specfile.Read(strings.NewReader(in.ConfigYAML), "configYaml")
		if err != nil {
			return nil, "", yamlSpecError(err)
		}
		return &sp, "configYaml", nil
	}
	return nil, "", nil
}

// jsonSpecError is the VALIDATION_ERROR of a config that does not decode
// into a spec, naming the field where encoding/json can tell it.
func jsonSpecError(err error) error {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return leads.ValidationError(leads.FieldError{Field: "config." + typeErr.Field, Value: typeErr.Value,
			Message: "Must be " + leads.JSONTypeName(typeErr.Type)})
	case errors.As(err, &typeErr):
		return leads.ValidationError(leads.FieldError{Field: "config", Message: "Must be an object: a spec, as leadrotor apply reads"})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil {
			name = strings.TrimPrefix(err.Error(), "json: unknown field ")
		}
		return leads.ValidationError(leads.FieldError{Field: "config", Value: name,
			Message: fmt.Sprintf("Unknown field %q: a spec has account, duplicatePolicy, openStatuses, members, teams, defaultRotation, rotations, holidayCalendars and routingRules", name)})
	}
	return leads.ValidationError(leads.FieldError{Field: "config", Message: strings.TrimPrefix(err.Error(), "json: ")})
}

// yamlLine finds the line a YAML error names.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlSpecError is the VALIDATION_ERROR of a configYaml that does not
// parse (details.line, when the YAML library names one) or that has a key
// a spec does not.
func yamlSpecError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "configYaml: ")
	out := leads.ValidationError(leads.FieldError{Field: "configYaml", Message: msg})
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		out.Details["line"] = n
	}
	return out
}

// atField returns err, a refusal of the change the spec in field
// proposes, with details.field naming the spec's field under field
// (config.rotations[0].members[1].user); other errors as they are.
func atField(err error, field string) error {
	var e *leads.Error
	if !errors.As(err, &e) || e.Code == leads.CodeInternal || e.Code == leads.CodeServiceUnavailable {
		return err
	}
	out := *e
	out.Details = maps.Clone(e.Details)
	if out.Details == nil {
		out.Details = map[string]any{}
	}
	inner, _ := out.Details["field"].(string)
	if inner == "" {
		inner, _ = out.Details["path"].(string)
	}
	if inner == "" {
		out.Details["field"] = field
	} else {
		out.Details["field"] = field + "." + inner
	}
	return &out
}
