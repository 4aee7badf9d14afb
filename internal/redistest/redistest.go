// Package redistest starts real Redis deployments for tests, as processes
// of Debian's redis-server on free loopback ports in temporary directories,
// keeping nothing on disk: one server (Standalone), a Redis Cluster of
// three masters (StartCluster), and a Sentinel group of a master, a replica
// and three sentinels (StartSentinel). Each returns once the deployment
// serves: the cluster's slots all covered on every node, the replica in
// sync and the sentinels aware of it and of each other.
//
// A missing redis-server skips the test, unless LEADROTOR_TEST_REQUIRE
// names the deployment ("redis-cluster", "redis-sentinel"; see Require).
package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Binary is the redis-server the package starts.
const Binary = "redis-server"

// Required reports whether LEADROTOR_TEST_REQUIRE (a comma-separated list)
// names what.
func Required(what string) bool {
	return slices.Contains(strings.Split(os.Getenv("LEADROTOR_TEST_REQUIRE"), ","), what)
}

// Available returns nil when redis-server can be started here.
func Available() error {
	if _, err := exec.LookPath(Binary); err != nil {
		return fmt.Errorf("%s is not installed (Debian package redis-server): %w", Binary, err)
	}
	return nil
}

// Require skips t when redis-server is missing, or fails it when
// LEADROTOR_TEST_REQUIRE names what.
func Require(t testing.TB, what string) {
	t.Helper()
	if err := Available(); err != nil {
		if Required(what) {
			t.Fatalf("%s is required (LEADROTOR_TEST_REQUIRE) but cannot run: %v", what, err)
		}
		t.Skipf("skipping %s: %v", what, err)
	}
}

// Process is one redis-server (or sentinel) process.
type Process struct {
	Port int
	Dir  string
	cmd  *exec.Cmd
	done chan struct{}
	log  *bytes.Buffer
}

// Addr is the process's host:port on loopback.
func (p *Process) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

// Client returns a new client of this one process.
func (p *Process) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1, DialTimeout: time.Second})
}

// Kill sends SIGKILL and waits for the process to end.
func (p *Process) Kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// Alive reports whether the process still runs.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Log is what the process wrote to its log file so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "redis.log"))
	return string(b)
}

// freePort returns a loopback port free now, with port+10000 free too (a
// cluster node's bus port).
func freePort() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if port+10000 > 65535 {
			_ = l.Close()
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		_ = l.Close()
		if err != nil {
			continue
		}
		_ = bus.Close()
		return port, nil
	}
	return 0, errors.New("no free loopback port pair")
}

// start runs redis-server in a new temporary directory with conf (lines of
// a configuration file) and the given extra arguments, on a free port, and
// waits until it answers PING. A port taken meanwhile by another program
// is retried with another.
func start(conf []string, extra ...string) (*Process, error) {
	var lastErr error
	for range 5 {
		p, err := startOnce(conf, extra...)
		if err == nil {
			return p, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOnce(conf []string, extra ...string) (*Process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	lines := append([]string{
		"port " + strconv.Itoa(port),
		"bind 127.0.0.1",
		"dir " + dir,
		`save ""`,
		"appendonly no",
		"logfile " + filepath.Join(dir, "redis.log"),
		"protected-mode no",
	}, conf...)
	file := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(Binary, append([]string{file}, extra...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// A test binary that dies takes its servers with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", Binary, err)
	}
	p := &Process{Port: port, Dir: dir, cmd: cmd, done: make(chan struct{}), log: &out}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	c := p.Client()
	defer func() { _ = c.Close() }()
	err = poll(10*time.Second, func(ctx context.Context) error {
		if !p.Alive() {
			return errStop
		}
		return c.Ping(ctx).Err()
	})
	if err != nil {
		p.Kill()
		logText := p.Log()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("redis-server on port %d did not come up: %w\n%s%s", port, err, out.String(), logText)
	}
	return p, nil
}

// stop kills the process and removes its directory.
func (p *Process) stop() {
	p.Kill()
	_ = os.RemoveAll(p.Dir)
}

var errStop = errors.New("process ended")

// poll calls f until it returns nil, errStop, or the time is up; each call
// gets a context of one second at most.
func poll(within time.Duration, f func(ctx context.Context) error) error {
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := f(ctx)
		cancel()
		if err == nil || errors.Is(err, errStop) {
			return err
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Standalone starts one Redis server for t, stopped when t ends.
func Standalone(t testing.TB) *Process {
	t.Helper()
	Require(t, "redis")
	p, err := start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}
