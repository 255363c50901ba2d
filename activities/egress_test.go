package activities

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// By default (no WithEgress) the http action refuses loopback: the error
// is EGRESS_DENIED, not retried, names the host and the rule, and the
// target never sees a request.
func TestHTTPDefaultPolicyRefusesLoopback(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {})
	_, err := New().HTTP(context.Background(), request(run.TypeHTTP, map[string]any{"url": tg.URL + "/hook?token=secret"}))
	msg := appError(t, err, errtype.EgressDenied, false).Message()
	require.Contains(t, msg, "127.0.0.1")
	require.Contains(t, msg, "default: loopback 127.0.0.0/8")
	require.NotContains(t, msg, "secret", "the query string stays out of the error")
	require.Empty(t, tg.requests())
}

// A redirect is dialed through the same policy: followed from an allowed
// server to a refused one, it fails with EGRESS_DENIED.
func TestHTTPRedirectToRefusedAddress(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {})
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("127.0.0.2 not available: %v", err)
	}
	redirector := httptest.NewUnstartedServer(http.RedirectHandler(tg.URL+"/inner", http.StatusFound))
	redirector.Listener.Close()
	redirector.Listener = ln
	redirector.Start()
	t.Cleanup(redirector.Close)
	p, err := egress.New([]string{"127.0.0.2"}, nil)
	require.NoError(t, err)
	a := New(WithEgress(p))
	_, err = a.HTTP(context.Background(), request(run.TypeHTTP, map[string]any{"method": "GET", "url": redirector.URL, "followRedirects": true}))
	require.Contains(t, appError(t, err, errtype.EgressDenied, false).Message(), "127.0.0.1")
	require.Empty(t, tg.requests())
}

// An integration's own policy widens the actions' policy for that
// integration only, its OAuth2 token endpoint included.
func TestIntegrationPolicy(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"tok","token_type":"bearer","expires_in":3600}`))
		}
	})
	crm, err := egress.Default().Extend("integrations.crm.egress", []string{"127.0.0.1"}, nil)
	require.NoError(t, err)
	oauth := IntegrationAuth{Type: AuthOAuth2, TokenURL: tg.URL + "/token", ClientID: "c", ClientSecret: "s"}
	ops := map[string]Operation{"ping": {Method: "GET", Path: "/ping"}}
	a := New(WithIntegrations(map[string]Integration{
		"crm":   {BaseURL: tg.URL, Auth: oauth, Operations: ops, Egress: crm},
		"other": {BaseURL: tg.URL, Operations: ops},
		"token": {BaseURL: "https://api.example.com", Auth: oauth, Operations: ops},
	}))
	ctx := context.Background()
	_, err = a.AppAction(ctx, request(run.TypeAppAction, map[string]any{"app": "crm", "operation": "ping"}))
	require.NoError(t, err)
	require.Len(t, tg.requests(), 2, "token and operation")

	_, err = a.AppAction(ctx, request(run.TypeAppAction, map[string]any{"app": "other", "operation": "ping"}))
	appError(t, err, errtype.EgressDenied, false)
	_, err = a.AppAction(ctx, request(run.TypeAppAction, map[string]any{"app": "token", "operation": "ping"}))
	require.Contains(t, appError(t, err, errtype.EgressDenied, false).Message(), "oauth2 token")
	_, err = a.HTTP(ctx, request(run.TypeHTTP, map[string]any{"url": tg.URL}))
	appError(t, err, errtype.EgressDenied, false)
	require.Len(t, tg.requests(), 2, "nothing reached the target past the crm calls")
}

// SMTP connections go through the policy too.
func TestNotifyEmailRefusedByPolicy(t *testing.T) {
	s := smtpServer(t)
	a := New(WithNotifications(Notifications{SMTP: s, Templates: orderTemplates}))
	rcpt := uniqueAddr(t, "egress")
	_, err := a.NotifyEmail(context.Background(), request(run.TypeNotifyEmail, map[string]any{
		"notification": "order-emails:confirmation", "recipients": []any{rcpt}, "template": map[string]any{"orderNumber": 1},
	}))
	require.Contains(t, appError(t, err, errtype.EgressDenied, false).Message(), "smtp "+testenv.SMTPAddr(t))
	require.Empty(t, testenv.Mailbox(t, rcpt))
}
