package activities

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/workflows/errtype"
)

// Notification action types (Ductape's notification.* actions).
const (
	TypeNotifyEmail    = "notification.email"
	TypeNotifySMS      = "notification.sms"
	TypeNotifyPush     = "notification.push"
	TypeNotifyCallback = "notification.callback"
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
	From     string
	// TLS is none, starttls or tls (implicit TLS, usually port 465).
	TLS string
	// Timeout bounds the whole SMTP exchange (default 30s).
	Timeout time.Duration
}

// MessageTemplate is one message of a notification. Subject and Body hold
// {{name}} placeholders (see renderMessage).
type MessageTemplate struct {
	Subject string
	Body    string
	HTML    bool
}

// Endpoint is an HTTP provider (SMS gateway, push service, callback).
type Endpoint struct {
	URL     string
	Headers map[string]string
}

// Notifications configures the notification.* actions.
type Notifications struct {
	SMTP SMTPSettings
	// Templates by notification tag, then message tag.
	Templates map[string]map[string]MessageTemplate
	SMS       Endpoint
	Push      Endpoint
	Callbacks map[string]Endpoint
}

// WithNotifications enables the notification.* actions.
func WithNotifications(n Notifications) Option {
	return func(a *Activities) { a.notifications = &n }
}

// NotificationConfig is the config of the notification.* actions.
type NotificationConfig struct {
	// Notification is "notification_tag:message_tag", resolved against the
	// worker's templates (for callbacks, the tag names the callback).
	Notification string `json:"notification"`
	// Recipients is a list or a single string (emails, phone numbers).
	Recipients   any `json:"recipients,omitempty"`
	DeviceTokens any `json:"device_tokens,omitempty"`
	// Subject and Title are the variables of the subject template.
	Subject map[string]any `json:"subject,omitempty"`
	Title   map[string]any `json:"title,omitempty"`
	// Template and Variables are the variables of the body template;
	// Variables wins on a clash.
	Template  map[string]any `json:"template,omitempty"`
	Variables map[string]any `json:"variables,omitempty"`
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

// renderMessage substitutes {{name}} placeholders with vars, following
// dotted paths into maps. It is deliberately tiny (no sections, no
// escaping): message templates are worker configuration, and a missing
// variable renders empty like mustache does. Non-string values are JSON.
func renderMessage(tpl string, vars map[string]any) string {
	return placeholder.ReplaceAllStringFunc(tpl, func(m string) string {
		path := placeholder.FindStringSubmatch(m)[1]
		var cur any = vars
		for _, part := range strings.Split(path, ".") {
			mp, ok := cur.(map[string]any)
			if !ok {
				return ""
			}
			cur = mp[part]
		}
		switch v := cur.(type) {
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

// message resolves cfg.Notification and renders its templates.
func (a *Activities) message(cfg NotificationConfig) (subject, body string, html bool, err error) {
	if a.notifications == nil {
		return "", "", false, notConfigured("notifications")
	}
	tag, msg, ok := strings.Cut(cfg.Notification, ":")
	if !ok || tag == "" || msg == "" {
		return "", "", false, invalidConfig("notification %q: want notification_tag:message_tag", cfg.Notification)
	}
	t, ok := a.notifications.Templates[tag][msg]
	if !ok {
		return "", "", false, notConfigured(fmt.Sprintf("notification message %q", cfg.Notification))
	}
	subject = renderMessage(t.Subject, mergeVars(cfg.Subject, cfg.Title))
	body = renderMessage(t.Body, mergeVars(cfg.Template, cfg.Variables))
	return subject, body, t.HTML, nil
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
	// The idempotency key makes the Message-ID stable across retries, so a
	// receiving system that deduplicates can drop a resent mail.
	msgID := fmt.Sprintf("<%s@triggerd>", strings.NewReplacer("/", ".", " ", "_").Replace(req.IdempotencyKey))
	raw := buildMail(s.From, rcpts, subject, body, html, msgID, time.Now())
	if err := sendMail(ctx, s, rcpts, raw); err != nil {
		return nil, err
	}
	return EmailOutput{Recipients: rcpts, Subject: subject, MessageID: msgID}, nil
}

func buildMail(from string, to []string, subject, body string, html bool, msgID string, now time.Time) []byte {
	ctype := "text/plain; charset=utf-8"
	if html {
		ctype = "text/html; charset=utf-8"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\nContent-Type: %s\r\n\r\n",
		from, strings.Join(to, ", "), headerSafe(subject), now.UTC().Format(time.RFC1123Z), msgID, ctype)
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}

// headerSafe keeps a rendered subject from injecting headers.
func headerSafe(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// sendMail runs one SMTP transaction. Replies are classified by code: 5xx
// permanent (the server will refuse again), 4xx and transport failures
// retryable.
func sendMail(ctx context.Context, s SMTPSettings, rcpts []string, raw []byte) (err error) {
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
	d := net.Dialer{}
	var conn net.Conn
	if s.TLS == SMTPTLSImplicit {
		td := tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: s.Host}}
		conn, err = td.DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return classifyTransport(fmt.Errorf("smtp %s: %w", addr, err), "")
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		return classifySMTP(addr, "greeting", err)
	}
	defer c.Close()
	if s.TLS == SMTPTLSStartTLS {
		if err := c.StartTLS(&tls.Config{ServerName: s.Host}); err != nil {
			return classifySMTP(addr, "STARTTLS", err)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			return classifySMTP(addr, "AUTH", err)
		}
	}
	if err := c.Mail(s.From); err != nil {
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

func classifySMTP(addr, stage string, err error) error {
	e := fmt.Errorf("smtp %s: %s: %w", addr, stage, err)
	var tp *textproto.Error
	if errors.As(err, &tp) {
		if tp.Code >= 500 {
			return permanent(errtype.SMTPRejected, e)
		}
		return transient(errtype.SMTPTransient, e, 0)
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
	payload := map[string]any{
		"notification": cfg.Notification, key: to, "title": title, "body": body,
		"message": body, "data": cfg.Data,
	}
	return a.postJSON(ctx, req.IdempotencyKey, ep.URL, ep.Headers, nil, payload)
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
	tag, _, _ := strings.Cut(cfg.Notification, ":")
	ep, ok := a.notifications.Callbacks[tag]
	if !ok || ep.URL == "" {
		return nil, notConfigured(fmt.Sprintf("notification callback %q", tag))
	}
	var body any
	var headers map[string]any
	if cfg.Callback != nil {
		body, headers = cfg.Callback.Body, cfg.Callback.Headers
	}
	return a.postJSON(ctx, req.IdempotencyKey, ep.URL, ep.Headers, headers, body)
}

// postJSON sends a POST through the http action, so that providers' errors
// are classified exactly like webhooks' (429/5xx retryable, other 4xx not).
func (a *Activities) postJSON(ctx context.Context, idemKey, url string, base map[string]string, extra map[string]any, body any) (any, error) {
	h := map[string]any{}
	for k, v := range base {
		h[k] = v
	}
	for k, v := range extra {
		h[k] = v
	}
	cfg := map[string]any{"method": "POST", "url": url, "headers": h}
	if body != nil {
		cfg["body"] = body
	}
	return a.HTTP(ctx, run.ActionRequest{Config: cfg, IdempotencyKey: idemKey})
}
