package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/triggerstore"
)

// identityProvider is a real JWKS endpoint over HTTP, with keys generated
// for the test, and a signer of tokens with them.
type identityProvider struct {
	issuer string
	key    *rsa.PrivateKey
	kid    string
	jwks   *httptest.Server
	served atomic.Int32
}

func newIdentityProvider(t *testing.T) *identityProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	idp := &identityProvider{issuer: "https://idp.test/realms/ops", key: key, kid: "key-1"}
	idp.jwks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		idp.served.Add(1)
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: idp.kid, Algorithm: string(jose.RS256), Use: "sig"}}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(idp.jwks.Close)
	return idp
}

// sign returns a JWT with claims, signed by key under kid with alg.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	require.NoError(t, err)
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	require.NoError(t, err)
	return tok
}

func (idp *identityProvider) claims(sub string, scope any) map[string]any {
	now := time.Now()
	return map[string]any{"iss": idp.issuer, "aud": "triggerd", "sub": sub, "email": sub + "@example.com",
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "scope": scope}
}

// TestOIDCBearerTokens verifies JWTs against a real JWKS endpoint: the
// scopes come from the claim, the name recorded with changes from the
// name claim; a wrong audience, issuer, expiry, key or algorithm is a 401.
func TestOIDCBearerTokens(t *testing.T) {
	idp := newIdentityProvider(t)
	auth, err := api.NewAuth(api.AcceptOIDC(api.OIDCConfig{Issuer: idp.issuer, JWKSURL: idp.jwks.URL, Audience: "triggerd", NameClaim: "email"}))
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Options{Store: triggerstore.NewMemory(), Auth: auth}).Handler())
	defer srv.Close()
	ctx := context.Background()

	writer := sign(t, jose.RS256, idp.key, idp.kid, idp.claims("ada", "openid triggers:read triggers:write"))
	tr, err := api.NewClient(srv.URL, api.WithToken(writer)).Create(ctx, doc("from-idp"))
	require.NoError(t, err)
	assert.Equal(t, "ada@example.com", tr.UpdatedBy)

	// Scopes as a list; an unknown scope is ignored.
	reader := sign(t, jose.RS256, idp.key, idp.kid, idp.claims("grace", []any{"triggers:read", "triggers:everything"}))
	rc := api.NewClient(srv.URL, api.WithToken(reader))
	_, err = rc.Get(ctx, "from-idp")
	require.NoError(t, err)
	e := wantStatus(t, rc.Delete(ctx, "from-idp"), http.StatusForbidden, api.CodeMissingScope)
	assert.Equal(t, "triggers:write", e.Scope)

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	bad := map[string]string{}
	c := idp.claims("eve", "admin")
	c["aud"] = "another-app"
	bad["audience"] = sign(t, jose.RS256, idp.key, idp.kid, c)
	c = idp.claims("eve", "admin")
	c["iss"] = "https://evil.test"
	bad["issuer"] = sign(t, jose.RS256, idp.key, idp.kid, c)
	c = idp.claims("eve", "admin")
	c["exp"] = time.Now().Add(-time.Minute).Unix()
	bad["expired"] = sign(t, jose.RS256, idp.key, idp.kid, c)
	bad["other key"] = sign(t, jose.RS256, other, idp.kid, idp.claims("eve", "admin"))
	bad["unknown key"] = sign(t, jose.ES256, ec, "key-2", idp.claims("eve", "admin"))
	bad["symmetric"] = sign(t, jose.HS256, []byte("a shared secret of enough length!"), idp.kid, idp.claims("eve", "admin"))
	noName := idp.claims("", "admin")
	delete(noName, "email")
	bad["no name claim"] = sign(t, jose.RS256, idp.key, idp.kid, noName)
	for name, tok := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := api.NewClient(srv.URL, api.WithToken(tok)).List(ctx, api.ListOptions{})
			wantStatus(t, err, http.StatusUnauthorized, api.CodeUnauthenticated)
		})
	}
	assert.Positive(t, idp.served.Load(), "the keys came from the JWKS endpoint")

	_, err = api.NewAuth(api.AcceptOIDC(api.OIDCConfig{Issuer: idp.issuer, JWKSURL: idp.jwks.URL}))
	require.ErrorContains(t, err, "audience are all required")
}
