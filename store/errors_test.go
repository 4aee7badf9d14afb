package store_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestUnavailableDatabaseIsADomainError reaches PostgreSQL through a proxy,
// then takes the proxy down, as a database that goes away: every kind of
// call (a bun read, a bun transaction, the hand-written lead facts read, the
// insert through pgx, a lock) returns SERVICE_UNAVAILABLE, the driver's
// error kept as its cause. The domain reads codes only; it never sees a
// network or SQL error.
func TestUnavailableDatabaseIsADomainError(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresSchemaDSN(t)
	if dsn == "" {
		t.Skip("needs PostgreSQL: a SQLite file does not go away")
	}
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	p := startProxy(t, u.Host)
	u.Host = p.addr
	ctx := context.Background()
	s, err := store.Open(ctx, u.String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.CreateAccount(ctx, &leads.Account{ID: "a", DuplicatePolicy: leads.DuplicateReject, CreatedAt: now, UpdatedAt: now}))
	p.down()

	calls := map[string]func() error{
		"Account": func() error { _, err := s.Account(ctx, "a"); return err },
		"LeadFacts": func() error {
			_, err := s.LeadFacts(ctx, leads.LeadFactsQuery{AccountID: "a", EmailKey: "x@y.io"})
			return err
		},
		"InsertLead": func() error {
			l := &leads.Lead{AccountID: "a", LeadInput: leads.LeadInput{FirstName: "A", LastName: "B"}, CreatedAt: now, UpdatedAt: now}
			return s.InsertLead(ctx, &leads.NewLead{Lead: l, Audit: []leads.AuditEntry{{AccountID: "a", Event: "created", Created: now}}})
		},
		"UpdateAccount": func() error {
			_, err := s.UpdateAccount(ctx, "a", func(cur *leads.Account) (*leads.Account, []leads.AuditEntry, error) { return nil, nil, nil })
			return err
		},
		"ListLeads": func() error { _, err := s.ListLeads(ctx, leads.LeadQuery{AccountID: "a", Limit: 10}); return err },
		"TryLock":   func() error { _, _, err := s.TryLock(ctx, "x"); return err },
		"Ping":      func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		err := call()
		require.Equal(t, leads.CodeServiceUnavailable, leads.ErrorCode(err), "%s: %v", name, err)
		require.True(t, leads.IsUnavailable(err), name)
		var e *leads.Error
		require.ErrorAs(t, err, &e)
		require.NotNil(t, e.Err, "%s: the cause is kept", name)
	}
}

// TestEveryStoreMethodTranslates reads the store's source: each exported
// method of *Store that returns an error and talks to the database
// translates its errors at its return (defer translate(&err)), so that no
// path hands the domain a driver's error.
func TestEveryStoreMethodTranslates(t *testing.T) {
	t.Parallel()
	exempt := map[string]bool{"Close": true, "Migrate": true} // for cmd, not the domain
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		if filepath.Ext(f) != ".go" || len(f) > 8 && f[len(f)-8:] == "_test.go" {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || !fn.Name.IsExported() || exempt[fn.Name.Name] || !returnsError(fn) {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); !ok || star.X.(*ast.Ident).Name != "Store" {
				continue
			}
			checked++
			first, ok := fn.Body.List[0].(*ast.DeferStmt)
			call, _ := first.Call.Fun.(*ast.Ident)
			require.True(t, ok && call != nil && call.Name == "translate", "%s: %s does not start with defer translate(&err)", f, fn.Name.Name)
		}
	}
	require.Greater(t, checked, 30)
}

func returnsError(fn *ast.FuncDecl) bool {
	res := fn.Type.Results
	if res == nil {
		return false
	}
	last, ok := res.List[len(res.List)-1].Type.(*ast.Ident)
	return ok && last.Name == "error"
}

// proxy forwards TCP connections to a server until down.
type proxy struct {
	addr  string
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{addr: ln.Addr().String(), ln: ln}
	t.Cleanup(p.down)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
	return p
}

// down refuses new connections and cuts the open ones.
func (p *proxy) down() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}
