package webhooks_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/internal/mailtest"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/notify"
	"github.com/leadrotor/leadrotor/webhooks"
)

// A lead assigned to a rep, in an account without any webhook endpoint,
// reaches the rep by email through the outbox: one message, to the
// assignee, with the lead's console link; a reassignment mails the new rep.
func TestAssignmentMail(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mailer, err := notify.NewMailer(notify.SMTPConfig{Addr: srv.SMTP, From: "leadrotor <leads@acme.test>"})
			require.NoError(t, err)
			b := setup(t, dsn, webhooks.Options{Mail: &webhooks.Mail{Mailer: mailer, ConsoleURL: "https://leads.acme.test"}})
			ctx := context.Background()
			rep := name + "-ana@acme.test" // one mailpit for both databases
			other := name + "-ben@acme.test"
			for _, m := range []string{rep, other} {
				_, err := b.svc.PutMember(ctx, b.admin, leads.Member{Email: m, Role: leads.RoleAgent})
				require.NoError(t, err)
			}
			res, err := b.svc.CreateLead(ctx, b.admin, leads.LeadInput{FirstName: "Ada", LastName: "Lovelace", AssignedTo: rep}, leads.CreateOptions{})
			require.NoError(t, err)
			createLead(t, b, "Unassigned") // no assignee: no mail
			b.start(t)

			mailTo := func(to string) []mailtest.Message {
				msgs, err := srv.To(ctx, to)
				require.NoError(t, err)
				return msgs
			}
			require.Eventually(t, func() bool { return len(mailTo(rep)) == 1 }, 20*time.Second, 20*time.Millisecond, "the rep's mail")
			msg := mailTo(rep)[0]
			require.Equal(t, "New lead: Ada Lovelace", msg.Subject)
			text, err := srv.Text(ctx, msg.ID)
			require.NoError(t, err)
			require.Contains(t, text, fmt.Sprintf("https://leads.acme.test/console/leads/%d", res.Lead.ID))

			_, err = b.svc.UpdateLead(ctx, b.admin, res.Lead.ID, leads.LeadPatch{"assignedTo": other}, leads.UpdateOptions{})
			require.NoError(t, err)
			require.Eventually(t, func() bool { return len(mailTo(other)) == 1 }, 20*time.Second, 20*time.Millisecond, "the new rep's mail")
			require.Len(t, mailTo(rep), 1, "the first rep is not mailed again")
		})
	}
}

// An SLA that is exhausted mails the account's managers (not the agents):
// the lead's name, why, and its console link.
func TestEscalationMail(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	mailer, err := notify.NewMailer(notify.SMTPConfig{Addr: srv.SMTP, From: "leadrotor <leads@acme.test>"})
	require.NoError(t, err)
	past := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC) // the deadline has passed: the timer runs at once
	b := setupWith(t, dsns(t)["sqlite"], webhooks.Options{Mail: &webhooks.Mail{Mailer: mailer, ConsoleURL: "https://leads.acme.test"}},
		true, leads.WithEventTypes(webhooks.MailEvents...), leads.WithClock(func() time.Time { return past }))
	slaRotation(t, b, leads.SLA{AcceptWithin: leads.Duration(time.Minute)})
	lead := createLead(t, b, "Grace")
	b.start(t)
	ctx := context.Background()
	var msgs []mailtest.Message
	require.Eventually(t, func() bool {
		msgs, err = srv.To(ctx, "boss@example.com")
		require.NoError(t, err)
		return len(msgs) == 1
	}, 20*time.Second, 20*time.Millisecond, "the manager's mail")
	require.Equal(t, "Lead needs attention: Grace Doe", msgs[0].Subject)
	text, err := srv.Text(ctx, msgs[0].ID)
	require.NoError(t, err)
	require.Contains(t, text, "ann@example.com did not accept within 1m0s (wall clock)")
	require.Contains(t, text, fmt.Sprintf("https://leads.acme.test/console/leads/%d", lead.ID))
	require.Eventually(t, func() bool {
		rep, err := srv.To(ctx, "ann@example.com")
		require.NoError(t, err)
		return len(rep) == 1 && rep[0].Subject == "New lead: Grace Doe"
	}, 20*time.Second, 20*time.Millisecond, "the rep's assignment mail, and no escalation")
}
