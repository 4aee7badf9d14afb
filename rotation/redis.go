package rotation

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadrotor/leadrotor/internal/netfail"
	"github.com/leadrotor/leadrotor/leads"
)

var (
	//go:embed lua/refund_turn.lua
	refundTurnSource string
	//go:embed lua/pick.lua
	pickSource string
	//go:embed lua/settle.lua
	settleSource string
	//go:embed lua/open.lua
	openSource string
	//go:embed lua/install.lua
	installSource string
	//go:embed lua/snapshot.lua
	snapshotSource string
	//go:embed lua/fill_load.lua
	fillLoadSource string
	//go:embed lua/add_load.lua
	addLoadSource string
	//go:embed lua/open_of.lua
	openOfSource string
	//go:embed lua/reinstall.lua
	reinstallSource string

	// pickCmd decides and records one turn; see lua/pick.lua.
	pickCmd = redis.NewScript(refundTurnSource + pickSource)
	// settleCmd closes open turns, giving back those whose leads are not
	// stored; see lua/settle.lua.
	settleCmd = redis.NewScript(refundTurnSource + settleSource)
	// openCmd lists a rotation's old open turns; see lua/open.lua.
	openCmd = redis.NewScript(openSource)
	// resetCmd deletes those of the keys it is given (KEYS, all hashes when
	// sound) that hold another type, and returns how many. A key repaired
	// meanwhile by another caller is left alone, with the turns taken on it.
	resetCmd = redis.NewScript(resetSource)
	// installCmd stores a rebuilt state unless one exists; see lua/install.lua.
	installCmd = redis.NewScript(installSource)
	// reinstallCmd replaces a state that is behind the store by one
	// rebuilt from it; see lua/reinstall.lua.
	reinstallCmd = redis.NewScript(reinstallSource)
	// snapshotCmd reads a state; see lua/snapshot.lua.
	snapshotCmd = redis.NewScript(snapshotSource)
	// fillLoadCmd sets members' open leads counted from the store; see
	// lua/fill_load.lua.
	fillLoadCmd = redis.NewScript(fillLoadSource)
	// addLoadCmd adds to a member's open leads; see lua/add_load.lua.
	addLoadCmd = redis.NewScript(addLoadSource)
	// openOfCmd lists members' open turns; see lua/open_of.lua.
	openOfCmd = redis.NewScript(openOfSource)
	// forgetLoadCmd drops members' open leads (ARGV: users), to be counted
	// again from the store.
	forgetLoadCmd = redis.NewScript(forgetLoadSource)
)

// resetSource is resetCmd's script.
const resetSource = `local n = 0
for _, k in ipairs(KEYS) do
  local t = redis.call('TYPE', k)['ok']
  if t ~= 'hash' and t ~= 'none' then n = n + redis.call('DEL', k) end
end
return n`

// forgetLoadSource is forgetLoadCmd's script.
const forgetLoadSource = `for i = 1, #ARGV do
  redis.call('HDEL', KEYS[1], 'o:' .. ARGV[i])
end
return #ARGV`

// dayTTL keeps a day's counts a little longer than the longest day in any
// time zone, so that a refund late in the day still finds them.
const dayTTL = 48 * time.Hour

// RedisOption configures NewRedis.
type RedisOption func(*redisBackend)

// WithKeyPrefix puts every key under prefix (default "leadrotor:"), so that
// several deployments or test runs can share one Redis. The prefix must not
// contain braces, which would break the keys' hash tags.
func WithKeyPrefix(prefix string) RedisOption {
	return func(b *redisBackend) { b.prefix = prefix }
}

// WithSettleAfter sets how long a turn may stay open (taken, its lead not
// known to be stored) before SettleTurns finds out from the store whether
// its lead was stored, and gives it back if not (default 1m). It must be
// longer than any write of a lead can take, request deadline and commit
// included, or a lead still being written could lose its turn.
func WithSettleAfter(d time.Duration) RedisOption {
	return func(b *redisBackend) { b.settleAfter = d }
}

// WithTimeout bounds every Redis call (default 2s), so that a hung Redis
// fails requests instead of holding them.
func WithTimeout(d time.Duration) RedisOption {
	return func(b *redisBackend) { b.timeout = d }
}

// NewRedis returns a Rotator whose state lives in Redis, shared by every
// process that uses the same Redis and prefix. Each decision is one Lua
// script, so turns are exact however many processes take them at once.
// client may be a Client, a ClusterClient or a Ring.
//
// Each turn stays open in Redis until the lead it was taken for is known to
// be stored (see lua/pick.lua); turns whose process died before it wrote
// the lead are given back by SettleTurns, which leads.Service.RunAssigner
// calls every second: run it in at least one process that shares the Redis.
func NewRedis(client redis.Scripter, history HistorySource, opts ...RedisOption) (*Rotator, error) {
	b := &redisBackend{client: client, prefix: "leadrotor:", timeout: 2 * time.Second, queues: make(map[int64]*rotationQueue),
		process: newEpoch(), lost: make(map[int64][]string), acks: make(map[int64][]int64), settleAfter: time.Minute}
	for _, o := range opts {
		o(b)
	}
	if strings.ContainsAny(b.prefix, "{}") {
		return nil, fmt.Errorf("rotation: key prefix %q contains a brace", b.prefix)
	}
	return &Rotator{b: b, history: history}, nil
}

type redisBackend struct {
	client  redis.Scripter
	prefix  string
	timeout time.Duration
	// skewed is set when Redis's clock runs so far ahead of this one that
	// pick deadlines expire at once; picks then go without one.
	skewed atomic.Bool

	mu     sync.Mutex
	queues map[int64]*rotationQueue

	// process names this backend's records of its batches in Redis.
	process string
	// lost holds, per rotation, the tickets of batches whose reply never
	// came: each may have taken turns that reached no lead. The next pick
	// of the rotation gives them back (settles them); until then a settler
	// goroutine keeps trying. Guarded by mu.
	lost     map[int64][]string
	settling map[int64]bool
	// failedAt is when a batch last failed for want of Redis, and failedErr
	// its error: for one timeout after it, new requests fail at once with
	// it. Guarded by mu.
	failedAt  time.Time
	failedErr error
	// acks holds, per rotation, the turns whose leads are stored and that
	// are still open in Redis: the next pick of the rotation closes them,
	// with no round trip of their own. Guarded by mu.
	acks map[int64][]int64

	// settleAfter is how old an open turn must be before settleOpen asks
	// the store about it.
	settleAfter time.Duration
}

// recordTTL is how long Redis keeps the record of a batch: far longer than
// it takes to settle a batch whose reply was lost once Redis answers again.
const recordTTL = 10 * time.Minute

func (b *redisBackend) keys(rotationID int64, day string) []string {
	return []string{stateKey(b.prefix, rotationID), dayKey(b.prefix, rotationID, day)}
}

// pickKeys are the keys of the pick script: the state, the day's counts,
// this process's record of its last batch and the open turns.
func (b *redisBackend) pickKeys(rotationID int64, day string) []string {
	return append(b.keys(rotationID, day), lastKey(b.prefix, rotationID, b.process), openKey(b.prefix, rotationID))
}

func (b *redisBackend) run(ctx context.Context, s *redis.Script, keys []string, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	res, err := s.Run(ctx, b.client, keys, args...).Result()
	if err != nil && redisUnavailable(err) {
		return nil, leads.Unavailable("redis", err)
	}
	return res, err
}

// redisUnavailable reports whether err means that Redis cannot serve now,
// as opposed to a bad command: no connection (refused, reset, closed), a
// timeout, a closed client, or a server that is loading its data, busy,
// read-only or without a master.
func redisUnavailable(err error) bool {
	if leads.IsUnavailable(err) || netfail.Is(err) || errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) || errors.Is(err, redis.ErrClosed) {
		return true
	}
	for _, prefix := range []string{"LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"} {
		if redis.HasErrorPrefix(err, prefix) {
			return true
		}
	}
	return false
}

// maxBatch bounds the turns one script takes, so that one call never holds
// Redis for long.
const maxBatch = 256

// pending is a request for one turn, waiting for a batch to take it.
type pending struct {
	rot  *leads.Rotation
	day  string
	done chan pickResult
}

type pickResult struct {
	turn leads.Turn
	ok   bool
	err  error
}

// rotationQueue holds the requests for one rotation's turns. While a script
// for the rotation is in flight, new requests queue; the next script takes
// all their turns at once, in arrival order. Turns stay strictly sequential
// (one script at a time per rotation), so batching changes nothing but the
// number of round trips.
type rotationQueue struct {
	waiting  []*pending
	draining bool
	// picking is held while a pick script of the rotation is in flight:
	// this process's record of its last batch must be that batch's.
	picking sync.Mutex
}

// queue returns rotation id's queue, made on first use; b.mu must be held.
func (b *redisBackend) queue(id int64) *rotationQueue {
	q := b.queues[id]
	if q == nil {
		q = &rotationQueue{}
		b.queues[id] = q
	}
	return q
}

func (b *redisBackend) next(_ context.Context, rot *leads.Rotation, day string) (leads.Turn, bool, error) {
	p := &pending{rot: rot, day: day, done: make(chan pickResult, 1)}
	b.mu.Lock()
	if b.failedErr != nil && time.Since(b.failedAt) < b.timeout {
		err := b.failedErr
		b.mu.Unlock()
		return leads.Turn{}, false, err
	}
	q := b.queue(rot.ID)
	q.waiting = append(q.waiting, p)
	if q.draining {
		b.mu.Unlock()
	} else {
		// Nobody is taking this rotation's turns: take this batch here, with
		// no goroutine hop, and leave what queued meanwhile to a drainer.
		q.draining = true
		b.mu.Unlock()
		b.takeBatch(q)
		b.mu.Lock()
		if len(q.waiting) > 0 {
			go b.drain(q)
		} else {
			q.draining = false
		}
		b.mu.Unlock()
	}
	// The caller's context is not watched: once queued, the turn may be
	// taken, and a turn taken must reach the caller, who gives it back if
	// it cannot use it. The script's own timeout bounds the wait.
	r := <-p.done
	return r.turn, r.ok, r.err
}

// drain takes the queued turns of one rotation, batch after batch, until
// none is left.
func (b *redisBackend) drain(q *rotationQueue) {
	for b.takeBatch(q) {
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(q.waiting) > 0 {
		go b.drain(q) // queued between the last batch and the lock
		return
	}
	q.draining = false
}

// takeBatch takes the turns of the requests at the head of q in one script
// and delivers them; it reports false when q was empty.
func (b *redisBackend) takeBatch(q *rotationQueue) bool {
	b.mu.Lock()
	if len(q.waiting) == 0 {
		b.mu.Unlock()
		return false
	}
	// A batch shares one member list and day: requests made from another
	// configuration (an edit) or on another day wait for the next batch.
	first := q.waiting[0]
	size := 1
	for size < len(q.waiting) && size < maxBatch && q.waiting[size].rot == first.rot && q.waiting[size].day == first.day {
		size++
	}
	batch := q.waiting[:size:size]
	q.waiting = q.waiting[size:]
	b.mu.Unlock()

	q.picking.Lock()
	results := b.pick(first.rot, first.day, len(batch))
	q.picking.Unlock()
	if err := results[0].err; err != nil && leads.IsUnavailable(err) {
		// Redis did not answer this batch: the requests that queued while it
		// waited have waited one timeout already, and fail with it rather
		// than wait for another; so do those that come in the next timeout,
		// before their callers hear of the outage.
		b.mu.Lock()
		b.failedAt, b.failedErr = time.Now(), err
		batch = append(batch, q.waiting...)
		q.waiting = nil
		b.mu.Unlock()
		for len(results) < len(batch) {
			results = append(results, pickResult{err: err})
		}
	}
	for i, p := range batch {
		p.done <- results[i]
	}
	return true
}

// probe asks Redis a question that changes nothing, within the timeout.
func (b *redisBackend) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	if err := b.client.ScriptExists(ctx, pickCmd.Hash()).Err(); err != nil {
		if redisUnavailable(err) || ctx.Err() != nil {
			return leads.Unavailable("redis", err)
		}
		return err
	}
	return nil
}

// pick runs the pick script for k turns and returns one result per turn.
func (b *redisBackend) pick(rot *leads.Rotation, day string, k int) []pickResult {
	results := make([]pickResult, k)
	fail := func(err error) []pickResult {
		for i := range results {
			results[i] = pickResult{err: fmt.Errorf("pick script: %w", err)}
		}
		return results
	}
	args := make([]any, 0, 10+5*len(rot.Members))
	args = append(args, int64(dayTTL/time.Second), k, len(rot.Members))
	for _, m := range rot.Members {
		// The member's state: 0 eligible (caps aside), else why not.
		state := "0"
		if reason := skipReason(m, nil); reason != "" {
			state = reason
		}
		args = append(args, m.User, weightOf(m), state, m.DailyCap, m.MaxOpenLeads)
	}
	// The script must not run once this side has stopped waiting for it:
	// the turns it took would reach nobody. Half the timeout leaves the
	// other half for the reply's way back; a reply lost on that way is
	// settled by a later pick, from the record the script leaves.
	sent := time.Now()
	deadline := sent.Add(b.timeout / 2)
	if b.skewed.Load() {
		deadline = time.Time{}
	}
	ticket := newEpoch()
	b.mu.Lock()
	lost := b.lost[rot.ID]
	acks := b.acks[rot.ID]
	b.mu.Unlock()
	args = append(args, unixMicro(deadline), ticket, recordTTL.Milliseconds(), day, len(acks))
	for _, seq := range acks {
		args = append(args, seq)
	}
	for _, t := range lost {
		args = append(args, t)
	}
	res, err := b.run(context.Background(), pickCmd, b.pickKeys(rot.ID, day), args...)
	if err != nil {
		if redis.HasErrorPrefix(err, "WRONGTYPE") {
			// Nothing ran: a script stops at the first command that fails,
			// and the pick reads every key before it writes one.
			return fail(fmt.Errorf("%w: %w", errCorruptState, err))
		}
		if mayHaveRun(err) {
			b.replyLost(rot, day, ticket)
		}
		return fail(err)
	}
	r := reply{vals: asSlice(res)}
	if len(r.vals) == 1 && r.vals[0] == "expired" {
		// Nothing ran, not even the settling: the lost tickets and the
		// acks stay.
	} else {
		b.settled(rot.ID, lost, len(acks))
	}
	if len(r.vals) > 1 && r.vals[0] == "load" {
		r.pop()
		var users needLoad
		for len(r.vals) > 0 {
			users = append(users, r.str())
		}
		return fail(users)
	}
	if len(r.vals) == 1 {
		switch r.str() {
		case "init":
			return results // ok false: the callers rebuild the state and ask again
		case "expired":
			if time.Now().Round(0).Before(deadline.Round(0)) {
				// Expired before its deadline by this wall clock, which is
				// the one Redis compares: Redis's clock is ahead. Go on
				// without deadlines rather than fail every turn.
				b.skewed.Store(true)
				return b.pick(rot, day, k)
			}
			return fail(leads.Unavailable("redis", errors.New("redis ran the pick script after its deadline")))
		}
		return fail(errors.New("unexpected reply"))
	}
	epoch, seq, taken := r.str(), r.int(), int(r.int())
	before := seq
	n := len(rot.Members)
	member := func(i int64) string {
		if i < 1 || int(i) > n {
			r.err = errors.Join(r.err, fmt.Errorf("member index %d out of range", i))
			return ""
		}
		return rot.Members[i-1].User
	}
	for i := range results {
		if i >= taken {
			results[i] = pickResult{turn: leads.Turn{RotationID: rot.ID}, ok: true} // nobody eligible
			continue
		}
		seq++
		t := leads.Turn{RotationID: rot.ID, Seq: seq, Undo: leads.TurnUndo{Epoch: epoch, Day: day, Deltas: make(map[string]int64, n)}}
		t.Assignee = member(r.int())
		for s := r.int(); s > 0; s-- {
			t.Skipped = append(t.Skipped, leads.Skip{User: member(r.int()), Reason: r.str(), Slots: int(r.int())})
		}
		for _, m := range rot.Members {
			t.Undo.Deltas[m.User] = r.int()
		}
		results[i] = pickResult{turn: t, ok: true}
	}
	if taken > 0 && checkpointAmong(before, k) {
		// The state after the batch's last turn, less every turn's deltas,
		// is the state before the batch. A checkpoint leaves out every turn
		// open at its moment: those open before the batch, and the batch's
		// own up to it. Without all of them, the state is the state before
		// the batch without those open before it.
		start := make(map[string]int64, n)
		for _, m := range rot.Members {
			start[m.User] = r.int()
		}
		for i := range taken {
			for user, d := range results[i].turn.Undo.Deltas {
				start[user] -= d
			}
		}
		open := make([]int64, r.int())
		for i := range open {
			open[i] = r.int()
		}
		for _, m := range rot.Members {
			start[m.User] -= r.int()
		}
		for i := range taken {
			t := &results[i].turn
			open = append(open, t.Seq)
			if isCheckpoint(t.Seq) {
				t.Checkpoint = &leads.Checkpoint{Current: maps.Clone(start), Open: slices.Clone(open)}
				slices.Sort(t.Checkpoint.Open)
			}
		}
	}
	if r.err != nil {
		return fail(r.err)
	}
	return results
}

// mayHaveRun reports whether a failed call may still have run in Redis: its
// reply timed out or the connection broke after it was sent. A refused
// connection or an error reply means it did not.
func mayHaveRun(err error) bool {
	var redisErr redis.Error
	var op *net.OpError
	switch {
	case errors.As(err, &redisErr):
		return false
	case errors.As(err, &op) && op.Op == "dial":
		return false
	case errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted), errors.Is(err, redis.ErrClosed):
		return false
	}
	return true
}

// replyLost remembers that the batch with ticket may have taken turns of rot
// that nobody got, and makes sure it is settled even if no lead comes for
// rot for a while.
func (b *redisBackend) replyLost(rot *leads.Rotation, day, ticket string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Of the batches lost in an outage, the first (in flight when it began)
	// is the one likely to have run: those sent later meet their deadline.
	if len(b.lost[rot.ID]) < maxLost {
		b.lost[rot.ID] = append(b.lost[rot.ID], ticket)
	}
	if b.settling == nil {
		b.settling = make(map[int64]bool)
	}
	if !b.settling[rot.ID] {
		b.settling[rot.ID] = true
		go b.settle(rot, day)
	}
}

// settled forgets the lost tickets and the first acked acks of a rotation,
// which a pick has settled.
func (b *redisBackend) settled(rotationID int64, tickets []string, acked int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if acked > 0 {
		if rest := b.acks[rotationID][acked:]; len(rest) > 0 {
			b.acks[rotationID] = rest
		} else {
			delete(b.acks, rotationID)
		}
	}
	if len(tickets) == 0 {
		return
	}
	all := b.lost[rotationID]
	if len(tickets) >= len(all) {
		delete(b.lost, rotationID)
		return
	}
	rest := all[len(tickets):] // tickets lost since stay
	if len(rest) == 0 {
		delete(b.lost, rotationID)
		return
	}
	b.lost[rotationID] = rest
}

// settle runs an empty pick (no turn taken, lost batches given back) of rot
// until none of its batches is lost any more, or their records are gone.
func (b *redisBackend) settle(rot *leads.Rotation, day string) {
	defer func() {
		b.mu.Lock()
		delete(b.settling, rot.ID)
		b.mu.Unlock()
	}()
	for start := time.Now(); time.Since(start) < recordTTL; {
		b.mu.Lock()
		pending := len(b.lost[rot.ID]) > 0
		b.mu.Unlock()
		if !pending {
			return
		}
		time.Sleep(b.timeout) // wait past the lost batch's deadline, and for Redis
		b.mu.Lock()
		q := b.queue(rot.ID)
		b.mu.Unlock()
		q.picking.Lock()
		b.pick(rot, day, 0)
		q.picking.Unlock()
	}
}

// maxLost bounds the lost tickets kept per rotation.
const maxLost = 32

// installArgs are the ARGV of install.lua that store st as rot's state,
// after prefix.
func installArgs(rot *leads.Rotation, st State, prefix ...any) []any {
	args := make([]any, 0, len(prefix)+5+2*len(rot.Members)+2*len(st.Load)+2*len(st.DayCounts))
	args = append(args, prefix...)
	args = append(args, st.Epoch, st.Seq, int64(dayTTL/time.Second), len(rot.Members))
	for _, m := range rot.Members {
		args = append(args, m.User, st.Current[m.User])
	}
	args = append(args, len(st.Load))
	for user, c := range st.Load {
		args = append(args, user, c)
	}
	for user, c := range st.DayCounts {
		args = append(args, user, c)
	}
	return args
}

func (b *redisBackend) install(ctx context.Context, rot *leads.Rotation, day string, st State) error {
	res, err := b.run(ctx, installCmd, b.keys(rot.ID, day), installArgs(rot, st)...)
	if err != nil {
		return fmt.Errorf("install script: %w", err)
	}
	b.recountLater(rot, res, st)
	return nil
}

// replace stores st, rebuilt from the store, as rot's state in place of the
// state of epoch stale, which is behind the store, unless that state was
// replaced since (see lua/reinstall.lua); it reports whether it did.
func (b *redisBackend) replace(ctx context.Context, rot *leads.Rotation, day, stale string, st State) (bool, error) {
	res, err := b.run(ctx, reinstallCmd, b.settleKeys(rot.ID, day), installArgs(rot, st, stale, day)...)
	if err != nil {
		return false, fmt.Errorf("reinstall script: %w", err)
	}
	b.recountLater(rot, res, st)
	return asInt(res) == 1, nil
}

// recountLater drops the counts of open leads of a state just installed
// (res 1) once every write of a lead that may have been on its way when
// they were counted is over: they are counted again from the store then.
func (b *redisBackend) recountLater(rot *leads.Rotation, res any, st State) {
	if asInt(res) == 1 && len(st.Load) > 0 {
		// The counts were read while turns of the lost state may have
		// had their leads on the way to the store: once every such write
		// is over, count again.
		users := slices.Collect(maps.Keys(st.Load))
		time.AfterFunc(b.settleAfter, func() {
			ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
			defer cancel()
			_ = b.forgetLoad(ctx, rot, users) // at worst, counted as they are
		})
	}
}

func (b *redisBackend) refund(ctx context.Context, rot *leads.Rotation, turn leads.Turn) error {
	if _, err := b.run(ctx, settleCmd, b.settleKeys(rot.ID, turn.Undo.Day), turn.Undo.Day, 1, turn.Seq); err != nil {
		return fmt.Errorf("settle script: %w", err)
	}
	return nil
}

func (b *redisBackend) settleKeys(rotationID int64, day string) []string {
	return append(b.keys(rotationID, day), openKey(b.prefix, rotationID))
}

// confirm records that turn's lead is stored: the next pick of its rotation
// closes the turn.
func (b *redisBackend) confirm(rot *leads.Rotation, turn leads.Turn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.acks[rot.ID] = append(b.acks[rot.ID], turn.Seq)
}

// maxSettle bounds the open turns one settleOpen looks at.
const maxSettle = 1000

// settleOpen settles the turns of a rotation that have been open for longer
// than settleAfter: their processes died, or could not find out, between
// the turn and the write of its lead. stored says which of them have their
// leads stored; those are closed, the others given back. It returns how
// many it gave back.
func (b *redisBackend) settleOpen(ctx context.Context, rotationID int64, stored func(ctx context.Context, rotationID int64, turns []int64) ([]int64, error)) (int, error) {
	res, err := b.run(ctx, openCmd, []string{openKey(b.prefix, rotationID)}, b.settleAfter.Microseconds(), maxSettle)
	if err != nil {
		return 0, fmt.Errorf("open script: %w", err)
	}
	r := reply{vals: asSlice(res)}
	days := make(map[string][]int64)
	var seqs []int64
	for len(r.vals) > 0 {
		seq, day := r.int(), r.str()
		days[day] = append(days[day], seq)
		seqs = append(seqs, seq)
	}
	if r.err != nil {
		return 0, fmt.Errorf("open script: %w", r.err)
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	found, err := stored(ctx, rotationID, seqs)
	if err != nil {
		return 0, err
	}
	isStored := make(map[int64]bool, len(found))
	for _, seq := range found {
		isStored[seq] = true
	}
	given := 0
	for day, turns := range days {
		var back, keep []any
		for _, seq := range turns {
			if isStored[seq] {
				keep = append(keep, seq)
			} else {
				back = append(back, seq)
			}
		}
		args := append(append([]any{day, len(back)}, back...), keep...)
		n, err := b.run(ctx, settleCmd, b.settleKeys(rotationID, day), args...)
		if err != nil {
			return given, fmt.Errorf("settle script: %w", err)
		}
		given += int(asInt(n))
	}
	return given, nil
}

func asInt(v any) int64 {
	n, _ := v.(int64)
	return n
}

// errCorruptState is the error of a pick that met a key of the rotation
// holding another type than the one the scripts keep there (someone wrote
// it by hand, or another program shares the prefix).
var errCorruptState = errors.New("the rotation's keys in Redis hold the wrong type")

// reset deletes the keys of rot that a pick uses and that hold the wrong
// type, so that its state is rebuilt from the store as after a loss.
func (b *redisBackend) reset(ctx context.Context, rot *leads.Rotation, day string) error {
	if _, err := b.run(ctx, resetCmd, b.pickKeys(rot.ID, day)); err != nil {
		return fmt.Errorf("reset script: %w", err)
	}
	return nil
}

func (b *redisBackend) snapshot(ctx context.Context, rot *leads.Rotation, day string) (State, bool, error) {
	res, err := b.run(ctx, snapshotCmd, b.keys(rot.ID, day))
	if redis.HasErrorPrefix(err, "WRONGTYPE") {
		return State{}, false, nil // previewed as it will be rebuilt
	}
	if err != nil {
		return State{}, false, fmt.Errorf("snapshot script: %w", err)
	}
	parts := asSlice(res)
	if len(parts) != 2 {
		return State{}, false, nil
	}
	st := State{Current: make(map[string]int64), DayCounts: make(map[string]int64), Load: make(map[string]int64)}
	r := reply{vals: asSlice(parts[0])}
	for len(r.vals) > 0 {
		field, value := r.str(), r.str()
		switch {
		case field == "epoch":
			st.Epoch = value
		case field == "seq":
			st.Seq, r.err = parseInt(value, r.err)
		case strings.HasPrefix(field, "w:"):
			st.Current[field[2:]], r.err = parseInt(value, r.err)
		case strings.HasPrefix(field, "o:"):
			st.Load[field[2:]], r.err = parseInt(value, r.err)
		}
	}
	d := reply{vals: asSlice(parts[1])}
	for len(d.vals) > 0 {
		user, value := d.str(), d.str()
		st.DayCounts[user], d.err = parseInt(value, d.err)
	}
	if err := errors.Join(r.err, d.err); err != nil {
		return State{}, false, fmt.Errorf("snapshot script: %w", err)
	}
	return st, true, nil
}

func (b *redisBackend) openTurnsOf(ctx context.Context, rot *leads.Rotation, users []string) (map[string][]int64, error) {
	args := make([]any, len(users))
	for i, u := range users {
		args[i] = u
	}
	res, err := b.run(ctx, openOfCmd, []string{stateKey(b.prefix, rot.ID), openKey(b.prefix, rot.ID)}, args...)
	if err != nil {
		return nil, fmt.Errorf("open turns script: %w", err)
	}
	r := reply{vals: asSlice(res)}
	out := make(map[string][]int64)
	for len(r.vals) > 0 {
		user := r.str()
		seq, err := parseInt(r.str(), r.err)
		r.err = err
		out[user] = append(out[user], seq)
	}
	if r.err != nil {
		return nil, fmt.Errorf("open turns script: %w", r.err)
	}
	return out, nil
}

func (b *redisBackend) fillLoad(ctx context.Context, rot *leads.Rotation, counts map[string]int64) error {
	args := make([]any, 0, 2*len(counts))
	for user, n := range counts {
		args = append(args, user, n)
	}
	if _, err := b.run(ctx, fillLoadCmd, []string{stateKey(b.prefix, rot.ID)}, args...); err != nil {
		return fmt.Errorf("fill load script: %w", err)
	}
	return nil
}

func (b *redisBackend) addLoad(ctx context.Context, rot *leads.Rotation, user string, delta int64) error {
	_, err := b.run(ctx, addLoadCmd, []string{stateKey(b.prefix, rot.ID)}, user, delta)
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("add load script: %w", err)
	}
	return nil
}

func (b *redisBackend) forgetLoad(ctx context.Context, rot *leads.Rotation, users []string) error {
	args := make([]any, len(users))
	for i, u := range users {
		args[i] = u
	}
	if _, err := b.run(ctx, forgetLoadCmd, []string{stateKey(b.prefix, rot.ID)}, args...); err != nil {
		return fmt.Errorf("forget load script: %w", err)
	}
	return nil
}

// reply reads a script's array reply in order, remembering the first error.
type reply struct {
	vals []any
	err  error
}

func (r *reply) pop() any {
	if len(r.vals) == 0 {
		if r.err == nil {
			r.err = errors.New("reply too short")
		}
		return nil
	}
	v := r.vals[0]
	r.vals = r.vals[1:]
	return v
}

func (r *reply) str() string {
	switch v := r.pop().(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

func (r *reply) int() int64 {
	switch v := r.pop().(type) {
	case int64:
		return v
	case string:
		n, err := parseInt(v, r.err)
		r.err = err
		return n
	}
	if r.err == nil {
		r.err = errors.New("integer expected")
	}
	return 0
}

// unixMicro is t in microseconds since the epoch, 0 for the zero time.
func unixMicro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func parseInt(s string, prev error) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if prev != nil {
		return n, prev
	}
	if err != nil {
		return 0, fmt.Errorf("integer expected: %w", err)
	}
	return n, nil
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
