package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/internal/cdctest"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// TestDeletesTombstonesAndSnapshotReads proves docs/debezium.md's
// "Deletes, tombstones and snapshot reads" through real Debezium: a delete
// runs afterDelete triggers with the deleted row (only its key under
// REPLICA IDENTITY DEFAULT) as record and previousRecord, and its
// tombstone runs nothing; snapshot reads (op "r", here from a blocking
// snapshot, shaped like the initial snapshot's) run nothing with
// kafka.snapshotReads ignore, and run the afterInsert triggers flagged as
// snapshot events with insert, except a trigger with snapshot: ignore.
func TestDeletesTombstonesAndSnapshotReads(t *testing.T) {
	e := newEnv(t)
	h := cdctest.New(t)
	h.Exec(`CREATE TABLE items (id int PRIMARY KEY, name text)`)
	// One partition: the marker insert at the end is read after
	// everything before it.
	h.CreateTopics(1, "items")
	dlq := "snapdel-dlq-" + e.suffix
	e.createTopics(t, dlq)
	e.startWorker(t)
	defs, err := trigger.Parse([]byte(fmt.Sprintf(`triggers:
  - {tag: inserted, tables: [%[1]s], events: [afterInsert], actions: [{type: log, config: {message: "{{record.id}}"}}]}
  - {tag: inserted-live, snapshot: ignore, tables: [%[1]s], events: [afterInsert], actions: [{type: log, config: {message: "{{record.id}}"}}]}
  - {tag: deleted, tables: [%[1]s], events: [afterDelete], actions: [{type: log, config: {message: "{{record.id}} {{record.name}}"}}]}
`, h.Table("items"))), "snapdel.yaml")
	require.NoError(t, err)
	set, err := trigger.NewSet(defs)
	require.NoError(t, err)
	ctx := context.Background()

	// Two rows, then their snapshot reads.
	h.Exec(`INSERT INTO items VALUES (1, 'a'), (2, 'b')`)
	h.Snapshot(ctx, cdctest.SnapshotBlocking, "items")
	h.ReadUntil(ctx, h.Topic("items"), func(got []kafka.Message) bool {
		return strings.Count(string(joined(got)), `"op":"r"`) == 2
	})
	// A delete (and its tombstone), then a marker.
	h.Exec(`DELETE FROM items WHERE id = 1`)
	h.Exec(`INSERT INTO items VALUES (3, 'marker')`)

	// want is how many starts the mode makes: ingest starts a partition's
	// messages concurrently, so the marker's may not be the last.
	runs := func(mode string, want int) []run.Input {
		starter := &countingStarter{next: ingest.NewTemporalStarter(e.temporal, e.taskQueue)}
		cons, err := ingest.NewConsumer(ingest.Config{
			Brokers: e.brokers, Topics: []string{h.Topic("items")}, GroupID: "snapdel-" + mode + "-" + e.suffix, DLQTopic: dlq,
			CommitInterval: 200 * time.Millisecond, Decode: ingest.DecodeOptions{SnapshotReads: mode},
		}, set, starter, e.logger)
		require.NoError(t, err)
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- cons.Run(cctx) }()
		defer func() { cancel(); require.NoError(t, <-done) }()
		eventually(t, "the marker's runs ("+mode+")", 90*time.Second, func() bool {
			n := 0
			for _, in := range starter.inputs() {
				if fmt.Sprint(in.Event.Record["id"]) == "3" {
					n++
				}
			}
			return n == 2 && len(starter.inputs()) >= want
		})
		return starter.inputs()
	}
	summary := func(ins []run.Input) []string {
		var out []string
		for _, in := range ins {
			s := fmt.Sprintf("%s %s %v", in.Trigger.Tag, in.Event.Operation, in.Event.Record["id"])
			if in.Event.Snapshot {
				s += " snapshot"
			}
			out = append(out, s)
		}
		return out
	}

	live := []string{
		"inserted insert 1", "inserted-live insert 1", "inserted insert 2", "inserted-live insert 2",
		"deleted delete 1", "inserted insert 3", "inserted-live insert 3",
	}
	ignored := runs(ingest.SnapshotReadsIgnore, len(live))
	require.ElementsMatch(t, live, summary(ignored), "snapshotReads ignore: no run for the reads, none for the tombstone")

	inserted := runs(ingest.SnapshotReadsInsert, len(live)+2)
	require.ElementsMatch(t, []string{
		"inserted insert 1", "inserted-live insert 1", "inserted insert 2", "inserted-live insert 2",
		"inserted insert 1 snapshot", "inserted insert 2 snapshot",
		"deleted delete 1", "inserted insert 3", "inserted-live insert 3",
	}, summary(inserted), "snapshotReads insert: the reads run as inserts, but for the trigger with snapshot: ignore")

	// The delete's record is the row before it: under REPLICA IDENTITY
	// DEFAULT, only its key.
	for _, in := range ignored {
		if in.Trigger.Tag == "deleted" {
			require.Equal(t, map[string]any{"id": in.Event.Record["id"], "name": nil}, in.Event.Record)
			require.Equal(t, in.Event.Record, in.Event.PreviousRecord)
			require.Equal(t, "1", fmt.Sprint(in.Event.Record["id"]))
			require.NoError(t, e.waitRun(t, run.WorkflowID(in.Trigger.Tag, in.Event.ID)))
		}
	}
}

// joined is the values of msgs, one after the other.
func joined(msgs []kafka.Message) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(b, m.Value...)
	}
	return b
}
