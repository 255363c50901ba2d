package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/triggerd/triggerd/run"
)

// The fuzz targets of the trigger language. Each holds a property beyond
// "does not panic": what the loader accepts has a canonical document that
// loads back to itself, and conditions and `when:` evaluate on any record
// (the templates' target is in package template).
// Seeds are below and in testdata/fuzz/<target>; scripts/fuzz.sh runs
// every target for a bounded time in CI.

// fuzzRecord decodes a fuzzed record as ingest does (numbers as
// json.Number); anything but a JSON object is no record.
func fuzzRecord(b []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}

// fuzzEvent is an update of public.orders with the fuzzed records.
func fuzzEvent(record, previous []byte) run.Event {
	return run.Event{ID: "ev-1", Schema: "public", Table: "orders", Operation: run.OperationUpdate, Key: "1",
		Record: fuzzRecord(record), PreviousRecord: fuzzRecord(previous), Timestamp: time.Unix(1700000000, 0).UTC()}
}

// checkLoaded asserts the round trip of every definition of a loaded set
// and evaluates it on an event.
func checkLoaded(t *testing.T, defs []Definition, ev run.Event) {
	set, err := NewSet(defs)
	if err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("NewSet: %T %v", err, err)
		}
		return
	}
	for _, d := range set.Definitions() {
		doc, err := json.Marshal(d.Document())
		if err != nil {
			t.Fatalf("canonical document of %q does not encode: %v", d.Tag, err)
		}
		back, err := ParseDocument(doc)
		if err == nil {
			err = ValidateDefinition(back)
		}
		if err != nil {
			t.Fatalf("canonical document of %q does not load back: %v\n%s", d.Tag, err, doc)
		}
		again, err := json.Marshal(back.Document())
		if err != nil || !bytes.Equal(doc, again) {
			t.Fatalf("canonical document of %q is not stable:\n%s\n%s", d.Tag, doc, again)
		}
	}
	for _, in := range set.Plan(ev) {
		if _, err := json.Marshal(in); err != nil {
			t.Fatalf("run input does not encode: %v", err)
		}
	}
	set.Test(ev)
}

const seedTrigger = `tag: notify-shipped
tables: [public.orders]
events: [afterUpdate]
priority: 5
condition:
  and:
    - {field: record.status, operator: EQUALS, value: shipped}
    - {field: record.status, operator: CHANGED}
    - or: [{field: record.total, operator: GREATER_THAN, value: 100}, {field: record.vip, operator: equals, value: true}]
when: 'record.total > 10.0 && changed("status")'
actions:
  - name: hook
    type: http
    config: {url: "https://hooks.example.com/{{record.id}}", body: {id: "{{record.id}}", was: "{{previousRecord.status}}"}}
    retry: {maxAttempts: 3}
  - {type: log, config: {message: "order {{record.id}} {{changedFields}}"}}
`

func FuzzParseYAML(f *testing.F) {
	f.Add([]byte(seedTrigger), []byte(`{"id": 1, "status": "shipped", "total": 120}`))
	f.Add([]byte("triggers:\n  - {tag: a, tables: [t], events: [afterInsert], actions: [{type: log, config: {message: x}}]}\n"), []byte(`{}`))
	f.Add([]byte("- tag: b\n  tables: [\"*\"]\n  events: [afterWrite]\n  actions: []\n"), []byte(`{"a": null}`))
	f.Add([]byte("&a [*a]"), []byte(`[]`))
	f.Fuzz(func(t *testing.T, data, record []byte) {
		defs, err := Parse(data, "t.yaml")
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse: %T %v", err, err)
			}
			return
		}
		checkLoaded(t, defs, fuzzEvent(record, record))
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"tag": "a", "tables": ["public.orders"], "events": ["afterUpdate"], "condition": {"field": "record.x", "operator": "IN", "value": [1, 2]}, "actions": [{"type": "log", "config": {"message": "{{record.x}}"}}]}`), []byte(`{"x": 1}`))
	f.Add([]byte(`{"triggers": [{"tag": "b", "tables": ["orders"], "events": ["afterInsert"], "when": "record.x == 1", "actions": []}]}`), []byte(`{"x": 1.5e300}`))
	f.Add([]byte(`[{"tag": "c"}]`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, data, record []byte) {
		defs, err := Parse(data, "t.json")
		if err == nil {
			checkLoaded(t, defs, fuzzEvent(record, nil))
		}
		// The API's reader of one document (JSON, else YAML).
		d, err := ParseDocument(data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ParseDocument: %T %v", err, err)
			}
			return
		}
		if ValidateDefinition(d) == nil {
			checkLoaded(t, []Definition{d}, fuzzEvent(record, nil))
		}
	})
}

// conditionDoc is a trigger whose condition (or when, if cond is a JSON
// string) is the fuzzed one.
func conditionDoc(key string, cond []byte) []byte {
	return []byte(`{"tag": "f", "tables": ["public.orders"], "events": ["afterUpdate"], "` + key + `": ` + string(cond) +
		`, "actions": [{"type": "log", "config": {"message": "m"}}]}`)
}

// FuzzCondition compiles a condition tree as a definition's and evaluates
// it on fuzzed records, through the set (Plan) and the dry run (Test).
func FuzzCondition(f *testing.F) {
	rec := []byte(`{"id": 1, "status": "shipped", "total": 120.5, "tags": ["a", "b"], "meta": {"vip": true}, "n": null}`)
	prev := []byte(`{"id": 1, "status": "paid", "total": 120.5}`)
	for _, c := range []string{
		`{"field": "record.status", "operator": "EQUALS", "value": "shipped"}`,
		`{"and": [{"field": "record.total", "operator": "GREATER_THAN_OR_EQUALS", "value": 100}, {"not": {"field": "record.n", "operator": "IS_NULL"}}]}`,
		`{"or": [{"field": "record.tags", "operator": "CONTAINS", "value": "a"}, {"field": "record.status", "operator": "MATCHES", "value": "^sh.*"}]}`,
		`{"field": "record.status", "operator": "CHANGED_FROM", "value": "paid"}`,
		`{"field": "record.total", "operator": "lessThan", "value": 200}`,
		`{"field": "record.meta.vip", "operator": "EQUALS", "value": true}`,
		`{"field": "record.tags", "operator": "IS_NOT_EMPTY"}`,
		`{"field": "previousRecord.status", "operator": "IN", "value": ["paid", "new"]}`,
		`{"field": "record.status", "operator": "MATCHES", "value": "(a+)+$"}`,
	} {
		f.Add([]byte(c), rec, prev)
	}
	f.Fuzz(func(t *testing.T, cond, record, previous []byte) {
		if !json.Valid(cond) {
			return
		}
		fuzzDocument(t, conditionDoc("condition", cond), fuzzEvent(record, previous))
	})
}

// FuzzWhenCEL compiles a `when:` CEL expression (type-checked at load) and
// evaluates it on fuzzed records.
func FuzzWhenCEL(f *testing.F) {
	rec := []byte(`{"id": 1, "status": "shipped", "total": 120.5, "tags": ["a", "b"], "meta": {"vip": true}}`)
	for _, w := range []string{
		`record.total > 100.0`, `changed("status") && record.status == "shipped"`, `"a" in record.tags`,
		`record.meta.vip == true || size(record.tags) > 3`, `record.status.matches("^sh")`, `int(record.id) / 0 == 1`,
		`has(record.missing) ? record.missing : false`, `previousRecord.status != record.status`,
		`[1, 2, 3].all(x, x > 0)`, `record.tags.exists(t, t.startsWith("a"))`, `double(record.total) * 1e308 * 10.0 > 1.0`,
	} {
		f.Add(w, rec, rec)
	}
	f.Fuzz(func(t *testing.T, when string, record, previous []byte) {
		expr, err := json.Marshal(when)
		if err != nil {
			return
		}
		fuzzDocument(t, conditionDoc("when", expr), fuzzEvent(record, previous))
	})
}

// fuzzDocument loads doc as the API does and, if it is valid, evaluates it.
func fuzzDocument(t *testing.T, doc []byte, ev run.Event) {
	d, err := ParseDocument(doc)
	if err != nil {
		return
	}
	if ValidateDefinition(d) != nil {
		return
	}
	checkLoaded(t, []Definition{d}, ev)
}
