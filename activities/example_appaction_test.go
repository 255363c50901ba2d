package activities_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/run"
)

// An integration maps Ductape's Trigger.action.execute('stripe',
// 'refund-payment', {...}) to one HTTP request: the operation's path and
// body templates take the action's input, the integration adds its auth,
// and the action's idempotency key rides along.
func ExampleActivities_AppAction() {
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"))
		fmt.Println(string(body))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"re_1","status":"succeeded"}`)
	}))
	defer stripe.Close()

	// The default egress policy refuses loopback, where this example's
	// server listens: the integration's own policy allows it.
	local, err := egress.Default().Extend("integrations.stripe.egress", []string{"127.0.0.1"}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	acts := activities.New(activities.WithIntegrations(map[string]activities.Integration{
		"stripe": {
			BaseURL: stripe.URL + "/v1",
			Egress:  local,
			Auth:    activities.IntegrationAuth{Type: activities.AuthBearer, Token: "sk_test_123"},
			Operations: map[string]activities.Operation{
				"refund-payment": {Method: "POST", Path: "/refunds", Body: map[string]any{
					"payment_intent": "{{paymentIntentId}}", "amount": "{{amount}}",
				}},
			},
		},
	}))
	out, err := acts.AppAction(context.Background(), run.ActionRequest{
		IdempotencyKey: "triggerd/process-order-cancellation/ev-9/refund-payment",
		Config: map[string]any{"app": "stripe", "operation": "refund-payment", "input": map[string]any{
			"paymentIntentId": "pi_42", "amount": 1999,
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.(activities.HTTPOutput).Body)
	// Output:
	// POST /v1/refunds Bearer sk_test_123 triggerd/process-order-cancellation/ev-9/refund-payment
	// {"amount":1999,"payment_intent":"pi_42"}
	// map[id:re_1 status:succeeded]
}
