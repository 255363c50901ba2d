package secrets_test

import (
	"context"
	"testing"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/secrets"
)

// The cost the middleware adds to every action: nothing to resolve (most
// actions), and one secret resolved and redacted from a small output.
func BenchmarkMiddleware(b *testing.B) {
	r := secrets.NewResolver([]secrets.Source{secrets.Env{LookupEnv: func(k string) (string, bool) { return "s3cr3t-value", true }}})
	action := r.Middleware()(func(_ context.Context, req run.ActionRequest) (any, error) {
		return map[string]any{"status": 200, "body": map[string]any{"echo": req.Config["headers"]}}, nil
	})
	for name, cfg := range map[string]map[string]any{
		"none": {"url": "https://x.example/{{record.id}}", "headers": map[string]any{"X": "y"}},
		"one":  {"url": "https://x.example/", "headers": map[string]any{"Authorization": "Bearer {{secret.TOKEN}}"}},
	} {
		b.Run(name, func(b *testing.B) {
			req := run.ActionRequest{Config: cfg}
			for b.Loop() {
				if _, err := action(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
