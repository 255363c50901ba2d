package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Scopes an API token, a client certificate or an OIDC token may carry
// (docs/security.md). ScopeAdmin grants every other one.
const (
	ScopeTriggersRead  = "triggers:read"
	ScopeTriggersWrite = "triggers:write"
	ScopeGate          = "gate"
	ScopeOps           = "ops"
	ScopeMetrics       = "metrics"
	ScopeAdmin         = "admin"
)

// Scopes lists every scope, in the order the docs present them.
func Scopes() []string {
	return []string{ScopeTriggersRead, ScopeTriggersWrite, ScopeGate, ScopeOps, ScopeMetrics, ScopeAdmin}
}

// API configures the HTTP API (triggers, dry runs, the gate, health,
// metrics): where it listens, who may call it, and the limits of its HTTP
// server. Zero limits mean the API's defaults (package api).
//
//	api:
//	  listen: 0.0.0.0:8080
//	  tokens:
//	    deployer: {sha256: 9f86d0…, scopes: [triggers:read, triggers:write]}
//	    orders-app: {token: "{{secret.GATE_TOKEN}}", scopes: [gate]}
type API struct {
	Listen string `yaml:"listen"`
	// Insecure lets a process serve the API on a non-loopback address
	// with no authentication configured. Off: such a start is refused.
	Insecure bool `yaml:"insecure"`
	// MetricsPublic serves /metrics without authentication.
	MetricsPublic bool `yaml:"metricsPublic"`
	// Tokens are the bearer tokens, by name: the name is recorded as the
	// author of every change made with the token.
	Tokens map[string]APIToken `yaml:"tokens"`
	TLS    APITLS              `yaml:"tls"`
	OIDC   OIDC                `yaml:"oidc"`

	ReadTimeout       time.Duration `yaml:"readTimeout"`
	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout"`
	WriteTimeout      time.Duration `yaml:"writeTimeout"`
	IdleTimeout       time.Duration `yaml:"idleTimeout"`
	MaxHeaderBytes    int           `yaml:"maxHeaderBytes"`
	// MaxBodyBytes bounds the body of every request but the gate's
	// (gate.maxBodyBytes).
	MaxBodyBytes int `yaml:"maxBodyBytes"`
}

// APIToken is one bearer token. The file never holds the token itself:
// either its SHA-256 (hex; `triggerd token hash` prints it) or a
// {{secret.NAME}} reference, resolved at start-up like other credentials.
type APIToken struct {
	SHA256 string   `yaml:"sha256"`
	Token  string   `yaml:"token"`
	Scopes []string `yaml:"scopes"`
}

// APITLS serves the API over TLS and, with ClientCAFile, accepts client
// certificates (mTLS) mapped to names and scopes by Clients.
type APITLS struct {
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
	// ClientCAFile verifies client certificates; a verified certificate
	// that matches an entry of Clients authenticates as that entry.
	ClientCAFile string `yaml:"clientCaFile"`
	// RequireClientCert refuses TLS connections without a verified
	// client certificate (otherwise bearer tokens still work).
	RequireClientCert bool                 `yaml:"requireClientCert"`
	Clients           map[string]APIClient `yaml:"clients"`
}

// APIClient maps client certificates to a name and scopes.
type APIClient struct {
	// Subject matches the certificate's subject common name, or one of
	// its DNS or URI subject alternative names.
	Subject string   `yaml:"subject"`
	Scopes  []string `yaml:"scopes"`
}

// OIDC accepts JWT bearer tokens of an identity provider, verified against
// the keys at JWKSURL.
type OIDC struct {
	Issuer  string `yaml:"issuer"`
	JWKSURL string `yaml:"jwksUrl"`
	// Audience is the required aud claim (the client id triggerd is
	// registered under at the provider).
	Audience string `yaml:"audience"`
	// ScopesClaim holds the scopes: a space-separated string or a list.
	ScopesClaim string `yaml:"scopesClaim"`
	// NameClaim names the caller in recorded changes.
	NameClaim string `yaml:"nameClaim"`
}

// Defaults of the OIDC claims.
const (
	DefaultOIDCScopesClaim = "scope"
	DefaultOIDCNameClaim   = "sub"
)

var (
	secretRefRE = regexp.MustCompile(`^\{\{\s*secret\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}$`)
	sha256RE    = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// Enabled reports whether OIDC bearer tokens are accepted.
func (o OIDC) Enabled() bool { return o.Issuer != "" || o.JWKSURL != "" }

// Authenticated reports whether any way of authenticating callers is
// configured: tokens, client certificates or OIDC.
func (a API) Authenticated() bool {
	return len(a.Tokens) > 0 || len(a.TLS.Clients) > 0 || a.OIDC.Enabled()
}

// Loopback reports whether listen only accepts connections from this host
// (127.0.0.0/8, ::1 or localhost). An empty host means every interface.
func Loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckExposure refuses an API reachable from other hosts with no
// authentication, unless Insecure says that is intended: `run` and
// `ingest` must not start open to the network by accident.
func (a API) CheckExposure() error {
	if a.Insecure || a.Authenticated() || Loopback(a.Listen) {
		return nil
	}
	return fmt.Errorf("%q is reachable from other hosts but no authentication is configured: "+
		"add api.tokens, api.tls.clients or api.oidc, listen on 127.0.0.1, or set api.insecure: true to serve it unauthenticated", a.Listen)
}

func (a *API) setDefaults() {
	if a.Listen == "" {
		a.Listen = DefaultAPIListen
	}
	if a.OIDC.Enabled() {
		if a.OIDC.ScopesClaim == "" {
			a.OIDC.ScopesClaim = DefaultOIDCScopesClaim
		}
		if a.OIDC.NameClaim == "" {
			a.OIDC.NameClaim = DefaultOIDCNameClaim
		}
	}
}

func (c *Config) validateAPI(v *validator) {
	a := c.API
	v.hostPort("api.listen", a.Listen, true)
	if err := a.CheckExposure(); err != nil {
		v.add("api.listen", "%v", err)
	}
	for _, name := range sortedNames(a.Tokens) {
		t := a.Tokens[name]
		f := "api.tokens." + name
		validName(v, f, name)
		switch {
		case t.SHA256 != "" && t.Token != "":
			v.add(f, "set one of sha256 and token, not both")
		case t.SHA256 != "":
			if !sha256RE.MatchString(t.SHA256) {
				v.add(f+".sha256", "must be the 64 hex digits of the token's SHA-256 (triggerd token hash prints it)")
			}
		case t.Token != "":
			if !secretRefRE.MatchString(t.Token) {
				v.add(f+".token", "must be a {{secret.NAME}} reference, never the token itself; or give its sha256")
			}
		default:
			v.add(f, "needs sha256 (the token's SHA-256 in hex) or token ({{secret.NAME}})")
		}
		validScopes(v, f+".scopes", t.Scopes)
	}
	tl := a.TLS
	v.file("api.tls.certFile", tl.CertFile)
	v.file("api.tls.keyFile", tl.KeyFile)
	v.file("api.tls.clientCaFile", tl.ClientCAFile)
	if (tl.CertFile == "") != (tl.KeyFile == "") {
		v.add("api.tls.certFile", "certFile and keyFile must be set together")
	}
	if tl.ClientCAFile != "" && tl.CertFile == "" {
		v.add("api.tls.clientCaFile", "client certificates need TLS: set api.tls.certFile and keyFile")
	}
	if (tl.RequireClientCert || len(tl.Clients) > 0) && tl.ClientCAFile == "" {
		v.add("api.tls.clientCaFile", "must be set to verify client certificates (api.tls.clients, requireClientCert)")
	}
	subjects := map[string]string{}
	for _, name := range sortedNames(tl.Clients) {
		cl := tl.Clients[name]
		f := "api.tls.clients." + name
		validName(v, f, name)
		if _, dup := a.Tokens[name]; dup {
			v.add(f, "is also the name of a token in api.tokens: names must say who made a change")
		}
		if strings.TrimSpace(cl.Subject) == "" {
			v.add(f+".subject", "must not be empty")
		} else if other, dup := subjects[cl.Subject]; dup {
			v.add(f+".subject", "%q also maps to client %q", cl.Subject, other)
		} else {
			subjects[cl.Subject] = name
		}
		validScopes(v, f+".scopes", cl.Scopes)
	}
	if o := a.OIDC; o.Enabled() {
		v.required("api.oidc.issuer", o.Issuer)
		v.required("api.oidc.audience", o.Audience)
		if u, err := url.Parse(o.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.add("api.oidc.jwksUrl", "must be the http(s) URL of the provider's JSON Web Key Set")
		}
	}
	for _, d := range []struct {
		key string
		val time.Duration
	}{{"readTimeout", a.ReadTimeout}, {"readHeaderTimeout", a.ReadHeaderTimeout}, {"writeTimeout", a.WriteTimeout}, {"idleTimeout", a.IdleTimeout}} {
		if d.val < 0 {
			v.add("api."+d.key, "must not be negative, got %s", d.val)
		}
	}
	nonNegative(v, "api.maxHeaderBytes", a.MaxHeaderBytes)
	nonNegative(v, "api.maxBodyBytes", a.MaxBodyBytes)
}

// validName checks the name of a token or client, which is recorded as
// the author of changes.
func validName(v *validator, field, name string) {
	if !resourceName.MatchString(name) {
		v.add(field, "name %q must be letters, digits, '.', '_' or '-'", name)
	}
}

func validScopes(v *validator, field string, scopes []string) {
	if len(scopes) == 0 {
		v.add(field, "must list at least one of %s", strings.Join(Scopes(), ", "))
	}
	for i, s := range scopes {
		if !slices.Contains(Scopes(), s) {
			v.add(fmt.Sprintf("%s[%d]", field, i), "unknown scope %q (want one of %s)", s, strings.Join(Scopes(), ", "))
		}
	}
}

func nonNegative(v *validator, field string, n int) {
	if n < 0 {
		v.add(field, "must not be negative, got %d", n)
	}
}
