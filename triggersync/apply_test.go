package triggersync_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
	"github.com/triggerd/triggerd/triggersync"
)

// An apply with any invalid document is refused whole: the error lists
// every problem of every document (field and reason, prefixed by the
// document's position) and the store keeps nothing.
func TestApplyRefusesTheWholeBatchListingEveryProblem(t *testing.T) {
	ctx := context.Background()
	st := triggerstore.NewMemory()
	docs := []json.RawMessage{
		cacheDoc("ok", "sessions"),
		json.RawMessage(`{"tag": "bad", "tables": ["public.orders"], "events": ["afterNothing"], "actions": [{"type": "log"}]}`),
		cacheDoc("ok", "sessions"),
		cacheDoc("unknown-cache", "orders"),
	}
	check := func(defs []trigger.Definition) []trigger.Problem {
		var out []trigger.Problem
		for _, d := range defs {
			if d.Tag == "unknown-cache" {
				out = append(out, trigger.Problem{Tag: d.Tag, Field: "actions[1].config.cache", Reason: `no cache "orders" is configured`})
			}
		}
		return out
	}
	_, err := triggersync.Apply(ctx, st, docs, false, "test", check)
	var ae *triggersync.ApplyError
	require.True(t, errors.As(err, &ae), "got %T %v", err, err)
	var fields []string
	for _, p := range ae.Problems {
		assert.NotEmpty(t, p.Reason, p.Field)
		fields = append(fields, p.Field)
	}
	assert.Contains(t, fields, "triggers[1].events[0]")
	assert.Contains(t, fields, "triggers[2].tag", "a tag listed twice")
	assert.Contains(t, fields, "triggers[3].actions[1].config.cache")
	assert.ErrorContains(t, err, "nothing was applied")
	recs, err := st.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, recs, "nothing is stored")
}

// Applying the same documents again stores no new version; prune deletes
// what the request does not list.
func TestApplyIsIdempotentAndPrunes(t *testing.T) {
	ctx := context.Background()
	st := triggerstore.NewMemory()
	docs := []json.RawMessage{cacheDoc("a", "sessions"), cacheDoc("b", "sessions")}
	res, err := triggersync.Apply(ctx, st, docs, false, "test", nil)
	require.NoError(t, err)
	assert.Len(t, res.Created, 2)

	res, err = triggersync.Apply(ctx, st, docs, false, "test", nil)
	require.NoError(t, err)
	assert.Empty(t, res.Created)
	assert.Equal(t, []triggersync.Applied{{Tag: "a", Version: 1}, {Tag: "b", Version: 1}}, res.Unchanged)

	res, err = triggersync.Apply(ctx, st, docs[:1], true, "test", nil)
	require.NoError(t, err)
	require.Len(t, res.Deleted, 1)
	assert.Equal(t, "b", res.Deleted[0].Tag)
	assert.Equal(t, int64(1), res.Deleted[0].PreviousVersion)
}
