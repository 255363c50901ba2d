// Package ingest reads change events from Kafka, asks a Planner which trigger
// runs they cause and starts each run durably through a Starter (Temporal in
// production), committing a partition's offset only once every message below
// it is done. With a TopicPattern it follows the topics as they are created.
//
// # Delivery guarantees
//
// A message is done when every run planned for it has been started durably,
// or when it has been written to the dead-letter topic (malformed, or a run
// Temporal refused for good). Each partition assigned to a member is read by
// its own reader and processed by its own goroutine (group.go,
// partition.go), through a window of at most Config.PartitionConcurrency
// messages; the committed offset never passes a message that is not done.
// When the Starter fails transiently (Temporal unreachable) the message is
// retried with exponential backoff, planned again each time against the
// current triggers, until it succeeds or the consumer stops: its partition
// pauses rather than skips, and no other partition waits for it. After a
// crash or a rebalance messages since the last commit are delivered again;
// run ids are derived from the event id (run.WorkflowID), so Temporal
// rejects the duplicates and a trigger never runs twice for one change.
//
// # Debezium envelope
//
// Debezium JSON is accepted with the {"schema":…,"payload":…} wrapper of the
// JsonConverter and without it (schemas.enable=false). Operations map as:
//
//	c → insert   Record = after
//	u → update   Record = after, PreviousRecord = before (may be nil)
//	d → delete   Record = before, PreviousRecord = before
//	r → snapshot read: skipped, or an insert with Event.Snapshot = true
//	    when DecodeOptions.SnapshotReads is "insert"
//	t, m → skipped (truncate, logical decoding message)
//
// A delete carries the deleted row in Record as well as in PreviousRecord so
// that templates such as {{record.id}} work for every operation, as they do
// in Ductape.
//
// The event id is "dbz-" followed by the first 32 hex digits of the SHA-256
// of the connector name, database, schema, table, op, the source position
// fields present (lsn, txId, change_lsn, commit_lsn, event_serial_no, file,
// pos, row, gtid, sequence, scn, commit_scn, snapshot) and the Kafka key:
// the same change read again, at any offset, gets the same id, and the rows
// of a snapshot, which share one position, get different ids through their
// keys. Without any position field the id is kafka-<topic>-<partition>-<offset>.
//
// Event.Key is taken from the Kafka key: for a JSON object key (Debezium's
// key struct, with or without the schema wrapper) it is the value of its only
// field ({"id":42} → "42"), or the compact JSON of all its fields; any other
// key is used as is.
//
// Tombstones (empty values) and heartbeats ({"ts_ms":…}) are skipped.
// Transaction metadata messages ({"status":"BEGIN"|"END",…}) start no run;
// an END tells the `for: all` batches of its transaction that they have
// every event (transactions.go). Event.Transaction is the source
// transaction, the same for all its events (debezium_meta.go).
//
// # Values
//
// Row values are decoded into what a trigger compares and renders (see
// docs/debezium.md for every type): by their Connect schema when the
// message has one (package ingest/connect), else by the column types of
// DecodeOptions.ColumnTypes and the connector settings mirrored in
// DecodeOptions.Connector. A decimal becomes a run.Decimal, a timestamp a
// time.Time, a date "2006-01-02", JSON the document it holds. Before any
// decoding, the connector's unavailable-value placeholder, in every form it
// takes, is recognised: such a column is removed from the row and listed in
// Event.Unavailable ("record.body"), as is the missing before image of an
// update ("previousRecord"). What cannot be decoded is kept as it came and
// noted in Event.Notes.
//
// # Native envelope
//
// Producers that are not Debezium can publish this JSON object:
//
//	{
//	  "id":             string, required: identifies the change; redelivering
//	                    the same id never runs a trigger twice
//	  "table":          string, required, "table" or "schema.table"
//	  "operation":      "insert" | "update" | "delete", required
//	  "record":         object, required for insert and update (the row
//	                    after the change); for a delete it defaults to
//	                    previousRecord
//	  "previousRecord": object, optional (the row before the change)
//	  "timestamp":      RFC 3339 string or epoch milliseconds, optional,
//	                    defaults to the Kafka message time
//	  "database":       string, optional
//	  "user":           object, optional (who made the change)
//	  "metadata":       object, optional
//	}
//
// A value is read as the native envelope when it has "operation" and "table"
// at the top level, and as Debezium when it has "payload" or "op".
//
// # Malformed messages
//
// A message that cannot be decoded (not JSON, unknown envelope, a required
// field missing, an unknown op…), or one of whose runs Temporal refuses
// for good (RejectedError), is written unchanged, with its key and
// headers, to the dead-letter topic, with the headers triggerd-error,
// triggerd-error-kind (malformed or rejected), triggerd-source-topic,
// triggerd-source-partition, triggerd-source-offset and triggerd-failed-at
// added; only then is it done. A message too large for the dead-letter
// topic is written without its value (triggerd-value-omitted).
//
// Numbers are decoded as json.Number so that they keep their exact form
// (package ingest/jsonvalue decodes most messages in one pass; the others,
// and every malformed one, go through encoding/json).
//
// # Starting runs
//
// TemporalStarter starts a run as the workflow triggerd/<tag>/<event id>,
// a sync run by signal-with-start to its record's lane, a `for: all`
// event by signal-with-start to its batch. With WithColocatedWorker (the
// worker polls the same task queue through the same client, as in
// `triggerd serve`) direct starts are eager: the first workflow task comes
// back in the start's response. Up to Config.PartitionConcurrency
// messages of a partition (default 16) are started at once, on as many
// long-lived goroutines of the partition.
package ingest
