package webhooks

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Test helpers shared by this package's tests and webhooks_test's.

// RawReceiver is an endpoint on 127.0.0.1 that reads each request with
// net/http's parser and answers it with answer's bytes, as they are;
// closing, when set, closes the connection after each answer without
// saying so (a receiver whose keep-alive ran out, a load balancer).
type RawReceiver struct {
	mu  sync.Mutex
	ids []string
	// URL is its endpoint.
	URL string
}

// NewRawReceiver starts a RawReceiver until t ends.
func NewRawReceiver(t *testing.T, answer string, closing bool) *RawReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	rc := &RawReceiver{URL: "http://" + ln.Addr().String() + "/hook"}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = conn.Close() }()
				br := bufio.NewReader(conn)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					rc.mu.Lock()
					rc.ids = append(rc.ids, req.Header.Get(HeaderID))
					rc.mu.Unlock()
					if _, err := io.WriteString(conn, answer); err != nil || closing {
						return
					}
				}
			}()
		}
	}()
	return rc
}

// Received returns the webhook-id of each request it read, in order.
func (rc *RawReceiver) Received() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.ids...)
}
