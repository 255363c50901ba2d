package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// appOptions turns the notifications, integrations and agents sections
// into the options of the notification.*, action.execute and agent.run
// actions. Only what is configured is enabled: the others fail with a
// non-retryable "not configured" error.
// Each integration, agent and provider gets its own egress policy when it
// configures one (eg.of), else the actions' policy applies.
func appOptions(cfg *config.Config, eg egressPolicies) ([]activities.Option, error) {
	var opts []activities.Option
	n := cfg.Notifications
	if n.SMTP.Host != "" || len(n.Templates) > 0 || n.SMS.URL != "" || n.Push.URL != "" || len(n.Callbacks) > 0 {
		an, err := notifications(n, eg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, activities.WithNotifications(an))
	}
	if len(cfg.Integrations) > 0 {
		apps := map[string]activities.Integration{}
		for name, in := range cfg.Integrations {
			ops := map[string]activities.Operation{}
			for opName, op := range in.Operations {
				ops[opName] = activities.Operation{Method: op.Method, Path: op.Path, Headers: op.Headers, Query: op.Query, Body: op.Body, BodyType: op.BodyType, ContentType: op.ContentType}
			}
			apps[name] = activities.Integration{BaseURL: in.BaseURL, Auth: integrationAuth(in.Auth), Operations: ops, Timeout: in.Timeout,
				Egress: eg.of("integrations." + name)}
		}
		opts = append(opts, activities.WithIntegrations(apps))
	}
	if len(cfg.Agents) > 0 {
		agents := map[string]activities.Agent{}
		for name, ag := range cfg.Agents {
			agents[name] = activities.Agent{
				URL: ag.URL, Model: ag.Model, APIKey: ag.APIKey, System: ag.System,
				MaxTokens: ag.MaxTokens, Temperature: ag.Temperature, Timeout: ag.Timeout,
				Egress: eg.of("agents." + name),
			}
		}
		opts = append(opts, activities.WithAgents(agents))
	}
	return opts, nil
}

func notifications(n config.Notifications, eg egressPolicies) (activities.Notifications, error) {
	s := n.SMTP
	out := activities.Notifications{
		SMTP: activities.SMTPSettings{
			Host: s.Host, Port: s.Port, Username: s.Username, Password: s.Password,
			From: s.From, TLS: s.TLS, Timeout: s.Timeout, Egress: eg.of("notifications.smtp"),
		},
		Templates: map[string]map[string]activities.MessageTemplate{},
		SMS:       provider(n.SMS, eg.of("notifications.sms")),
		Push:      provider(n.Push, eg.of("notifications.push")),
		Callbacks: map[string]activities.Endpoint{},
	}
	if s.CAFile != "" || s.InsecureSkipVerify {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.InsecureSkipVerify} //nolint:gosec // opt-in, for test servers
		if s.CAFile != "" {
			pem, err := os.ReadFile(s.CAFile)
			if err != nil {
				return out, fmt.Errorf("notifications.smtp.caFile: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return out, fmt.Errorf("notifications.smtp.caFile: no PEM certificate in %s", s.CAFile)
			}
		}
		out.SMTP.TLSConfig = tc
	}
	for tag, msgs := range n.Templates {
		out.Templates[tag] = map[string]activities.MessageTemplate{}
		for msg, t := range msgs {
			out.Templates[tag][msg] = activities.MessageTemplate{Subject: t.Subject, Body: t.Body, HTML: t.HTML}
		}
	}
	for name, p := range n.Callbacks {
		out.Callbacks[name] = provider(p, eg.of("notifications.callbacks."+name))
	}
	return out, nil
}

// provider is a notification endpoint; its {{secret.NAME}} credentials
// were resolved at start-up (resolveConfigSecrets). pol is its own egress
// policy, nil for the actions'.
func provider(p config.Provider, pol *egress.Policy) activities.Endpoint {
	return activities.Endpoint{URL: p.URL, Headers: p.Headers, Auth: integrationAuth(p.Auth), Egress: pol}
}

func integrationAuth(a config.Auth) activities.IntegrationAuth {
	return activities.IntegrationAuth{
		Type: a.Type, Token: a.Token, Username: a.Username, Password: a.Password, Header: a.Header, Key: a.Key,
		TokenURL: a.TokenURL, ClientID: a.ClientID, ClientSecret: a.ClientSecret, Scopes: a.Scopes,
	}
}

// appReferences reports the actions of defs that name a notification
// template, callback, integration operation or agent that cfg does not
// configure. Only names written literally are checked; a templated name is
// known at run time.
func appReferences(cfg *config.Config, defs []trigger.Definition) []trigger.Problem {
	var out []trigger.Problem
	for _, d := range defs {
		for i, act := range d.Actions {
			lit := func(key string) (string, bool) {
				s, ok := act.Config[key].(string)
				return s, ok && s != "" && !strings.Contains(s, "{{")
			}
			report := func(key, format string, args ...any) {
				out = append(out, trigger.Problem{File: d.File, Tag: d.Tag, Field: fmt.Sprintf("actions[%d].config.%s", i, key), Reason: fmt.Sprintf(format, args...)})
			}
			switch act.Type {
			case run.TypeNotifyEmail, run.TypeNotifySMS, run.TypeNotifyPush:
				if name, ok := lit("notification"); ok && !cfg.Notifications.HasTemplate(name) {
					tag, msg, _ := strings.Cut(name, ":")
					report("notification", "no template %q in the config (notifications.templates.%s.%s)", name, tag, msg)
				}
				if missing := missingProvider(cfg.Notifications, act.Type); missing != "" {
					out = append(out, trigger.Problem{File: d.File, Tag: d.Tag, Field: fmt.Sprintf("actions[%d].type", i), Reason: fmt.Sprintf("%s needs %s in the config", act.Type, missing)})
				}
			case run.TypeNotifyCallback:
				if name, ok := lit("notification"); ok {
					tag, _, _ := strings.Cut(name, ":")
					if _, found := cfg.Notifications.Callbacks[tag]; !found {
						report("notification", "no callback %q in the config (notifications.callbacks.%s)", tag, tag)
					}
				}
			case run.TypeAppAction:
				app, okApp := lit("app")
				op, okOp := lit("operation")
				if okApp && okOp {
					if err := cfg.AppOperation(app, op); err != nil {
						report("operation", "%v", err)
					}
				}
			case run.TypeAgentRun:
				if name, ok := lit("agent"); ok {
					if _, found := cfg.Agents[name]; !found {
						report("agent", "no agent %q in the config (agents.%s)", name, name)
					}
				}
			}
		}
	}
	return out
}

// missingProvider names the config section a notification type needs when
// it is not configured, else "".
func missingProvider(n config.Notifications, typ string) string {
	switch {
	case typ == run.TypeNotifyEmail && n.SMTP.Host == "":
		return "notifications.smtp"
	case typ == run.TypeNotifySMS && n.SMS.URL == "":
		return "notifications.sms"
	case typ == run.TypeNotifyPush && n.Push.URL == "":
		return "notifications.push"
	}
	return ""
}
