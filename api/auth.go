package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Scope is a permission of an API caller. Every endpoint but /healthz
// needs an authenticated caller, and most one scope (Routes lists which).
type Scope string

// The scopes. ScopeAdmin grants every other one.
const (
	// ScopeTriggersRead reads triggers, their versions, and dry-runs events.
	ScopeTriggersRead Scope = "triggers:read"
	// ScopeTriggersWrite creates, changes, applies and deletes triggers.
	ScopeTriggersWrite Scope = "triggers:write"
	// ScopeGate asks the gate about records before writing them.
	ScopeGate Scope = "gate"
	// ScopeOps reads and changes the running system: quota and breaker
	// overrides, breaker resets, trigger reloads.
	ScopeOps Scope = "ops"
	// ScopeMetrics reads /metrics.
	ScopeMetrics Scope = "metrics"
	// ScopeAdmin grants every scope.
	ScopeAdmin Scope = "admin"
)

// Scopes lists every scope.
func Scopes() []Scope {
	return []Scope{ScopeTriggersRead, ScopeTriggersWrite, ScopeGate, ScopeOps, ScopeMetrics, ScopeAdmin}
}

// ParseScope returns the scope named s.
func ParseScope(s string) (Scope, error) {
	if slices.Contains(Scopes(), Scope(s)) {
		return Scope(s), nil
	}
	return "", fmt.Errorf("unknown scope %q", s)
}

// Principal is an authenticated caller. Its Name is recorded as the author
// of every change it makes (a trigger version's updatedBy, an override's
// actor): the name configured for its token or certificate, or the
// identity provider's claim, never anything the request says about
// itself.
type Principal struct {
	Name   string
	Scopes []Scope
	// Method is how it authenticated: token, certificate, oidc or
	// anonymous.
	Method string
}

// Has reports whether p holds scope (admin holds every scope). The empty
// scope is held by every principal.
func (p *Principal) Has(scope Scope) bool {
	return scope == "" || slices.Contains(p.Scopes, scope) || slices.Contains(p.Scopes, ScopeAdmin)
}

type principalKey struct{}

// PrincipalFrom returns the caller a request was authenticated as.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok
}

// Methods of Principal.
const (
	MethodToken       = "token"
	MethodCertificate = "certificate"
	MethodOIDC        = "oidc"
	MethodAnonymous   = "anonymous"
)

// MinTokenLength is the shortest token AcceptToken accepts: tokens are
// random strings, and a short one could be guessed.
const MinTokenLength = 24

// Auth authenticates API callers (bearer tokens, client certificates,
// OIDC tokens) and checks their scopes. Without any method configured it
// refuses every request: an API is never open by accident.
type Auth struct {
	tokens    []hashedToken
	clients   []certClient
	oidc      *oidcVerifier
	anonymous *Principal
	log       *slog.Logger
	errs      []error
}

// hashedToken is a token's SHA-256: the value itself is never kept.
type hashedToken struct {
	sum       [sha256.Size]byte
	principal *Principal
}

type certClient struct {
	subject   string
	principal *Principal
}

// AuthOption configures an Auth.
type AuthOption func(*Auth)

// AcceptTokenHash accepts the bearer token whose SHA-256 is sum, as name.
// Tokens are high-entropy random strings, so a fast hash is enough: what
// matters is that a leaked configuration does not leak the token.
func AcceptTokenHash(name string, sum [sha256.Size]byte, scopes ...Scope) AuthOption {
	return func(a *Auth) {
		a.tokens = append(a.tokens, hashedToken{sum: sum, principal: &Principal{Name: name, Scopes: scopes, Method: MethodToken}})
	}
}

// AcceptToken accepts token (e.g. resolved from a secret) as name; only its
// hash is kept.
func AcceptToken(name, token string, scopes ...Scope) AuthOption {
	return func(a *Auth) {
		if len(token) < MinTokenLength {
			a.errs = append(a.errs, fmt.Errorf("token %q: %d characters, want at least %d random ones", name, len(token), MinTokenLength))
			return
		}
		AcceptTokenHash(name, sha256.Sum256([]byte(token)), scopes...)(a)
	}
}

// AcceptClientCertificate accepts verified client certificates whose
// subject common name, or one of whose DNS or URI subject alternative
// names, is subject, as name. The TLS listener verifies the chain
// (TLSConfig); Auth only maps it.
func AcceptClientCertificate(name, subject string, scopes ...Scope) AuthOption {
	return func(a *Auth) {
		a.clients = append(a.clients, certClient{subject: subject, principal: &Principal{Name: name, Scopes: scopes, Method: MethodCertificate}})
	}
}

// AllowAnonymous lets requests without credentials through as an
// "anonymous" caller holding every scope. It is for an API reachable only
// from this host (a loopback listener) or from tests; a process refuses
// to serve it on another address unless told it is insecure.
func AllowAnonymous() AuthOption {
	return func(a *Auth) {
		a.anonymous = &Principal{Name: "anonymous", Scopes: []Scope{ScopeAdmin}, Method: MethodAnonymous}
	}
}

// WithAuthLogger logs refused credentials (never the credentials).
func WithAuthLogger(l *slog.Logger) AuthOption { return func(a *Auth) { a.log = l } }

// NewAuth returns an Auth with the given methods. Two principals may not
// share a name: the name is what recorded changes say.
func NewAuth(opts ...AuthOption) (*Auth, error) {
	a := &Auth{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(a)
	}
	names := map[string]bool{}
	for _, p := range a.principals() {
		if p.Name == "" {
			a.errs = append(a.errs, errors.New("a token or client certificate needs a name"))
		} else if names[p.Name] {
			a.errs = append(a.errs, fmt.Errorf("name %q is given twice: names say who made a change", p.Name))
		}
		names[p.Name] = true
		if len(p.Scopes) == 0 {
			a.errs = append(a.errs, fmt.Errorf("%q has no scope", p.Name))
		}
	}
	if len(a.errs) > 0 {
		return nil, errors.Join(a.errs...)
	}
	return a, nil
}

func (a *Auth) principals() []*Principal {
	var out []*Principal
	for _, t := range a.tokens {
		out = append(out, t.principal)
	}
	for _, c := range a.clients {
		out = append(out, c.principal)
	}
	return out
}

// Authenticate says who sent r: a verified client certificate that maps
// to a client, else the bearer token of the Authorization header (a
// configured token, else an OIDC token), else the anonymous caller if
// allowed. It returns a 401 *Error otherwise.
func (a *Auth) Authenticate(r *http.Request) (*Principal, error) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		if p := a.certificate(r.TLS.VerifiedChains[0][0]); p != nil {
			return p, nil
		}
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		if a.anonymous != nil {
			return a.anonymous, nil
		}
		return nil, unauthenticated("authentication required: send Authorization: Bearer <token>", false)
	}
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, unauthenticated("the Authorization header must be Bearer <token>", true)
	}
	if p := a.token(tok); p != nil {
		return p, nil
	}
	if a.oidc != nil && strings.Count(tok, ".") == 2 {
		p, err := a.oidc.verify(r.Context(), tok)
		if err == nil {
			return p, nil
		}
		a.log.Warn("OIDC token refused", "remote", r.RemoteAddr, "reason", err)
		return nil, unauthenticated("invalid or expired token", true)
	}
	a.log.Warn("unknown API token", "remote", r.RemoteAddr)
	return nil, unauthenticated("invalid token", true)
}

// token finds the token whose hash matches, comparing every configured
// hash in constant time so the time taken says nothing about which one
// (or how much of one) matched.
func (a *Auth) token(tok string) *Principal {
	sum := sha256.Sum256([]byte(tok))
	var found *Principal
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1 {
			found = t.principal
		}
	}
	return found
}

func (a *Auth) certificate(c *x509.Certificate) *Principal {
	for _, cl := range a.clients {
		if c.Subject.CommonName == cl.subject || slices.Contains(c.DNSNames, cl.subject) ||
			slices.ContainsFunc(c.URIs, func(u *url.URL) bool { return u.String() == cl.subject }) {
			return cl.principal
		}
	}
	return nil
}

// Middleware authenticates every request but those to the public paths
// (exact paths, such as /healthz) and puts the principal in the request's
// context; a request that does not authenticate gets a 401. Wrapping a
// whole mux with it means an endpoint added later is never open by
// mistake.
func (a *Auth) Middleware(next http.Handler, public ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(public, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if _, ok := PrincipalFrom(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		p, err := a.Authenticate(r)
		if err != nil {
			writeAuthError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// Require serves next only to callers holding scope (any authenticated
// caller for ""): 401 without credentials, 403 naming the missing scope.
// It authenticates the request itself when no Middleware did.
func (a *Auth) Require(scope Scope, next http.Handler) http.Handler {
	return a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		if !p.Has(scope) {
			writeAuthError(w, forbidden(p, scope))
			return
		}
		next.ServeHTTP(w, r)
	}))
}

func unauthenticated(msg string, invalidToken bool) *Error {
	e := &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: msg}
	if invalidToken {
		e.authenticate = `Bearer realm="triggerd", error="invalid_token"`
	} else {
		e.authenticate = `Bearer realm="triggerd"`
	}
	return e
}

func forbidden(p *Principal, scope Scope) *Error {
	have := make([]string, len(p.Scopes))
	for i, s := range p.Scopes {
		have[i] = string(s)
	}
	return &Error{Status: http.StatusForbidden, Code: CodeMissingScope, Scope: string(scope),
		Message: fmt.Sprintf("this endpoint needs scope %s; %q has %s", scope, p.Name, strings.Join(have, ", "))}
}

func writeAuthError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = unauthenticated(err.Error(), false)
	}
	if e.authenticate != "" {
		w.Header().Set("WWW-Authenticate", e.authenticate)
	}
	writeError(w, e)
}
