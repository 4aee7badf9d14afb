// Package mailtest runs a real SMTP server for tests, on loopback ports:
// mailpit (github.com/axllent/mailpit), built once into the user's cache
// directory, or LEADROTOR_MAILPIT. Tests read what arrived through its API.
package mailtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Version is the mailpit release the tests build.
const Version = "v1.33.1"

// Server is a running mailpit.
type Server struct {
	// SMTP is the address mail is sent to (127.0.0.1:port).
	SMTP string
	api  string
}

// Message is a message as mailpit lists it.
type Message struct {
	ID      string    `json:"ID"`
	From    Address   `json:"From"`
	To      []Address `json:"To"`
	Subject string    `json:"Subject"`
}

// Address is one sender or recipient.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

var buildOnce sync.Once

// binary returns the path of a mailpit to run: LEADROTOR_MAILPIT, one on
// PATH, or one built into the cache directory.
func binary(t testing.TB) (string, error) {
	if p := os.Getenv("LEADROTOR_MAILPIT"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache directory: %w", err)
	}
	dir := filepath.Join(cache, "leadrotor", "mailpit-"+Version)
	bin := filepath.Join(dir, "mailpit")
	var buildErr error
	buildOnce.Do(func() {
		if _, err := os.Stat(bin); err == nil {
			return
		}
		// Built into a directory of its own, then renamed: packages
		// building at once never run a half-written binary.
		tmp, err := os.MkdirTemp(filepath.Dir(dir), "mailpit-build-")
		if err != nil {
			if err = os.MkdirAll(filepath.Dir(dir), 0o755); err == nil {
				tmp, err = os.MkdirTemp(filepath.Dir(dir), "mailpit-build-")
			}
			if err != nil {
				buildErr = err
				return
			}
		}
		t.Logf("mailtest: building mailpit %s into %s", Version, dir)
		cmd := exec.Command("go", "install", "github.com/axllent/mailpit@"+Version)
		cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go install mailpit: %w: %s", err, out)
			return
		}
		if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) {
			if _, statErr := os.Stat(bin); statErr != nil {
				buildErr = fmt.Errorf("install mailpit: %w", err)
			}
		}
	})
	if buildErr != nil {
		return "", buildErr
	}
	return bin, nil
}

// Start runs a mailpit for t on two free loopback ports, stopped when t
// ends. A test that cannot have one fails: mail is part of the product.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := binary(t)
	if err != nil {
		t.Fatalf("mailtest: %v", err)
	}
	smtpPort, apiPort := freePort(t), freePort(t)
	s := &Server{SMTP: "127.0.0.1:" + strconv.Itoa(smtpPort), api: "http://127.0.0.1:" + strconv.Itoa(apiPort)}
	cmd := exec.Command(bin, "--smtp", s.SMTP, "--listen", "127.0.0.1:"+strconv.Itoa(apiPort),
		"--quiet", "--disable-version-check", "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	if err := cmd.Start(); err != nil {
		t.Fatalf("mailtest: start mailpit: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := s.Messages(context.Background()); err == nil {
			if c, err := net.DialTimeout("tcp", s.SMTP, time.Second); err == nil {
				_ = c.Close()
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailtest: mailpit did not answer on %s", s.api)
		}
		time.Sleep(20 * time.Millisecond) // a process starting: nothing to wait on but its port
	}
}

// Messages lists the messages received, newest first.
func (s *Server) Messages(ctx context.Context) ([]Message, error) {
	var out struct {
		Messages []Message `json:"messages"`
	}
	if err := s.get(ctx, "/api/v1/messages", &out); err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// To returns the messages received for address alone, newest first.
func (s *Server) To(ctx context.Context, address string) ([]Message, error) {
	msgs, err := s.Messages(ctx)
	if err != nil {
		return nil, err
	}
	var out []Message
	for _, m := range msgs {
		if len(m.To) == 1 && m.To[0].Address == address {
			out = append(out, m)
		}
	}
	return out, nil
}

// Text returns the plain text body of message id.
func (s *Server) Text(ctx context.Context, id string) (string, error) {
	var out struct {
		Text string `json:"Text"`
	}
	if err := s.get(ctx, "/api/v1/message/"+id, &out); err != nil {
		return "", err
	}
	return out.Text, nil
}

func (s *Server) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.api+path, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit %s: %s", path, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
