package api_test

import (
	"encoding/json"
	"testing"

	"github.com/triggerd/triggerd/trigger"
)

// assertMatched checks that the report says exactly tag matched, with a
// trace and rendered actions for it.
func assertMatched(t *testing.T, raw json.RawMessage, tag string) {
	t.Helper()
	var rep trigger.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	if len(rep.Matched) != 1 || rep.Matched[0] != tag {
		t.Fatalf("matched %v, want [%s]:\n%s", rep.Matched, tag, raw)
	}
	for _, tr := range rep.Triggers {
		if tr.Tag == tag && (tr.Condition == nil || len(tr.Actions) == 0) {
			t.Fatalf("%s: no trace or actions:\n%s", tag, raw)
		}
	}
}
