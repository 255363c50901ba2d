package activities

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// An operation's bodyType encodes its body as the http action's does: a
// Stripe-like API takes form bodies.
func TestAppActionBodyTypes(t *testing.T) {
	api := newTarget(t, func(w http.ResponseWriter, r *http.Request) {})
	a := New(allowLoopback, WithIntegrations(map[string]Integration{"stripe": {
		BaseURL: api.URL,
		Operations: map[string]Operation{
			"refund": {Path: "/v1/refunds", BodyType: "form",
				Body: map[string]any{"payment_intent": "{{paymentIntentId}}", "amount": "{{amount}}", "metadata[order]": "{{orderId}}"}},
			// Without a body template, the input is the form.
			"customer": {Path: "/v1/customers", BodyType: "form"},
			"note":     {Path: "/notes", BodyType: "raw", ContentType: "text/markdown", Body: "order **{{orderId}}**"},
			"badform":  {Path: "/x", BodyType: "form", Body: "not a mapping"},
		},
	}}))
	call := func(op string, input map[string]any) error {
		_, err := a.AppAction(context.Background(), request(run.TypeAppAction, map[string]any{"app": "stripe", "operation": op, "input": input}))
		return err
	}
	require.NoError(t, call("refund", map[string]any{"paymentIntentId": "pi_1", "amount": 1999, "orderId": 7}))
	require.NoError(t, call("customer", map[string]any{"email": "a@b.c"}))
	require.NoError(t, call("note", map[string]any{"orderId": 7}))
	reqs := api.requests()
	require.Equal(t, "application/x-www-form-urlencoded", reqs[0].Header.Get("Content-Type"))
	form, err := url.ParseQuery(reqs[0].Body)
	require.NoError(t, err)
	require.Equal(t, url.Values{"payment_intent": {"pi_1"}, "amount": {"1999"}, "metadata[order]": {"7"}}, form)
	require.Equal(t, "email=a%40b.c", reqs[1].Body)
	require.Equal(t, "text/markdown", reqs[2].Header.Get("Content-Type"))
	require.Equal(t, "order **7**", reqs[2].Body)

	err = call("badform", nil)
	require.Contains(t, appError(t, err, errtype.InvalidConfig, false).Message(), "bodyType form needs a mapping")
	require.Len(t, api.requests(), 3, "an unencodable body is not sent")
}
