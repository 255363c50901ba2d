package ingest

import (
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"

	"github.com/triggerd/triggerd/run"
)

// docs/semantics.md: the skip header drops every event of a message, the
// skip field one event, and the cascade header reaches each event.
func TestApplyHeaders(t *testing.T) {
	evs := func() []run.Event {
		return []run.Event{{ID: "a", Record: map[string]any{"id": 1}}, {ID: "b", Record: map[string]any{"id": 2, run.FieldSkipTriggers: true}}}
	}
	assert.Empty(t, applyHeaders(kafka.Message{Headers: []kafka.Header{{Key: run.HeaderSkipTriggers, Value: []byte("true")}}}, evs()))

	got := applyHeaders(kafka.Message{Headers: []kafka.Header{{Key: run.HeaderCascade, Value: []byte("t1, t2")}}}, evs())
	assert.Len(t, got, 1)
	assert.Equal(t, "a", got[0].ID)
	assert.Equal(t, []string{"t1", "t2"}, got[0].Cascade)

	got = applyHeaders(kafka.Message{Headers: []kafka.Header{{Key: run.HeaderSkipTriggers, Value: []byte("false")}}}, evs()[:1])
	assert.Len(t, got, 1)
	assert.Nil(t, got[0].Cascade)

	// A database write carries the chain in its marker column.
	got = applyHeaders(kafka.Message{}, []run.Event{{ID: "c", Record: map[string]any{run.FieldCascade: "t1,t2"}}})
	assert.Equal(t, []string{"t1", "t2"}, got[0].Cascade)
}
