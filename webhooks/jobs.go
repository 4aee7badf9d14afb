package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/leadrotor/leadrotor/leads"
)

// backoff is what every worker of the package shares: river's defaults,
// the Runner, and retries spaced by the Runner's Backoff.
type backoff[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	r *Runner
}

// NextRetry is when the job runs again after its attempt failed.
func (b *backoff[T]) NextRetry(job *river.Job[T]) time.Time {
	return time.Now().Add(b.r.opts.Backoff(job.Attempt))
}

// eventArgs is the job of the events one transaction wrote (a lead's
// change, or a whole group commit of new leads), inserted with them: its
// worker fans them out to the subscribed endpoints (and the in-process
// handler, and mail). One job for many events spares the queue's table a
// row, a fetch and a completion per event.
type eventArgs struct {
	Events packed[[]leads.Event] `json:"events"`
}

func (eventArgs) Kind() string { return "leadrotor_event" }

func (eventArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// deliveryArgs is the job of one event to one endpoint: the retries of a
// first attempt that failed, or a redelivery. The payload is made once, at
// fan-out, and kept as a string (a JSON document would come back from
// PostgreSQL's jsonb reordered), so that every attempt posts the same
// bytes.
type deliveryArgs struct {
	EndpointID int64           `json:"endpointId"`
	AccountID  string          `json:"accountId"`
	EventID    string          `json:"eventId"`
	EventType  leads.EventType `json:"eventType"`
	Payload    string          `json:"payload"`
	Redelivery bool            `json:"redelivery,omitempty"`
	// Prior counts the attempts made before this job's first: the
	// fan-out's own.
	Prior int `json:"prior,omitempty"`
}

func (deliveryArgs) Kind() string { return "leadrotor_webhook_delivery" }

func (deliveryArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// handlerArgs is the job of one event to the in-process handler.
type handlerArgs struct {
	Event packed[leads.Event] `json:"event"`
}

func (handlerArgs) Kind() string { return "leadrotor_event_handler" }

func (handlerArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// eventWorker fans events out (Runner.fanOut), then, in the transaction
// that completes the events' job, inserts the jobs left. A fan-out so runs
// to its end once; a process killed before that transaction runs it again
// (at least once: receivers tell a repeat by its webhook-id). The events
// of new leads mostly skip it: their process hands them to its fan-out as
// they commit (Runner.HandOffEvents), and their job is the backup. The
// first attempt in the fan-out spares each delivery a job of its own when
// the receiver answers, as it mostly does: a job is several writes of the
// queue's table.
type eventWorker struct {
	backoff[eventArgs]
}

func (w *eventWorker) Timeout(*river.Job[eventArgs]) time.Duration {
	return w.r.opts.Timeout + 30*time.Second // the posts, side by side, and logging them
}

func (w *eventWorker) Work(ctx context.Context, job *river.Job[eventArgs]) error {
	params, err := w.r.fanOut(ctx, job.Args.Events.V)
	if err != nil || len(params) == 0 {
		return err
	}
	tx, err := w.r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("fan out events: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := w.r.client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("fan out events: %w", err)
	}
	if _, err := river.JobCompleteTx[riverdriver.Driver[*sql.Tx]](ctx, tx, job); err != nil {
		return fmt.Errorf("fan out events: complete: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("fan out events: %w", err)
	}
	return nil
}

// fanOut posts events at once to every enabled endpoint of their accounts
// subscribed to their types, side by side, and logs those first attempts;
// it returns the jobs that are left, to be inserted with the end of the
// events' job: a delivery job for each endpoint whose attempt failed (its
// retries, from the first backoff on), one handler job when the process
// has a handler, one mail job when the process mails and the event sends
// mail. An error (the endpoints not read, a payload not made) leaves the
// events to their job's next run.
func (r *Runner) fanOut(ctx context.Context, events []leads.Event) ([]river.InsertManyParams, error) {
	endpoints := map[string][]leads.WebhookEndpoint{} // by account
	var firsts []deliveryArgs
	var targets []*leads.WebhookEndpoint
	var params []river.InsertManyParams
	now := r.opts.Now()
	for _, e := range events {
		r.opts.Meter.EventFannedOut(now.Sub(e.At))
		eps, ok := endpoints[e.AccountID]
		if !ok {
			var err error
			if eps, err = r.store.Webhooks(ctx, e.AccountID); err != nil {
				return nil, fmt.Errorf("read webhooks of account %s: %w", e.AccountID, err)
			}
			endpoints[e.AccountID] = eps
		}
		bodies := map[string]string{} // by format: made once for every endpoint of one
		for i := range eps {
			ep := &eps[i]
			if !ep.Enabled || !ep.Subscribed(e.Type) {
				continue
			}
			body, ok := bodies[ep.Format]
			if !ok {
				b, err := Payload(e, ep.Format)
				if err != nil {
					return nil, river.JobCancel(err) // never better on a retry
				}
				body = string(b)
				bodies[ep.Format] = body
			}
			firsts = append(firsts, deliveryArgs{EndpointID: ep.ID, AccountID: e.AccountID, EventID: e.ID, EventType: e.Type,
				Payload: body, Prior: 1})
			targets = append(targets, ep)
		}
		if r.opts.Handler != nil {
			params = append(params, river.InsertManyParams{Args: handlerArgs{Event: packed[leads.Event]{V: e}}, InsertOpts: &river.InsertOpts{MaxAttempts: r.opts.MaxAttempts}})
		}
		if r.opts.Mail != nil && mails(e) {
			params = append(params, river.InsertManyParams{Args: mailArgs{Event: packed[leads.Event]{V: e}}, InsertOpts: &river.InsertOpts{MaxAttempts: r.opts.MaxAttempts}})
		}
	}
	return append(params, r.deliverFirst(ctx, targets, firsts)...), nil
}

// maxPostsAtOnce bounds the first attempts one fan-out makes side by side.
const maxPostsAtOnce = 16

// deliverFirst makes the first attempt of each delivery, side by side
// (maxPostsAtOnce at a time), logs them, and returns the delivery jobs of those that failed: their
// retries, from the first backoff on.
func (r *Runner) deliverFirst(ctx context.Context, eps []*leads.WebhookEndpoint, firsts []deliveryArgs) []river.InsertManyParams {
	logs := make([]*leads.WebhookDelivery, len(firsts))
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxPostsAtOnce)
	for i := range firsts {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			logs[i] = r.attempt(ctx, eps[i], firsts[i], 1)
		})
	}
	wg.Wait()
	r.record(logs...)
	var params []river.InsertManyParams
	for i, d := range logs {
		if d.Succeeded {
			continue
		}
		if r.opts.MaxAttempts <= 1 {
			r.disable(ctx, eps[i], d, time.Now())
			continue
		}
		params = append(params, river.InsertManyParams{Args: firsts[i], InsertOpts: &river.InsertOpts{
			MaxAttempts: r.opts.MaxAttempts - 1, ScheduledAt: time.Now().Add(r.opts.Backoff(1))}})
	}
	return params
}

// attempt posts a's payload to ep, the attempt-th attempt of the delivery,
// and returns it as the log keeps it.
func (r *Runner) attempt(ctx context.Context, ep *leads.WebhookEndpoint, a deliveryArgs, attempt int) *leads.WebhookDelivery {
	start := r.opts.Now()
	status, err := r.post(ctx, ep, a)
	d := &leads.WebhookDelivery{EndpointID: ep.ID, AccountID: ep.AccountID, EventID: a.EventID, EventType: a.EventType,
		Attempt: attempt, StatusCode: status, Succeeded: err == nil, DurationMS: r.opts.Now().Sub(start).Milliseconds(),
		At: start, Payload: json.RawMessage(a.Payload), Redelivery: a.Redelivery}
	r.opts.Meter.DeliveryAttempted(err == nil, r.opts.Now().Sub(start))
	if err != nil {
		d.Error = err.Error()
		r.opts.Logger.Info("webhook delivery failed", "webhook", ep.ID, "event", a.EventID, "attempt", attempt, "err", err)
	}
	return d
}

// record appends attempts to the delivery log: through the log writer
// while the runner runs (see logWriter), else at once. A failure is
// logged, not returned: the deliveries stand without their log.
func (r *Runner) record(ds ...*leads.WebhookDelivery) {
	if len(ds) == 0 {
		return
	}
	if r.log != nil && r.log.add(ds) {
		return
	}
	r.writeLog(ds)
}

// writeLog writes attempts to the delivery log in one insert.
func (r *Runner) writeLog(ds []*leads.WebhookDelivery) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.store.RecordWebhookDelivery(ctx, ds...); err != nil {
		r.opts.Logger.Warn("webhook deliveries not logged", "attempts", len(ds), "event", ds[0].EventID, "err", err)
	}
}

// disable disables ep after d, the last attempt of a delivery, failed
// (since created).
func (r *Runner) disable(ctx context.Context, ep *leads.WebhookEndpoint, d *leads.WebhookDelivery, created time.Time) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	reason := fmt.Sprintf("%d attempts to deliver event %s failed since %s; last: %s", d.Attempt, d.EventID,
		created.UTC().Format(time.RFC3339), d.Error)
	if err := leads.DisableWebhook(lctx, r.store, ep.AccountID, ep.ID, reason, r.opts.Now()); err != nil {
		r.opts.Logger.Warn("webhook not disabled", "webhook", ep.ID, "err", err)
		return
	}
	r.opts.Meter.EndpointDisabled()
	r.opts.Logger.Warn("webhook disabled", "webhook", ep.ID, "reason", reason)
}

// handlerWorker gives an event to the in-process handler.
type handlerWorker struct {
	backoff[handlerArgs]
}

func (w *handlerWorker) Work(ctx context.Context, job *river.Job[handlerArgs]) error {
	if w.r.opts.Handler == nil {
		// Queued by a process with a handler, run by one without: another
		// try may land on one that has it.
		return errors.New("no event handler in this process")
	}
	return w.r.opts.Handler(ctx, job.Args.Event.V)
}

// deliveryWorker posts an event to an endpoint, logs the attempt, and
// disables the endpoint when the last attempt fails.
type deliveryWorker struct {
	backoff[deliveryArgs]
}

func (w *deliveryWorker) Timeout(*river.Job[deliveryArgs]) time.Duration {
	return w.r.opts.Timeout + 30*time.Second // the post, and logging it
}

func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	a := job.Args
	ep, err := w.r.store.Webhook(ctx, a.AccountID, a.EndpointID)
	if leads.ErrorCode(err) == leads.CodeNotFound {
		return river.JobCancel(fmt.Errorf("webhook %d deleted", a.EndpointID))
	}
	if err != nil {
		return fmt.Errorf("read webhook %d: %w", a.EndpointID, err)
	}
	if !ep.Enabled && !a.Redelivery {
		return river.JobCancel(fmt.Errorf("webhook %d disabled", a.EndpointID))
	}
	d := w.r.attempt(ctx, ep, a, a.Prior+job.Attempt)
	w.r.record(d)
	if d.Succeeded {
		return nil
	}
	if job.Attempt >= job.MaxAttempts && !a.Redelivery {
		w.r.disable(ctx, ep, d, job.CreatedAt)
	}
	return errors.New(d.Error)
}

// NextRetry is when the delivery runs again: the backoff of its attempt,
// counting the fan-out's.
func (w *deliveryWorker) NextRetry(job *river.Job[deliveryArgs]) time.Time {
	return time.Now().Add(w.r.opts.Backoff(job.Args.Prior + job.Attempt))
}

// post delivers a's payload to ep, signed; it returns the status code (0
// when none came) and an error unless the receiver answered 2xx.
func (r *Runner) post(ctx context.Context, ep *leads.WebhookEndpoint, a deliveryArgs) (int, error) {
	t, err := r.targets.get(ep.URL, ep.Secret)
	if err != nil {
		return 0, err
	}
	now := r.opts.Now().Unix()
	headers := [...]header{{"Content-Type", "application/json"}, {"User-Agent", "leadrotor-webhooks"}, {headerIDKey, a.EventID},
		{headerTimestampKey, strconv.FormatInt(now, 10)}, {headerSignatureKey, t.sign(a.EventID, now, a.Payload)}}
	var status int
	var line string
	if r.poster != nil && !t.proxied {
		status, line, err = r.poster.post(ctx, t.u, headers[:], a.Payload, r.opts.Timeout)
	} else {
		status, line, err = r.postHTTP(ctx, t.u, headers[:], a.Payload)
	}
	if err != nil {
		return 0, fmt.Errorf("post: %w", err)
	}
	if status < 200 || status > 299 {
		return status, fmt.Errorf("receiver answered %s", line)
	}
	return status, nil
}

// The Standard Webhooks headers, in the form Go's client sends them.
var (
	headerIDKey        = http.CanonicalHeaderKey(HeaderID)
	headerTimestampKey = http.CanonicalHeaderKey(HeaderTimestamp)
	headerSignatureKey = http.CanonicalHeaderKey(HeaderSignature)
)

// proxied reports whether the environment sends requests to u through a
// proxy (HTTP_PROXY, HTTPS_PROXY, NO_PROXY): Go's client goes that way.
func proxied(u *url.URL) bool {
	p, err := http.ProxyFromEnvironment(&http.Request{URL: u})
	return err != nil || p != nil
}

// postHTTP posts payload to u with Go's client: through a proxy, or the
// transport Options.Transport wraps.
func (r *Runner) postHTTP(ctx context.Context, u *url.URL, headers []header, payload string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(payload))
	if err != nil {
		return 0, "", fmt.Errorf("build request: %w", err)
	}
	for _, h := range headers {
		req.Header.Set(h.name, h.value)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Status, nil
}

// slaArgs is the job of the SLA timers one transaction wrote that come
// due in the same second (a group commit's leads, assigned together): a
// row of timerTable, written in the transaction that made the
// assignments, relayed to this job to run at once when the second has
// ended (relayTimers). One job for many timers spares the queue's table a
// row, a fetch and a completion per lead. Jobs written before timerTable
// (scheduled at their second's end) run as they are.
type slaArgs struct {
	Timers packed[[]leads.SLATimer] `json:"timers"`
}

func (slaArgs) Kind() string { return "leadrotor_sla_timer" }

func (slaArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// slaWorker runs timers whose time has come through the Service: river
// hands a job to one process at a time, and the Service's check of the
// assignment under the lead's lock makes a timer that runs again (its
// process killed after the change, or its job retried for another timer's
// failure) do nothing the second time.
type slaWorker struct {
	backoff[slaArgs]
}

func (w *slaWorker) Work(ctx context.Context, job *river.Job[slaArgs]) error {
	if w.r.expirer == nil {
		return errors.New("no SLA expirer in this process")
	}
	var errs []error
	for _, t := range job.Args.Timers.V {
		if err := w.r.expirer.ExpireSLA(ctx, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
