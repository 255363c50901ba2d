package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// OIDCConfig accepts the JWT bearer tokens of an identity provider: signed
// by a key of the provider's JSON Web Key Set, issued by Issuer for
// Audience, and not expired. The caller's scopes are read from a claim,
// and its name (recorded with its changes) from another.
type OIDCConfig struct {
	Issuer   string
	JWKSURL  string
	Audience string
	// ScopesClaim holds the scopes, as a space-separated string (OAuth's
	// "scope") or a list; "scope" when empty. Values that are not
	// triggerd scopes are ignored.
	ScopesClaim string
	// NameClaim names the caller; "sub" when empty.
	NameClaim string
	// HTTPClient fetches the key set (a client with a 10s timeout when nil).
	HTTPClient *http.Client
}

// oidcAlgorithms are the signature algorithms accepted: asymmetric only,
// so that nothing the provider publishes can sign a token.
var oidcAlgorithms = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

type oidcVerifier struct {
	v           *oidc.IDTokenVerifier
	scopesClaim string
	nameClaim   string
}

// AcceptOIDC accepts OIDC/JWT bearer tokens (see OIDCConfig). Verification
// is go-oidc's: signature against the key set (refetched when a token
// names an unknown key), issuer, audience and expiry.
func AcceptOIDC(c OIDCConfig) AuthOption {
	return func(a *Auth) {
		if c.Issuer == "" || c.JWKSURL == "" || c.Audience == "" {
			a.errs = append(a.errs, errors.New("oidc: issuer, jwksUrl and audience are all required"))
			return
		}
		hc := c.HTTPClient
		if hc == nil {
			hc = &http.Client{Timeout: 10 * time.Second}
		}
		// The key set fetches keys with this context for its whole life,
		// not with a request's.
		keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), hc), c.JWKSURL)
		v := &oidcVerifier{
			v:           oidc.NewVerifier(c.Issuer, keys, &oidc.Config{ClientID: c.Audience, SupportedSigningAlgs: oidcAlgorithms}),
			scopesClaim: c.ScopesClaim,
			nameClaim:   c.NameClaim,
		}
		if v.scopesClaim == "" {
			v.scopesClaim = "scope"
		}
		if v.nameClaim == "" {
			v.nameClaim = "sub"
		}
		a.oidc = v
	}
}

func (o *oidcVerifier) verify(ctx context.Context, raw string) (*Principal, error) {
	tok, err := o.v.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, fmt.Errorf("read claims: %w", err)
	}
	name, _ := claims[o.nameClaim].(string)
	if name == "" {
		return nil, fmt.Errorf("claim %q (the caller's name) is missing or not a string", o.nameClaim)
	}
	var values []string
	switch s := claims[o.scopesClaim].(type) {
	case string:
		values = strings.Fields(s)
	case []any:
		for _, v := range s {
			if str, ok := v.(string); ok {
				values = append(values, str)
			}
		}
	}
	p := &Principal{Name: name, Method: MethodOIDC}
	for _, v := range values {
		if sc, err := ParseScope(v); err == nil {
			p.Scopes = append(p.Scopes, sc)
		}
	}
	return p, nil
}
