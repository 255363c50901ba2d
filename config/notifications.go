package config

import (
	"fmt"
	"maps"
	"net/mail"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
)

// SMTP TLS modes of SMTP.TLS.
const (
	SMTPTLSNone     = "none"
	SMTPTLSStartTLS = "starttls"
	SMTPTLSImplicit = "tls"
)

// DefaultSMTPTimeout bounds one SMTP transaction.
const DefaultSMTPTimeout = 30 * time.Second

// Notifications configures the notification.* actions:
//
//	notifications:
//	  smtp: {host: smtp.example.com, port: 587, tls: starttls, username: mailer, password: "{{secret.SMTP_PASSWORD}}", from: orders@shop.example}
//	  sms: {url: https://sms.example.com/send, auth: {type: bearer, token: "{{secret.SMS_TOKEN}}"}}
//	  push: {url: https://push.example.com/send}
//	  callbacks:
//	    webhooks: {url: https://hooks.example.com/orders, headers: {X-Source: triggerd}}
//	  templates:
//	    order-emails:                 # notification tag
//	      confirmation:               # message tag: "order-emails:confirmation"
//	        subject: "Order #{{orderNumber}}"
//	        body: "Total: {{total}}"
//
// The smtp, sms and push keys have environment overrides
// (TRIGGERD_NOTIFICATIONS_SMTP_PASSWORD, …), which keep their secrets out
// of the file.
type Notifications struct {
	SMTP      SMTP                                  `yaml:"smtp"`
	SMS       Provider                              `yaml:"sms"`
	Push      Provider                              `yaml:"push"`
	Callbacks map[string]Provider                   `yaml:"callbacks"`
	Templates map[string]map[string]MessageTemplate `yaml:"templates"`
}

// SMTP is the mail server of notification.email. An empty Host means
// email is not configured.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	From     string `yaml:"from"`
	// TLS is starttls (the default), tls (implicit, port 465) or none.
	TLS                string        `yaml:"tls"`
	CAFile             string        `yaml:"caFile"`
	InsecureSkipVerify bool          `yaml:"insecureSkipVerify"`
	Timeout            time.Duration `yaml:"timeout"`
	// Egress adds rules to the process's egress policy for the mail
	// server (a relay on a private address needs one).
	Egress Egress `yaml:"egress"`
}

// MessageTemplate is one message: {{name}} placeholders in Subject (the
// title of a push) and Body take the action's variables.
type MessageTemplate struct {
	Subject string `yaml:"subject"`
	Body    string `yaml:"body"`
	HTML    bool   `yaml:"html"`
}

// Provider is an HTTP endpoint the SMS, push and callback notifications
// post to. An empty URL means the provider is not configured.
type Provider struct {
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	Auth    Auth              `yaml:"auth"`
	// Egress adds rules to the process's egress policy for this provider.
	Egress Egress `yaml:"egress"`
}

// Auth types of Auth.Type.
const (
	AuthBearer = "bearer"
	AuthBasic  = "basic"
	AuthAPIKey = "apiKey"
	AuthOAuth2 = "oauth2"
)

// Auth authenticates requests to a provider or an integration. Each type
// uses its own keys: bearer token; basic username, password; apiKey key
// (header, default X-API-Key); oauth2 tokenUrl, clientId, clientSecret,
// scopes (client credentials).
type Auth struct {
	Type         string   `yaml:"type"`
	Token        string   `yaml:"token"`
	Username     string   `yaml:"username"`
	Password     string   `yaml:"password"`
	Header       string   `yaml:"header"`
	Key          string   `yaml:"key"`
	TokenURL     string   `yaml:"tokenUrl"`
	ClientID     string   `yaml:"clientId"`
	ClientSecret string   `yaml:"clientSecret"`
	Scopes       []string `yaml:"scopes"`
}

func (n *Notifications) setDefaults() {
	s := &n.SMTP
	if s.Host == "" {
		return
	}
	if s.TLS == "" {
		s.TLS = SMTPTLSStartTLS
	}
	if s.Port == 0 {
		s.Port = map[string]int{SMTPTLSStartTLS: 587, SMTPTLSImplicit: 465}[s.TLS]
		if s.Port == 0 {
			s.Port = 25
		}
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultSMTPTimeout
	}
}

// tagName is a notification or message tag: no colon (it separates them),
// no spaces.
var tagName = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)

func (n *Notifications) validate(v *validator) {
	s := n.SMTP
	if s.Host != "" {
		v.required("notifications.smtp.from", s.From)
		if _, err := mail.ParseAddress(s.From); s.From != "" && err != nil {
			v.add("notifications.smtp.from", "must be an email address such as orders@shop.example or \"Shop <orders@shop.example>\": %v", err)
		}
		if s.Port < 1 || s.Port > 65535 {
			v.add("notifications.smtp.port", "must be 1..65535, got %d", s.Port)
		}
		v.oneOf("notifications.smtp.tls", s.TLS, SMTPTLSStartTLS, SMTPTLSImplicit, SMTPTLSNone)
		if (s.Username == "") != (s.Password == "") {
			v.add("notifications.smtp.username", "username and password must be set together")
		}
		v.file("notifications.smtp.caFile", s.CAFile)
		if s.TLS == SMTPTLSNone && (s.CAFile != "" || s.InsecureSkipVerify) {
			v.add("notifications.smtp.tls", "is none, so caFile and insecureSkipVerify have no effect")
		}
		if s.Timeout < 0 {
			v.add("notifications.smtp.timeout", "must not be negative, got %s", s.Timeout)
		}
	} else if !reflect.DeepEqual(s, SMTP{}) {
		v.add("notifications.smtp.host", "must be set when other notifications.smtp keys are")
	}
	v.provider("notifications.sms", n.SMS)
	v.provider("notifications.push", n.Push)
	for _, name := range slices.Sorted(maps.Keys(n.Callbacks)) {
		field := "notifications.callbacks." + name
		if !tagName.MatchString(name) {
			v.add(field, "a callback is named by a notification tag (letters, digits, _ . -)")
		}
		if n.Callbacks[name].URL == "" {
			v.add(field+".url", "must not be empty")
		}
		v.provider(field, n.Callbacks[name])
	}
	for _, tag := range slices.Sorted(maps.Keys(n.Templates)) {
		if !tagName.MatchString(tag) {
			v.add("notifications.templates."+tag, "a notification tag is letters, digits, _ . - (no colon)")
		}
		for _, msg := range slices.Sorted(maps.Keys(n.Templates[tag])) {
			field := fmt.Sprintf("notifications.templates.%s.%s", tag, msg)
			if !tagName.MatchString(msg) {
				v.add(field, "a message tag is letters, digits, _ . - (no colon)")
			}
			t := n.Templates[tag][msg]
			v.required(field+".body", t.Body)
			v.placeholders(field+".subject", t.Subject)
			v.placeholders(field+".body", t.Body)
		}
	}
}

// HasTemplate reports whether "tag:message" names a configured template.
func (n *Notifications) HasTemplate(name string) bool {
	tag, msg, ok := strings.Cut(name, ":")
	if !ok {
		return false
	}
	_, ok = n.Templates[tag][msg]
	return ok
}

var (
	placeholderOpen = regexp.MustCompile(`\{\{`)
	placeholderRe   = regexp.MustCompile(`\{\{\s*[A-Za-z0-9_.\-]+\s*\}\}`)
)

// placeholders checks that every {{ opens a well-formed {{name}}: a typo
// such as {{ order number }} would otherwise render literally in mail.
func (v *validator) placeholders(field, tpl string) {
	if len(placeholderOpen.FindAllStringIndex(tpl, -1)) != len(placeholderRe.FindAllStringIndex(tpl, -1)) {
		v.add(field, "has a malformed placeholder: want {{name}} or {{a.b}} (letters, digits, _ . -)")
	}
}

func (v *validator) provider(field string, p Provider) {
	if p.URL == "" {
		if len(p.Headers) > 0 || p.Auth.Type != "" {
			v.add(field+".url", "must be set when other %s keys are", field)
		}
		return
	}
	v.httpURL(field+".url", p.URL)
	v.auth(field+".auth", p.Auth)
}

// auth checks that the keys of the chosen type are set and no other.
func (v *validator) auth(field string, a Auth) {
	set := map[string]bool{
		"token": a.Token != "", "username": a.Username != "", "password": a.Password != "",
		"header": a.Header != "", "key": a.Key != "", "tokenUrl": a.TokenURL != "",
		"clientId": a.ClientID != "", "clientSecret": a.ClientSecret != "", "scopes": len(a.Scopes) > 0,
	}
	var required, optional []string
	switch a.Type {
	case "":
	case AuthBearer:
		required = []string{"token"}
	case AuthBasic:
		required = []string{"username", "password"}
	case AuthAPIKey:
		required, optional = []string{"key"}, []string{"header"}
	case AuthOAuth2:
		required, optional = []string{"tokenUrl", "clientId", "clientSecret"}, []string{"scopes"}
		if a.TokenURL != "" {
			v.httpURL(field+".tokenUrl", a.TokenURL)
		}
	default:
		v.add(field+".type", "must be one of bearer, basic, apiKey, oauth2, got %q", a.Type)
		return
	}
	for _, k := range required {
		if !set[k] {
			v.add(field+"."+k, "must not be empty for auth type %s", orNone(a.Type))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if set[k] && !slices.Contains(required, k) && !slices.Contains(optional, k) {
			v.add(field+"."+k, "not used by auth type %s", orNone(a.Type))
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return `"" (none)`
	}
	return s
}
