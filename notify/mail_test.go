package notify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/internal/mailtest"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/notify"
)

// Mail reaches a real SMTP server (mailpit on loopback) with the right
// recipient, subject and lead link; a lead's fields cannot inject headers.
func TestMailArrives(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	m, err := notify.NewMailer(notify.SMTPConfig{Addr: srv.SMTP, From: "leadrotor <leads@acme.test>", Username: "u", Password: "p"})
	require.NoError(t, err)
	ctx := context.Background()
	l := &leads.Lead{ID: 42, LeadInput: leads.LeadInput{FirstName: "Zoë", LastName: "Lovelace\r\nBcc: victim@evil.test",
		Company: "Analytical Engines", Email: "zoe@ae.test", AssignedTo: "ana@acme.test"}}
	require.NoError(t, m.Send(ctx, notify.AssignedMail("https://leads.acme.test/", l)))
	require.NoError(t, m.Send(ctx, notify.EscalationMail("https://leads.acme.test", l, []string{"boss@acme.test", "lead@acme.test"}, "nobody accepted it within 5m, 3 times")))

	msgs, err := srv.Messages(ctx)
	require.NoError(t, err)
	require.Len(t, msgs, 2, "and no Bcc copy")
	byTo := map[string]mailtest.Message{}
	for _, msg := range msgs {
		require.Equal(t, "leads@acme.test", msg.From.Address)
		byTo[msg.To[0].Address] = msg
	}
	assigned := byTo["ana@acme.test"]
	require.Len(t, assigned.To, 1)
	require.Equal(t, "New lead: Zoë Lovelace  Bcc: victim@evil.test (Analytical Engines)", assigned.Subject, "one header line")
	text, err := srv.Text(ctx, assigned.ID)
	require.NoError(t, err)
	require.Contains(t, text, "Open it: https://leads.acme.test/console/leads/42")
	require.Contains(t, text, "Email: zoe@ae.test")

	escalated := byTo["boss@acme.test"]
	require.Len(t, escalated.To, 2)
	text, err = srv.Text(ctx, escalated.ID)
	require.NoError(t, err)
	require.True(t, strings.Contains(text, "nobody accepted it within 5m, 3 times"), text)
}

// Bad settings and recipients are refused before anything is sent; a
// server that is not there is an error, within the timeout.
func TestMailRefusals(t *testing.T) {
	t.Parallel()
	for _, cfg := range []notify.SMTPConfig{
		{Addr: "localhost", From: "a@b.test"},
		{Addr: "127.0.0.1:25", From: "not an address"},
		{Addr: "127.0.0.1:25", From: "a@b.test", TLS: "maybe"},
	} {
		_, err := notify.NewMailer(cfg)
		require.Error(t, err, "%+v", cfg)
	}
	m, err := notify.NewMailer(notify.SMTPConfig{Addr: "127.0.0.1:1", From: "a@b.test"})
	require.NoError(t, err)
	require.Error(t, m.Send(context.Background(), notify.Message{To: []string{"x@y.test"}, Subject: "s", Text: "t"}), "closed port")
	require.Error(t, m.Send(context.Background(), notify.Message{To: []string{"nobody"}, Subject: "s", Text: "t"}))
	require.Error(t, m.Send(context.Background(), notify.Message{Subject: "s", Text: "t"}))
}
