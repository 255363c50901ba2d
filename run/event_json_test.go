package run_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

// An event crosses Temporal as JSON: its numbers keep their digits.
func TestEventJSONKeepsNumbers(t *testing.T) {
	d, err := run.ParseDecimal("1234.50")
	require.NoError(t, err)
	in := run.Input{Event: run.Event{ID: "e", Table: "t", Operation: run.OperationInsert,
		Record: map[string]any{"big": json.Number("9007199254740993"), "total": d, "n": json.Number("1234.50"), "nested": map[string]any{"x": json.Number("0.1")}}}}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var out run.Input
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, map[string]any{"big": json.Number("9007199254740993"), "total": "1234.50", "n": json.Number("1234.50"),
		"nested": map[string]any{"x": json.Number("0.1")}}, out.Event.Record)
	assert.Equal(t, "e", out.Event.ID)
}
