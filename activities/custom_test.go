package activities

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

func TestCustomAction(t *testing.T) {
	var got ActionContext
	a := New(WithCustom("greet", func(ctx context.Context, ac ActionContext) (any, error) {
		got = ac
		return map[string]any{"hello": ac.Record["name"]}, nil
	}))
	req := request(run.TypeCustom, map[string]any{"function": "greet", "params": map[string]any{"x": 1.0}})
	req.Context = &run.EventContext{Record: map[string]any{"name": "Ada"}, ChangedFields: []string{"name"},
		Event: "afterUpdate", Table: "users", Operation: "update", Outputs: map[string]any{"prev": 1.0}}
	out, err := a.Custom(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"hello": "Ada"}, out)
	require.Equal(t, []string{"name"}, got.ChangedFields)
	require.Equal(t, 1.0, got.Outputs["prev"])
	require.Equal(t, req.IdempotencyKey, got.IdempotencyKey)

	_, err = a.Custom(context.Background(), request(run.TypeCustom, map[string]any{"function": "nope"}))
	appError(t, err, errtype.NotConfigured, false)
}
