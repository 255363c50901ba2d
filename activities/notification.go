package activities

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// SMTP TLS modes of SMTPSettings.TLS.
const (
	SMTPTLSNone     = "none"
	SMTPTLSStartTLS = "starttls"
	SMTPTLSImplicit = "tls"
)

// SMTPSettings is the mail server of notification.email.
type SMTPSettings struct {
	Host     string
	Port     int
	Username string
	Password string
	// From is the envelope sender and From header; its domain is the
	// right-hand side of the Message-ID.
	From string
	// TLS is none, starttls or tls (implicit TLS, usually port 465).
	TLS string
	// TLSConfig verifies the server (CA, server name); nil means the
	// system roots and Host.
	TLSConfig *tls.Config
	// Timeout bounds the whole SMTP exchange (default 30s).
	Timeout time.Duration
	// Egress is the mail server's own policy, nil for the actions'.
	Egress *egress.Policy
}

// MessageTemplate is one message of a notification. Subject (the title of
// a push) and Body hold {{name}} placeholders (see renderMessage).
type MessageTemplate struct {
	Subject string
	Body    string
	HTML    bool
}

// Endpoint is an HTTP provider (SMS gateway, push service, callback). Auth
// works as an app's (bearer, basic, API key, OAuth2 client credentials).
type Endpoint struct {
	URL     string
	Headers map[string]string
	Auth    IntegrationAuth
	// Egress is the provider's own policy, nil for the actions'.
	Egress *egress.Policy
}

// Notifications configures the notification.* actions.
type Notifications struct {
	SMTP SMTPSettings
	// Templates by notification tag, then message tag.
	Templates map[string]map[string]MessageTemplate
	SMS       Endpoint
	Push      Endpoint
	// Callbacks by notification tag: notification.callback with
	// "webhooks:order-created" posts to Callbacks["webhooks"].
	Callbacks map[string]Endpoint
}

// WithNotifications enables the notification.* actions.
func WithNotifications(n Notifications) Option {
	return func(a *Activities) { a.notifications = &n }
}

// NotificationConfig is the config of the notification.* actions, with
// Ductape's key names.
type NotificationConfig struct {
	// Notification is "notification_tag:message_tag", resolved against the
	// worker's templates (for callbacks, the tag names the callback).
	Notification string `json:"notification"`
	// Recipients is a list or a single string (emails, phone numbers).
	Recipients   any `json:"recipients,omitempty"`
	DeviceTokens any `json:"device_tokens,omitempty"`
	// Subject is either the variables of the subject template (a mapping)
	// or the subject itself (a string), as in Ductape's complete example.
	Subject any            `json:"subject,omitempty"`
	Title   map[string]any `json:"title,omitempty"`
	// Template, Variables and Body are the variables of the body template
	// (Ductape's email, complete example and sms/push spellings); on a
	// clash the later one wins.
	Template  map[string]any `json:"template,omitempty"`
	Variables map[string]any `json:"variables,omitempty"`
	Body      map[string]any `json:"body,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	Callback  *struct {
		Body    any            `json:"body,omitempty"`
		Headers map[string]any `json:"headers,omitempty"`
	} `json:"callback,omitempty"`
}

// EmailOutput is the output of notification.email.
type EmailOutput struct {
	Recipients []string `json:"recipients"`
	Subject    string   `json:"subject"`
	MessageID  string   `json:"messageId"`
}

// placeholder is a {{name}} or {{a.b.c}} of a message template.
var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}`)

// lookupPath follows a dotted path into nested maps.
func lookupPath(vars map[string]any, path string) (any, bool) {
	var cur any = vars
	for _, part := range strings.Split(path, ".") {
		mp, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mp[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// renderMessage substitutes {{name}} placeholders with vars, following
// dotted paths into maps. It is deliberately tiny (no sections, no
// escaping): message templates are worker configuration, and a missing
// variable renders empty like mustache does. Non-string values are JSON.
func renderMessage(tpl string, vars map[string]any) string {
	return placeholder.ReplaceAllStringFunc(tpl, func(m string) string {
		v, _ := lookupPath(vars, placeholder.FindStringSubmatch(m)[1])
		switch v := v.(type) {
		case nil:
			return ""
		case string:
			return v
		default:
			if s, err := stringish(v); err == nil {
				return s
			}
			b, _ := json.Marshal(v)
			return string(b)
		}
	})
}

func mergeVars(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// stringList accepts a list of strings or one string.
func stringList(v any, field string) ([]string, error) {
	var out []string
	switch x := v.(type) {
	case nil:
	case string:
		if x != "" {
			out = append(out, x)
		}
	case []any:
		for i, e := range x {
			s, err := stringish(e)
			if err != nil || s == "" {
				return nil, invalidConfig("%s[%d]: want a non-empty string", field, i)
			}
			out = append(out, s)
		}
	default:
		return nil, invalidConfig("%s: want a list of strings or a string, got %T", field, v)
	}
	return out, nil
}

// SplitNotification splits "notification_tag:message_tag".
func SplitNotification(name string) (tag, msg string, err error) {
	tag, msg, ok := strings.Cut(name, ":")
	if !ok || tag == "" || msg == "" || strings.Contains(msg, ":") {
		return "", "", fmt.Errorf("notification %q: want notification_tag:message_tag", name)
	}
	return tag, msg, nil
}

// message resolves cfg.Notification and renders its templates.
func (a *Activities) message(cfg NotificationConfig) (subject, body string, isHTML bool, err error) {
	if a.notifications == nil {
		return "", "", false, notConfigured("notifications")
	}
	tag, msg, err := SplitNotification(cfg.Notification)
	if err != nil {
		return "", "", false, invalidConfig("%v", err)
	}
	t, ok := a.notifications.Templates[tag][msg]
	if !ok {
		return "", "", false, notConfigured(fmt.Sprintf("notification template %q (notifications.templates.%s.%s)", cfg.Notification, tag, msg))
	}
	subjectVars := cfg.Title
	switch s := cfg.Subject.(type) {
	case nil:
		subject = renderMessage(t.Subject, subjectVars)
	case string:
		subject = s
	case map[string]any:
		subjectVars = mergeVars(s, cfg.Title)
		subject = renderMessage(t.Subject, subjectVars)
	default:
		return "", "", false, invalidConfig("subject: want a mapping of variables or a string, got %T", cfg.Subject)
	}
	bodyVars := mergeVars(subjectVars, cfg.Template, cfg.Variables, cfg.Body)
	if t.HTML {
		// Values come from records: in an HTML body they are text, not
		// markup (a customer named <script> stays a name).
		body = placeholder.ReplaceAllStringFunc(t.Body, func(m string) string {
			return html.EscapeString(renderMessage(m, bodyVars))
		})
	} else {
		body = renderMessage(t.Body, bodyVars)
	}
	return subject, body, t.HTML, nil
}

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

// NotifySMS posts the rendered message to the SMS provider.
func (a *Activities) NotifySMS(ctx context.Context, req run.ActionRequest) (any, error) {
	return a.notifyHTTP(ctx, req, "sms")
}

// NotifyPush posts the rendered message to the push provider.
func (a *Activities) NotifyPush(ctx context.Context, req run.ActionRequest) (any, error) {
	return a.notifyHTTP(ctx, req, "push")
}

// notifyHTTP posts one rendered message to the SMS or push provider. The
// JSON body is the same for every provider; a provider with another shape
// sits behind a small adapter (the usual arrangement for Twilio, FCM...).
func (a *Activities) notifyHTTP(ctx context.Context, req run.ActionRequest, kind string) (any, error) {
	var cfg NotificationConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	title, body, _, err := a.message(cfg)
	if err != nil {
		return nil, err
	}
	ep, key, src := a.notifications.SMS, "recipients", cfg.Recipients
	if kind == "push" {
		ep, key, src = a.notifications.Push, "device_tokens", cfg.DeviceTokens
	}
	if ep.URL == "" {
		return nil, notConfigured("notifications." + kind)
	}
	to, err := stringList(src, key)
	if err != nil {
		return nil, err
	}
	if len(to) == 0 {
		return nil, invalidConfig("%s: want at least one", key)
	}
	payload := map[string]any{"notification": cfg.Notification, key: to, "body": body}
	if kind == "push" {
		payload["title"] = title
		if cfg.Data != nil {
			payload["data"] = cfg.Data
		}
	}
	return a.postJSON(ctx, req.IdempotencyKey, "notifications."+kind, ep, nil, payload)
}

// NotifyCallback posts callback.body to the callback named by the
// notification's tag.
func (a *Activities) NotifyCallback(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg NotificationConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	if a.notifications == nil {
		return nil, notConfigured("notifications")
	}
	tag, _, err := SplitNotification(cfg.Notification)
	if err != nil {
		return nil, invalidConfig("%v", err)
	}
	ep, ok := a.notifications.Callbacks[tag]
	if !ok || ep.URL == "" {
		return nil, notConfigured(fmt.Sprintf("notification callback %q (notifications.callbacks.%s)", tag, tag))
	}
	var body any
	var headers map[string]any
	if cfg.Callback != nil {
		body, headers = cfg.Callback.Body, cfg.Callback.Headers
	}
	return a.postJSON(ctx, req.IdempotencyKey, "notifications.callbacks."+tag, ep, headers, body)
}

// postJSON sends a POST through the http action, so that providers' errors
// are classified exactly like webhooks' (429/5xx retryable, other 4xx not).
func (a *Activities) postJSON(ctx context.Context, idemKey, name string, ep Endpoint, extra map[string]any, body any) (any, error) {
	h := map[string]any{}
	for k, v := range ep.Headers {
		h[k] = v
	}
	for k, v := range extra {
		h[k] = v
	}
	return a.authedHTTP(ctx, name, ep.Auth, ep.Egress, idemKey, map[string]any{"method": "POST", "url": ep.URL, "headers": h, "body": body})
}
