// Package e2e holds the end-to-end tests of triggerd: real Kafka, a real
// Temporal server, real Redis and RabbitMQ, with the ingest, the worker and
// the actions wired as the binary wires them. Service addresses come from
// the environment (see internal/testenv); under CI a missing service fails.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/workflows"
)

// allowLoopback is the egress policy of the e2e workers: their webhook
// targets are httptest servers on 127.0.0.1, which the default policy
// refuses, so the tests allow loopback with an explicit rule.
func allowLoopback(t testing.TB) activities.Option {
	t.Helper()
	p, err := egress.New([]string{"127.0.0.0/8", "::1"}, nil)
	require.NoError(t, err)
	return activities.WithEgress(p)
}

// receiver is a webhook target that records every request by path and by
// Idempotency-Key.
type receiver struct {
	mu     sync.Mutex
	byPath map[string][]map[string]any
	byKey  map[string]int
}

func newReceiver() *receiver {
	return &receiver{byPath: map[string][]map[string]any{}, byKey: map[string]int{}}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var doc map[string]any
	_ = json.Unmarshal(body, &doc)
	r.mu.Lock()
	r.byPath[req.URL.Path] = append(r.byPath[req.URL.Path], doc)
	r.byKey[req.Header.Get("Idempotency-Key")]++
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) got(path string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.byPath[path]...)
}

func (r *receiver) keys() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.byKey))
	for k, v := range r.byKey {
		out[k] = v
	}
	return out
}

// countingStarter records every start ingest asks for, so the test knows
// when a consumer has worked through its input.
type countingStarter struct {
	next ingest.Starter
	mu   sync.Mutex
	ids  []string
}

func (s *countingStarter) Start(ctx context.Context, in run.Input) error {
	if err := s.next.Start(ctx, in); err != nil {
		return err
	}
	s.mu.Lock()
	s.ids = append(s.ids, run.WorkflowID(in.Trigger.Tag, in.Event.ID))
	s.mu.Unlock()
	return nil
}

func (s *countingStarter) started() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

type env struct {
	suffix    string
	brokers   []string
	temporal  client.Client
	redis     *redis.Client
	amqp      *amqp.Connection
	taskQueue string
	logger    *slog.Logger
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		suffix:  fmt.Sprintf("%d", time.Now().UnixNano()),
		brokers: strings.Split(testenv.KafkaBrokers(t), ","),
		logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	e.taskQueue = "e2e-" + e.suffix
	temporalAddr := testenv.TemporalAddress(t)
	redisAddr := testenv.RedisAddr(t)
	rabbitURL := testenv.RabbitMQURL(t)

	c, err := client.Dial(client.Options{HostPort: temporalAddr, Namespace: "default"})
	require.NoError(t, err, "dial temporal")
	t.Cleanup(c.Close)
	e.temporal = c

	e.redis = redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = e.redis.Close() })
	require.NoError(t, e.redis.Ping(context.Background()).Err(), "ping redis")

	conn, err := amqp.Dial(rabbitURL)
	require.NoError(t, err, "dial rabbitmq")
	t.Cleanup(func() { _ = conn.Close() })
	e.amqp = conn
	return e
}

func (e *env) createTopics(t *testing.T, topics ...string) {
	t.Helper()
	createTopics(t, e.brokers[0], topics...)
}

func (e *env) startWorker(t *testing.T) {
	t.Helper()
	acts := activities.New(
		activities.WithLogger(e.logger),
		allowLoopback(t),
		activities.WithKafka(e.brokers, nil),
		activities.WithRabbitMQ(testenv.RabbitMQURL(t)),
		activities.WithRedis(e.redis),
	)
	w := worker.New(e.temporal, e.taskQueue, worker.Options{})
	workflows.Register(w)
	acts.Register(w)
	require.NoError(t, w.Start())
	t.Cleanup(func() {
		w.Stop()
		_ = acts.Close()
	})
}

// startConsumer runs an ingest consumer until the returned stop func is
// called (or the test ends). opts adjust its config (decode options).
func (e *env) startConsumer(t *testing.T, planner ingest.Planner, group string, topics []string, dlq string, opts ...func(*ingest.Config)) (*countingStarter, func()) {
	t.Helper()
	starter := &countingStarter{next: ingest.NewTemporalStarter(e.temporal, e.taskQueue)}
	cfg := ingest.Config{
		Brokers:        e.brokers,
		Topics:         topics,
		GroupID:        group,
		DLQTopic:       dlq,
		Consumers:      2,
		CommitInterval: 200 * time.Millisecond,
		CommitBatch:    50,
	}
	for _, o := range opts {
		o(&cfg)
	}
	cons, err := ingest.NewConsumer(cfg, planner, starter, e.logger)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err, "consumer run")
			case <-time.After(30 * time.Second):
				t.Error("consumer did not stop within 30s")
			}
		})
	}
	t.Cleanup(stop)
	return starter, stop
}

func (e *env) publish(t *testing.T, topic string, msgs ...kafka.Message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: topic, RequiredAcks: kafka.RequireAll, Balancer: &kafka.Hash{}}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.WriteMessages(ctx, msgs...))
}

// debeziumMessage builds a Debezium change event for a row of public.users,
// with or without the schema wrapper, keyed like Debezium keys it.
func debeziumMessage(t *testing.T, op string, lsn int64, before, after map[string]any, wrapped bool) kafka.Message {
	t.Helper()
	id := after["id"]
	if id == nil {
		id = before["id"]
	}
	payload := map[string]any{
		"before": before,
		"after":  after,
		"source": map[string]any{
			"version": "2.7.0.Final", "connector": "postgresql", "name": "dbserver1",
			"ts_ms": 1700000000000, "db": "app", "schema": "public", "table": "users",
			"txId": lsn / 10, "lsn": lsn,
		},
		"op":    op,
		"ts_ms": 1700000000123,
	}
	var value any = payload
	if wrapped {
		value = map[string]any{"schema": map[string]any{"type": "struct", "name": "dbserver1.public.users.Envelope"}, "payload": payload}
	}
	v, err := json.Marshal(value)
	require.NoError(t, err)
	k, err := json.Marshal(map[string]any{"schema": map[string]any{"type": "struct"}, "payload": map[string]any{"id": id}})
	require.NoError(t, err)
	return kafka.Message{Key: k, Value: v}
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBackbone publishes Debezium inserts, an update, a delete, a tombstone
// and a malformed message to real Kafka and checks every effect: the
// webhook got each rendered request exactly once, a Kafka message and a
// RabbitMQ message were published, a Redis key was set then deleted, the
// malformed message is in the DLQ, and redelivering everything starts no
// second run.
func TestBackbone(t *testing.T) {
	e := newEnv(t)
	topic := "e2e." + e.suffix + ".public.users"
	outTopic := "e2e." + e.suffix + ".user-events"
	dlq := "e2e." + e.suffix + ".dlq"
	queue := "e2e." + e.suffix + ".welcome"
	e.createTopics(t, topic, outTopic, dlq)

	ch, err := e.amqp.Channel()
	require.NoError(t, err)
	defer ch.Close()
	_, err = ch.QueueDeclare(queue, false, true, false, false, nil)
	require.NoError(t, err)

	recv := newReceiver()
	srv := httptest.NewServer(recv)
	defer srv.Close()

	cacheKey := func(id int) string { return fmt.Sprintf("e2e:%s:user:%d", e.suffix, id) }
	defs := fmt.Sprintf(`
triggers:
  - tag: welcome-%[1]s
    tables: [public.users]
    events: [afterInsert]
    actions:
      - type: http
        name: webhook
        config:
          url: "%[2]s/hooks/welcome/{{record.id}}"
          body:
            event: "{{event}}"
            table: "{{table}}"
            user: "{{record}}"
            score: "{{record.score}}"
            greeting: "Hello {{record.name}}"
      - type: broker.publish
        name: to-kafka
        config:
          target: "kafka:%[3]s"
          key: "{{record.id}}"
          message: {type: user.created, user: "{{record}}"}
      - type: broker.publish
        name: to-rabbit
        config:
          target: "rabbitmq:%[4]s"
          message: {type: user.created, id: "{{record.id}}"}
      - type: cache.set
        name: cache-user
        config:
          key: "e2e:%[1]s:user:{{record.id}}"
          value: "{{record}}"
          ttl: 600
      - type: log
        config: {message: "user {{record.id}} welcomed"}
  - tag: activated-%[1]s
    tables: [users]
    events: [afterUpdate]
    condition:
      and:
        - {field: record.status, operator: CHANGED_TO, value: active}
        - {field: previousRecord.status, operator: NOT_EQUALS, value: active}
    actions:
      - type: http
        config:
          url: "%[2]s/hooks/activated"
          body: {id: "{{record.id}}", from: "{{previousRecord.status}}", to: "{{record.status}}"}
  - tag: goodbye-%[1]s
    tables: [users]
    events: [afterDelete]
    actions:
      - type: cache.delete
        config: {key: "e2e:%[1]s:user:{{record.id}}"}
      - type: http
        config:
          url: "%[2]s/hooks/deleted"
          body: {id: "{{record.id}}"}
`, e.suffix, srv.URL, outTopic, queue)
	parsed, err := trigger.Parse([]byte(defs), "e2e.yaml")
	require.NoError(t, err)
	set, err := trigger.NewSet(parsed)
	require.NoError(t, err)

	e.startWorker(t)
	group := "e2e-" + e.suffix
	starter, stop := e.startConsumer(t, set, group, []string{topic}, dlq)

	alice := map[string]any{"id": 1, "name": "Alice", "status": "pending", "score": 12.5}
	bob := map[string]any{"id": 2, "name": "Bob", "status": "pending", "score": 7}
	e.publish(t, topic,
		debeziumMessage(t, "c", 1000, nil, alice, true),
		kafka.Message{Key: []byte(`{"id":99}`), Value: []byte(`{"payload": {"op": "c", "after": `)},
		debeziumMessage(t, "c", 1010, nil, bob, false),
	)

	eventually(t, "both welcome webhooks and cache writes", 60*time.Second, func() bool {
		return len(recv.got("/hooks/welcome/1")) == 1 && len(recv.got("/hooks/welcome/2")) == 1 &&
			e.redis.Exists(context.Background(), cacheKey(1), cacheKey(2)).Val() == 2
	})
	hook := recv.got("/hooks/welcome/1")[0]
	require.Equal(t, "afterInsert", hook["event"])
	require.Equal(t, "users", hook["table"])
	require.Equal(t, 12.5, hook["score"], "a whole-value placeholder keeps the number's type")
	require.Equal(t, "Hello Alice", hook["greeting"])
	require.Equal(t, "Alice", hook["user"].(map[string]any)["name"], "{{record}} renders the whole object")

	var cached map[string]any
	require.NoError(t, json.Unmarshal([]byte(e.redis.Get(context.Background(), cacheKey(1)).Val()), &cached))
	require.Equal(t, "Alice", cached["name"])
	require.Greater(t, e.redis.TTL(context.Background(), cacheKey(1)).Val(), time.Minute)

	// The Kafka publish arrived, keyed by the record id.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: e.brokers, Topic: outTopic, GroupID: "e2e-out-" + e.suffix, StartOffset: kafka.FirstOffset})
	defer r.Close()
	seen := map[string]map[string]any{}
	for len(seen) < 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		m, err := r.ReadMessage(ctx)
		cancel()
		require.NoError(t, err, "read published kafka message")
		var doc map[string]any
		require.NoError(t, json.Unmarshal(m.Value, &doc))
		seen[string(m.Key)] = doc
	}
	require.Equal(t, "user.created", seen["1"]["type"])
	require.Equal(t, "Bob", seen["2"]["user"].(map[string]any)["name"])

	// The RabbitMQ publish arrived on the queue.
	rabbitIDs := map[string]bool{}
	eventually(t, "two rabbitmq messages", 30*time.Second, func() bool {
		d, ok, err := ch.Get(queue, true)
		require.NoError(t, err)
		if ok {
			var doc map[string]any
			require.NoError(t, json.Unmarshal(d.Body, &doc))
			rabbitIDs[fmt.Sprint(doc["id"])] = true
			require.Equal(t, uint8(amqp.Persistent), d.DeliveryMode)
		}
		return len(rabbitIDs) == 2
	})

	// The malformed message is in the DLQ with its reason and coordinates,
	// and the good message after it was still processed (Bob, above).
	dr := kafka.NewReader(kafka.ReaderConfig{Brokers: e.brokers, Topic: dlq, GroupID: "e2e-dlq-" + e.suffix, StartOffset: kafka.FirstOffset})
	defer dr.Close()
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
	dm, err := dr.ReadMessage(dctx)
	dcancel()
	require.NoError(t, err, "read DLQ")
	headers := map[string]string{}
	for _, h := range dm.Headers {
		headers[h.Key] = string(h.Value)
	}
	require.Equal(t, topic, headers["triggerd-source-topic"])
	require.NotEmpty(t, headers["triggerd-error"])
	require.NotEmpty(t, headers["triggerd-source-offset"])
	require.Equal(t, `{"payload": {"op": "c", "after": `, string(dm.Value))

	// An update that activates Alice, then Bob's delete and tombstone.
	aliceActive := map[string]any{"id": 1, "name": "Alice", "status": "active", "score": 12.5}
	bobStillPending := map[string]any{"id": 2, "name": "Bob", "status": "pending", "score": 8}
	e.publish(t, topic,
		debeziumMessage(t, "u", 1020, alice, aliceActive, true),
		debeziumMessage(t, "u", 1030, bob, bobStillPending, true), // no status change: no run
		debeziumMessage(t, "d", 1040, bobStillPending, nil, true),
		kafka.Message{Key: []byte(`{"id":2}`), Value: nil},
	)
	eventually(t, "activation and deletion hooks, cache key deleted", 60*time.Second, func() bool {
		return len(recv.got("/hooks/activated")) == 1 && len(recv.got("/hooks/deleted")) == 1 &&
			e.redis.Exists(context.Background(), cacheKey(2)).Val() == 0
	})
	act := recv.got("/hooks/activated")[0]
	require.Equal(t, "pending", act["from"])
	require.Equal(t, "active", act["to"])
	require.EqualValues(t, 2, recv.got("/hooks/deleted")[0]["id"])

	firstIDs := starter.started()
	require.Len(t, firstIDs, 4, "welcome×2, activated, goodbye")
	stop()

	// Redeliver everything: a consumer whose offsets start from the
	// beginning (a reset group) must start no second run.
	before := recv.keys()
	again, stop2 := e.startConsumer(t, set, group+"-reset", []string{topic}, dlq)
	eventually(t, "the reset consumer to re-plan every event", 60*time.Second, func() bool {
		return len(again.started()) == len(firstIDs)
	})
	require.ElementsMatch(t, firstIDs, again.started(), "same events, same workflow ids")
	time.Sleep(2 * time.Second) // let any wrongly started duplicate run reach the receiver
	require.Equal(t, before, recv.keys(), "no webhook delivered twice")
	for k, n := range recv.keys() {
		require.Equal(t, 1, n, "idempotency key %s delivered %d times", k, n)
	}
	stop2()

	// Temporal holds exactly one completed run per (event, trigger).
	// Visibility is eventually consistent, hence the polling.
	for _, id := range firstIDs {
		var execs []*workflowpb.WorkflowExecutionInfo
		eventually(t, "visibility of "+id, 30*time.Second, func() bool {
			resp, err := e.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
				Query: fmt.Sprintf("WorkflowId = '%s'", id),
			})
			require.NoError(t, err)
			execs = resp.Executions
			return len(execs) > 0 && execs[0].Status == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
		})
		require.Len(t, execs, 1, "runs of %s", id)
	}

	// The runs can be found by trigger tag through the search attributes.
	eventually(t, "both welcome runs listed by TriggerTag", 30*time.Second, func() bool {
		resp, err := e.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("%s = 'welcome-%s'", run.SearchAttrTriggerTag, e.suffix),
		})
		require.NoError(t, err)
		return len(resp.Executions) == 2
	})
}
