package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
)

// newAuth builds the API's authentication from api.tokens, api.tls.clients
// and api.oidc (their secrets already resolved). With none of them, every
// caller is anonymous with every scope: config.Validate allows that only
// on a loopback api.listen or with api.insecure, and it is logged.
func newAuth(c config.API, log *slog.Logger) (*api.Auth, error) {
	opts := []api.AuthOption{api.WithAuthLogger(log)}
	for _, name := range slices.Sorted(maps.Keys(c.Tokens)) {
		t := c.Tokens[name]
		scopes, err := apiScopes("api.tokens."+name, t.Scopes)
		if err != nil {
			return nil, err
		}
		if t.SHA256 != "" {
			b, err := hex.DecodeString(t.SHA256)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("api.tokens.%s.sha256: not a hex SHA-256", name)
			}
			opts = append(opts, api.AcceptTokenHash(name, [sha256.Size]byte(b), scopes...))
			continue
		}
		opts = append(opts, api.AcceptToken(name, t.Token, scopes...))
	}
	for _, name := range slices.Sorted(maps.Keys(c.TLS.Clients)) {
		cl := c.TLS.Clients[name]
		scopes, err := apiScopes("api.tls.clients."+name, cl.Scopes)
		if err != nil {
			return nil, err
		}
		opts = append(opts, api.AcceptClientCertificate(name, cl.Subject, scopes...))
	}
	if o := c.OIDC; o.Enabled() {
		opts = append(opts, api.AcceptOIDC(api.OIDCConfig{Issuer: o.Issuer, JWKSURL: o.JWKSURL, Audience: o.Audience,
			ScopesClaim: o.ScopesClaim, NameClaim: o.NameClaim}))
	}
	if !c.Authenticated() {
		log.Warn("the API has no authentication: every caller on "+c.Listen+" may do anything (configure api.tokens, docs/security.md)",
			"insecure", c.Insecure)
		opts = append(opts, api.AllowAnonymous())
	}
	auth, err := api.NewAuth(opts...)
	if err != nil {
		return nil, fmt.Errorf("api authentication: %w", err)
	}
	return auth, nil
}

func apiScopes(field string, names []string) ([]api.Scope, error) {
	out := make([]api.Scope, len(names))
	for i, n := range names {
		s, err := api.ParseScope(n)
		if err != nil {
			return nil, fmt.Errorf("%s.scopes[%d]: %w", field, i, err)
		}
		out[i] = s
	}
	return out, nil
}
