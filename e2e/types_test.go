package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/ingest/connect"
	"github.com/triggerd/triggerd/ingest/sourcedb"
	"github.com/triggerd/triggerd/internal/cdctest"
	"github.com/triggerd/triggerd/trigger"
)

// exactReceiver records request bodies with their numbers exact
// (json.Number), by path.
type exactReceiver struct {
	mu     sync.Mutex
	byPath map[string][]map[string]any
}

func (r *exactReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	_ = dec.Decode(&doc)
	r.mu.Lock()
	if r.byPath == nil {
		r.byPath = map[string][]map[string]any{}
	}
	r.byPath[req.URL.Path] = append(r.byPath[req.URL.Path], doc)
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *exactReceiver) got(path string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.byPath[path]...)
}

// typeColumn is one column of the type matrix: its PostgreSQL type and
// the SQL literal inserted, a structured condition and a CEL expression
// that hold for that value, and the JSON a template renders it as.
type typeColumn struct {
	name, sqlType, literal string
	cond, when             string
	rendered               any
}

// matrixTemplates render a column in the action's body other than as
// "{{record.<name>}}" (the value with its type). Past 2^53, as a whole
// JSON value, an integer would reach the action through its float64 JSON
// decoding: interpolated, it keeps its digits (docs/debezium.md).
var matrixTemplates = map[string]string{"i8": "id-{{record.i8}}"}

// typeMatrix lists every PostgreSQL type docs/debezium.md maps. interval
// is the one whose rendering depends on the connector: Debezium's default
// MicroDuration is a length, interval.handling.mode=string the exact
// ISO 8601 value. Times have millisecond precision, which both test
// connectors keep (time.precision.mode=connect keeps no more).
func typeMatrix(connector string) []typeColumn {
	interval := "P3DT4H5M6.789S"
	if connector == cdctest.Schemaless {
		interval = "P0Y0M3DT4H5M6.789S"
	}
	return []typeColumn{
		{"n_scale", "numeric(12,2)", "1234.50", "{and: [{field: n_scale, operator: EQUALS, value: 1234.5}, {field: n_scale, operator: GREATER_THAN, value: 1000}]}",
			"record.n_scale == 1234.5 && record.n_scale > 1000", "1234.50"},
		{"n_free", "numeric", "3.14159265358979323846", "{field: n_free, operator: EQUALS, value: '3.14159265358979323846'}",
			"record.n_free > 3.1415926 && record.n_free < 3.1415927", "3.14159265358979323846"},
		{"price", "money", "12.34", "{field: price, operator: EQUALS, value: 12.34}", "record.price == 12.34", "12.34"},
		{"day", "date", "'2024-03-01'", "{and: [{field: day, operator: EQUALS, value: '2024-03-01'}, {field: day, operator: GREATER_THAN, value: '2024-01-01'}]}",
			"record.day == '2024-03-01' && record.day > '2024-01-01'", "2024-03-01"},
		{"t", "time(3)", "'13:45:30.123'", "{field: t, operator: EQUALS, value: '13:45:30.123'}", "record.t == '13:45:30.123'", "13:45:30.123"},
		{"ttz", "timetz", "'13:45:30.5+02'", "{field: ttz, operator: EQUALS, value: '11:45:30.5Z'}", "record.ttz == '11:45:30.5Z'", "11:45:30.5Z"},
		{"ts", "timestamp(3)", "'2024-03-01 13:45:30.123'", "{field: ts, operator: EQUALS, value: '2024-03-01T13:45:30.123Z'}",
			"record.ts == timestamp('2024-03-01T13:45:30.123Z')", "2024-03-01T13:45:30.123Z"},
		{"tstz", "timestamptz", "'2024-03-01 13:45:30.123456+00'", "{and: [{field: tstz, operator: EQUALS, value: '2024-03-01T14:45:30.123456+01:00'}, {field: tstz, operator: GREATER_THAN, value: '2024-03-01'}]}",
			"record.tstz > timestamp('2024-03-01T13:45:30Z') && record.tstz < timestamp('2024-03-01T13:45:31Z')", "2024-03-01T13:45:30.123456Z"},
		{"iv", "interval", "'3 days 04:05:06.789'", "{field: iv, operator: EQUALS, value: '" + interval + "'}", "record.iv == '" + interval + "'", interval},
		{"j", "json", `'{"kind":"a","n":1}'`, "{field: j.kind, operator: EQUALS, value: a}", "record.j.kind == 'a' && record.j.n == 1",
			map[string]any{"kind": "a", "n": json.Number("1")}},
		{"jb", "jsonb", `'{"kind": "a", "tags": ["x", "y"]}'`, "{field: jb.tags, operator: CONTAINS, value: x}", "'x' in record.jb.tags",
			map[string]any{"kind": "a", "tags": []any{"x", "y"}}},
		{"u", "uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "{field: u, operator: EQUALS, value: a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
			"record.u == 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"b", "boolean", "true", "{field: b, operator: EQUALS, value: true}", "record.b", true},
		{"i2", "smallint", "32767", "{field: i2, operator: EQUALS, value: 32767}", "record.i2 == 32767", json.Number("32767")},
		{"i4", "integer", "2147483647", "{field: i4, operator: EQUALS, value: 2147483647}", "record.i4 == 2147483647", json.Number("2147483647")},
		{"i8", "bigint", "9007199254740993", "{and: [{field: i8, operator: EQUALS, value: 9007199254740993}, {field: i8, operator: GREATER_THAN, value: 9007199254740992}]}",
			"record.i8 == 9007199254740993 && record.i8 > 9007199254740992", "id-9007199254740993"},
		{"f4", "real", "1.5", "{field: f4, operator: EQUALS, value: 1.5}", "record.f4 == 1.5", json.Number("1.5")},
		{"f8", "double precision", "2.25", "{field: f8, operator: LESS_THAN, value: 2.5}", "record.f8 == 2.25", json.Number("2.25")},
		{"txt", "text", `'héllo "quoted"'`, `{field: txt, operator: EQUALS, value: 'héllo "quoted"'}`, `record.txt.startsWith('héllo')`, `héllo "quoted"`},
		{"tags", "text[]", `'{a,"b c"}'`, "{field: tags, operator: CONTAINS, value: b c}", "'b c' in record.tags", []any{"a", "b c"}},
		{"nums", "int4[]", "'{1,2,3}'", "{field: nums, operator: CONTAINS, value: 2}", "2 in record.nums", []any{json.Number("1"), json.Number("2"), json.Number("3")}},
		{"mood", "mood", "'happy'", "{field: mood, operator: IN, value: [ok, happy]}", "record.mood == 'happy'", "happy"},
		{"bin", "bytea", `'\xdeadbeef'`, "{field: bin, operator: EQUALS, value: 3q2+7w==}", "record.bin == '3q2+7w=='", "3q2+7w=="},
	}
}

// matrixTriggers are, for the type matrix, one structured and one CEL
// trigger per column (for the dry run's per-column traces) and the two
// live triggers: every structured condition, every CEL expression, each
// posting every column rendered.
func matrixTriggers(t *testing.T, cols []typeColumn, url string) (perColumn, live []trigger.Definition) {
	t.Helper()
	logAction := []any{map[string]any{"type": "log", "config": map[string]any{"message": "m"}}}
	var docs, conds []any
	var whens []string
	body := map[string]any{"line": "total {{record.n_scale}} on {{record.day}} at {{record.ts}}, id {{record.i8}}"}
	for _, c := range cols {
		var cond any
		require.NoError(t, yaml.Unmarshal([]byte(c.cond), &cond), c.cond)
		tag := strings.ReplaceAll(c.name, "_", "-")
		docs = append(docs,
			map[string]any{"tag": "s-" + tag, "tables": []any{"types"}, "events": []any{"afterInsert"}, "condition": cond, "actions": logAction},
			map[string]any{"tag": "c-" + tag, "tables": []any{"types"}, "events": []any{"afterInsert"}, "when": c.when, "actions": logAction})
		conds = append(conds, cond)
		whens = append(whens, "("+c.when+")")
		body[c.name] = "{{record." + c.name + "}}"
		if tpl, ok := matrixTemplates[c.name]; ok {
			body[c.name] = tpl
		}
	}
	parse := func(docs []any) []trigger.Definition {
		b, err := json.Marshal(docs)
		require.NoError(t, err)
		defs, err := trigger.Parse(b, "matrix.json")
		require.NoError(t, err)
		return defs
	}
	post := func(path string) []any {
		return []any{map[string]any{"type": "http", "config": map[string]any{"url": url + path, "body": body}}}
	}
	live = parse([]any{
		map[string]any{"tag": "structured", "tables": []any{"types"}, "events": []any{"afterInsert"}, "condition": map[string]any{"and": conds}, "actions": post("/structured")},
		map[string]any{"tag": "cel", "tables": []any{"types"}, "events": []any{"afterInsert"}, "when": strings.Join(whens, " && "), "actions": post("/cel")},
	})
	return parse(docs), live
}

// decodeOptionsFor are the options that read the connector's events: its
// settings mirrored (config debezium.connector) and, without schemas, the
// column types read from the captured database (debezium.database).
func decodeOptionsFor(h *cdctest.Harness) ingest.DecodeOptions {
	c := h.Connector()
	opts := ingest.DecodeOptions{Connector: connect.ConnectorSettings{
		DecimalHandlingMode:  c.Config["decimal.handling.mode"],
		TimePrecisionMode:    c.Config["time.precision.mode"],
		IntervalHandlingMode: c.Config["interval.handling.mode"],
	}}
	if !c.SchemasEnabled {
		cat := sourcedb.NewCatalog(h.Pool(), nil)
		opts.ColumnTypes, opts.ReplicaIdentities = cat, cat
	}
	return opts
}

// TestTypeMatrix writes a row holding every PostgreSQL type with SQL and
// lets Debezium produce its change event, once with schemas.enable=true
// (Debezium's default encodings) and once without (the documented
// settings, with column types read from the database): for each column a
// structured condition and a CEL condition see the SQL value (per column,
// in the dry run of the real event), and both run the trigger, whose
// template renders every column in its natural JSON form.
func TestTypeMatrix(t *testing.T) {
	for _, connector := range []string{cdctest.Schemas, cdctest.Schemaless} {
		t.Run(connector, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			h := cdctest.New(t, cdctest.WithConnector(connector))
			cols := typeMatrix(connector)
			var defs []string
			for _, c := range cols {
				defs = append(defs, c.name+" "+c.sqlType)
			}
			h.Exec(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`)
			h.Exec(`CREATE TABLE types (id int PRIMARY KEY, ` + strings.Join(defs, ", ") + `)`)
			h.CreateTopics(1, "types")

			rcv := &exactReceiver{}
			srv := httptest.NewServer(rcv)
			t.Cleanup(srv.Close)
			perColumn, live := matrixTriggers(t, cols, srv.URL)
			reg := trigger.NewRegistry()
			require.NoError(t, reg.Replace(live))

			opts := decodeOptionsFor(h)
			e.startWorker(t)
			dlq := "types-dlq-" + e.suffix
			e.createTopics(t, dlq)
			e.startConsumer(t, reg, "types-"+e.suffix, []string{h.Topic("types")}, dlq, func(c *ingest.Config) { c.Decode = opts })

			var literals []string
			for _, c := range cols {
				literals = append(literals, c.literal)
			}
			h.Exec(`INSERT INTO types VALUES (1, ` + strings.Join(literals, ", ") + `)`)

			// Per column, in the dry run of the very event Debezium wrote.
			evs, err := ingest.Decode(h.WaitFirstEvent(ctx, "types"), opts)
			require.NoError(t, err)
			require.Len(t, evs, 1)
			assert.Empty(t, evs[0].Notes)
			set, err := trigger.NewSet(perColumn)
			require.NoError(t, err)
			rep := set.Test(evs[0])
			for _, tr := range rep.Triggers {
				assert.True(t, tr.Matched, "%s: %s %s %s", tr.Tag, tr.Reason, traceOf(tr.Condition), traceOf(tr.When))
			}
			assert.Len(t, rep.Matched, 2*len(cols))

			// Live: both triggers ran, and their templates rendered every
			// column as the SQL wrote it.
			eventually(t, "both triggers' requests", 2*time.Minute, func() bool {
				return len(rcv.got("/structured")) == 1 && len(rcv.got("/cel")) == 1
			})
			for _, path := range []string{"/structured", "/cel"} {
				body := rcv.got(path)[0]
				for _, c := range cols {
					assert.Equal(t, c.rendered, body[c.name], "%s %s", path, c.name)
				}
				assert.Equal(t, "total 1234.50 on 2024-03-01 at 2024-03-01T13:45:30.123Z, id 9007199254740993", body["line"])
			}
		})
	}
}

func traceOf(t *trigger.Trace) string {
	if t == nil {
		return ""
	}
	b, _ := json.Marshal(t)
	return string(b)
}
