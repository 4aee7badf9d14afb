package webhooks

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
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

// eventArgs is the job of one event, inserted with the change: its worker
// fans it out to the subscribed endpoints (and the in-process handler).
type eventArgs struct {
	Event leads.Event `json:"event"`
}

func (eventArgs) Kind() string { return "leadrotor_event" }

func (eventArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// deliveryArgs is the job of one event to one endpoint. The payload is
// made once, at fan-out, so that every attempt posts the same bytes.
type deliveryArgs struct {
	EndpointID int64           `json:"endpointId"`
	AccountID  string          `json:"accountId"`
	EventID    string          `json:"eventId"`
	EventType  leads.EventType `json:"eventType"`
	Payload    json.RawMessage `json:"payload"`
	Redelivery bool            `json:"redelivery,omitempty"`
}

func (deliveryArgs) Kind() string { return "leadrotor_webhook_delivery" }

func (deliveryArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// handlerArgs is the job of one event to the in-process handler.
type handlerArgs struct {
	Event leads.Event `json:"event"`
}

func (handlerArgs) Kind() string { return "leadrotor_event_handler" }

func (handlerArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// eventWorker fans an event out: one delivery job per enabled endpoint of
// the account subscribed to its type, one handler job when the process has
// a handler, one mail job when it mails reps and the event is theirs, inserted in the transaction that completes the event's
// job, so that a fan-out runs to its end exactly once.
type eventWorker struct {
	backoff[eventArgs]
}

func (w *eventWorker) Work(ctx context.Context, job *river.Job[eventArgs]) error {
	e := job.Args.Event
	eps, err := w.r.store.Webhooks(ctx, e.AccountID)
	if err != nil {
		return fmt.Errorf("read webhooks of account %s: %w", e.AccountID, err)
	}
	var params []river.InsertManyParams
	for _, ep := range eps {
		if !ep.Subscribed(e.Type) {
			continue
		}
		body, err := Payload(e, ep.Format)
		if err != nil {
			return river.JobCancel(err) // never better on a retry
		}
		params = append(params, river.InsertManyParams{Args: deliveryArgs{EndpointID: ep.ID, AccountID: e.AccountID,
			EventID: e.ID, EventType: e.Type, Payload: body}, InsertOpts: &river.InsertOpts{MaxAttempts: w.r.opts.MaxAttempts}})
	}
	if w.r.opts.Handler != nil {
		params = append(params, river.InsertManyParams{Args: handlerArgs{Event: e}, InsertOpts: &river.InsertOpts{MaxAttempts: w.r.opts.MaxAttempts}})
	}
	if w.r.opts.Mail != nil && mails(e) {
		params = append(params, river.InsertManyParams{Args: mailArgs{Event: e}, InsertOpts: &river.InsertOpts{MaxAttempts: w.r.opts.MaxAttempts}})
	}
	if len(params) == 0 {
		return nil
	}
	tx, err := w.r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("fan out event %s: %w", e.ID, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := w.r.client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("fan out event %s: %w", e.ID, err)
	}
	if _, err := river.JobCompleteTx[riverdriver.Driver[*sql.Tx]](ctx, tx, job); err != nil {
		return fmt.Errorf("fan out event %s: complete: %w", e.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("fan out event %s: %w", e.ID, err)
	}
	return nil
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
	return w.r.opts.Handler(ctx, job.Args.Event)
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
	start := w.r.opts.Now()
	status, perr := w.r.post(ctx, ep, a)
	d := &leads.WebhookDelivery{EndpointID: ep.ID, AccountID: ep.AccountID, EventID: a.EventID, EventType: a.EventType,
		Attempt: job.Attempt, StatusCode: status, Succeeded: perr == nil, DurationMS: w.r.opts.Now().Sub(start).Milliseconds(),
		At: start, Payload: a.Payload}
	if perr != nil {
		d.Error = perr.Error()
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.r.store.RecordWebhookDelivery(lctx, d); err != nil {
		w.r.opts.Logger.Warn("webhook delivery not logged", "webhook", ep.ID, "event", a.EventID, "err", err)
	}
	if perr == nil {
		return nil
	}
	w.r.opts.Logger.Info("webhook delivery failed", "webhook", ep.ID, "event", a.EventID, "attempt", job.Attempt, "err", perr)
	if job.Attempt >= job.MaxAttempts && !a.Redelivery {
		reason := fmt.Sprintf("%d attempts to deliver event %s failed since %s; last: %s", job.Attempt, a.EventID,
			job.CreatedAt.UTC().Format(time.RFC3339), d.Error)
		if err := leads.DisableWebhook(lctx, w.r.store, ep.AccountID, ep.ID, reason, w.r.opts.Now()); err != nil {
			w.r.opts.Logger.Warn("webhook not disabled", "webhook", ep.ID, "err", err)
		} else {
			w.r.opts.Logger.Warn("webhook disabled", "webhook", ep.ID, "reason", reason)
		}
	}
	return perr
}

// post delivers a's payload to ep, signed; it returns the status code (0
// when none came) and an error unless the receiver answered 2xx.
func (r *Runner) post(ctx context.Context, ep *leads.WebhookEndpoint, a deliveryArgs) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(a.Payload))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	now := r.opts.Now()
	sig, err := Sign(ep.Secret, a.EventID, now, a.Payload)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "leadrotor-webhooks")
	req.Header.Set(HeaderID, a.EventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := r.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// slaArgs is the job of one SLA timer, scheduled at its deadline in the
// transaction that made the assignment.
type slaArgs struct {
	Timer leads.SLATimer `json:"timer"`
}

func (slaArgs) Kind() string { return "leadrotor_sla_timer" }

func (slaArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// slaWorker runs a timer whose time has come through the Service: river
// hands a job to one process at a time, and the Service's check of the
// assignment under the lead's lock makes a timer that runs again (its
// process killed after the change) do nothing the second time.
type slaWorker struct {
	backoff[slaArgs]
}

func (w *slaWorker) Work(ctx context.Context, job *river.Job[slaArgs]) error {
	if w.r.expirer == nil {
		return errors.New("no SLA expirer in this process")
	}
	return w.r.expirer.ExpireSLA(ctx, job.Args.Timer)
}
