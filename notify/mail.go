// Package notify tells people of leads: email over SMTP to the rep a lead
// is assigned to, and to managers when a lead needs them.
package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// SMTPConfig says how to send mail.
type SMTPConfig struct {
	// Addr is the SMTP server, host:port.
	Addr string
	// From is the sender, an address with an optional name:
	// "leadrotor <leads@example.com>".
	From string
	// Username and Password, when Username is set, authenticate (PLAIN,
	// only over TLS or to a loopback server).
	Username, Password string
	// TLS is "starttls" (the default: upgrade when the server offers it),
	// "tls" (TLS from the first byte, as on port 465) or "none".
	TLS string
	// Timeout bounds one message's delivery to the server (default 30s).
	Timeout time.Duration
}

// Mailer sends mail through one SMTP server.
type Mailer struct {
	cfg  SMTPConfig
	from *mail.Address
}

// NewMailer checks cfg and returns a Mailer.
func NewMailer(cfg SMTPConfig) (*Mailer, error) {
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("smtp address %q: must be host:port", cfg.Addr)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp from %q: %w", cfg.From, err)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = "starttls"
	case "starttls", "tls", "none":
	default:
		return nil, fmt.Errorf("smtp tls %q: must be starttls, tls or none", cfg.TLS)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Mailer{cfg: cfg, from: from}, nil
}

// Message is one plain-text email.
type Message struct {
	To      []string
	Subject string
	Text    string
}

// Send delivers msg to the SMTP server, within the Mailer's timeout or
// ctx's deadline, whichever comes first.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	if len(msg.To) == 0 {
		return errors.New("send mail: no recipient")
	}
	to := make([]*mail.Address, len(msg.To))
	for i, addr := range msg.To {
		a, err := mail.ParseAddress(addr)
		if err != nil {
			return fmt.Errorf("send mail: recipient %q: %w", addr, err)
		}
		to[i] = a
	}
	body, err := m.compose(to, msg)
	if err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	c, err := m.dial(ctx)
	if err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	defer func() { _ = c.Close() }()
	if err := m.deliver(c, to, body); err != nil {
		return fmt.Errorf("send mail via %s: %w", m.cfg.Addr, err)
	}
	return nil
}

// dial connects to the server, with TLS from the start when configured,
// and gives up when ctx ends.
func (m *Mailer) dial(ctx context.Context) (*smtp.Client, error) {
	host, _, _ := net.SplitHostPort(m.cfg.Addr)
	var conn net.Conn
	var err error
	if m.cfg.TLS == "tls" {
		d := &tls.Dialer{Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
		conn, err = d.DialContext(ctx, "tcp", m.cfg.Addr)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", m.cfg.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", m.cfg.Addr, err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("greeting from %s: %w", m.cfg.Addr, err)
	}
	return c, nil
}

func (m *Mailer) deliver(c *smtp.Client, to []*mail.Address, body []byte) error {
	host, _, _ := net.SplitHostPort(m.cfg.Addr)
	if m.cfg.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
				return fmt.Errorf("starttls: %w", err)
			}
		}
	}
	if m.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	for _, a := range to {
		if err := c.Rcpt(a.Address); err != nil {
			return fmt.Errorf("rcpt to %s: %w", a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	return c.Quit()
}

// compose writes msg as an RFC 5322 message: encoded headers (no header
// can be injected through a lead's fields), quoted-printable UTF-8 text.
func (m *Mailer) compose(to []*mail.Address, msg Message) ([]byte, error) {
	var b bytes.Buffer
	rcpts := make([]string, len(to))
	for i, a := range to {
		rcpts[i] = a.String()
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	_, domain, _ := strings.Cut(m.from.Address, "@")
	headers := [][2]string{
		{"From", m.from.String()},
		{"To", strings.Join(rcpts, ", ")},
		{"Subject", mime.QEncoding.Encode("utf-8", oneLine(msg.Subject))},
		{"Date", time.Now().UTC().Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id) + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
	}
	for _, h := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(msg.Text, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// oneLine makes s one header line: line breaks and other control
// characters become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// LeadURL is the console page of lead l under consoleURL (the server's
// public address, e.g. https://leads.example.com).
func LeadURL(consoleURL string, l *leads.Lead) string {
	return strings.TrimRight(consoleURL, "/") + "/console/leads/" + strconv.FormatInt(l.ID, 10)
}

// AssignedMail is the email that tells a rep a lead is theirs.
func AssignedMail(consoleURL string, l *leads.Lead) Message {
	name := strings.TrimSpace(l.FirstName + " " + l.LastName)
	subject := "New lead: " + name
	if l.Company != "" {
		subject += " (" + l.Company + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s is yours.\n\n", name)
	for _, f := range [][2]string{{"Company", l.Company}, {"Email", l.Email}, {"Phone", l.Phone}, {"Job title", l.JobTitle}} {
		if f[1] != "" {
			fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
		}
	}
	fmt.Fprintf(&b, "\nOpen it: %s\n", LeadURL(consoleURL, l))
	return Message{To: []string{l.AssignedTo}, Subject: subject, Text: b.String()}
}

// EscalationMail is the email that tells managers a lead needs them, and
// why (e.g. "nobody accepted it within 5m, 3 times").
func EscalationMail(consoleURL string, l *leads.Lead, managers []string, why string) Message {
	name := strings.TrimSpace(l.FirstName + " " + l.LastName)
	text := fmt.Sprintf("Lead %s needs you: %s.\n\nOpen it: %s\n", name, why, LeadURL(consoleURL, l))
	return Message{To: managers, Subject: "Lead needs attention: " + name, Text: text}
}
