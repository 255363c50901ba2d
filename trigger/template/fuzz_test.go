package template

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The template's fuzz target: what a template renders is JSON (it travels
// to Temporal as such). Seeds are below and in testdata/fuzz/FuzzTemplate;
// scripts/fuzz.sh runs it for a bounded time in CI.

// FuzzTemplate checks a template at load (as a definition's config is
// checked) and renders it against a fuzzed record: no panic, and whatever
// renders encodes as JSON.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"{{record.id}}", "Hello {{ record.user.name }}!", "{{record.items[0].sku}}", "{{previousRecord}}",
		"{{changedFields}}", "{{secret.API_KEY}}", "{{actions.hook.output.body.id}}", "{{run.cascade}}",
		"{{records[1].id}}", "{{event}} {{table}} {{timestamp}}", "{{ {{record.x}} }}", "{{", "}}{{}}", "{{record.}}",
		"{{record[\"a b\"]}}", "{{record.a | default \"x\"}}",
	} {
		f.Add(s, []byte(`{"id": 7, "user": {"name": "Ada"}, "items": [{"sku": "MUG-1"}], "x": "y"}`))
	}
	f.Fuzz(func(t *testing.T, tpl string, record []byte) {
		Check(map[string]any{"a": tpl, "b": []any{tpl}}, "config", map[string]bool{"hook": true}, func(string, string) {})
		dec := json.NewDecoder(bytes.NewReader(record))
		dec.UseNumber() // as ingest decodes: numbers as json.Number
		var rec map[string]any
		if dec.Decode(&rec) != nil {
			rec = nil // anything but a JSON object is no record
		}
		scope := Scope{Record: rec, PreviousRecord: rec, Event: "afterUpdate", Table: "public.orders", Operation: "update",
			Timestamp: time.Unix(1700000000, 0).UTC(), Actions: map[string]any{"hook": map[string]any{"output": rec}},
			Records: []map[string]any{rec, rec}, Cascade: []string{"a", "b"}}
		out, notes, err := RenderConfigTrace(map[string]any{"a": tpl, "b": []any{tpl, map[string]any{"c": tpl}}}, scope)
		if err != nil {
			return
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("rendered config does not encode: %v (%v)", err, notes)
		}
	})
}
