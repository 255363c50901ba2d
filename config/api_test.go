package config

import (
	"strings"
	"testing"
	"time"
)

const hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestAPIValidation(t *testing.T) {
	ca := writeFile(t, "ca.pem", "x")
	for _, tc := range []struct {
		name          string
		mutate        func(*API)
		field, reason string
	}{
		{"open to the network", func(a *API) { a.Listen = "0.0.0.0:8080" }, "api.listen", "no authentication is configured"},
		{"every interface", func(a *API) { a.Listen = ":8080" }, "api.listen", "set api.insecure: true"},
		{"a host name", func(a *API) { a.Listen = "triggerd.internal:8080" }, "api.listen", "reachable from other hosts"},
		{"plain token", func(a *API) {
			a.Tokens = map[string]APIToken{"ci": {Token: "s3cr3t-in-the-file", Scopes: []string{"admin"}}}
		},
			"api.tokens.ci.token", "must be a {{secret.NAME}} reference, never the token itself"},
		{"bad hash", func(a *API) { a.Tokens = map[string]APIToken{"ci": {SHA256: "abc", Scopes: []string{"admin"}}} }, "api.tokens.ci.sha256", "64 hex digits"},
		{"both", func(a *API) {
			a.Tokens = map[string]APIToken{"ci": {SHA256: hash, Token: "{{secret.X}}", Scopes: []string{"admin"}}}
		}, "api.tokens.ci", "not both"},
		{"neither", func(a *API) { a.Tokens = map[string]APIToken{"ci": {Scopes: []string{"admin"}}} }, "api.tokens.ci", "needs sha256"},
		{"no scope", func(a *API) { a.Tokens = map[string]APIToken{"ci": {SHA256: hash}} }, "api.tokens.ci.scopes", "at least one of triggers:read"},
		{"unknown scope", func(a *API) { a.Tokens = map[string]APIToken{"ci": {SHA256: hash, Scopes: []string{"gate", "root"}}} },
			"api.tokens.ci.scopes[1]", `unknown scope "root"`},
		{"bad name", func(a *API) { a.Tokens = map[string]APIToken{"ci bot": {SHA256: hash, Scopes: []string{"gate"}}} }, "api.tokens.ci bot", "name"},
		{"clients without CA", func(a *API) {
			a.TLS = APITLS{CertFile: ca, KeyFile: ca, Clients: map[string]APIClient{"app": {Subject: "app", Scopes: []string{"gate"}}}}
		}, "api.tls.clientCaFile", "must be set"},
		{"CA without TLS", func(a *API) { a.TLS = APITLS{ClientCAFile: ca} }, "api.tls.clientCaFile", "need TLS"},
		{"cert without key", func(a *API) { a.TLS = APITLS{CertFile: ca} }, "api.tls.certFile", "set together"},
		{"client name is a token's", func(a *API) {
			a.Tokens = map[string]APIToken{"app": {SHA256: hash, Scopes: []string{"gate"}}}
			a.TLS = APITLS{CertFile: ca, KeyFile: ca, ClientCAFile: ca, Clients: map[string]APIClient{"app": {Subject: "app", Scopes: []string{"gate"}}}}
		}, "api.tls.clients.app", "also the name of a token"},
		{"empty subject", func(a *API) {
			a.TLS = APITLS{CertFile: ca, KeyFile: ca, ClientCAFile: ca, Clients: map[string]APIClient{"app": {Scopes: []string{"gate"}}}}
		}, "api.tls.clients.app.subject", "must not be empty"},
		{"oidc audience", func(a *API) { a.OIDC = OIDC{Issuer: "https://idp", JWKSURL: "https://idp/jwks"} }, "api.oidc.audience", "must not be empty"},
		{"oidc jwks", func(a *API) { a.OIDC = OIDC{Issuer: "https://idp", JWKSURL: "idp/jwks", Audience: "triggerd"} }, "api.oidc.jwksUrl", "http(s) URL"},
		{"negative timeout", func(a *API) { a.IdleTimeout = -time.Second }, "api.idleTimeout", "must not be negative"},
		{"negative body", func(a *API) { a.MaxBodyBytes = -1 }, "api.maxBodyBytes", "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(&c.API)
			c.API.setDefaults()
			if probs := problemsOf(t, c.Validate()); !hasProblem(probs, tc.field, tc.reason) {
				t.Fatalf("want %s: ...%s..., got %v", tc.field, tc.reason, probs)
			}
		})
	}

	for _, tc := range []struct {
		name   string
		mutate func(*API)
	}{
		{"loopback without auth", func(a *API) { a.Listen = "127.0.0.1:8080" }},
		{"ipv6 loopback", func(a *API) { a.Listen = "[::1]:8080" }},
		{"localhost", func(a *API) { a.Listen = "localhost:8080" }},
		{"insecure", func(a *API) { a.Listen = "0.0.0.0:8080"; a.Insecure = true }},
		{"hashed token", func(a *API) {
			a.Listen = "0.0.0.0:8080"
			a.Tokens = map[string]APIToken{"ci": {SHA256: strings.ToUpper(hash), Scopes: []string{"triggers:read", "triggers:write"}}}
		}},
		{"secret token", func(a *API) {
			a.Listen = "0.0.0.0:8080"
			a.Tokens = map[string]APIToken{"app": {Token: "{{ secret.GATE_TOKEN }}", Scopes: []string{"gate"}}}
		}},
		{"mtls", func(a *API) {
			a.Listen = "0.0.0.0:8443"
			a.TLS = APITLS{CertFile: ca, KeyFile: ca, ClientCAFile: ca, RequireClientCert: true,
				Clients: map[string]APIClient{"app": {Subject: "spiffe://corp/app", Scopes: []string{"gate"}}}}
		}},
		{"oidc", func(a *API) {
			a.Listen = "0.0.0.0:8080"
			a.OIDC = OIDC{Issuer: "https://idp.example.com", JWKSURL: "https://idp.example.com/jwks", Audience: "triggerd"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(&c.API)
			c.API.setDefaults()
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestAPITokensFromYAML: tokens and clients are named maps with their
// paths; OIDC claims get their defaults.
func TestAPITokensFromYAML(t *testing.T) {
	p := writeFile(t, "c.yaml", `
kafka: {brokers: [k:9092], topics: [t]}
api:
  listen: 0.0.0.0:8080
  tokens:
    deployer: {sha256: `+hash+`, scopes: [triggers:read, triggers:write]}
    orders-app: {token: "{{secret.GATE_TOKEN}}", scopes: [gate], colour: red}
  oidc: {issuer: "https://idp", jwksUrl: "https://idp/jwks", audience: triggerd}
`)
	c, err := Load(p, nil)
	probs := problemsOf(t, err)
	if len(probs) != 1 || probs[0].Field != "api.tokens.orders-app.colour" {
		t.Fatalf("problems %v", probs)
	}
	if c.API.Tokens["deployer"].SHA256 != hash || c.API.OIDC.ScopesClaim != "scope" || c.API.OIDC.NameClaim != "sub" {
		t.Fatalf("%+v", c.API)
	}
	if env := EnvName("api.metricsPublic"); env != "TRIGGERD_API_METRICS_PUBLIC" {
		t.Fatal(env)
	}
}

func TestLimitsValidation(t *testing.T) {
	c := valid()
	c.Triggers.Limits.MaxConditions = -1
	c.Gate.MaxRecords = -5
	probs := problemsOf(t, c.Validate())
	if !hasProblem(probs, "triggers.limits.maxConditions", "must not be negative") || !hasProblem(probs, "gate.maxRecords", "must not be negative") {
		t.Fatal(probs)
	}
}
