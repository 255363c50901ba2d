package trigger

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

func TestDeliveryBatchPlanned(t *testing.T) {
	s := mustSet(t, `
triggers:
  - tag: hot
    tables: [orders]
    events: [afterInsert]
    delivery: {batch: {max: 50, wait: 20ms}}
    actions: [{type: http, config: {url: "http://x.test"}}]
  - tag: defaults
    tables: [orders]
    events: [afterInsert]
    delivery: {batch: {}}
    actions: [{type: http, config: {url: "http://x.test"}}]
  - tag: plain
    tables: [orders]
    events: [afterInsert]
    actions: [{type: http, config: {url: "http://x.test"}}]
`)
	got := map[string]*run.BatchedDelivery{}
	for _, in := range s.Plan(run.Event{Table: "orders", Operation: run.OperationInsert}) {
		got[in.Trigger.Tag] = in.BatchedDelivery
	}
	assert.Equal(t, &run.BatchedDelivery{Max: 50, Wait: 20 * time.Millisecond}, got["hot"])
	assert.Equal(t, &run.BatchedDelivery{Max: run.DefaultDeliveryMax}, got["defaults"])
	assert.Nil(t, got["plain"])

	doc := s.Definitions()[1].Document()
	assert.Equal(t, map[string]any{"batch": map[string]any{"max": 50, "wait": "20ms"}}, doc["delivery"])
}

func TestDeliveryBatchProblems(t *testing.T) {
	_, err := Parse([]byte(`
triggers:
  - tag: a
    tables: [orders]
    events: [afterInsert]
    delivery: {batch: {max: 0, wait: 1m, size: 3}}
    actions: [{type: http, config: {url: "http://x.test"}}]
  - tag: b
    tables: [orders]
    events: [afterInsert]
    for: all
    delivery: {batch: {max: 10}}
    actions: [{type: http, config: {url: "http://x.test"}}]
  - tag: e
    tables: [orders]
    events: [afterUpdate]
    delivery: {batch: {max: 10}}
    actions: [{type: http, timing: sync, config: {url: "http://x.test"}}]
  - tag: c
    tables: [orders]
    events: [afterInsert]
    delivery: {batches: 3}
    actions: [{type: http, config: {url: "http://x.test"}}]
  - tag: d
    tables: [orders]
    events: [afterInsert]
    delivery: {batch: 5}
    actions: [{type: http, config: {url: "http://x.test"}}]
`), "t.yaml")
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	got := map[string]string{}
	for _, p := range ve.Problems {
		got[p.Tag+" "+p.Field] = p.Reason
	}
	assert.Contains(t, got["a delivery.batch.max"], "between 1 and 1000")
	assert.Contains(t, got["a delivery.batch.wait"], "between 0 and 10s")
	assert.Equal(t, "unknown field", got["a delivery.batch.size"])
	assert.Contains(t, got["b delivery.batch"], "for: all")
	assert.Contains(t, got["e actions[0].timing"], "delivery.batch")
	assert.Equal(t, "unknown field", got["c delivery.batches"])
	assert.Contains(t, got["d delivery.batch"], "must be a mapping")
}
