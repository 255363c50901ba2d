package api_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/fallbacks"
	"github.com/triggerd/triggerd/gate"
	"github.com/triggerd/triggerd/quotas"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
)

// newToken returns a random token, as an operator would generate one.
func newToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// adminAuth returns an Auth accepting one admin token named name, and the
// token.
func adminAuth(t *testing.T, name string) (*api.Auth, string) {
	t.Helper()
	tok := newToken(t)
	auth, err := api.NewAuth(api.AcceptToken(name, tok, api.ScopeAdmin))
	require.NoError(t, err)
	return auth, tok
}

// fullServer serves every route of the API (quotas, breakers and the gate
// included) with auth.
func fullServer(t *testing.T, auth *api.Auth) *httptest.Server {
	t.Helper()
	return fullServerWith(t, api.Options{Store: triggerstore.NewMemory(), Auth: auth})
}

// fullServerWith is fullServer with o's store, auth and limits.
func fullServerWith(t *testing.T, o api.Options) *httptest.Server {
	t.Helper()
	o.Quotas = quotas.New(quotas.Config{}, quotas.NewMemoryLimiter(), quotas.NewMemoryOverrides(), nil)
	o.Breakers = fallbacks.New(fallbacks.Config{}, fallbacks.NewMemoryStore(), func(run.ActionRequest) string { return "" })
	o.Gate = gate.New(gate.Options{Triggers: trigger.NewRegistry().Snapshot})
	o.Reload = func(ctx context.Context) (int64, int, error) { return 0, 0, nil }
	srv := httptest.NewServer(api.New(o).Handler())
	t.Cleanup(srv.Close)
	return srv
}

var wildcard = regexp.MustCompile(`\{[a-z]+(\.\.\.)?\}`)

// routeRequest is a request to rt's pattern with sample path values.
func routeRequest(t *testing.T, base string, rt api.Route, token string) *http.Request {
	t.Helper()
	method, path, ok := strings.Cut(rt.Pattern, " ")
	if !ok {
		method, path = http.MethodGet, rt.Pattern+"anything"
	}
	path = wildcard.ReplaceAllStringFunc(path, func(w string) string {
		if w == "{version}" {
			return "1"
		}
		return "x"
	})
	req, err := http.NewRequest(method, base+path, strings.NewReader(`{}`))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func send(t *testing.T, req *http.Request) (*http.Response, api.Error) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Error api.Error `json:"error"`
	}
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &body)
	return resp, body.Error
}

// TestEveryRouteNeedsItsScope walks every route of the API: without a
// token it answers 401, with a token lacking its scope 403 naming the
// scope, and with the scope it serves.
func TestEveryRouteNeedsItsScope(t *testing.T) {
	tokens := map[api.Scope]string{}
	var opts []api.AuthOption
	for _, sc := range api.Scopes() {
		tokens[sc] = newToken(t)
		opts = append(opts, api.AcceptToken("only-"+strings.ReplaceAll(string(sc), ":", "-"), tokens[sc], sc))
	}
	auth, err := api.NewAuth(opts...)
	require.NoError(t, err)
	srv := fullServer(t, auth)

	routes := api.Routes()
	require.Greater(t, len(routes), 20)
	for _, rt := range routes {
		t.Run(rt.Pattern, func(t *testing.T) {
			resp, e := send(t, routeRequest(t, srv.URL, rt, ""))
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Equal(t, api.CodeUnauthenticated, e.Code)
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")

			resp, e = send(t, routeRequest(t, srv.URL, rt, "not-a-token-anyone-was-given"))
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`)

			for _, sc := range api.Scopes() {
				resp, e = send(t, routeRequest(t, srv.URL, rt, tokens[sc]))
				allowed := rt.Scope == "" || sc == rt.Scope || sc == api.ScopeAdmin
				if allowed {
					assert.NotContains(t, []int{401, 403}, resp.StatusCode, "scope %s", sc)
					continue
				}
				require.Equal(t, http.StatusForbidden, resp.StatusCode, "scope %s", sc)
				assert.Equal(t, api.CodeMissingScope, e.Code)
				assert.Equal(t, string(rt.Scope), e.Scope)
				assert.Contains(t, e.Message, "needs scope "+string(rt.Scope))
			}
		})
	}
}

// TestNoAuthenticationRefusesEverything: a server given no Auth is not
// open, it refuses every request.
func TestNoAuthenticationRefusesEverything(t *testing.T) {
	srv := httptest.NewServer(api.New(api.Options{Store: triggerstore.NewMemory()}).Handler())
	defer srv.Close()
	_, err := api.NewClient(srv.URL).List(context.Background(), api.ListOptions{})
	wantStatus(t, err, http.StatusUnauthorized, api.CodeUnauthenticated)
	_, err = api.NewClient(srv.URL, api.WithToken(newToken(t))).List(context.Background(), api.ListOptions{})
	wantStatus(t, err, http.StatusUnauthorized, api.CodeUnauthenticated)
}

// TestChangesNameTheToken: the version records the token's name, whatever
// the request claims about itself; a read-only token cannot write.
func TestChangesNameTheToken(t *testing.T) {
	deployer, reader := newToken(t), newToken(t)
	sum := sha256.Sum256([]byte(deployer))
	auth, err := api.NewAuth(
		api.AcceptTokenHash("ci-deployer", sum, api.ScopeTriggersRead, api.ScopeTriggersWrite),
		api.AcceptToken("dashboard", reader, api.ScopeTriggersRead),
	)
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Options{Store: triggerstore.NewMemory(), Auth: auth}).Handler())
	defer srv.Close()
	ctx := context.Background()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/triggers", strings.NewReader(string(doc("audited"))))
	req.Header.Set("Authorization", "Bearer "+deployer)
	req.Header.Set("X-Triggerd-Actor", "someone-else")
	resp, _ := send(t, req)
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	_, err = api.NewClient(srv.URL, api.WithToken(reader)).Patch(ctx, "audited", map[string]any{"enabled": false}, 0)
	e := wantStatus(t, err, http.StatusForbidden, api.CodeMissingScope)
	assert.Equal(t, "triggers:write", e.Scope)

	_, err = api.NewClient(srv.URL, api.WithToken(deployer)).Patch(ctx, "audited", map[string]any{"enabled": false}, 0)
	require.NoError(t, err)
	vs, err := api.NewClient(srv.URL, api.WithToken(reader)).History(ctx, "audited")
	require.NoError(t, err)
	require.Len(t, vs, 2)
	for _, v := range vs {
		assert.Equal(t, "ci-deployer", v.UpdatedBy)
	}
}

// TestAuthConfigurationIsChecked: short tokens, shared names and
// principals without a scope are refused when the Auth is built.
func TestAuthConfigurationIsChecked(t *testing.T) {
	_, err := api.NewAuth(api.AcceptToken("short", "hunter2", api.ScopeGate))
	require.ErrorContains(t, err, `token "short": 7 characters, want at least 24`)
	_, err = api.NewAuth(api.AcceptToken("a", newToken(t), api.ScopeGate), api.AcceptClientCertificate("a", "a.example", api.ScopeGate))
	require.ErrorContains(t, err, `name "a" is given twice`)
	_, err = api.NewAuth(api.AcceptToken("none", newToken(t)))
	require.ErrorContains(t, err, `"none" has no scope`)
	_, err = api.ParseScope("triggers:delete")
	require.Error(t, err)
}

// TestAuthorizationHeaderForms: only Bearer is accepted.
func TestAuthorizationHeaderForms(t *testing.T) {
	auth, tok := adminAuth(t, "admin")
	srv := fullServer(t, auth)
	for _, h := range []string{"Basic " + tok, tok, "Bearer", "Bearer  "} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/triggers", nil)
		req.Header.Set("Authorization", h)
		resp, e := send(t, req)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, h)
		assert.Equal(t, api.CodeUnauthenticated, e.Code)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/triggers", nil)
	req.Header.Set("Authorization", "bearer "+tok)
	resp, _ := send(t, req)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the scheme is case-insensitive")
}

// TestClientErrorCarriesScope: the Go client returns the 403's scope.
func TestClientErrorCarriesScope(t *testing.T) {
	gateTok := newToken(t)
	auth, err := api.NewAuth(api.AcceptToken("orders-app", gateTok, api.ScopeGate))
	require.NoError(t, err)
	srv := fullServer(t, auth)
	_, err = api.NewClient(srv.URL, api.WithToken(gateTok)).Create(context.Background(), doc("x"))
	var e *api.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, http.StatusForbidden, e.Status)
	assert.Equal(t, "triggers:write", e.Scope)
	assert.Contains(t, e.Error(), `missing_scope: this endpoint needs scope triggers:write; "orders-app" has gate`)
}
