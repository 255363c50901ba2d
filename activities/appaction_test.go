package activities

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

func TestAppActionBuildsTheOperationRequest(t *testing.T) {
	stripe := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"re_1","status":"succeeded"}`))
	})
	a := New(allowLoopback, WithIntegrations(map[string]Integration{"stripe": {
		BaseURL: stripe.URL + "/v1/",
		Auth:    IntegrationAuth{Type: AuthBearer, Token: "sk_test"},
		Operations: map[string]Operation{
			"refund-payment": {Method: "post", Path: "/payment_intents/{{paymentIntentId}}/refunds",
				Headers: map[string]string{"Stripe-Account": "{{input.account}}"},
				Query:   map[string]string{"expand": "charge"},
				Body:    map[string]any{"payment_intent": "{{paymentIntentId}}", "amount": "{{input.amount}}", "reason": "order {{orderId}} cancelled"}},
			"get-customer":    {Method: "GET", Path: "/customers/{{id}}"},
			"create-customer": {Path: "/customers"},
		},
	}}))
	out, err := a.AppAction(context.Background(), request(run.TypeAppAction, map[string]any{
		"app": "stripe", "operation": "refund-payment",
		"input": map[string]any{"paymentIntentId": "pi/../1", "amount": 1999, "orderId": 7, "account": "acct_1"},
	}))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"id": "re_1", "status": "succeeded"}, out.(HTTPOutput).Body)
	got := onlyRequest(t, stripe)
	require.Equal(t, "POST", got.Method)
	require.Equal(t, "/v1/payment_intents/pi/../1/refunds", got.Path, "decoded")
	require.Equal(t, "expand=charge", got.Query)
	require.Equal(t, map[string]string{"Authorization": "Bearer sk_test", "Stripe-Account": "acct_1", "Idempotency-Key": "triggerd/t/ev-1/a"},
		headerValues(got.Header, "Authorization", "Stripe-Account", "Idempotency-Key"))
	// A whole-value placeholder keeps the input's type (amount stays a number).
	require.JSONEq(t, `{"payment_intent":"pi/../1","amount":1999,"reason":"order 7 cancelled"}`, got.Body)

	_, err = a.AppAction(context.Background(), request(run.TypeAppAction, map[string]any{
		"app": "stripe", "operation": "get-customer", "input": map[string]any{"id": "cus_9"},
	}))
	require.NoError(t, err)
	reqs := stripe.requests()
	require.Equal(t, "GET", reqs[1].Method)
	require.Equal(t, "/v1/customers/cus_9", reqs[1].Path)
	require.Empty(t, reqs[1].Body, "GET sends no body")

	// Without a body template, the input is the body (POST by default).
	_, err = a.AppAction(context.Background(), request(run.TypeAppAction, map[string]any{
		"app": "stripe", "operation": "create-customer", "input": map[string]any{"email": "a@b.c"},
	}))
	require.NoError(t, err)
	reqs = stripe.requests()
	require.Equal(t, "POST", reqs[2].Method)
	require.JSONEq(t, `{"email":"a@b.c"}`, reqs[2].Body)
}

func TestAppActionBasicAndAPIKeyAuth(t *testing.T) {
	api := newTarget(t, func(w http.ResponseWriter, r *http.Request) {})
	a := New(allowLoopback, WithIntegrations(map[string]Integration{
		"crm":  {BaseURL: api.URL, Auth: IntegrationAuth{Type: AuthBasic, Username: "user", Password: "pass"}, Operations: map[string]Operation{"ping": {Method: "GET", Path: "/ping"}}},
		"maps": {BaseURL: api.URL, Auth: IntegrationAuth{Type: AuthAPIKey, Key: "k-1"}, Operations: map[string]Operation{"ping": {Method: "GET", Path: "/ping"}}},
		"geo":  {BaseURL: api.URL, Auth: IntegrationAuth{Type: AuthAPIKey, Header: "X-Geo-Key", Key: "k-2"}, Operations: map[string]Operation{"ping": {Method: "GET", Path: "/ping"}}},
	}))
	for _, app := range []string{"crm", "maps", "geo"} {
		_, err := a.AppAction(context.Background(), request(run.TypeAppAction, map[string]any{"app": app, "operation": "ping"}))
		require.NoError(t, err)
	}
	reqs := api.requests()
	require.Equal(t, "Basic dXNlcjpwYXNz", reqs[0].Header.Get("Authorization"))
	require.Equal(t, "k-1", reqs[1].Header.Get(DefaultAPIKeyHeader))
	require.Equal(t, "k-2", reqs[2].Header.Get("X-Geo-Key"))
}

func TestAppActionErrors(t *testing.T) {
	status := http.StatusBadGateway
	api := newTarget(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	a := New(allowLoopback, WithIntegrations(map[string]Integration{"stripe": {
		BaseURL: api.URL, Operations: map[string]Operation{"refund": {Path: "/refunds"}},
	}}))
	call := func(cfg map[string]any) error {
		_, err := a.AppAction(context.Background(), request(run.TypeAppAction, cfg))
		return err
	}
	appError(t, call(map[string]any{"app": "stripe", "operation": "refund"}), errtype.HTTP5xx, true)
	status = http.StatusUnprocessableEntity
	appError(t, call(map[string]any{"app": "stripe", "operation": "refund"}), errtype.HTTP4xx, false)
	require.Contains(t, appError(t, call(map[string]any{"app": "paypal", "operation": "refund"}), errtype.NotConfigured, false).Message(), "integrations.paypal")
	require.Contains(t, appError(t, call(map[string]any{"app": "stripe", "operation": "charge"}), errtype.NotConfigured, false).Message(), "integrations.stripe.operations.charge")
	appError(t, call(map[string]any{"app": "stripe", "operation": "refund", "params": map[string]any{}}), errtype.InvalidConfig, false)
}

// oauthServer is an OAuth2 token endpoint and an API that accepts only the
// latest token it issued; revoke makes the API refuse the current one.
type oauthServer struct {
	mu          sync.Mutex
	issued      int
	current     string
	tokenStatus int
	api, token  *target
}

func newOAuthServer(t *testing.T) *oauthServer {
	s := &oauthServer{tokenStatus: http.StatusOK}
	s.token = newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		// x/oauth2 tries HTTP Basic, then form parameters.
		id, secret, ok := r.BasicAuth()
		if !ok {
			// The target read the body already; it kept a copy.
			reqs := s.token.requests()
			form, _ := url.ParseQuery(reqs[len(reqs)-1].Body)
			id, secret = form.Get("client_id"), form.Get("client_secret")
		}
		if id != "client" || secret != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if s.tokenStatus != http.StatusOK {
			w.WriteHeader(s.tokenStatus)
			return
		}
		s.issued++
		s.current = "tok-" + strconv.Itoa(s.issued)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": s.current, "token_type": "Bearer", "expires_in": 3600})
	})
	s.api = newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+s.current {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	return s
}

func (s *oauthServer) revoke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = "revoked"
}

func TestAppActionOAuth2TokenIsCachedAndRenewedAfter401(t *testing.T) {
	s := newOAuthServer(t)
	a := New(allowLoopback, WithIntegrations(map[string]Integration{"erp": {
		BaseURL:    s.api.URL,
		Auth:       IntegrationAuth{Type: AuthOAuth2, TokenURL: s.token.URL, ClientID: "client", ClientSecret: "secret", Scopes: []string{"orders"}},
		Operations: map[string]Operation{"sync": {Path: "/sync"}},
	}}))
	call := func() error {
		_, err := a.AppAction(context.Background(), request(run.TypeAppAction, map[string]any{"app": "erp", "operation": "sync"}))
		return err
	}
	for range 3 {
		require.NoError(t, call())
	}
	require.Len(t, s.token.requests(), 1, "one token for three calls")
	require.Contains(t, s.token.requests()[0].Body, "scope=orders")

	// The API refuses the cached token before it expires: renewed once.
	s.revoke()
	require.NoError(t, call())
	require.Len(t, s.token.requests(), 2)
	apiReqs := s.api.requests()
	require.Equal(t, "Bearer tok-1", apiReqs[3].Header.Get("Authorization"))
	require.Equal(t, "Bearer tok-2", apiReqs[4].Header.Get("Authorization"))
	require.NoError(t, call())
	require.Len(t, s.token.requests(), 2, "the renewed token is cached in turn")

	// Token endpoint down: retryable; client refused: permanent.
	s.revoke()
	s.mu.Lock()
	s.tokenStatus = http.StatusServiceUnavailable
	s.mu.Unlock()
	appError(t, call(), errtype.HTTP5xx, true)
	s.mu.Lock()
	s.tokenStatus = http.StatusBadRequest
	s.mu.Unlock()
	require.Contains(t, appError(t, call(), errtype.HTTP4xx, false).Message(), "oauth2 token")
}

func TestAppActionOAuth2SecondRefusalIsFinal(t *testing.T) {
	s := newOAuthServer(t)
	api := newTarget(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	a := New(allowLoopback, WithIntegrations(map[string]Integration{"erp": {
		BaseURL:    api.URL,
		Auth:       IntegrationAuth{Type: AuthOAuth2, TokenURL: s.token.URL, ClientID: "client", ClientSecret: "secret"},
		Operations: map[string]Operation{"sync": {Path: "/sync"}},
	}}))
	_, err := a.AppAction(context.Background(), request(run.TypeAppAction, map[string]any{"app": "erp", "operation": "sync"}))
	appError(t, err, errtype.HTTP4xx, false)
	require.Len(t, api.requests(), 2, "one renewal, then the 401 stands")
	require.Len(t, s.token.requests(), 2)
}

func TestAppActionPathValuesAreOneSegment(t *testing.T) {
	escaped := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { escaped <- r.URL.EscapedPath() }))
	defer srv.Close()
	a := New(allowLoopback, WithIntegrations(map[string]Integration{"crm": {
		BaseURL: srv.URL, Operations: map[string]Operation{"get": {Method: "GET", Path: "/customers/{{id}}/notes"}},
	}}))
	_, err := a.AppAction(context.Background(), request(run.TypeAppAction, map[string]any{
		"app": "crm", "operation": "get", "input": map[string]any{"id": "../admin?x=1#"},
	}))
	require.NoError(t, err)
	// The input cannot walk the route, add a query or cut the path.
	require.Equal(t, "/customers/..%2Fadmin%3Fx=1%23/notes", <-escaped)
}

func TestAppActionTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	slow := newTarget(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release)
	a := New(allowLoopback, WithIntegrations(map[string]Integration{"slow": {
		BaseURL: slow.URL, Timeout: 50 * time.Millisecond, Operations: map[string]Operation{"op": {Path: "/"}},
	}}))
	_, err := a.AppAction(context.Background(), request(run.TypeAppAction, map[string]any{"app": "slow", "operation": "op"}))
	appError(t, err, errtype.Timeout, true)
}
