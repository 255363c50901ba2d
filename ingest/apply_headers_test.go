package ingest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

// docs/semantics.md: the skip header drops every event of a message, the
// skip field one event, and the cascade header reaches each event.
func TestApplyHeaders(t *testing.T) {
	evs := func() []run.Event {
		return []run.Event{{ID: "a", Record: map[string]any{"id": 1}}, {ID: "b", Record: map[string]any{"id": 2, run.FieldSkipTriggers: true}}}
	}
	apply := func(m kafka.Message, evs []run.Event) []run.Event {
		t.Helper()
		got, err := applyHeaders(m, evs)
		require.NoError(t, err)
		return got
	}
	assert.Empty(t, apply(kafka.Message{Headers: []kafka.Header{{Key: run.HeaderSkipTriggers, Value: []byte("true")}}}, evs()))

	got := apply(kafka.Message{Headers: []kafka.Header{{Key: run.HeaderCascade, Value: []byte("t1, t2")}}}, evs())
	assert.Len(t, got, 1)
	assert.Equal(t, "a", got[0].ID)
	assert.Equal(t, []string{"t1", "t2"}, got[0].Cascade)

	got = apply(kafka.Message{Headers: []kafka.Header{{Key: run.HeaderSkipTriggers, Value: []byte("false")}}}, evs()[:1])
	assert.Len(t, got, 1)
	assert.Nil(t, got[0].Cascade)

	// A database write carries the chain in its marker column.
	got = apply(kafka.Message{}, []run.Event{{ID: "c", Record: map[string]any{run.FieldCascade: "t1,t2"}}})
	assert.Equal(t, []string{"t1", "t2"}, got[0].Cascade)

	// Every spelling of the skip values; an empty cascade is no chain.
	for _, v := range []string{"TRUE", " yes ", "1", "t"} {
		assert.Empty(t, apply(kafka.Message{Headers: []kafka.Header{{Key: run.HeaderSkipTriggers, Value: []byte(v)}}}, evs()), v)
	}
	for _, v := range []any{false, nil, "no", json.Number("0"), float64(0)} {
		got = apply(kafka.Message{Headers: []kafka.Header{{Key: run.HeaderCascade, Value: []byte(" ")}}},
			[]run.Event{{ID: "d", Record: map[string]any{run.FieldSkipTriggers: v}}})
		assert.Len(t, got, 1, "%v", v)
		assert.Nil(t, got[0].Cascade)
	}
}

// A delivery header (or field) that does not parse is an error naming it
// and the reason, which the consumer turns into a DLQ write: never a guess.
func TestApplyHeadersRefusesWhatDoesNotParse(t *testing.T) {
	h := func(kv ...string) kafka.Message {
		var m kafka.Message
		for i := 0; i < len(kv); i += 2 {
			m.Headers = append(m.Headers, kafka.Header{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return m
	}
	ev := []run.Event{{ID: "a", Record: map[string]any{"id": 1}}}
	for _, tc := range []struct {
		msg  kafka.Message
		rec  map[string]any
		want string
	}{
		{msg: h(run.HeaderSkipTriggers, "maybe"), want: `header triggerd-skip-triggers: unknown value "maybe" (want true or false)`},
		{msg: h(run.HeaderSkipTriggers, ""), want: `header triggerd-skip-triggers: unknown value ""`},
		{msg: h(run.HeaderSkipTriggers, "true", run.HeaderSkipTriggers, "false"), want: `header triggerd-skip-triggers: repeated with different values "true" and "false"`},
		{msg: h(run.HeaderCascade, "t1,,t2"), want: `header triggerd-cascade: entry 2 is empty`},
		{msg: h(run.HeaderCascade, "t1,Robert'); DROP"), want: `header triggerd-cascade: entry 2 "Robert'); DROP" is not a trigger tag`},
		{msg: h(run.HeaderCascade, "\xff\xfe"), want: `is not a trigger tag`},
		{msg: h(run.HeaderCascade, strings.Repeat("a,", 3000)), want: `header triggerd-cascade: 6000 bytes, more than the 4096`},
		{msg: h(run.HeaderCascade, "a", run.HeaderCascade, "b"), want: `header triggerd-cascade: repeated with different values`},
		{rec: map[string]any{run.FieldSkipTriggers: "sometimes"}, want: `record field _triggerd_skip: unknown value "sometimes"`},
		{rec: map[string]any{run.FieldSkipTriggers: map[string]any{"a": 1}}, want: `record field _triggerd_skip: unknown value map[a:1]`},
		{rec: map[string]any{run.FieldSkipTriggers: float64(2)}, want: `record field _triggerd_skip: unknown value "2"`},
		{rec: map[string]any{run.FieldCascade: "t1,#!@123"}, want: `record field _triggerd_cascade: entry 2 "#!" is not a trigger tag`},
		{rec: map[string]any{run.FieldCascade: float64(3)}, want: `record field _triggerd_cascade: want a string, got float64`},
	} {
		evs := ev
		if tc.rec != nil {
			evs = []run.Event{{ID: "r", Record: tc.rec}}
		}
		got, err := applyHeaders(tc.msg, evs)
		require.ErrorContains(t, err, tc.want)
		assert.Nil(t, got)
	}
}
