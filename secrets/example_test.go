package secrets_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/secrets"
)

// The middleware hands the action the value and Temporal the redacted
// output. Register it with the activities:
// acts.Register(w, resolver.Middleware()).
func ExampleResolver_Middleware() {
	resolver := secrets.NewResolver([]secrets.Source{secrets.Env{LookupEnv: func(k string) (string, bool) {
		return "sk_live_123", k == "TRIGGERD_SECRET_STRIPE_KEY"
	}}})
	action := func(_ context.Context, req run.ActionRequest) (any, error) {
		fmt.Println("action sees:", req.Config["auth"])
		return map[string]any{"echo": req.Config["auth"]}, nil
	}
	out, _ := resolver.Middleware()(action)(context.Background(), run.ActionRequest{
		Config: map[string]any{"auth": "Bearer {{secret.STRIPE_KEY}}"},
	})
	b, _ := json.Marshal(out)
	fmt.Println("history gets:", string(b))
	// Output:
	// action sees: Bearer sk_live_123
	// history gets: {"echo":"Bearer [redacted]"}
}
