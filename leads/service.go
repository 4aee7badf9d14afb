package leads

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Service is the lead engine: it enforces an account's team and lead-source
// rules, stores leads with their audit trail and assigns them through the
// account's rotations. It is safe for concurrent use, also by several
// processes sharing one database and one Rotator backend.
type Service struct {
	store   Store
	rotator Rotator

	// webhooks keeps webhook endpoints, dispatcher redelivers (nil: webhooks
	// are not enabled); webhookAllowPrivate lets endpoints resolve to
	// private addresses.
	webhooks            WebhookStore
	dispatcher          WebhookDispatcher
	webhookAllowPrivate bool
	// draft is set on the Service of a draft (NewDraft), whose changes
	// run nothing: a rotation's SLA there needs no job runner.
	draft bool
	now   func() time.Time
	log   *slog.Logger

	configMu sync.RWMutex
	configs  map[string]*AccountConfig
	// loading holds the configuration loads in flight, by account, so that
	// requests that find the cache stale at once share one load.
	loading map[string]*configLoad

	touchMu sync.Mutex
	touched map[int64]time.Time // when this process last recorded a key's use

	// hasher hashes console passwords; nil when none is configured.
	hasher PasswordHasher
	// dummyHash is what SignIn checks a password against when the user has
	// no hash, made once, on first need.
	dummyOnce sync.Once
	dummyHash string
	dummyErr  error

	// rotatorBackoff is how long CreateLead defers assignments without asking
	// the rotator after it failed as unavailable; rotatorDownUntil is when
	// that ends (Unix nanoseconds, 0: the rotator is believed up). A
	// rotator that is a RotatorProber is instead believed down (rotatorDown)
	// until a probe, every rotatorBackoff, sees it answer.
	rotatorBackoff time.Duration
	// writeTimeout bounds a write after a turn whose caller set no deadline.
	writeTimeout     time.Duration
	rotatorDownUntil atomic.Int64
	rotatorFailed    atomic.Bool
	probing          atomic.Bool
	// allEvents: write every lead event, subscribed or not (WithAllEvents);
	// alwaysEvents: those of these types (WithEventTypes).
	allEvents    bool
	alwaysEvents map[EventType]bool
	// staleLoad holds the counts of open leads whose updates failed, for
	// RunAssigner to drop (see reportLoad).
	staleLoad staleLoads

	// nextSettle is when RunAssigner next settles open turns, nextPurge
	// when it next purges expired sessions, and settleFailing whether the
	// last settling failed; only its goroutine reads and writes them.
	nextSettle    time.Time
	nextPurge     time.Time
	settleFailing bool

	// meter is told what the Service did (WithMeter).
	meter Meter

	// findReturning, when set, finds a returning contact's earlier lead
	// instead of the store (a Replayer's, from the leads it has seen).
	findReturning func(ctx context.Context, accountID, by, value string, since time.Time) (*Lead, error)
}

// configLoad is a configuration load that several requests wait for.
type configLoad struct {
	done chan struct{}
	cfg  *AccountConfig
	err  error
}

// Option configures a Service.
type Option func(*Service)

// WithClock makes the Service read the time from now; tests freeze it.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithRotatorBackoff sets how often, after the rotator failed as unavailable
// (Redis down or hung), it is probed (default 1s); until a probe sees it
// answer, CreateLead defers assignments without asking it, so that an outage
// costs one timeout, not one per request. The background assigner's first
// success ends it sooner. A rotator that cannot be probed (not a
// RotatorProber) is asked again after this long.
func WithRotatorBackoff(d time.Duration) Option { return func(s *Service) { s.rotatorBackoff = d } }

// WithWriteTimeout bounds the write of a lead that a rotation turn was taken
// for when its caller set no deadline, as the background assigner does
// (default 10s). A rotator that settles open turns (TurnSettler) must wait
// longer than this before it gives back a turn whose lead it cannot find.
func WithWriteTimeout(d time.Duration) Option { return func(s *Service) { s.writeTimeout = d } }

// WithLogger sets where the Service reports what it cannot return, such as a
// failed refund of a rotation turn.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// NewService returns a Service over store. rotator assigns leads; with a nil
// rotator no lead is assigned by rotation.
func NewService(store Store, rotator Rotator, opts ...Option) *Service {
	s := &Service{
		store:   store,
		rotator: rotator,
		now:     time.Now,
		log:     slog.New(slog.DiscardHandler),
		configs: make(map[string]*AccountConfig),
		loading: make(map[string]*configLoad),
		touched: make(map[int64]time.Time),

		rotatorBackoff: time.Second,
		writeTimeout:   10 * time.Second,
		meter:          nopMeter{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// clock returns the current time as stored: UTC, microsecond precision (what
// PostgreSQL keeps), so that a lead reads back exactly as it was returned.
func (s *Service) clock() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// rotatorUnavailable records that the rotator failed as unavailable (err,
// met by rot's turn): CreateLead defers assignments without asking it until a
// probe sees it answer, or, for a rotator that cannot be probed, for
// rotatorBackoff. The outage is logged once, not once per request.
func (s *Service) rotatorUnavailable(ctx context.Context, now time.Time, rot *Rotation, err error) {
	if prober, ok := s.rotator.(RotatorProber); ok {
		if s.rotatorFailed.CompareAndSwap(false, true) {
			s.log.WarnContext(ctx, "rotation unavailable: assignments deferred until it answers", "rotation", rot.ID, "err", err)
		}
		if s.probing.CompareAndSwap(false, true) {
			go s.probe(prober)
		}
		return
	}
	if old := s.rotatorDownUntil.Swap(now.Add(s.rotatorBackoff).UnixNano()); old == 0 || now.UnixNano() >= old {
		s.log.WarnContext(ctx, "rotation unavailable: assignments deferred", "rotation", rot.ID, "err", err)
	}
}

// probe asks prober every rotatorBackoff whether the rotator answers again,
// until it does or someone else has seen it answer (rotatorUp).
func (s *Service) probe(prober RotatorProber) {
	t := time.NewTicker(s.rotatorBackoff)
	defer t.Stop()
	for {
		for s.rotatorFailed.Load() {
			<-t.C
			if err := prober.Probe(context.Background()); err == nil || !IsUnavailable(err) {
				s.rotatorUp()
			}
		}
		s.probing.Store(false)
		// A failure recorded after the loop saw none, and before probing was
		// released, started no prober: this one goes on for it.
		if !s.rotatorFailed.Load() || !s.probing.CompareAndSwap(false, true) {
			return
		}
	}
}

// rotatorUp records that the rotator answers again.
func (s *Service) rotatorUp() {
	s.rotatorDownUntil.Store(0)
	if s.rotatorFailed.CompareAndSwap(true, false) {
		s.log.Info("rotation answers again: assignments resume")
	}
}

// rotatorDown reports whether the rotator failed as unavailable recently
// enough that CreateLead should not wait for it again.
func (s *Service) rotatorDown(now time.Time) bool {
	if s.rotatorFailed.Load() {
		return true
	}
	until := s.rotatorDownUntil.Load()
	return until != 0 && now.UnixNano() < until
}

// config returns the account's configuration at version or later, from the
// cache when it holds that version.
func (s *Service) config(ctx context.Context, accountID string, version int64) (*AccountConfig, error) {
	s.configMu.RLock()
	cfg := s.configs[accountID]
	s.configMu.RUnlock()
	if cfg != nil && cfg.Version >= version {
		return cfg, nil
	}
	for {
		s.configMu.Lock()
		if cfg := s.configs[accountID]; cfg != nil && cfg.Version >= version {
			s.configMu.Unlock()
			return cfg, nil
		}
		load := s.loading[accountID]
		if load == nil {
			load = &configLoad{done: make(chan struct{})}
			s.loading[accountID] = load
			go s.loadConfig(ctx, accountID, load)
		}
		s.configMu.Unlock()
		// The load is shared, and goes on for the others; each caller waits
		// for it only until its own deadline.
		select {
		case <-load.done:
		case <-ctx.Done():
			return nil, Unavailable("the database", fmt.Errorf("load configuration of account %s: %w", accountID, ctx.Err()))
		}
		if load.err != nil {
			return nil, load.err
		}
		if load.cfg.Version >= version {
			return load.cfg, nil
		}
		// The load in flight started before the version this caller saw:
		// look again (a newer load, or the cache, will have it).
	}
}

// configLoadTimeout bounds a configuration load, which runs for every
// request waiting on it, not on any one request's context.
const configLoadTimeout = 10 * time.Second

// loadConfig loads an account's configuration for everyone waiting on load.
func (s *Service) loadConfig(ctx context.Context, accountID string, load *configLoad) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), configLoadTimeout)
	defer cancel()
	cfg, err := s.store.AccountConfig(lctx, accountID)
	s.configMu.Lock()
	if err != nil {
		load.err = fmt.Errorf("load configuration of account %s: %w", accountID, err)
	} else {
		cfg.compileRules()
		cfg.prepareCapacity()
		cfg.views = &viewCache{}
		load.cfg = cfg
		s.meter.Count(MeasureConfigLoad, "", 1)
		if old := s.configs[accountID]; old == nil || old.Version < cfg.Version {
			s.configs[accountID] = cfg
		}
	}
	delete(s.loading, accountID)
	s.configMu.Unlock()
	close(load.done)
}
