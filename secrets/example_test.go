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

// A process resolves the credentials of its own config at start-up from
// the same sources; a missing one names its field.
func ExampleResolver_ResolveFields() {
	type auth struct {
		Token string `yaml:"token"`
	}
	cfg := struct {
		Stripe auth `yaml:"stripe"`
		ERP    auth `yaml:"erp"`
	}{auth{"{{secret.STRIPE_KEY}}"}, auth{"{{secret.ERP_TOKEN}}"}}
	resolver := secrets.NewResolver([]secrets.Source{secrets.Env{LookupEnv: func(k string) (string, bool) {
		return "sk_live_123", k == "TRIGGERD_SECRET_STRIPE_KEY"
	}}})
	err := resolver.ResolveFields(&cfg)
	fmt.Println(cfg.Stripe.Token)
	fmt.Println(err)
	// Output:
	// sk_live_123
	// erp.token: unknown secret: secret ERP_TOKEN is not set (set TRIGGERD_SECRET_ERP_TOKEN or add it to secrets.file)
}
