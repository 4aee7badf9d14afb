package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/internal/mailtest"
)

// TestServeMailsTheRep: a server run with --smtp-addr emails the rep each
// lead the rotation gives them, with the lead's console link, through a
// real SMTP server on loopback.
func TestServeMailsTheRep(t *testing.T) {
	t.Parallel()
	mail := mailtest.Start(t)
	env, _, _ := sharedEnv(t)
	demo := parseEnv(run(t, env, "demo", "--env"))
	s := serve(t, env, "--smtp-addr", mail.SMTP, "--smtp-from", "leadrotor <leads@acme.test>",
		"--console-url", "https://leads.acme.test")
	lead := postLead(t, s.url, demo, "Grace")
	rep, _ := lead["assignedTo"].(string)
	require.NotEmpty(t, rep)
	ctx := context.Background()
	var msgs []mailtest.Message
	require.Eventually(t, func() bool {
		var err error
		msgs, err = mail.To(ctx, rep)
		require.NoError(t, err)
		return len(msgs) > 0
	}, 30*time.Second, 50*time.Millisecond, "the rep's mail")
	text, err := mail.Text(ctx, msgs[0].ID)
	require.NoError(t, err)
	require.Contains(t, text, fmt.Sprintf("https://leads.acme.test/console/leads/%d", int64(lead["id"].(float64))))
	require.NoError(t, s.stop(t))
}
