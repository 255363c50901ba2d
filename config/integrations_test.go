package config

import (
	"testing"
	"time"
)

func TestNotificationsIntegrationsAgentsLoad(t *testing.T) {
	p := writeFile(t, "c.yaml", `
kafka: {brokers: [a:1], topics: [t]}
notifications:
  smtp: {host: 127.0.0.1, from: orders@shop.example}
  sms: {url: "https://sms.example/send", headers: {X-Account: acme}, auth: {type: basic, username: u, password: p}}
  callbacks:
    webhooks: {url: "https://hooks.example/orders"}
  templates:
    order-emails:
      confirmation: {subject: "Order #{{orderNumber}}", body: "Total {{ total }}", html: true}
integrations:
  stripe:
    baseUrl: https://api.stripe.example/v1
    auth: {type: oauth2, tokenUrl: "https://auth.example/token", clientId: c, clientSecret: s, scopes: [refunds]}
    operations:
      refund-payment: {method: post, path: "/payment_intents/{{id}}/refunds", body: {amount: "{{amount}}", meta: [1, 2]}}
agents:
  support-agent: {url: "http://127.0.0.1:1/v1", model: local, temperature: 0.5, timeout: 20s}
`)
	c, err := Load(p, []string{"TRIGGERD_NOTIFICATIONS_SMTP_PASSWORD=pw", "TRIGGERD_NOTIFICATIONS_SMTP_USERNAME=mailer"})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Notifications.SMTP
	if s.TLS != SMTPTLSStartTLS || s.Port != 587 || s.Timeout != DefaultSMTPTimeout || s.Password != "pw" || s.Username != "mailer" {
		t.Errorf("smtp defaults/env: %+v", s)
	}
	if tpl := c.Notifications.Templates["order-emails"]["confirmation"]; !tpl.HTML || tpl.Subject != "Order #{{orderNumber}}" {
		t.Errorf("template %+v", tpl)
	}
	if !c.Notifications.HasTemplate("order-emails:confirmation") || c.Notifications.HasTemplate("order-emails:refund") {
		t.Error("HasTemplate")
	}
	if c.Notifications.SMS.Headers["X-Account"] != "acme" || c.Notifications.SMS.Auth.Username != "u" {
		t.Errorf("sms %+v", c.Notifications.SMS)
	}
	op := c.Integrations["stripe"].Operations["refund-payment"]
	if body, ok := op.Body.(map[string]any); !ok || body["amount"] != "{{amount}}" {
		t.Errorf("operation body %#v", op.Body)
	}
	if err := c.AppOperation("stripe", "refund-payment"); err != nil {
		t.Error(err)
	}
	if err := c.AppOperation("stripe", "charge"); err == nil {
		t.Error("unknown operation accepted")
	}
	ag := c.Agents["support-agent"]
	if ag.Model != "local" || ag.Temperature == nil || *ag.Temperature != 0.5 || ag.Timeout != 20*time.Second {
		t.Errorf("agent %+v", ag)
	}
}

func TestNotificationsIntegrationsAgentsProblems(t *testing.T) {
	p := writeFile(t, "c.yaml", `
kafka: {brokers: [a:1], topics: [t]}
notifications:
  smtp: {host: mail, tls: ssl, username: u, caFile: /nonexistent/ca.pem, form: x}
  push: {headers: {A: b}}
  sms: {url: "ftp://sms", auth: {type: token, token: x}}
  callbacks:
    webhooks: {headers: {A: b}}
  templates:
    order-emails:
      confirmation: {subject: "Order #{{ order number }}", body: ""}
      "bad:tag": {body: x}
    bad tag: {m: {body: x}}
integrations:
  stripe:
    baseUrl: api.stripe.com
    auth: {type: bearer, username: u}
    operations:
      refund: {method: FETCH, path: "refunds", bodi: {}}
  empty: {baseUrl: "https://x.example"}
agents:
  bot: {url: "", model: "", temperature: 3, maxTokens: -1, apikey: k}
`)
	_, err := Load(p, nil)
	probs := problemsOf(t, err)
	for _, want := range [][2]string{
		{"notifications.smtp.form", "unknown key"},
		{"notifications.smtp.from", "must not be empty"},
		{"notifications.smtp.tls", "must be one of starttls, tls, none"},
		{"notifications.smtp.username", "set together"},
		{"notifications.smtp.caFile", "cannot read"},
		{"notifications.push.url", "must be set when other"},
		{"notifications.sms.url", "absolute http or https URL"},
		{"notifications.sms.auth.type", "must be one of bearer, basic, apiKey, oauth2"},
		{"notifications.callbacks.webhooks.url", "must not be empty"},
		{"notifications.templates.order-emails.confirmation.subject", "malformed placeholder"},
		{"notifications.templates.order-emails.confirmation.body", "must not be empty"},
		{"notifications.templates.order-emails.bad:tag", "no colon"},
		{"notifications.templates.bad tag", "no colon"},
		{"integrations.stripe.baseUrl", "absolute http or https URL"},
		{"integrations.stripe.auth.token", "must not be empty for auth type bearer"},
		{"integrations.stripe.auth.username", "not used by auth type bearer"},
		{"integrations.stripe.operations.refund.method", "must be one of GET, POST"},
		{"integrations.stripe.operations.refund.path", "must start with /"},
		{"integrations.stripe.operations.refund.bodi", "unknown key"},
		{"integrations.empty.operations", "at least one operation"},
		{"agents.bot.url", "must not be empty"},
		{"agents.bot.model", "must not be empty"},
		{"agents.bot.temperature", "must be 0..2"},
		{"agents.bot.maxTokens", "must not be negative"},
		{"agents.bot.apikey", "unknown key"},
	} {
		if !hasProblem(probs, want[0], want[1]) {
			t.Errorf("no problem %v in\n%v", want, probs)
		}
	}
}

func TestSMTPFromMustBeAnAddress(t *testing.T) {
	p := writeFile(t, "c.yaml", `
kafka: {brokers: [a:1], topics: [t]}
notifications:
  smtp: {host: mail, from: "orders at shop"}
`)
	_, err := Load(p, nil)
	if probs := problemsOf(t, err); !hasProblem(probs, "notifications.smtp.from", "must be an email address") {
		t.Fatalf("problems %v", probs)
	}
	p = writeFile(t, "c.yaml", `
kafka: {brokers: [a:1], topics: [t]}
notifications:
  smtp: {host: mail, from: "Shop <orders@shop.example>", tls: tls}
`)
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Notifications.SMTP.Port != 465 {
		t.Fatalf("implicit TLS port %d", c.Notifications.SMTP.Port)
	}
}
