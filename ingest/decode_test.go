package ingest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

var msgTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func msgOf(key, value string) kafka.Message {
	m := kafka.Message{Topic: "dbz.public.users", Partition: 2, Offset: 7, Value: []byte(value), Time: msgTime}
	if key != "" {
		m.Key = []byte(key)
	}
	return m
}

const pgSource = `{"version":"2.7.0.Final","connector":"postgresql","name":"pg","ts_ms":1700000000000,"snapshot":"false","db":"app","sequence":"[\"24023928\",\"24023928\"]","schema":"public","table":"users","txId":771,"lsn":24023928,"xmin":null}`

func dbz(op, before, after string) string {
	return fmt.Sprintf(`{"before":%s,"after":%s,"source":%s,"op":%q,"ts_ms":1700000000123,"transaction":null}`, before, after, pgSource, op)
}

func wrapped(payload string) string {
	return `{"schema":{"type":"struct","fields":[],"optional":false,"name":"dbz.public.users.Envelope"},"payload":` + payload + `}`
}

func TestDecode_Debezium(t *testing.T) {
	before := `{"id":42,"name":"old","score":1.50}`
	after := `{"id":42,"name":"new","score":12345678901234567890}`
	key := `{"id":42}`

	for _, form := range []struct {
		name string
		wrap func(string) string
	}{{"bare", func(s string) string { return s }}, {"schema-wrapped", wrapped}} {
		t.Run(form.name, func(t *testing.T) {
			tests := []struct {
				name           string
				op             string
				opts           DecodeOptions
				wantOp         run.Operation
				wantRecord     string
				wantPrev       string
				wantSnapshot   bool
				wantNoEvent    bool
				before, after_ string
			}{
				{name: "create", op: "c", before: "null", after_: after, wantOp: run.OperationInsert, wantRecord: after},
				{name: "update", op: "u", before: before, after_: after, wantOp: run.OperationUpdate, wantRecord: after, wantPrev: before},
				{name: "update without before", op: "u", before: "null", after_: after, wantOp: run.OperationUpdate, wantRecord: after},
				{name: "delete", op: "d", before: before, after_: "null", wantOp: run.OperationDelete, wantRecord: before, wantPrev: before},
				{name: "read ignored by default", op: "r", before: "null", after_: after, wantNoEvent: true},
				{name: "read ignored", op: "r", opts: DecodeOptions{SnapshotReads: "ignore"}, before: "null", after_: after, wantNoEvent: true},
				{name: "read as insert", op: "r", opts: DecodeOptions{SnapshotReads: "insert"}, before: "null", after_: after, wantOp: run.OperationInsert, wantRecord: after, wantSnapshot: true},
				{name: "truncate", op: "t", before: "null", after_: "null", wantNoEvent: true},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					evs, err := Decode(msgOf(key, form.wrap(dbz(tt.op, tt.before, tt.after_))), tt.opts)
					require.NoError(t, err)
					if tt.wantNoEvent {
						assert.Nil(t, evs)
						return
					}
					require.Len(t, evs, 1)
					ev := evs[0]
					assert.Equal(t, tt.wantOp, ev.Operation)
					assert.Equal(t, "users", ev.Table)
					assert.Equal(t, "public", ev.Schema)
					assert.Equal(t, "app", ev.Database)
					assert.Equal(t, "public.users", ev.QualifiedTable())
					assert.Equal(t, "42", ev.Key)
					assert.Equal(t, tt.wantSnapshot, ev.Snapshot)
					assert.Equal(t, time.UnixMilli(1700000000123).UTC(), ev.Timestamp)
					assert.Equal(t, run.Source{Topic: "dbz.public.users", Partition: 2, Offset: 7, Connector: "pg",
						Position: `lsn=24023928 txId=771 sequence=["24023928","24023928"]`}, ev.Source)
					assert.Regexp(t, `^dbz-[0-9a-f]{32}$`, ev.ID)
					assert.Equal(t, obj(t, tt.wantRecord), ev.Record)
					assert.Equal(t, obj(t, tt.wantPrev), ev.PreviousRecord)
				})
			}
		})
	}
}

// obj decodes s as Decode does (json.Number), nil for "".
func obj(t *testing.T, s string) map[string]any {
	if s == "" {
		return nil
	}
	m, err := decodeObject([]byte(s))
	require.NoError(t, err)
	return m
}

func TestDecode_NumbersKeepTheirForm(t *testing.T) {
	evs, err := Decode(msgOf(`{"id":42}`, dbz("c", "null", `{"id":42,"big":12345678901234567890,"f":1.50}`)), DecodeOptions{})
	require.NoError(t, err)
	assert.Equal(t, json.Number("12345678901234567890"), evs[0].Record["big"])
	assert.Equal(t, json.Number("1.50"), evs[0].Record["f"])
}

func TestDecode_TimestampAndTransaction(t *testing.T) {
	// No payload.ts_ms: source.ts_ms.
	v := `{"before":null,"after":{"id":1},"source":{"name":"pg","table":"users","lsn":5,"ts_ms":1700000000000},"op":"c","transaction":{"id":"771:24023928","total_order":1,"data_collection_order":1}}`
	evs, err := Decode(msgOf("", v), DecodeOptions{})
	require.NoError(t, err)
	assert.Equal(t, time.UnixMilli(1700000000000).UTC(), evs[0].Timestamp)
	assert.Equal(t, "771", evs[0].Transaction, "PostgreSQL's <txid>:<lsn> differs per event: the txid is the transaction")
	assert.Equal(t, "", evs[0].Key)

	// Neither: the Kafka message time.
	v = `{"after":{"id":1},"source":{"table":"users","lsn":5},"op":"c"}`
	evs, err = Decode(msgOf("", v), DecodeOptions{})
	require.NoError(t, err)
	assert.Equal(t, msgTime, evs[0].Timestamp)
}

func TestDecode_Skipped(t *testing.T) {
	for name, value := range map[string]string{
		"tombstone":             "",
		"schema-wrapped null":   `{"schema":null,"payload":null}`,
		"tx BEGIN":              `{"status":"BEGIN","id":"571:53195829","event_count":null,"data_collections":null,"ts_ms":1700000000000}`,
		"tx END":                `{"status":"END","id":"571:53195829","event_count":2,"data_collections":[{"data_collection":"public.users","event_count":2}]}`,
		"tx END schema-wrapped": wrapped(`{"status":"END","id":"571:53195829","event_count":2}`),
		"logical message":       `{"op":"m","source":{"table":"","lsn":1},"message":{"prefix":"p","content":"eA=="}}`,
	} {
		t.Run(name, func(t *testing.T) {
			evs, err := Decode(msgOf(`{"id":1}`, value), DecodeOptions{SnapshotReads: "insert"})
			require.NoError(t, err)
			assert.Nil(t, evs)
		})
	}
}

func TestDecode_Key(t *testing.T) {
	v := dbz("c", "null", `{"id":1}`)
	for _, tt := range []struct{ key, want string }{
		{`{"id":42}`, "42"},
		{`{"id":"a-b"}`, "a-b"},
		{`{"schema":{"type":"struct"},"payload":{"id":42}}`, "42"},
		{`{ "tenant" : "t1", "id" : 42 }`, `{"tenant":"t1","id":42}`},
		{`{"schema":{"type":"struct"},"payload":{"b":2,"a":1}}`, `{"b":2,"a":1}`},
		{`{"id":{"x":1}}`, `{"x":1}`},
		{`{"schema":{"type":"struct"},"payload":null}`, ""},
		{`plain-key`, "plain-key"},
		{`42`, "42"},
		{`"quoted"`, `"quoted"`},
		{``, ""},
	} {
		evs, err := Decode(msgOf(tt.key, v), DecodeOptions{})
		require.NoError(t, err, tt.key)
		assert.Equal(t, tt.want, evs[0].Key, "key %s", tt.key)
	}
}

func TestDecode_IDStability(t *testing.T) {
	v := dbz("u", `{"id":42}`, `{"id":42}`)
	a := msgOf(`{"id":42}`, v)
	b := a
	b.Offset, b.Partition, b.Time = 9999, 0, msgTime.Add(time.Hour)
	evA, err := Decode(a, DecodeOptions{})
	require.NoError(t, err)
	evB, err := Decode(b, DecodeOptions{})
	require.NoError(t, err)
	assert.Equal(t, evA[0].ID, evB[0].ID, "same source position, different offset: same id")

	// The same change wrapped or not is the same change.
	evW, err := Decode(msgOf(`{"id":42}`, wrapped(v)), DecodeOptions{})
	require.NoError(t, err)
	assert.Equal(t, evA[0].ID, evW[0].ID)

	// Snapshot rows share the LSN: the key tells them apart.
	snap := func(id int) string {
		return fmt.Sprintf(`{"after":{"id":%d},"source":{"name":"pg","db":"app","schema":"public","table":"users","lsn":100,"txId":5,"snapshot":"true"},"op":"r"}`, id)
	}
	ids := map[string]bool{}
	for i := range 3 {
		evs, err := Decode(msgOf(fmt.Sprintf(`{"id":%d}`, i), snap(i)), DecodeOptions{SnapshotReads: "insert"})
		require.NoError(t, err)
		assert.True(t, evs[0].Snapshot)
		ids[evs[0].ID] = true
	}
	assert.Len(t, ids, 3, "different rows of a snapshot get different ids")

	// Another position, another id; another op at the same position too.
	other := strings.Replace(v, `"lsn":24023928`, `"lsn":24023929`, 1)
	evO, err := Decode(msgOf(`{"id":42}`, other), DecodeOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, evA[0].ID, evO[0].ID)

	// MySQL binlog position.
	my := `{"after":{"id":1},"source":{"name":"my","db":"shop","table":"orders","file":"mysql-bin.000003","pos":154,"row":0,"gtid":null},"op":"c"}`
	evM, err := Decode(msgOf(`{"id":1}`, my), DecodeOptions{})
	require.NoError(t, err)
	assert.Equal(t, "file=mysql-bin.000003 pos=154 row=0", evM[0].Source.Position)
	assert.Regexp(t, `^dbz-[0-9a-f]{32}$`, evM[0].ID)
	assert.Equal(t, "shop", evM[0].Database)
	assert.Equal(t, "orders", evM[0].QualifiedTable())

	// No position at all: the Kafka coordinates.
	evK, err := Decode(msgOf(`{"id":1}`, `{"after":{"id":1},"source":{"table":"users"},"op":"c"}`), DecodeOptions{})
	require.NoError(t, err)
	assert.Equal(t, "kafka-dbz.public.users-2-7", evK[0].ID)
}

func TestDecode_Native(t *testing.T) {
	base := `"id":"evt-1","table":"public.users","operation":"update","record":{"id":7,"n":1.0},"previousRecord":{"id":7,"n":0},"database":"app","user":{"id":"u1"},"metadata":{"source":"api"}`
	for _, tt := range []struct {
		name, ts string
		want     time.Time
	}{
		{"no timestamp", ``, msgTime},
		{"RFC 3339", `,"timestamp":"2025-06-01T10:00:00.5+02:00"`, time.Date(2025, 6, 1, 8, 0, 0, 5e8, time.UTC)},
		{"epoch millis", `,"timestamp":1700000000123`, time.UnixMilli(1700000000123)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := Decode(msgOf("7", "{"+base+tt.ts+"}"), DecodeOptions{})
			require.NoError(t, err)
			require.Len(t, evs, 1)
			ev := evs[0]
			assert.True(t, tt.want.Equal(ev.Timestamp), "timestamp %v, want %v", ev.Timestamp, tt.want)
			assert.Equal(t, "evt-1", ev.ID)
			assert.Equal(t, "public", ev.Schema)
			assert.Equal(t, "users", ev.Table)
			assert.Equal(t, run.OperationUpdate, ev.Operation)
			assert.Equal(t, "7", ev.Key)
			assert.Equal(t, "app", ev.Database)
			assert.Equal(t, map[string]any{"id": json.Number("7"), "n": json.Number("1.0")}, ev.Record)
			assert.Equal(t, map[string]any{"id": json.Number("7"), "n": json.Number("0")}, ev.PreviousRecord)
			assert.Equal(t, map[string]any{"id": "u1"}, ev.User)
			assert.Equal(t, map[string]any{"source": "api"}, ev.Metadata)
			assert.Equal(t, run.Source{Topic: "dbz.public.users", Partition: 2, Offset: 7}, ev.Source)
		})
	}

	// A bare table and a delete with only previousRecord.
	evs, err := Decode(msgOf("", `{"id":"e2","table":"users","operation":"delete","previousRecord":{"id":7}}`), DecodeOptions{})
	require.NoError(t, err)
	assert.Equal(t, "users", evs[0].QualifiedTable())
	assert.Equal(t, map[string]any{"id": json.Number("7")}, evs[0].Record)
	assert.Equal(t, evs[0].Record, evs[0].PreviousRecord)
}

func TestDecode_Malformed(t *testing.T) {
	after := `{"id":1}`
	for _, tt := range []struct{ name, value, want string }{
		{"not JSON", `nope`, `value: not JSON: invalid character 'o' in literal null (expecting 'u')`},
		{"trailing data", `{"op":"c"} {}`, `value: not JSON: data after the top-level value`},
		{"not an object", `[1,2]`, `value: not a JSON object but an array`},
		{"unknown envelope", `{"foo":1}`, `envelope: unknown: want a Debezium change event ("payload" or "op") or a native envelope ("operation" and "table")`},
		{"unknown op", wrapped(`{"op":"x","source":{"table":"users"}}`), `debezium: payload.op: unknown value "x"`},
		{"unknown op bare", `{"op":"x"}`, `debezium: op: unknown value "x"`},
		{"op missing", wrapped(`{"after":{}}`), `debezium: payload.op: missing`},
		{"op not a string", `{"op":1}`, `debezium: op: not a string but a number`},
		{"payload not an object", `{"schema":{},"payload":"x"}`, `debezium: payload: not an object but a string`},
		{"update without after", wrapped(dbz("u", after, "null")), `debezium: payload.after: missing for op "u"`},
		{"create without after", dbz("c", "null", "null"), `debezium: after: missing for op "c"`},
		{"delete without before", wrapped(dbz("d", "null", "null")), `debezium: payload.before: missing for op "d"`},
		{"after not an object", dbz("c", "null", "[1]"), `debezium: after: not an object but an array`},
		{"source missing", `{"op":"c","after":{}}`, `debezium: source: missing`},
		{"table missing", wrapped(`{"op":"c","after":{},"source":{"lsn":1}}`), `debezium: payload.source.table: missing`},
		{"table not a string", `{"op":"c","after":{},"source":{"table":5}}`, `debezium: source.table: not a string but a number`},
		{"bad ts_ms", `{"op":"c","after":{},"source":{"table":"t"},"ts_ms":"x"}`, `debezium: ts_ms: not epoch milliseconds but a string`},
		{"native id missing", `{"table":"t","operation":"insert","record":{}}`, `native: id: missing`},
		{"native id not a string", `{"id":1,"table":"t","operation":"insert","record":{}}`, `native: id: not a string but a number`},
		{"native table empty", `{"id":"a","table":"","operation":"insert","record":{}}`, `native: table: missing`},
		{"native table bad", `{"id":"a","table":"public.","operation":"insert","record":{}}`, `native: table: invalid value "public."`},
		{"native operation unknown", `{"id":"a","table":"t","operation":"upsert","record":{}}`, `native: operation: unknown value "upsert" (want insert, update or delete)`},
		{"native operation missing", `{"id":"a","table":"t","operation":null,"record":{}}`, `native: operation: missing`},
		{"native record missing", `{"id":"a","table":"t","operation":"insert"}`, `native: record: missing for operation "insert"`},
		{"native record not an object", `{"id":"a","table":"t","operation":"insert","record":"x"}`, `native: record: not an object but a string`},
		{"native bad timestamp", `{"id":"a","table":"t","operation":"insert","record":{},"timestamp":"yesterday"}`, `native: timestamp: not RFC 3339: "yesterday"`},
		{"native float timestamp", `{"id":"a","table":"t","operation":"insert","record":{},"timestamp":1.5}`, `native: timestamp: not integer epoch milliseconds: 1.5`},
		{"native bool timestamp", `{"id":"a","table":"t","operation":"insert","record":{},"timestamp":true}`, `native: timestamp: want an RFC 3339 string or epoch milliseconds, not a boolean`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := Decode(msgOf(`{"id":1}`, tt.value), DecodeOptions{})
			assert.Nil(t, evs)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestDecodeOptions_Validate(t *testing.T) {
	assert.NoError(t, DecodeOptions{}.validate())
	assert.NoError(t, DecodeOptions{SnapshotReads: "insert"}.validate())
	assert.EqualError(t, DecodeOptions{SnapshotReads: "upsert"}.validate(), `SnapshotReads: unknown value "upsert" (want "ignore" or "insert")`)
}
