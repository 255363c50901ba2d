package activities

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// messageID derives the Message-ID from the idempotency key, so every
// retry of an action sends the same one and a receiving system that
// deduplicates drops a resent mail. The key is hashed: it holds characters
// (slashes, spaces) that a Message-ID may not.
func messageID(idempotencyKey, from string) string {
	domain := "triggerd.local"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" {
		domain = strings.Trim(d, "<> ")
	}
	sum := sha256.Sum256([]byte(idempotencyKey))
	return fmt.Sprintf("<%s@%s>", hex.EncodeToString(sum[:16]), domain)
}

// NotifyEmail sends one email through the configured SMTP server.
func (a *Activities) NotifyEmail(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg NotificationConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	subject, body, html, err := a.message(cfg)
	if err != nil {
		return nil, err
	}
	s := a.notifications.SMTP
	if s.Host == "" {
		return nil, notConfigured("notifications.smtp")
	}
	rcpts, err := stringList(cfg.Recipients, "recipients")
	if err != nil {
		return nil, err
	}
	if len(rcpts) == 0 {
		return nil, invalidConfig("recipients: want at least one address")
	}
	// A malformed address (or one carrying CR/LF to inject headers) would
	// be refused at RCPT time on every retry: refuse it here, once.
	for i, r := range rcpts {
		addr, err := mail.ParseAddress(r)
		if err != nil {
			return nil, invalidConfig("recipients[%d]: %q is not an email address: %v", i, r, err)
		}
		rcpts[i] = addr.Address
	}
	msgID := messageID(req.IdempotencyKey, s.From)
	raw := buildMail(s.From, rcpts, subject, body, html, msgID, time.Now())
	if err := sendMail(ctx, s, a.policy(s.Egress), rcpts, raw); err != nil {
		return nil, err
	}
	return EmailOutput{Recipients: rcpts, Subject: subject, MessageID: msgID}, nil
}

// buildMail formats one message. The subject is RFC 2047-encoded when it is
// not ASCII and the body quoted-printable, so any UTF-8 text crosses any
// server (no 8BITMIME needed, no line over 998 octets).
func buildMail(from string, to []string, subject, body string, html bool, msgID string, now time.Time) []byte {
	ctype := "text/plain; charset=utf-8"
	if html {
		ctype = "text/html; charset=utf-8"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\nContent-Type: %s\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
		from, strings.Join(to, ", "), mime.QEncoding.Encode("utf-8", headerSafe(subject)), now.UTC().Format(time.RFC1123Z), msgID, ctype)
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")))
	_ = qp.Close()
	return []byte(b.String())
}

// headerSafe keeps a rendered subject from injecting headers.
func headerSafe(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// sendMail runs one SMTP transaction. Replies are classified by code: 5xx
// permanent (the server will refuse again), 4xx and transport failures
// retryable.
func sendMail(ctx context.Context, s SMTPSettings, pol *egress.Policy, rcpts []string, raw []byte) (err error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	port := s.Port
	if port == 0 {
		port = 25
	}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(port))
	tlsConf := &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	if s.TLSConfig != nil {
		tlsConf = s.TLSConfig.Clone()
		if tlsConf.ServerName == "" {
			tlsConf.ServerName = s.Host
		}
	}
	conn, err := pol.Dialer().DialContext(ctx, "tcp", addr)
	if err != nil {
		return classifySMTP(addr, "connect", err)
	}
	if s.TLS == SMTPTLSImplicit {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return classifySMTP(addr, "connect", err)
		}
		conn = tc
	}
	defer conn.Close()
	// net/smtp has no context: the deadline bounds every read and write.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		return classifySMTP(addr, "greeting", err)
	}
	defer c.Close()
	if s.TLS == SMTPTLSStartTLS {
		// Refuse to go on in plaintext: the password and the mail would
		// cross the network unencrypted, which is what the setting forbids.
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return permanent(errtype.InvalidConfig, fmt.Errorf("smtp %s: server does not offer STARTTLS (notifications.smtp.tls is starttls)", addr))
		}
		if err := c.StartTLS(tlsConf); err != nil {
			return classifySMTP(addr, "STARTTLS", err)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			return classifySMTP(addr, "AUTH", err)
		}
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return permanent(errtype.InvalidConfig, fmt.Errorf("notifications.smtp.from %q: %v", s.From, err))
	}
	if err := c.Mail(from.Address); err != nil {
		return classifySMTP(addr, "MAIL FROM", err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return classifySMTP(addr, "RCPT TO "+r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return classifySMTP(addr, "DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		return classifySMTP(addr, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return classifySMTP(addr, "DATA", err)
	}
	// The message is accepted once DATA is; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// classifySMTP types an SMTP failure: a 5xx reply is permanent (the server
// will refuse again), a 4xx reply retryable; a certificate the worker does
// not trust is a configuration problem no retry fixes; anything else
// (refused, reset, timed out) is a transport failure, retryable.
func classifySMTP(addr, stage string, err error) error {
	e := fmt.Errorf("smtp %s: %s: %w", addr, stage, err)
	if denied, ok := egressDenied(e); ok {
		return denied
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		if tp.Code >= 500 {
			return permanent(errtype.SMTPRejected, e)
		}
		return transient(errtype.SMTPTransient, e, 0)
	}
	var verr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	if errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) {
		return permanent(errtype.InvalidConfig, e)
	}
	// net/smtp reports a PLAIN auth refused before sending (no TLS, not
	// localhost) as a plain error: a configuration problem too.
	if stage == "AUTH" && strings.Contains(err.Error(), "unencrypted connection") {
		return permanent(errtype.InvalidConfig, e)
	}
	return classifyTransport(e, "")
}

// EmailOutput is the output of notification.email.
type EmailOutput struct {
	Recipients []string `json:"recipients"`
	Subject    string   `json:"subject"`
	MessageID  string   `json:"messageId"`
}
