package webhooks

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// poster posts deliveries over HTTP/1.1 connections it keeps open, writing
// each request and reading its answer on the caller's own goroutine. Go's
// http.Transport gives every connection a reader and a writer goroutine
// and hands each request to them over channels: under load, most of a
// delivery's CPU went to those hand-offs and the scheduler's wake-ups, not
// to the bytes (docs/BENCHMARKS.md, issue 18). The request's bytes are
// made in one buffer and written in one call; the answer is parsed by
// net/http's own http.ReadResponse.
//
// Like the Transport it replaces, it opens at most maxConns connections to
// a host (those at work and those idle together), waits for one when all
// are at work, and closes a connection idle longer than idleTimeout. A
// connection the receiver closed while it was idle is found when it is
// used: the request goes again, once, over a new connection (deliveries
// are at least once anyway; the receiver tells a repeat by its
// webhook-id).
type poster struct {
	dial        func(ctx context.Context, network, address string) (net.Conn, error)
	tls         *tls.Config // of https endpoints; ServerName is set per host
	maxConns    int
	idleTimeout time.Duration

	bufs sync.Pool // of *[]byte: the buffers requests are made in

	mu    sync.Mutex
	hosts map[string]*hostConns // by scheme://host:port
}

// hostConns are the connections of one host: a token in slots for each
// one open (or being dialed), the idle ones in idle.
type hostConns struct {
	slots chan struct{}
	idle  chan *keptConn
}

// keptConn is a connection with its reader, and since when it is idle.
type keptConn struct {
	net.Conn
	br        *bufio.Reader
	budget    budgetReader // what br reads through
	idleSince time.Time
	reused    bool
}

// maxAnswer bounds what one answer may make the poster read: its status
// line and headers (at most 1 MB; Go's client allows 10) and the 64 KB of
// body a delivery reads. A receiver is anybody's URL: one that streamed
// headers without end would otherwise grow the server's memory until the
// delivery's timeout.
const maxAnswer = 1<<20 + 64<<10 + 4<<10

// errAnswerTooLarge: the receiver's answer ran past maxAnswer.
var errAnswerTooLarge = errors.New("answer too large")

// budgetReader reads from r until n bytes are read, then fails.
type budgetReader struct {
	r io.Reader
	n int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errAnswerTooLarge
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}

func newPoster(dial func(ctx context.Context, network, address string) (net.Conn, error), tlsConfig *tls.Config,
	maxConns int, idleTimeout time.Duration) *poster {
	return &poster{dial: dial, tls: tlsConfig, maxConns: maxConns, idleTimeout: idleTimeout, hosts: map[string]*hostConns{},
		bufs: sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}}
}

// header is one header line of a request.
type header struct{ name, value string }

// post sends body to u (http or https) with headers, within timeout and
// ctx, and returns the answer's status code and status line. An answer's
// body is read (up to 64 KB) and dropped.
func (p *poster) post(ctx context.Context, u *url.URL, headers []header, body string, timeout time.Duration) (int, string, error) {
	addr, key, err := hostAddr(u)
	if err != nil {
		return 0, "", err
	}
	h := p.host(key)
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	bp := p.bufs.Get().(*[]byte)
	req := appendRequest((*bp)[:0], u, headers, body)
	defer func() { *bp = req[:0]; p.bufs.Put(bp) }()

	for try := 0; ; try++ {
		c, err := p.take(ctx, h, u, addr)
		if err != nil {
			return 0, "", err
		}
		status, line, keep, err := c.roundTrip(ctx, req, deadline)
		if err != nil {
			p.discard(h, c)
			if c.reused && try == 0 && errors.Is(err, errStale) {
				// Closed by the receiver while idle: so are its other idle
				// ones, likely (it restarted, or times them out alike).
				p.dropIdle(h)
				continue
			}
			return 0, "", err
		}
		if keep {
			p.put(h, c)
		} else {
			p.discard(h, c)
		}
		return status, line, nil
	}
}

// errStale: a kept connection ended before any byte of an answer.
var errStale = errors.New("connection closed before an answer")

// roundTrip writes req and reads its answer; keep says whether the
// connection can carry another request.
func (c *keptConn) roundTrip(ctx context.Context, req []byte, deadline time.Time) (status int, line string, keep bool, err error) {
	if err := c.SetDeadline(deadline); err != nil {
		return 0, "", false, fmt.Errorf("set deadline: %w", err)
	}
	c.budget.n = maxAnswer
	// A cancelled ctx (the runner stopping) ends the wait at once.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.Write(req); err != nil {
		if c.reused && !isTimeout(err) {
			return 0, "", false, fmt.Errorf("%w: %w", errStale, err)
		}
		return 0, "", false, ctxErr(ctx, fmt.Errorf("write request: %w", err))
	}
	if _, err := c.br.Peek(1); err != nil {
		if c.reused && !isTimeout(err) {
			return 0, "", false, fmt.Errorf("%w: %w", errStale, err)
		}
		return 0, "", false, ctxErr(ctx, fmt.Errorf("read answer: %w", err))
	}
	for {
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			return 0, "", false, ctxErr(ctx, fmt.Errorf("read answer: %w", err))
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue // informational (103 Early Hints): the answer follows
		}
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return resp.StatusCode, resp.Status, false, nil // the status came: the body does not matter
		}
		// Reusable only when the body ended within the limit, and the
		// receiver keeps the connection.
		var one [1]byte
		n, err := resp.Body.Read(one[:])
		return resp.StatusCode, resp.Status, n == 0 && err == io.EOF && !resp.Close, nil
	}
}

// isTimeout reports whether err is a deadline passed (or ctx cancelled:
// the deadline set to the past).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ctxErr names ctx's end when it caused err.
func ctxErr(ctx context.Context, err error) error {
	if cerr := context.Cause(ctx); cerr != nil && isTimeout(err) {
		return fmt.Errorf("%w (%w)", err, cerr)
	}
	return err
}

// appendRequest appends the HTTP/1.1 request that posts body to u.
func appendRequest(b []byte, u *url.URL, headers []header, body string) []byte {
	b = append(b, "POST "...)
	b = append(b, u.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, u.Host...)
	for _, h := range headers {
		b = append(b, "\r\n"...)
		b = append(b, h.name...)
		b = append(b, ": "...)
		b = append(b, h.value...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

// hostAddr returns the address to dial for u, and the key of its
// connections.
func hostAddr(u *url.URL) (addr, key string, err error) {
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	case u.Scheme == "http":
		port = "80"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	addr = net.JoinHostPort(u.Hostname(), port)
	return addr, u.Scheme + "://" + addr, nil
}

// host returns the connections of key, made on first use.
func (p *poster) host(key string) *hostConns {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.hosts[key]
	if h == nil {
		h = &hostConns{slots: make(chan struct{}, p.maxConns), idle: make(chan *keptConn, p.maxConns)}
		p.hosts[key] = h
	}
	return h
}

// take returns an idle connection of h, or a new one while h has fewer
// than maxConns, or waits for one of those.
func (p *poster) take(ctx context.Context, h *hostConns, u *url.URL, addr string) (*keptConn, error) {
	for {
		select {
		case c := <-h.idle:
			if p.fresh(h, c) {
				return c, nil
			}
			continue
		default:
		}
		select {
		case c := <-h.idle:
			if p.fresh(h, c) {
				return c, nil
			}
		case h.slots <- struct{}{}:
			c, err := p.connect(ctx, u, addr)
			if err != nil {
				<-h.slots
				return nil, err
			}
			return c, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for a connection: %w", context.Cause(ctx))
		}
	}
}

// fresh reports whether idle connection c may be used; one idle too long
// is closed.
func (p *poster) fresh(h *hostConns, c *keptConn) bool {
	if time.Since(c.idleSince) <= p.idleTimeout {
		c.reused = true
		return true
	}
	p.discard(h, c)
	return false
}

// connect dials addr, with TLS for https.
func (p *poster) connect(ctx context.Context, u *url.URL, addr string) (*keptConn, error) {
	conn, err := p.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "https" {
		cfg := p.tls.Clone()
		cfg.ServerName = u.Hostname()
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		conn = tc
	}
	c := &keptConn{Conn: conn, budget: budgetReader{r: conn}}
	c.br = bufio.NewReaderSize(&c.budget, 4096)
	return c, nil
}

// put keeps c for the host's next request.
func (p *poster) put(h *hostConns, c *keptConn) {
	c.idleSince = time.Now()
	c.reused = false
	h.idle <- c // never blocks: h has room for every connection it opened
}

// discard closes c and frees its place.
func (p *poster) discard(h *hostConns, c *keptConn) {
	_ = c.Close()
	<-h.slots
}

// dropIdle closes h's idle connections.
func (p *poster) dropIdle(h *hostConns) { p.closeIdleOf(h, 0) }

// closeIdleOf closes h's connections idle longer than maxIdle (all of
// them for 0).
func (p *poster) closeIdleOf(h *hostConns, maxIdle time.Duration) {
	var keep []*keptConn
	for {
		select {
		case c := <-h.idle:
			if time.Since(c.idleSince) >= maxIdle {
				p.discard(h, c)
			} else {
				keep = append(keep, c)
			}
		default:
			for _, c := range keep {
				h.idle <- c
			}
			return
		}
	}
}

// closeIdle closes the idle connections of every host: all of them when
// all is set, else those idle longer than idleTimeout.
func (p *poster) closeIdle(all bool) {
	maxIdle := p.idleTimeout
	if all {
		maxIdle = 0
	}
	p.mu.Lock()
	hosts := make([]*hostConns, 0, len(p.hosts))
	for _, h := range p.hosts {
		hosts = append(hosts, h)
	}
	p.mu.Unlock()
	for _, h := range hosts {
		p.closeIdleOf(h, maxIdle)
	}
}

// sweep closes idle connections past idleTimeout every half of it until
// ctx ends, then all the idle ones.
func (p *poster) sweep(ctx context.Context) {
	t := time.NewTicker(p.idleTimeout / 2)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.closeIdle(false)
		case <-ctx.Done():
			p.closeIdle(true)
			return
		}
	}
}
