package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/fallbacks"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/quotas"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/workflows"
)

// These tests run the quota and breaker decorators as the worker wires
// them (cmd/triggerd/quotas_breakers.go): real Redis holds the budgets, the
// overrides and the breakers' state; a real Temporal server runs the
// trigger workflow, whose waits are durable timers.

// hitTarget is a webhook that records when each request arrived and can
// be made to fail with 500s.
type hitTarget struct {
	mu      sync.Mutex
	arrived []time.Time
	failing atomic.Bool
	srv     *httptest.Server
}

func newHitTarget(t *testing.T) *hitTarget {
	h := &hitTarget{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h.mu.Lock()
		h.arrived = append(h.arrived, time.Now())
		h.mu.Unlock()
		if h.failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hitTarget) hits() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.arrived...)
}

// host is the quota/breaker target name of h (activities.Target).
func (h *hitTarget) host() string {
	u, _ := url.Parse(h.srv.URL)
	return "http:" + u.Host
}

type guardEnv struct {
	c      client.Client
	queue  string
	prefix string
	redis  string
	seq    atomic.Int64 // makes every event id unique
	// breakerOpts are added to every worker's breakers (a clock).
	breakerOpts []fallbacks.Option
}

func newGuardEnv(t *testing.T) *guardEnv {
	addr := testenv.TemporalAddress(t)
	redisAddr := testenv.RedisAddr(t)
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default", Logger: quietTemporal()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	id := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	return &guardEnv{c: c, queue: "guards-" + id, prefix: "test:" + id + ":", redis: redisAddr}
}

func quietTemporal() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// guardedWorker is one worker "process": its own Redis client, quotas and
// breakers, as cmd/triggerd wires them.
type guardedWorker struct {
	quotas   *quotas.Quotas
	breakers *fallbacks.Breakers
	calls    atomic.Int64
}

func (e *guardEnv) startWorker(t *testing.T, qc quotas.Config, bc fallbacks.Config, opts ...activities.Option) *guardedWorker {
	rc := redis.NewClient(&redis.Options{Addr: e.redis})
	t.Cleanup(func() { _ = rc.Close() })
	g := &guardedWorker{}
	g.quotas = quotas.New(qc, quotas.NewRedisLimiter(rc, e.prefix+"quota:"), quotas.NewRedisOverrides(rc, e.prefix+"quotas:"),
		activities.Target, quotas.WithRefresh(200*time.Millisecond))
	g.breakers = fallbacks.New(bc, fallbacks.NewRedisStore(rc, e.prefix+"breaker:"), activities.Target,
		append([]fallbacks.Option{fallbacks.WithOverrides(fallbacks.NewRedisOverrides(rc, e.prefix+"breakers:"), 200*time.Millisecond)},
			e.breakerOpts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = g.quotas.Run(ctx) }()
	go func() { _ = g.breakers.Run(ctx) }()
	count := func(next run.ActionFunc) run.ActionFunc {
		return func(ctx context.Context, req run.ActionRequest) (any, error) {
			g.calls.Add(1)
			return next(ctx, req)
		}
	}
	w := worker.New(e.c, e.queue, worker.Options{})
	workflows.Register(w)
	acts := activities.New(append([]activities.Option{allowLoopback(t)}, opts...)...)
	t.Cleanup(func() { _ = acts.Close() })
	acts.Register(w, count, g.breakers.Middleware, g.quotas.Middleware)
	require.NoError(t, w.Start())
	t.Cleanup(func() { cancel(); w.Stop() })
	return g
}

func httpAction(h *hitTarget, g *run.Guard) run.Action {
	return run.Action{Name: "notify", Type: run.TypeHTTP, Timeout: 10 * time.Second,
		Config: map[string]any{"url": h.srv.URL + "/hook", "method": "POST", "body": map[string]any{"id": "{{record.id}}"}},
		Retry:  run.RetryPolicy{MaxAttempts: 1}, Guard: g}
}

// runAll starts one run per event concurrently and returns their results
// in event order, with the workflow ids.
func (e *guardEnv) runAll(t *testing.T, tag string, n int, actions ...run.Action) ([]run.Result, []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Started all at once, so that the load reaches the quota together
	// rather than at the pace of sequential start requests.
	runs := make([]client.WorkflowRun, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			in := run.Input{Trigger: run.TriggerRef{Tag: tag}, EventName: "afterInsert", Actions: actions,
				Event: run.Event{ID: fmt.Sprintf("%s-%d", e.queue, e.seq.Add(1)), Table: "orders", Operation: run.OperationInsert,
					Record: map[string]any{"id": i}, Timestamp: time.Now()}}
			runs[i], errs[i] = e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: run.WorkflowID(tag, in.Event.ID), TaskQueue: e.queue},
				run.WorkflowName, in)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	results := make([]run.Result, n)
	ids := make([]string, n)
	for i, r := range runs {
		err := r.Get(ctx, &results[i])
		if err != nil {
			res, ok := workflows.ResultFromError(err)
			require.True(t, ok, "run %d: %v", i, err)
			results[i] = res
		}
		ids[i] = r.GetID()
	}
	return results, ids
}

// activityAttempts returns the attempt of every activity task started in
// the run's history.
func (e *guardEnv) activityAttempts(t *testing.T, id string) []int32 {
	var out []int32
	it := e.c.GetWorkflowHistory(context.Background(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			out = append(out, a.GetAttempt())
		}
	}
	return out
}

func spread(hits []time.Time) time.Duration {
	sort.Slice(hits, func(i, j int) bool { return hits[i].Before(hits[j]) })
	return hits[len(hits)-1].Sub(hits[0])
}

// requireQuotaSpan checks that the last of hits arrived no sooner after
// start than a quota of rate calls a second with bursts of burst allows:
// the first call was admitted after start and the last (n-burst)/rate
// after the first at least. A slow machine only adds to the span, so the
// bound cannot flake; measured between hits (spread) it could, when the
// first hit is the one delayed.
func requireQuotaSpan(t *testing.T, start time.Time, hits []time.Time, rate, burst int) {
	t.Helper()
	last := slices.MaxFunc(hits, time.Time.Compare)
	least := time.Duration(len(hits)-burst) * time.Second / time.Duration(rate)
	// 200ms of slack: the limiter's clock (Redis) and ours are read at
	// different points of one call.
	require.GreaterOrEqual(t, last.Sub(start), least-200*time.Millisecond,
		"%d calls at %d/s with bursts of %d arrived too soon", len(hits), rate, burst)
}

// requireWaitsAreTimers checks every run's guard report against its
// history: each quota refusal is a fresh activity at attempt 1 (a wait
// spends no retry attempt), and a run reports waiting exactly when it was
// refused. It returns how many runs waited.
func (e *guardEnv) requireWaitsAreTimers(t *testing.T, results []run.Result, ids []string, quota string) (waited, refusals int) {
	t.Helper()
	for i, id := range ids {
		attempts := e.activityAttempts(t, id)
		for _, a := range attempts {
			require.Equal(t, int32(1), a, "run %s: a quota wait must not spend a retry attempt", id)
		}
		refused := len(attempts) - 1
		refusals += refused
		g := results[i].Actions[0].Guard
		if refused == 0 {
			require.Nil(t, g, "run %s was never refused: it reports no wait", id)
			continue
		}
		require.NotNil(t, g, "run %s was refused %d times: it says so", id, refused)
		require.NotEmpty(t, g.Waits)
		assert.Equal(t, quota, g.Waits[0].Quota)
		assert.Positive(t, g.Waited)
		waited++
	}
	return waited, refusals
}

// TestQuotaSpreadsEvents: 50 events against a limit of 5 per second reach
// the target spread over at least nine seconds, none failed, and every
// activity ran at attempt 1: quota waits are workflow timers, not retries.
// How many runs waited depends on how fast the machine started them (a
// slow one may pace them below the limit itself), so it is only logged.
func TestQuotaSpreadsEvents(t *testing.T) {
	e := newGuardEnv(t)
	h := newHitTarget(t)
	e.startWorker(t, quotas.Config{}, fallbacks.Config{})
	const n, rate = 50, 5
	quota := &run.Guard{Quota: &run.QuotaSpec{Limit: run.Limit{Rate: rate, Period: time.Second, Burst: rate}}}
	start := time.Now()
	results, ids := e.runAll(t, "quota-spread", n, httpAction(h, quota))

	for i, res := range results {
		require.Equal(t, run.StatusSucceeded, res.Status, "run %d: %+v", i, res.Actions)
	}
	hits := h.hits()
	require.Len(t, hits, n, "every event reached the target exactly once")
	requireQuotaSpan(t, start, hits, rate, rate)
	waited, refusals := e.requireWaitsAreTimers(t, results, ids, "action:quota-spread/notify")
	t.Logf("50 events: spread %s, %d runs waited, %d refused activity calls in all", spread(hits), waited, refusals)
}

// TestQuotaSharedByTwoWorkers: two workers, each with its own Redis client
// and decorators, draw on one budget: together they never exceed it.
func TestQuotaSharedByTwoWorkers(t *testing.T) {
	e := newGuardEnv(t)
	h := newHitTarget(t)
	cfg := quotas.Config{Targets: map[string]run.Limit{h.host(): {Rate: 5, Period: time.Second, Burst: 1}}}
	w1 := e.startWorker(t, cfg, fallbacks.Config{})
	w2 := e.startWorker(t, cfg, fallbacks.Config{})
	const n = 20
	start := time.Now()
	results, _ := e.runAll(t, "quota-shared", n, httpAction(h, nil))
	for i, res := range results {
		require.Equal(t, run.StatusSucceeded, res.Status, "run %d", i)
	}
	hits := h.hits()
	require.Len(t, hits, n)
	assert.Positive(t, w1.calls.Load(), "worker 1 ran actions")
	assert.Positive(t, w2.calls.Load(), "worker 2 ran actions")
	// Two separate budgets would let 10 a second through (about 1.9s).
	requireQuotaSpan(t, start, hits, 5, 1)
	t.Logf("two workers: %d and %d calls, spread %s", w1.calls.Load(), w2.calls.Load(), spread(hits))
}

// stillClock is a clock that stands still until the test sets it
// (fallbacks.WithClock).
type stillClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stillClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stillClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestBreakerOpensFallsBackAndRecovers: a target answering 500 opens its
// breaker after the configured failures; the fallback gets the events
// after that; once the target recovers, a probe after the open timeout
// closes the breaker and the target gets events again. The breakers'
// clock stands still, so the breaker stays open however long the events
// take on a loaded machine; the test moves it past the open timeout.
func TestBreakerOpensFallsBackAndRecovers(t *testing.T) {
	e := newGuardEnv(t)
	clock := &stillClock{now: time.Now()}
	e.breakerOpts = []fallbacks.Option{fallbacks.WithClock(clock.Now)}
	primary, backup := newHitTarget(t), newHitTarget(t)
	primary.failing.Store(true)
	const failures = 3
	w := e.startWorker(t, quotas.Config{}, fallbacks.Config{Targets: map[string]run.BreakerSettings{
		// An hour's Interval: the failure count must not be cleared
		// between the slow events of a loaded machine either.
		primary.host(): {ConsecutiveFailures: failures, Interval: time.Hour, OpenTimeout: 2 * time.Second, HalfOpenRequests: 1},
	}})
	fb := httpAction(backup, nil)
	act := httpAction(primary, &run.Guard{Fallback: []run.Fallback{{Action: &fb}}})

	// One event at a time, so that which event saw which state is known.
	var results []run.Result
	for range 8 {
		res, _ := e.runAll(t, "breaker", 1, act)
		results = append(results, res[0])
	}
	for i, res := range results[:failures] {
		assert.Equal(t, run.StatusFailed, res.Status, "event %d fails on the target", i)
		assert.Nil(t, res.Actions[0].Guard)
	}
	for i, res := range results[failures:] {
		require.Equal(t, run.StatusSucceeded, res.Status, "event %d goes to the fallback", failures+i)
		g := res.Actions[0].Guard
		require.NotNil(t, g)
		assert.Equal(t, "target:"+primary.host(), g.Breaker)
		assert.Equal(t, "action http", g.Path)
		assert.Contains(t, g.Reason, "BREAKER_OPEN")
	}
	assert.Len(t, primary.hits(), failures, "the open breaker kept calls off the target")
	assert.Len(t, backup.hits(), 8-failures, "the fallback received the remaining events")
	list, err := w.breakers.List(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "open", list[0].State)

	primary.failing.Store(false)
	require.NotNil(t, list[0].OpenUntil)
	clock.Set(*list[0].OpenUntil) // the open timeout has passed
	// One at a time again: the first is the probe, which closes the
	// breaker; the second finds it closed. (Together, the second would be
	// turned away while the probe holds the half-open breaker's one slot.)
	for i := range 2 {
		res, _ := e.runAll(t, "breaker", 1, act)
		require.Equal(t, run.StatusSucceeded, res[0].Status, "after recovery %d", i)
		assert.Nil(t, res[0].Actions[0].Guard, "the target itself served it")
	}
	assert.Len(t, primary.hits(), failures+2, "the probe and the next event reached the recovered target")
	list, err = w.breakers.List(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "closed", list[0].State)
}

// TestQuotaChangedThroughAPI: a limit set through the API (the process
// serving it and the worker share only Redis) changes what the running
// worker does within its refresh interval, and the change is recorded
// with its actor.
func TestQuotaChangedThroughAPI(t *testing.T) {
	e := newGuardEnv(t)
	h := newHitTarget(t)
	w := e.startWorker(t, quotas.Config{}, fallbacks.Config{})

	// The API "process": its own Redis client and Quotas.
	rc := redis.NewClient(&redis.Options{Addr: e.redis})
	defer rc.Close()
	aq := quotas.New(quotas.Config{}, quotas.NewRedisLimiter(rc, e.prefix+"quota:"), quotas.NewRedisOverrides(rc, e.prefix+"quotas:"), activities.Target)
	const token = "alice-token-0123456789abcdef01"
	auth, err := api.NewAuth(api.AcceptToken("alice", token, api.ScopeOps))
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Options{Quotas: aq, Auth: auth}).Handler())
	defer srv.Close()
	cl := api.NewClient(srv.URL, api.WithToken(token))

	before, _ := e.runAll(t, "live", 5, httpAction(h, nil))
	for _, res := range before {
		require.Equal(t, run.StatusSucceeded, res.Status)
		require.Nil(t, res.Actions[0].Guard, "no quota yet: nobody waits")
	}

	key := "target:" + h.host()
	o, err := cl.SetQuota(context.Background(), key, &api.Limit{Rate: 2, Period: "1s", Burst: 1})
	require.NoError(t, err)
	assert.Equal(t, "alice", o.Actor)
	require.Eventually(t, func() bool { _, ok := w.quotas.Applied()[key]; return ok },
		10*time.Second, 50*time.Millisecond, "the worker picks the override up")

	start := time.Now()
	after, ids := e.runAll(t, "live-after", 5, httpAction(h, nil))
	for _, res := range after {
		require.Equal(t, run.StatusSucceeded, res.Status)
	}
	e.requireWaitsAreTimers(t, after, ids, key)
	hits := h.hits()[5:]
	require.Len(t, hits, 5)
	// 2 a second with a burst of 1: five calls need at least 2s.
	requireQuotaSpan(t, start, hits, 2, 1)

	changes, err := cl.QuotaChanges(context.Background(), 5)
	require.NoError(t, err)
	require.NotEmpty(t, changes)
	assert.Equal(t, key, changes[0].Key)
	assert.Equal(t, "alice", changes[0].Actor)
	list, err := cl.Quotas(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "override", list[0].Source)
}

// TestBreakerSettingChangedThroughAPI: a breaker set through the API on a
// target nothing configured protects it in a running worker.
func TestBreakerSettingChangedThroughAPI(t *testing.T) {
	e := newGuardEnv(t)
	h := newHitTarget(t)
	h.failing.Store(true)
	w := e.startWorker(t, quotas.Config{}, fallbacks.Config{})

	rc := redis.NewClient(&redis.Options{Addr: e.redis})
	defer rc.Close()
	ab := fallbacks.New(fallbacks.Config{}, fallbacks.NewRedisStore(rc, e.prefix+"breaker:"), activities.Target,
		fallbacks.WithOverrides(fallbacks.NewRedisOverrides(rc, e.prefix+"breakers:"), time.Second))
	const token = "dave-token-0123456789abcdef012"
	auth, err := api.NewAuth(api.AcceptToken("dave", token, api.ScopeOps))
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Options{Breakers: ab, Auth: auth}).Handler())
	defer srv.Close()
	cl := api.NewClient(srv.URL, api.WithToken(token))

	name := "target:" + h.host()
	_, err = cl.SetBreaker(context.Background(), name, &api.BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: "1h"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, ok := w.breakers.Applied()[name]; return ok },
		10*time.Second, 50*time.Millisecond, "the worker picks the override up")

	act := httpAction(h, &run.Guard{Fallback: []run.Fallback{{Skip: true}}})
	var results []run.Result
	for range 4 {
		res, _ := e.runAll(t, "breaker-live", 1, act)
		results = append(results, res[0])
	}
	assert.Equal(t, run.StatusFailed, results[0].Status)
	assert.Equal(t, run.StatusFailed, results[1].Status)
	for _, res := range results[2:] {
		require.Equal(t, run.StatusSucceeded, res.Status)
		assert.Equal(t, run.StatusSkipped, res.Actions[0].Status)
		assert.Equal(t, name, res.Actions[0].Guard.Breaker)
	}
	assert.Len(t, h.hits(), 2, "the breaker opened after the 2 failures the API asked for")
	states, _, err := cl.Breakers(context.Background())
	require.NoError(t, err)
	require.Len(t, states, 1)
	assert.Equal(t, "open", states[0].State)
}

// TestBreakerDeadLettersToKafka: with the breaker open, the dead-letter
// fallback publishes the original rendered request to a real Kafka topic.
func TestBreakerDeadLettersToKafka(t *testing.T) {
	e := newGuardEnv(t)
	brokers := strings.Split(testenv.KafkaBrokers(t), ",")
	topic := "guards-dead-" + strings.ReplaceAll(e.queue, "/", "-")
	(&env{brokers: brokers}).createTopics(t, topic)
	// A new topic takes a moment to have leaders everywhere; publish once
	// it does, so that the test is about the fallback, not the topic.
	require.Eventually(t, func() bool {
		conn, err := kafka.Dial("tcp", brokers[0])
		if err != nil {
			return false
		}
		defer conn.Close()
		parts, err := conn.ReadPartitions(topic)
		return err == nil && len(parts) > 0 && parts[0].Leader.Host != ""
	}, time.Minute, 100*time.Millisecond)
	h := newHitTarget(t)
	h.failing.Store(true)
	e.startWorker(t, quotas.Config{}, fallbacks.Config{Targets: map[string]run.BreakerSettings{
		h.host(): {ConsecutiveFailures: 1, OpenTimeout: time.Hour},
	}}, activities.WithKafka(brokers, nil))

	act := httpAction(h, &run.Guard{Fallback: []run.Fallback{{DeadLetter: "kafka:" + topic}}})
	first, _ := e.runAll(t, "dead", 1, act)
	require.Equal(t, run.StatusFailed, first[0].Status, "the failure that opens the breaker")
	res, ids := e.runAll(t, "dead", 1, act)
	require.Equal(t, run.StatusSucceeded, res[0].Status, "%+v", res[0].Actions)
	assert.Equal(t, "deadLetter kafka:"+topic, res[0].Actions[0].Guard.Path)

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, GroupID: "g-" + e.queue, StartOffset: kafka.FirstOffset})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msg, err := r.ReadMessage(ctx)
	require.NoError(t, err)
	var dl map[string]any
	require.NoError(t, json.Unmarshal(msg.Value, &dl))
	assert.Equal(t, ids[0], dl["workflowId"])
	assert.Equal(t, "notify", dl["action"])
	assert.Equal(t, "target:"+h.host(), dl["breaker"])
	cfg := dl["config"].(map[string]any)
	assert.Equal(t, h.srv.URL+"/hook", cfg["url"], "the original rendered request")
	assert.Equal(t, map[string]any{"id": float64(0)}, cfg["body"], "rendered from the event")
	assert.Len(t, h.hits(), 1, "the open breaker kept the second event off the target")
}

// TestGuardsFromTriggerDefinition: quota, breaker and fallback written in
// a trigger file travel through parsing and planning to the worker: the
// breaker opens on the first failure, the fallback action (its templates
// rendered from the event) takes the second event.
func TestGuardsFromTriggerDefinition(t *testing.T) {
	e := newGuardEnv(t)
	primary, backup := newHitTarget(t), newHitTarget(t)
	primary.failing.Store(true)
	e.startWorker(t, quotas.Config{}, fallbacks.Config{})
	defs, err := trigger.Parse(fmt.Appendf(nil, `
tag: guarded-orders
tables: [orders]
events: [afterInsert]
actions:
  - name: notify
    type: http
    config: {url: "%s/hook", body: {id: "{{record.id}}"}}
    retry: {maxAttempts: 1}
    quota: {rate: 50, period: 1s}
    breaker: {consecutiveFailures: 1, openTimeout: 1h, scope: action}
    fallback:
      - action: {type: http, config: {url: "%s/backup/{{record.id}}", body: {id: "{{record.id}}"}}}
`, primary.srv.URL, backup.srv.URL), "guarded.yaml")
	require.NoError(t, err)
	set, err := trigger.NewSet(defs)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var results []run.Result
	for i := 1; i <= 2; i++ {
		ev := run.Event{ID: fmt.Sprintf("%s-%d", e.queue, i), Table: "orders", Operation: run.OperationInsert,
			Record: map[string]any{"id": i}, Timestamp: time.Now()}
		plans := set.Plan(ev)
		require.Len(t, plans, 1)
		require.NotNil(t, plans[0].Actions[0].Guard, "the definition's guard is in the run's input")
		wr, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: run.WorkflowID("guarded-orders", ev.ID), TaskQueue: e.queue},
			run.WorkflowName, plans[0])
		require.NoError(t, err)
		var res run.Result
		if err := wr.Get(ctx, &res); err != nil {
			r, ok := workflows.ResultFromError(err)
			require.True(t, ok, "%v", err)
			res = r
		}
		results = append(results, res)
	}
	assert.Equal(t, run.StatusFailed, results[0].Status)
	require.Equal(t, run.StatusSucceeded, results[1].Status, "%+v", results[1].Actions)
	g := results[1].Actions[0].Guard
	require.NotNil(t, g)
	assert.Equal(t, "action:guarded-orders/notify", g.Breaker)
	assert.Equal(t, "action http", g.Path)
	assert.Len(t, primary.hits(), 1)
	assert.Len(t, backup.hits(), 1)
}
