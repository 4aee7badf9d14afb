// Package faultnet is a TCP proxy for tests that need a network that fails:
// put it between a client and a real server (PostgreSQL, Redis), then cut
// every connection, or hold the bytes in flight as a hung server or a
// partition would, and restore it.
package faultnet

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards connections from its own address to a target address.
type Proxy struct {
	target string
	ln     net.Listener

	mu       sync.Mutex
	cond     *sync.Cond
	held     bool // bytes wait instead of being forwarded
	heldBack bool // bytes from the target wait
	cut      bool // new connections are closed at once
	conns    map[net.Conn]bool
	accepted int
	closed   bool
}

// Start returns a proxy to target listening on a free loopback port; it is
// closed when the test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("faultnet: listen: %v", err)
	}
	p := &Proxy{target: target, ln: ln, conns: make(map[net.Conn]bool)}
	p.cond = sync.NewCond(&p.mu)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// Addr is the host:port to connect to instead of the target's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection and closes new ones at once, as a server that
// went down does, until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.held = true, false
	p.closeConnsLocked()
	p.cond.Broadcast()
}

// Hold stops forwarding: connections stay open and what is sent waits, as
// with a server that hangs, until Restore delivers it.
func (p *Proxy) Hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = true
}

// HoldReplies stops forwarding what the target sends, only: requests reach
// it, and its answers wait, as when they are lost on the way back, until
// Restore delivers them.
func (p *Proxy) HoldReplies() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.heldBack = true
}

// Restore forwards again, first what waited.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held, p.heldBack, p.cut = false, false, false
	p.cond.Broadcast()
}

// Accepted counts the connections the proxy accepted and forwarded.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed, p.held, p.heldBack = true, false, false
	p.closeConnsLocked()
	p.cond.Broadcast()
	p.mu.Unlock()
	_ = p.ln.Close()
}

func (p *Proxy) closeConnsLocked() {
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

func (p *Proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.cut || p.closed
		p.mu.Unlock()
		if refuse {
			_ = client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		if p.cut || p.closed {
			p.mu.Unlock()
			_ = client.Close()
			_ = server.Close()
			continue
		}
		p.conns[client], p.conns[server] = true, true
		p.accepted++
		p.mu.Unlock()
		go p.pipe(server, client, false)
		go p.pipe(client, server, true)
	}
}

// pipe copies from src to dst, waiting while the proxy holds (back: the
// bytes come from the target); when either side ends, both are closed.
func (p *Proxy) pipe(dst, src net.Conn, back bool) {
	defer func() {
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
		_ = dst.Close()
		_ = src.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait(back) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed side: end both
		}
	}
}

// wait blocks while the proxy holds; false when the connection must end.
func (p *Proxy) wait(back bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.held || (back && p.heldBack) {
		p.cond.Wait()
	}
	return !p.cut && !p.closed
}
