package activities

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strings"
	"time"

	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/run"
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
