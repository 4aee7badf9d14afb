package webhooks

import (
	"context"
	"errors"
	"slices"

	"github.com/riverqueue/river"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/notify"
)

// Mail tells reps of their new leads by email: the fan-out of a
// lead.assigned or lead.reassigned event queues one mail job, sent with
// the same retries as deliveries.
type Mail struct {
	// Mailer sends through the SMTP server.
	Mailer *notify.Mailer
	// ConsoleURL is the server's public address, for the lead's link
	// (e.g. https://leads.example.com).
	ConsoleURL string
}

// MailEvents are the event types that send mail: a Service must write
// them (leads.WithEventTypes) for mail to go out in accounts without
// endpoints. Assignments mail the rep; an SLA that is exhausted mails the
// account's managers (its event's data.escalate).
var MailEvents = []leads.EventType{leads.EventTypeAssigned, leads.EventTypeReassigned, leads.EventTypeSLAExpired}

// mails reports whether e sends mail.
func mails(e leads.Event) bool {
	if e.Type == leads.EventTypeSLAExpired {
		return len(escalation(e)) > 0
	}
	return slices.Contains(MailEvents, e.Type)
}

// escalation returns the managers an SLA expiry escalates to: its
// data.escalate, a list of emails (strings once read back from the job).
func escalation(e leads.Event) []string {
	var out []string
	switch v := e.Data["escalate"].(type) {
	case []string:
		out = v
	case []any:
		for _, m := range v {
			if s, ok := m.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// mailArgs is the job of the email that one event sends.
type mailArgs struct {
	Event packed[leads.Event] `json:"event"`
}

func (mailArgs) Kind() string { return "leadrotor_mail" }

func (mailArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// mailWorker sends the assignment email of an event to its assignee.
type mailWorker struct {
	backoff[mailArgs]
}

func (w *mailWorker) Work(ctx context.Context, job *river.Job[mailArgs]) error {
	m := w.r.opts.Mail
	if m == nil || m.Mailer == nil {
		// Queued by a process with mail, run by one without: another try
		// may land on one that has it.
		return errors.New("no mailer in this process")
	}
	e := job.Args.Event.V
	if e.Type == leads.EventTypeSLAExpired {
		managers := escalation(e)
		if e.Lead == nil || len(managers) == 0 {
			return nil
		}
		why, _ := e.Data["why"].(string)
		return m.Mailer.Send(ctx, notify.EscalationMail(m.ConsoleURL, e.Lead, managers, why))
	}
	if e.Lead == nil || e.Lead.AssignedTo == "" {
		return nil // nobody to tell
	}
	return m.Mailer.Send(ctx, notify.AssignedMail(m.ConsoleURL, e.Lead))
}
