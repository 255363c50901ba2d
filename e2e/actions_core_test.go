package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/secrets"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/webhooksign"
	"github.com/triggerd/triggerd/workflows"
)

// TestCacheOutputsFeedASignedWebhook runs, on real Temporal and Redis, a
// trigger loaded from YAML: it caches the record in a named cache, reads
// it back (and a missing key), sends both answers in a webhook signed
// with a key from the secrets resolver, then invalidates the cache. The
// receiver verifies the signature; Redis is checked after each step.
func TestCacheOutputsFeedASignedWebhook(t *testing.T) {
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Namespace: "default"})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { _ = rdb.Close() })
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	prefix := "e2e-users-" + suffix + ":"

	const signKey = "whsec_e2e_cache"
	type got struct {
		body     map[string]any
		verified error
	}
	received := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		received <- got{body, webhooksign.Verify(r.Header.Get(webhooksign.Header), b, []byte(signKey), time.Now(), 0)}
	}))
	t.Cleanup(srv.Close)

	defs, err := trigger.Parse([]byte(`
tag: cache-signed
tables: [users]
events: [afterInsert]
actions:
  - name: remember
    type: cache.set
    config: {cache: users, key: "user:{{record.id}}", value: {name: "{{record.name}}"}, ttl: 600}
  - name: lookup
    type: cache.get
    config: {cache: users, key: "user:{{record.id}}"}
  - name: absent
    type: cache.get
    config: {cache: users, key: "user:nobody"}
  - name: notify
    type: http
    config:
      url: `+srv.URL+`/hooks/user
      body:
        name: "{{actions.lookup.output.value.name}}"
        found: "{{actions.lookup.output.found}}"
        absentFound: "{{actions.absent.output.found}}"
        absentValue: "{{actions.absent.output.value}}"
      sign: {key: "{{secret.WEBHOOK_KEY}}"}
  - name: flush
    type: cache.invalidate
    config: {cache: users, pattern: "user:*"}
`), "e2e.yaml")
	require.NoError(t, err)
	set, err := trigger.NewSet(defs)
	require.NoError(t, err)
	ev := run.Event{ID: "ev-" + suffix, Table: "users", Operation: run.OperationInsert, Record: map[string]any{"id": 42.0, "name": "Ada"}}
	plans := set.Plan(ev)
	require.Len(t, plans, 1)

	queue := "e2e-cache-" + suffix
	acts := activities.New(allowLoopback(t), activities.WithRedis(rdb), activities.WithCaches(map[string]activities.CacheConfig{"users": {Prefix: prefix}}))
	res := secrets.NewResolver([]secrets.Source{secrets.Env{LookupEnv: func(k string) (string, bool) {
		return signKey, k == secrets.EnvPrefix+"WEBHOOK_KEY"
	}}})
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w)
	acts.Register(w, res.Middleware())
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: run.WorkflowID("cache-signed", ev.ID), TaskQueue: queue}, run.WorkflowName, plans[0])
	require.NoError(t, err)
	var result run.Result
	require.NoError(t, wr.Get(ctx, &result))
	for _, a := range result.Actions {
		require.Equal(t, run.StatusSucceeded, a.Status, "%s: %s", a.Name, a.Error)
	}

	g := <-received
	require.NoError(t, g.verified, "the receiver verifies the signature")
	require.Equal(t, map[string]any{"name": "Ada", "found": true, "absentFound": false, "absentValue": nil}, g.body)
	require.Equal(t, map[string]any{"key": "user:42", "found": true, "value": map[string]any{"name": "Ada"}, "ttl": result.Actions[1].Output.(map[string]any)["ttl"]},
		result.Actions[1].Output)
	require.Equal(t, 1.0, result.Actions[4].Output.(map[string]any)["deleted"])
	require.Zero(t, rdb.Exists(context.Background(), prefix+"user:42").Val(), "invalidated")
}
