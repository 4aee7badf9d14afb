package main

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
)

// Not parallel: it sets environment variables.
func TestTimeoutConfig(t *testing.T) {
	cfg, err := parseServe(t)
	require.NoError(t, err)
	require.Equal(t, app.Timeouts{ReadHeader: 5 * time.Second, Read: 15 * time.Second, Write: 30 * time.Second, Idle: 2 * time.Minute}, cfg.Timeouts)

	t.Setenv("LEADROTOR_READ_HEADER_TIMEOUT", "2s")
	t.Setenv("LEADROTOR_IDLE_TIMEOUT", "1m")
	cfg, err = parseServe(t, "--read-timeout", "10s", "--write-timeout", "20s")
	require.NoError(t, err)
	require.Equal(t, app.Timeouts{ReadHeader: 2 * time.Second, Read: 10 * time.Second, Write: 20 * time.Second, Idle: time.Minute}, cfg.Timeouts,
		"flags and LEADROTOR_* variables set each timeout")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--write-timeout", "-1s"}, "write-timeout must be positive"},
		{[]string{"--idle-timeout", "-5m"}, "idle-timeout must be positive"},
		{[]string{"--read-timeout", "1s"}, "read-header-timeout 2s must not exceed read-timeout 1s"},
	} {
		_, err := parseServe(t, tc.args...)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}

// A client that never finishes its headers is disconnected after
// read-header-timeout: it cannot hold a connection open.
func TestSlowHeadersAreCutOff(t *testing.T) {
	t.Parallel()
	db := "file:" + filepath.Join(t.TempDir(), "timeouts.db")
	m := runServer(t, "--database-url", db,
		"--read-header-timeout", "100ms", "--read-timeout", "200ms", "--write-timeout", "300ms", "--idle-timeout", "400ms")
	require.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond},
		[]time.Duration{m.HTTPServer().ReadHeaderTimeout, m.HTTPServer().ReadTimeout, m.HTTPServer().WriteTimeout, m.HTTPServer().IdleTimeout})

	conn, err := net.Dial("tcp", m.Addr().String())
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	_, err = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: leadrotor\r\n") // no blank line: headers never end
	require.NoError(t, err)
	// The deadline only keeps a broken server from hanging the test; the
	// server must close the connection long before it, and before the 5s a
	// client gets by default.
	start := time.Now()
	require.NoError(t, conn.SetReadDeadline(start.Add(10*time.Second)))
	_, err = io.ReadAll(conn)
	var netErr net.Error
	require.False(t, errors.As(err, &netErr) && netErr.Timeout(), "the server, not the test's deadline, closed the connection")
	require.Less(t, time.Since(start), 3*time.Second, "read-header-timeout applies, not the default")
}
