package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/ingest/connect"
	"github.com/triggerd/triggerd/run"
)

// Values of DecodeOptions.SnapshotReads.
const (
	SnapshotReadsIgnore = "ignore"
	SnapshotReadsInsert = "insert"
)

// DecodeOptions tunes Decode. The zero value decodes with Debezium's
// defaults.
type DecodeOptions struct {
	// SnapshotReads says what to do with Debezium snapshot reads (op "r"):
	// "ignore" (the default) skips them, "insert" turns them into inserts
	// with Event.Snapshot set.
	SnapshotReads string
	// Placeholder is the connector's unavailable.value.placeholder (text,
	// or "hex:" and octets), DefaultPlaceholder when empty. A column
	// holding it, in any of the forms the connector gives it, is listed
	// in Event.Unavailable instead of being read as data.
	Placeholder string
	// DecimalsAsNumbers makes decimals json.Numbers, which runs and
	// templates see as JSON numbers, instead of run.Decimal values, which
	// they see as exact JSON strings ("1234.50").
	DecimalsAsNumbers bool
	// Connector mirrors the connector's settings (decimal.handling.mode,
	// time.precision.mode...), which decide how a value is encoded when
	// events come without their schema.
	Connector connect.ConnectorSettings
	// ColumnTypes gives the column types of tables whose events come
	// without their schema; nil leaves such values as they came.
	ColumnTypes ColumnTypes
	// ReplicaIdentities, when set, tells whose before images hold the
	// primary key alone (REPLICA IDENTITY DEFAULT): their other columns
	// are unavailable, not the nulls Debezium fills them with.
	ReplicaIdentities ReplicaIdentities
	// Undecoded, when set, is called for every value that could not be
	// decoded, or was read by its form against the configured connector
	// settings, and for every event without a schema or column types
	// (column is then empty): what a metric counts.
	Undecoded func(table, column, reason string)
}

func (o DecodeOptions) validate() error {
	switch o.SnapshotReads {
	case "", SnapshotReadsIgnore, SnapshotReadsInsert:
	default:
		return fmt.Errorf("SnapshotReads: unknown value %q (want %q or %q)", o.SnapshotReads, SnapshotReadsIgnore, SnapshotReadsInsert)
	}
	if _, err := parsePlaceholder(o.Placeholder); err != nil {
		return fmt.Errorf("Placeholder: %w", err)
	}
	if err := o.Connector.Validate(); err != nil {
		return fmt.Errorf("Connector: %w", err)
	}
	return nil
}

// positionFields are the Debezium source fields that locate a change in the
// database log, across connectors (PostgreSQL, MySQL, SQL Server, Oracle,
// Db2...). The order is fixed: it is part of the event id.
var positionFields = []string{
	"lsn", "txId", "change_lsn", "commit_lsn", "event_serial_no",
	"file", "pos", "row", "gtid", "sequence", "scn", "commit_scn",
}

// Decode turns one Kafka message into the change events it carries. It
// returns nil, nil when there is nothing to do (tombstone, transaction
// metadata, skipped snapshot read or truncate), and an error, naming the
// field and the reason, when the message is malformed.
func Decode(msg kafka.Message, opts DecodeOptions) ([]run.Event, error) {
	if len(bytes.TrimSpace(msg.Value)) == 0 {
		return nil, nil // tombstone
	}
	obj, err := decodeObject(msg.Value)
	if err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	if has(obj, "operation") && has(obj, "table") {
		ev, err := decodeNative(obj, msg)
		if err != nil {
			return nil, fmt.Errorf("native: %w", err)
		}
		return []run.Event{ev}, nil
	}
	if isTxMetadata(obj) || isHeartbeat(obj) {
		return nil, nil
	}
	if has(obj, "payload") || has(obj, "op") {
		ev, ok, err := decodeDebezium(obj, msg, opts)
		if err != nil {
			return nil, fmt.Errorf("debezium: %w", err)
		}
		if !ok {
			return nil, nil
		}
		return []run.Event{ev}, nil
	}
	return nil, errors.New(`envelope: unknown: want a Debezium change event ("payload" or "op") or a native envelope ("operation" and "table")`)
}

func has(obj map[string]any, k string) bool {
	_, ok := obj[k]
	return ok
}

// isTxMetadata reports whether obj is a Debezium transaction metadata
// message (BEGIN/END on the transaction topic), wrapped or not.
func isTxMetadata(obj map[string]any) bool {
	if p, ok := obj["payload"].(map[string]any); ok && has(obj, "schema") {
		obj = p
	}
	status, _ := obj["status"].(string)
	return (status == "BEGIN" || status == "END") && has(obj, "id") && !has(obj, "op")
}

func decodeDebezium(obj map[string]any, msg kafka.Message, opts DecodeOptions) (run.Event, bool, error) {
	payload := obj
	field := "op" // field names in errors are relative to the payload
	if p, ok := obj["payload"]; ok {
		if p == nil {
			return run.Event{}, false, nil // a tombstone in the schema wrapper
		}
		m, ok := p.(map[string]any)
		if !ok {
			return run.Event{}, false, fmt.Errorf("payload: not an object but %s", jsonKind(p))
		}
		payload = m
		field = "payload.op"
	}
	prefix := strings.TrimSuffix(field, "op")

	opv, ok := payload["op"]
	if !ok {
		return run.Event{}, false, fmt.Errorf("%s: missing", field)
	}
	op, ok := opv.(string)
	if !ok {
		return run.Event{}, false, fmt.Errorf("%s: not a string but %s", field, jsonKind(opv))
	}

	ev := run.Event{}
	var needAfter, needBefore bool
	switch op {
	case "c":
		ev.Operation, needAfter = run.OperationInsert, true
	case "u":
		ev.Operation, needAfter = run.OperationUpdate, true
	case "d":
		ev.Operation, needBefore = run.OperationDelete, true
	case "r":
		switch opts.SnapshotReads {
		case "", SnapshotReadsIgnore:
			return run.Event{}, false, nil
		case SnapshotReadsInsert:
			ev.Operation, ev.Snapshot, needAfter = run.OperationInsert, true, true
		default:
			return run.Event{}, false, fmt.Errorf("decode options: %w", opts.validate())
		}
	case "t", "m":
		// Truncates carry no row and logical decoding messages no table
		// change: no trigger applies to them.
		return run.Event{}, false, nil
	default:
		return run.Event{}, false, fmt.Errorf("%s: unknown value %q", field, op)
	}

	before, err := optObject(payload, "before", prefix)
	if err != nil {
		return run.Event{}, false, err
	}
	after, err := optObject(payload, "after", prefix)
	if err != nil {
		return run.Event{}, false, err
	}
	if needAfter && after == nil {
		return run.Event{}, false, fmt.Errorf("%safter: missing for op %q", prefix, op)
	}
	if needBefore && before == nil {
		return run.Event{}, false, fmt.Errorf("%sbefore: missing for op %q", prefix, op)
	}
	if ev.Operation == run.OperationDelete {
		ev.Record, ev.PreviousRecord = before, before
		after = nil
	} else {
		ev.Record, ev.PreviousRecord = after, before
	}

	srcv, ok := payload["source"]
	if !ok || srcv == nil {
		return run.Event{}, false, fmt.Errorf("%ssource: missing", prefix)
	}
	src, ok := srcv.(map[string]any)
	if !ok {
		return run.Event{}, false, fmt.Errorf("%ssource: not an object but %s", prefix, jsonKind(srcv))
	}
	if ev.Table, err = optString(src, "table", prefix+"source."); err != nil {
		return run.Event{}, false, err
	}
	if ev.Table == "" {
		return run.Event{}, false, fmt.Errorf("%ssource.table: missing", prefix)
	}
	if ev.Schema, err = optString(src, "schema", prefix+"source."); err != nil {
		return run.Event{}, false, err
	}
	if ev.Database, err = optString(src, "db", prefix+"source."); err != nil {
		return run.Event{}, false, err
	}
	connector, err := optString(src, "name", prefix+"source.")
	if err != nil {
		return run.Event{}, false, err
	}
	// source.snapshot is "true", "first", "last", "incremental"... during a
	// snapshot (a boolean in old connector versions), "false" or absent
	// otherwise.
	if s := scalarString(src["snapshot"]); s != "" && s != "false" {
		ev.Snapshot = true
	}

	// ts_ms is when the connector processed the change; source.ts_ms, when
	// the database made it, is the fallback.
	ev.Timestamp = msg.Time
	if v := payload["ts_ms"]; v != nil {
		if ev.Timestamp, err = epochMillis(v); err != nil {
			return run.Event{}, false, fmt.Errorf("%sts_ms: %w", prefix, err)
		}
	} else if v := src["ts_ms"]; v != nil {
		if ev.Timestamp, err = epochMillis(v); err != nil {
			return run.Event{}, false, fmt.Errorf("%ssource.ts_ms: %w", prefix, err)
		}
	}

	// The rows are decoded once the table is known: column types and
	// notes name it.
	if err := decodeRows(&ev, obj, before, after, msg.Key, opts); err != nil {
		return run.Event{}, false, err
	}

	ev.Key = eventKey(msg.Key)
	ev.Source = run.Source{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset, Connector: connector}
	// PostgreSQL's xid of the change: it tells a fresh cascade marker
	// from a stale one (markerCascade).
	ev.SourceTxID = scalarString(src["txId"])
	ev.Transaction = sourceTransaction(payload, src)

	// The id digests where the change sits in the database log. Position
	// fields alone are not unique: every row of a snapshot shares one LSN,
	// so the Kafka key (the row's primary key) is part of it too.
	var pos []string
	for _, name := range positionFields {
		if v, ok := src[name]; ok && v != nil {
			pos = append(pos, name+"="+scalarString(v))
		}
	}
	if len(pos) == 0 {
		ev.ID = fmt.Sprintf("kafka-%s-%d-%d", msg.Topic, msg.Partition, msg.Offset)
		return ev, true, nil
	}
	ev.Source.Position = strings.Join(pos, " ")
	h := sha256.New()
	for _, part := range []string{connector, ev.Database, ev.Schema, ev.Table, op} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	for _, p := range pos {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	if v, ok := src["snapshot"]; ok && v != nil {
		h.Write([]byte("snapshot=" + scalarString(v)))
		h.Write([]byte{0})
	}
	h.Write(msg.Key)
	ev.ID = "dbz-" + hex.EncodeToString(h.Sum(nil))[:32]
	return ev, true, nil
}

func decodeNative(obj map[string]any, msg kafka.Message) (run.Event, error) {
	ev := run.Event{
		Key:    eventKey(msg.Key),
		Source: run.Source{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset},
	}
	var err error
	if ev.ID, err = optString(obj, "id", ""); err != nil {
		return run.Event{}, err
	}
	if ev.ID == "" {
		return run.Event{}, errors.New("id: missing")
	}
	table, err := optString(obj, "table", "")
	if err != nil {
		return run.Event{}, err
	}
	if table == "" {
		return run.Event{}, errors.New("table: missing")
	}
	if i := strings.LastIndexByte(table, '.'); i >= 0 {
		ev.Schema, ev.Table = table[:i], table[i+1:]
	} else {
		ev.Table = table
	}
	if ev.Table == "" {
		return run.Event{}, fmt.Errorf("table: invalid value %q", table)
	}
	op, err := optString(obj, "operation", "")
	if err != nil {
		return run.Event{}, err
	}
	switch run.Operation(op) {
	case run.OperationInsert, run.OperationUpdate, run.OperationDelete:
		ev.Operation = run.Operation(op)
	case "":
		return run.Event{}, errors.New("operation: missing")
	default:
		return run.Event{}, fmt.Errorf("operation: unknown value %q (want insert, update or delete)", op)
	}
	if ev.Record, err = optObject(obj, "record", ""); err != nil {
		return run.Event{}, err
	}
	if ev.PreviousRecord, err = optObject(obj, "previousRecord", ""); err != nil {
		return run.Event{}, err
	}
	if ev.Operation == run.OperationDelete && ev.Record == nil {
		ev.Record = ev.PreviousRecord
	}
	if ev.Operation == run.OperationUpdate && ev.PreviousRecord == nil {
		ev.Unavailable = []string{run.UnavailablePrevious}
	}
	if ev.Record == nil && ev.Operation != run.OperationDelete {
		return run.Event{}, fmt.Errorf("record: missing for operation %q", op)
	}
	if ev.Database, err = optString(obj, "database", ""); err != nil {
		return run.Event{}, err
	}
	if ev.User, err = optObject(obj, "user", ""); err != nil {
		return run.Event{}, err
	}
	if ev.Metadata, err = optObject(obj, "metadata", ""); err != nil {
		return run.Event{}, err
	}
	// txId is optional: the producer's database transaction id, without
	// which a database action's cascade marker is not trusted.
	switch v := obj["txId"].(type) {
	case nil:
	case string, json.Number:
		ev.SourceTxID = scalarString(v)
		ev.Transaction = ev.SourceTxID // `for: all` batches by it
	default:
		return run.Event{}, fmt.Errorf("txId: want a string or a number, not %s", jsonKind(v))
	}
	ev.Timestamp = msg.Time
	switch v := obj["timestamp"].(type) {
	case nil:
	case string:
		ts, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return run.Event{}, fmt.Errorf("timestamp: not RFC 3339: %q", v)
		}
		ev.Timestamp = ts
	case json.Number:
		ts, err := epochMillis(v)
		if err != nil {
			return run.Event{}, fmt.Errorf("timestamp: %w", err)
		}
		ev.Timestamp = ts
	default:
		return run.Event{}, fmt.Errorf("timestamp: want an RFC 3339 string or epoch milliseconds, not %s", jsonKind(v))
	}
	return ev, nil
}

// optObject returns obj[key] as an object, nil when absent or null.
func optObject(obj map[string]any, key, prefix string) (map[string]any, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s%s: not an object but %s", prefix, key, jsonKind(v))
	}
	return m, nil
}

// optString returns obj[key] as a string, "" when absent or null.
func optString(obj map[string]any, key, prefix string) (string, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s%s: not a string but %s", prefix, key, jsonKind(v))
	}
	return s, nil
}

func epochMillis(v any) (time.Time, error) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, fmt.Errorf("not epoch milliseconds but %s", jsonKind(v))
	}
	ms, err := n.Int64()
	if err != nil {
		return time.Time{}, fmt.Errorf("not integer epoch milliseconds: %s", n)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// scalarString renders a decoded JSON value: strings as they are, numbers
// in their original form, anything else as compact JSON.
func scalarString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// eventKey derives Event.Key from a Kafka key: the only field of a JSON
// object key (Debezium's key struct, wrapped in {"schema","payload"} or
// not), the compact JSON of its fields when it has several, else the raw key.
func eventKey(key []byte) string {
	var obj map[string]json.RawMessage
	if !isJSONObject(key) || json.Unmarshal(key, &obj) != nil || obj == nil {
		return string(key)
	}
	raw := json.RawMessage(key)
	if p, ok := obj["payload"]; ok && len(obj) == 2 && obj["schema"] != nil {
		raw = p
		obj = nil
		if err := json.Unmarshal(p, &obj); err != nil || obj == nil {
			// A keyless table's key is a null payload.
			if string(bytes.TrimSpace(p)) == "null" {
				return ""
			}
			return compact(p)
		}
	}
	if len(obj) == 1 {
		for _, v := range obj {
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				return s
			}
			return compact(v)
		}
	}
	// Compact the raw bytes rather than re-marshal the map, so that the
	// fields keep the order the key struct declares.
	return compact(raw)
}

// isJSONObject reports whether b may be a JSON object: only those are
// worth unmarshalling into a map (a plain key, "42", is the common case).
func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
