package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/ingest/sourcedb"
	"github.com/triggerd/triggerd/internal/cdctest"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// TestUnknownValues updates, through SQL, a row of a table with REPLICA
// IDENTITY DEFAULT whose large column is TOASTed, without touching that
// column. Debezium sends no before image and its placeholder for the
// column. A CHANGED condition (structured and CEL) is unknown: counted
// per trigger and field, traced in the dry run, and the trigger does not
// run; a trigger with refetch reads the column from the database and gets
// its real value; templates rendering the column follow onUnknown (omit
// leaves it out, the default fails the action).
func TestUnknownValues(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	h := cdctest.New(t)
	h.Exec(`CREATE TABLE docs (id int PRIMARY KEY, name text, body text)`) // REPLICA IDENTITY DEFAULT
	h.CreateTopics(1, "docs")

	rcv := &exactReceiver{}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	defs, err := trigger.Parse(fmt.Appendf(nil, `
- tag: renamed
  tables: [docs]
  events: [afterUpdate]
  condition: {field: name, operator: CHANGED}
  actions: [{type: http, config: {url: "%[1]s/renamed", body: {name: "{{record.name}}"}}}]
- tag: renamed-cel
  tables: [docs]
  events: [afterUpdate]
  when: "changed('name')"
  actions: [{type: http, config: {url: "%[1]s/renamed", body: {name: "{{record.name}}"}}}]
- tag: refetched
  tables: [docs]
  events: [afterUpdate]
  refetch: {database: src}
  condition: {field: body, operator: IS_NOT_NULL}
  actions: [{type: http, config: {url: "%[1]s/refetched", body: {body: "{{record.body}}"}}}]
- tag: omitted
  tables: [docs]
  events: [afterUpdate]
  onUnknown: omit
  condition: {field: id, operator: EQUALS, value: 1}
  actions: [{type: http, config: {url: "%[1]s/omitted", body: {name: "{{record.name}}", body: "{{record.body}}"}}}]
- tag: failed
  tables: [docs]
  events: [afterUpdate]
  condition: {field: id, operator: EQUALS, value: 1}
  actions: [{type: http, config: {url: "%[1]s/failed", body: {body: "{{record.body}}"}}}]
`, srv.URL), "unknown.yaml")
	require.NoError(t, err)

	var mu sync.Mutex
	var unknowns []trigger.Unknown
	reg := trigger.NewRegistry(
		trigger.WithUnknownObserver(func(u trigger.Unknown) { mu.Lock(); unknowns = append(unknowns, u); mu.Unlock() }),
		trigger.WithRowFetcher(sourcedb.NewFetcher(map[string]sourcedb.Querier{"src": h.Pool()}, false), 10*time.Second),
	)
	require.NoError(t, reg.Replace(defs))

	opts := decodeOptionsFor(h)
	e.startWorker(t)
	dlq := "unknown-dlq-" + e.suffix
	e.createTopics(t, dlq)
	e.startConsumer(t, reg, "unknown-"+e.suffix, []string{h.Topic("docs")}, dlq, func(c *ingest.Config) { c.Decode = opts })

	body := randomText(t, 10000) // incompressible: stored out of line (TOAST)
	h.Exec(`INSERT INTO docs VALUES (1, 'first', $1)`, body)
	h.Exec(`UPDATE docs SET name = 'second' WHERE id = 1`)

	msgs := h.Read(ctx, "docs", 2)
	evs, err := ingest.Decode(msgs[1], opts)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	upd := evs[0]
	require.Equal(t, run.OperationUpdate, upd.Operation)
	assert.Equal(t, []string{"record.body", run.UnavailablePrevious}, upd.Unavailable, "Debezium's placeholder and the missing before image")

	// The refetch trigger got the real value; omit left the field out.
	eventually(t, "the refetch and omit runs", 2*time.Minute, func() bool {
		return len(rcv.got("/refetched")) == 1 && len(rcv.got("/omitted")) == 1
	})
	assert.Equal(t, body, rcv.got("/refetched")[0]["body"])
	assert.Equal(t, map[string]any{"name": "second"}, rcv.got("/omitted")[0])

	// The default onUnknown fails the action: nothing pretends to know.
	err = e.waitRun(t, run.WorkflowID("failed", upd.ID))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "record.body is unavailable")
	assert.Empty(t, rcv.got("/failed"))

	// CHANGED was unknown: the update was planned (the runs above, started
	// from the same plan), each evaluation was counted, and neither
	// renamed trigger has a run...
	mu.Lock()
	counted := map[string]string{}
	for _, u := range unknowns {
		counted[u.Trigger.Tag] = u.Field
	}
	mu.Unlock()
	assert.Equal(t, map[string]string{"renamed": run.UnavailablePrevious, "renamed-cel": run.UnavailablePrevious}, counted)
	for _, tag := range []string{"renamed", "renamed-cel"} {
		_, err := e.temporal.DescribeWorkflowExecution(ctx, run.WorkflowID(tag, upd.ID), "")
		var notFound *serviceerror.NotFound
		assert.ErrorAs(t, err, &notFound, tag)
	}
	assert.Empty(t, rcv.got("/renamed"))
	// ...and the dry run says why.
	rep := reg.Test(upd)
	for _, tr := range rep.Triggers {
		switch tr.Tag {
		case "renamed":
			require.NotNil(t, tr.Condition)
			assert.True(t, tr.Condition.Unknown)
			assert.Contains(t, tr.Condition.Reason, "previousRecord is not available")
		case "renamed-cel":
			require.NotNil(t, tr.When)
			assert.True(t, tr.When.Unknown)
			assert.Contains(t, tr.When.Reason, "depends on unavailable values: previousRecord")
		}
	}
	b, _ := json.Marshal(rep.Warnings)
	assert.Contains(t, string(b), "record.body is unavailable")
}

// randomText is n random letters: text PostgreSQL cannot compress, so a
// value of a few kilobytes is stored out of line (TOAST).
func randomText(t *testing.T, n int) string {
	t.Helper()
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}
