package activities

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/secrets"
)

func TestLogMasksSecrets(t *testing.T) {
	var buf bytes.Buffer
	a := New(WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	r := secrets.NewResolver([]secrets.Source{secrets.Env{LookupEnv: func(k string) (string, bool) {
		return "hunter2", k == secrets.EnvPrefix+"DB_PASSWORD"
	}}})
	log := run.Chain(a.Log, r.Middleware())
	out, err := log(context.Background(), request(run.TypeLog, map[string]any{
		"message": "connecting with {{secret.DB_PASSWORD}}",
		"fields":  map[string]any{"pw": "{{secret.DB_PASSWORD}}", "nested": map[string]any{"dsn": "postgres://u:{{secret.DB_PASSWORD}}@db"}},
	}))
	require.NoError(t, err)
	require.NotContains(t, buf.String(), "hunter2")
	require.Contains(t, buf.String(), `"msg":"connecting with [redacted]"`)
	require.Contains(t, buf.String(), `"pw":"[redacted]"`)
	require.Contains(t, buf.String(), `"dsn":"postgres://u:[redacted]@db"`)
	require.Equal(t, LogOutput{Level: "info", Message: "connecting with [redacted]"}, out)
}
