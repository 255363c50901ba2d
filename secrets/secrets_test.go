package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
	"github.com/triggerd/triggerd/secrets"
)

func env(m map[string]string) secrets.Env {
	return secrets.Env{LookupEnv: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

func TestRefs(t *testing.T) {
	require.Equal(t, []string{"A", "B_2"}, secrets.Refs("x {{secret.A}} y {{ secret.B_2 }} {{record.c}} {{secret.}}"))
	require.True(t, secrets.IsRef("{{ secret.API_KEY }}"))
	require.False(t, secrets.IsRef("Bearer {{secret.API_KEY}}"))
}

func TestMiddlewareResolvesAndRedacts(t *testing.T) {
	const token = `s3cr3t/"tok en"`
	r := secrets.NewResolver([]secrets.Source{env(map[string]string{"TRIGGERD_SECRET_API_TOKEN": token})})
	var got run.ActionRequest
	echo := func(_ context.Context, req run.ActionRequest) (any, error) {
		got = req
		return map[string]any{
			"headers": req.Config["headers"],
			"url":     "https://x.example/?t=" + "s3cr3t%2F%22tok+en%22",
			"n":       1,
		}, nil
	}
	req := run.ActionRequest{ActionName: "a", Config: map[string]any{
		"headers": map[string]any{"Authorization": "Bearer {{secret.API_TOKEN}}"},
		"list":    []any{"{{ secret.API_TOKEN }}", 3.0},
	}}
	out, err := r.Middleware()(echo)(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, "Bearer "+token, got.Config["headers"].(map[string]any)["Authorization"], "the action sees the value")
	require.Equal(t, []any{token, 3.0}, got.Config["list"])
	require.Equal(t, "Bearer {{secret.API_TOKEN}}", req.Config["headers"].(map[string]any)["Authorization"], "the request is not modified")
	b, err := json.Marshal(out)
	require.NoError(t, err)
	require.NotContains(t, string(b), "s3cr3t")
	require.JSONEq(t, `{"headers":{"Authorization":"Bearer [redacted]"},"url":"https://x.example/?t=[redacted]","n":1}`, string(b))
}

func TestMiddlewareRedactsErrorsKeepingClassification(t *testing.T) {
	r := secrets.NewResolver([]secrets.Source{env(map[string]string{"TRIGGERD_SECRET_K": "hunter2"})})
	req := run.ActionRequest{Config: map[string]any{"key": "{{secret.K}}"}}
	for _, tc := range []struct {
		err       error
		typ       string
		retryable bool
	}{
		{temporal.NewApplicationErrorWithOptions("HTTP 500: echo hunter2", errtype.HTTP5xx, temporal.ApplicationErrorOptions{NextRetryDelay: time.Minute}), errtype.HTTP5xx, true},
		{temporal.NewNonRetryableApplicationError("HTTP 400: bad key hunter2", errtype.HTTP4xx, errors.New("cause hunter2")), errtype.HTTP4xx, false},
		{errors.New("plain hunter2"), errtype.Unclassified, true},
	} {
		_, err := r.Middleware()(func(context.Context, run.ActionRequest) (any, error) { return nil, tc.err })(context.Background(), req)
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, err, &appErr)
		require.Equal(t, tc.typ, appErr.Type())
		require.Equal(t, !tc.retryable, appErr.NonRetryable())
		require.NotContains(t, err.Error(), "hunter2")
		require.Contains(t, err.Error(), secrets.Redacted)
		require.Nil(t, appErr.Unwrap(), "the cause chain is dropped")
	}
	e := temporal.NewApplicationErrorWithOptions("x", errtype.HTTP5xx, temporal.ApplicationErrorOptions{NextRetryDelay: time.Minute})
	_, err := r.Middleware()(func(context.Context, run.ActionRequest) (any, error) { return nil, e })(context.Background(), req)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, time.Minute, appErr.NextRetryDelay())
}

func TestUnknownSecretIsPermanent(t *testing.T) {
	r := secrets.NewResolver([]secrets.Source{env(nil)})
	called := false
	_, err := r.Middleware()(func(context.Context, run.ActionRequest) (any, error) { called = true; return nil, nil })(
		context.Background(), run.ActionRequest{Config: map[string]any{"k": "{{secret.MISSING_ONE}}"}})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.True(t, appErr.NonRetryable())
	require.Equal(t, errtype.NotConfigured, appErr.Type())
	require.Contains(t, appErr.Message(), "secret MISSING_ONE is not set (set TRIGGERD_SECRET_MISSING_ONE")
	require.False(t, called)
}

func TestRedactionOff(t *testing.T) {
	r := secrets.NewResolver([]secrets.Source{env(map[string]string{"TRIGGERD_SECRET_K": "hunter2"})}, secrets.WithRedaction(false))
	out, err := r.Middleware()(func(_ context.Context, req run.ActionRequest) (any, error) { return req.Config["k"], nil })(
		context.Background(), run.ActionRequest{Config: map[string]any{"k": "{{secret.K}}"}})
	require.NoError(t, err)
	require.Equal(t, "hunter2", out)
}

func TestFileSources(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"s.yaml": "API_KEY: from-yaml\nPORT: 8080\n",
		"s.json": `{"API_KEY": "from-json"}`,
		"s.env":  "# comment\nexport API_KEY='from env file'\nOTHER=\"x=y\"\n",
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		v, ok, err := secrets.NewFile(p).Lookup("API_KEY")
		require.NoError(t, err, name)
		require.True(t, ok, name)
		require.Contains(t, []string{"from-yaml", "from-json", "from env file"}, v)
	}
	v, _, _ := secrets.NewFile(filepath.Join(dir, "s.env")).Lookup("OTHER")
	require.Equal(t, "x=y", v)

	bad := filepath.Join(dir, "bad.env")
	require.NoError(t, os.WriteFile(bad, []byte("NOT A LINE hunter2\n"), 0o600))
	_, _, err := secrets.NewFile(bad).Lookup("X")
	require.ErrorContains(t, err, "line 1: want NAME=value")
	require.NotContains(t, err.Error(), "hunter2")
}

func TestFileIsReReadWhenItChanges(t *testing.T) {
	p := filepath.Join(t.TempDir(), "secrets.yaml")
	require.NoError(t, os.WriteFile(p, []byte("K: one\n"), 0o600))
	f := secrets.NewFile(p)
	r := secrets.NewResolver([]secrets.Source{env(map[string]string{"TRIGGERD_SECRET_E": "env wins"}), f})
	v, err := r.Lookup("K")
	require.NoError(t, err)
	require.Equal(t, "one", v)
	require.NoError(t, os.WriteFile(p, []byte("K: two-rotated\nE: file\n"), 0o600))
	// A different size is enough to notice; set the time too for filesystems
	// with coarse timestamps.
	require.NoError(t, os.Chtimes(p, time.Now(), time.Now().Add(time.Second)))
	v, err = r.Lookup("K")
	require.NoError(t, err)
	require.Equal(t, "two-rotated", v)
	v, err = r.Lookup("E")
	require.NoError(t, err)
	require.Equal(t, "env wins", v, "the environment takes precedence")
}

// A file half-rewritten keeps serving its last good values; a file never
// readable is a retryable failure, an unknown name a permanent one.
func TestFileFailures(t *testing.T) {
	p := filepath.Join(t.TempDir(), "secrets.env")
	require.NoError(t, os.WriteFile(p, []byte("K=good\n"), 0o600))
	f := secrets.NewFile(p)
	v, ok, err := f.Lookup("K")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "good", v)
	require.NoError(t, os.WriteFile(p, []byte("K=good\nbroken line\n"), 0o600))
	v, _, err = f.Lookup("K")
	require.NoError(t, err)
	require.Equal(t, "good", v, "last good values")

	mw := secrets.NewResolver([]secrets.Source{secrets.NewFile(filepath.Join(t.TempDir(), "absent.env"))}).Middleware()
	_, err = mw(func(context.Context, run.ActionRequest) (any, error) { return nil, nil })(
		context.Background(), run.ActionRequest{Config: map[string]any{"k": "{{secret.K}}"}})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.False(t, appErr.NonRetryable(), "an unreadable file may be back on the next attempt")
	require.Equal(t, errtype.Unclassified, appErr.Type())
}

func TestPanicIsRedacted(t *testing.T) {
	r := secrets.NewResolver([]secrets.Source{env(map[string]string{"TRIGGERD_SECRET_K": "hunter2"})})
	_, err := r.Middleware()(func(_ context.Context, req run.ActionRequest) (any, error) {
		panic("bad token " + req.Config["k"].(string))
	})(context.Background(), run.ActionRequest{Config: map[string]any{"k": "{{secret.K}}"}})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Contains(t, appErr.Message(), "panic: bad token [redacted]")
	require.NotContains(t, appErr.Message(), "hunter2")
	require.False(t, appErr.NonRetryable())
}
