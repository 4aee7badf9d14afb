package webhooks

import (
	"context"
	"errors"

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

// MailEvents are the event types that mail a rep: a Service must write
// them (leads.WithEventTypes) for mail to go out in accounts without
// endpoints.
var MailEvents = []leads.EventType{leads.EventTypeAssigned, leads.EventTypeReassigned}

// mails reports whether an event of type t mails its assignee.
func mails(t leads.EventType) bool {
	for _, m := range MailEvents {
		if t == m {
			return true
		}
	}
	return false
}

// mailArgs is the job of the email that one event sends.
type mailArgs struct {
	Event leads.Event `json:"event"`
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
	e := job.Args.Event
	if e.Lead == nil || e.Lead.AssignedTo == "" {
		return nil // nobody to tell
	}
	return m.Mailer.Send(ctx, notify.AssignedMail(m.ConsoleURL, e.Lead))
}
