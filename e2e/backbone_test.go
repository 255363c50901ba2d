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
	"github.com/triggerd/triggerd/internal/cdctest"
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
	ins  []run.Input
}

func (s *countingStarter) Start(ctx context.Context, in run.Input) error {
	if err := s.next.Start(ctx, in); err != nil {
		return err
	}
	s.mu.Lock()
	s.ins = append(s.ins, in)
	s.mu.Unlock()
	return nil
}

// started is the workflow ids of the starts, in order.
func (s *countingStarter) started() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(s.ins))
	for i, in := range s.ins {
		ids[i] = run.WorkflowID(in.Trigger.Tag, in.Event.ID)
	}
	return ids
}

// inputs is the inputs of the starts, in order.
func (s *countingStarter) inputs() []run.Input {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]run.Input(nil), s.ins...)
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

// createTopics creates topics of three partitions on the cluster of
// broker and waits until each partition has a leader.
func createTopics(t *testing.T, broker string, topics ...string) {
	t.Helper()
	conn, err := kafka.Dial("tcp", broker)
	require.NoError(t, err)
	defer conn.Close()
	controller, err := conn.Controller()
	require.NoError(t, err)
	cc, err := kafka.Dial("tcp", fmt.Sprintf("%s:%d", controller.Host, controller.Port))
	require.NoError(t, err)
	defer cc.Close()
	cfgs := make([]kafka.TopicConfig, 0, len(topics))
	for _, tp := range topics {
		cfgs = append(cfgs, kafka.TopicConfig{Topic: tp, NumPartitions: 3, ReplicationFactor: 1})
	}
	require.NoError(t, cc.CreateTopics(cfgs...))
	// Until the broker's metadata lists every partition with a leader, a
	// publish to a new topic fails as unknown (and a run's publish action
	// can spend its retries on it).
	for _, tp := range topics {
		eventually(t, "partitions of "+tp+" with a leader", 30*time.Second, func() bool {
			parts, err := conn.ReadPartitions(tp)
			if err != nil || len(parts) != 3 {
				return false
			}
			for _, p := range parts {
				if p.Leader.ID < 0 || p.Leader.Host == "" {
					return false
				}
			}
			return true
		})
	}
}

// startWorker runs a worker with the Kafka, RabbitMQ and Redis actions,
// and the actions opts add.
func (e *env) startWorker(t *testing.T, opts ...activities.Option) {
	t.Helper()
	acts := activities.New(append([]activities.Option{
		activities.WithLogger(e.logger),
		allowLoopback(t),
		activities.WithKafka(e.brokers, nil),
		activities.WithRabbitMQ(testenv.RabbitMQURL(t)),
		activities.WithRedis(e.redis),
	}, opts...)...)
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
	e.publishWith(t, topic, &kafka.Hash{}, msgs...)
}

// publishWith publishes msgs to topic, partitioned by b.
func (e *env) publishWith(t *testing.T, topic string, b kafka.Balancer, msgs ...kafka.Message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: topic, RequiredAcks: kafka.RequireAll, Balancer: b}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.WriteMessages(ctx, msgs...))
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	eventuallyOr(t, what, timeout, cond, nil)
}

// eventuallyOr is eventually whose timeout also reports state().
func eventuallyOr(t *testing.T, what string, timeout time.Duration, cond func() bool, state func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			if state != nil {
				t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, state())
			}
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBackbone writes users with SQL and lets Debezium bring the changes
// through real Kafka: two users tables, one captured with the Connect
// schema in every message (cdctest.Schemas) and one without
// (cdctest.Schemaless), inserts, an update that activates a user, one that
// changes nothing a trigger watches, a delete and its tombstone, and a
// malformed message a broken producer wrote before a user's insert on the
// same partition. It checks every effect: the webhook got each rendered
// request exactly once, a Kafka message and a RabbitMQ message were
// published, a Redis key was set then deleted, the malformed message is in
// the DLQ and the insert behind it still ran, and redelivering everything
// starts no second run.
func TestBackbone(t *testing.T) {
	e := newEnv(t)
	// Alice's table with schemas, Bob's without.
	withSchema, plain := cdctest.New(t, cdctest.WithConnector(cdctest.Schemas)), cdctest.New(t)
	for _, h := range []*cdctest.Harness{withSchema, plain} {
		h.Exec(`CREATE TABLE users (id int PRIMARY KEY, name text, status text, score double precision);
			ALTER TABLE users REPLICA IDENTITY FULL`) // previousRecord for the activation condition
		h.CreateTopics(3, "users")
	}
	topics := []string{withSchema.Topic("users"), plain.Topic("users")}
	outTopic := "e2e." + e.suffix + ".user-events"
	dlq := "e2e." + e.suffix + ".dlq"
	queue := "e2e." + e.suffix + ".welcome"
	e.createTopics(t, outTopic, dlq)

	ch, err := e.amqp.Channel()
	require.NoError(t, err)
	defer ch.Close()
	_, err = ch.QueueDeclare(queue, false, true, false, false, nil)
	require.NoError(t, err)

	recv := newReceiver()
	srv := httptest.NewServer(recv)
	defer srv.Close()

	cacheKey := func(id int) string { return fmt.Sprintf("e2e:%s:user:%d", e.suffix, id) }
	// tables: [users] matches both schemas; the consumer reads only this
	// test's two topics.
	defs := fmt.Sprintf(`
triggers:
  - tag: welcome-%[1]s
    tables: [users]
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
	starter, stop := e.startConsumer(t, set, group, topics, dlq)

	withSchema.Exec(`INSERT INTO users VALUES (1, 'Alice', 'pending', 12.5)`)
	// A broken producer's message, on the partition Debezium writes Bob's
	// changes to (same key, Kafka's default partitioner), before his insert.
	malformed := `{"payload": {"op": "c", "after": `
	e.publishWith(t, plain.Topic("users"), &kafka.Murmur2Balancer{}, kafka.Message{Key: []byte(`{"id":2}`), Value: []byte(malformed)})
	plain.Exec(`INSERT INTO users VALUES (2, 'Bob', 'pending', 7)`)

	eventuallyOr(t, "both welcome webhooks and cache writes", 90*time.Second, func() bool {
		return len(recv.got("/hooks/welcome/1")) == 1 && len(recv.got("/hooks/welcome/2")) == 1 &&
			e.redis.Exists(context.Background(), cacheKey(1), cacheKey(2)).Val() == 2
	}, func() string {
		return fmt.Sprintf("runs started %v, webhooks %v, cached %d", starter.started(), recv.keys(),
			e.redis.Exists(context.Background(), cacheKey(1), cacheKey(2)).Val())
	})
	hook := recv.got("/hooks/welcome/1")[0]
	require.Equal(t, "afterInsert", hook["event"])
	require.Equal(t, "users", hook["table"])
	require.Equal(t, 12.5, hook["score"], "a whole-value placeholder keeps the number's type")
	require.Equal(t, "Hello Alice", hook["greeting"])
	require.Equal(t, "Alice", hook["user"].(map[string]any)["name"], "{{record}} renders the whole object")
	require.Equal(t, 7.0, recv.got("/hooks/welcome/2")[0]["score"], "without schemas too")

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
	// and Bob's insert behind it was still processed (above).
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
	require.Equal(t, plain.Topic("users"), headers["triggerd-source-topic"])
	require.NotEmpty(t, headers["triggerd-error"])
	require.NotEmpty(t, headers["triggerd-source-offset"])
	require.Equal(t, malformed, string(dm.Value))

	// An update that activates Alice, one that changes only Bob's score
	// (no run), then Bob's delete and the tombstone Debezium writes after it.
	withSchema.Exec(`UPDATE users SET status = 'active' WHERE id = 1`)
	plain.Exec(`UPDATE users SET score = 8 WHERE id = 2`)
	plain.Exec(`DELETE FROM users WHERE id = 2`)
	eventually(t, "activation and deletion hooks, cache key deleted", 60*time.Second, func() bool {
		return len(recv.got("/hooks/activated")) == 1 && len(recv.got("/hooks/deleted")) == 1 &&
			e.redis.Exists(context.Background(), cacheKey(2)).Val() == 0
	})
	act := recv.got("/hooks/activated")[0]
	require.Equal(t, "pending", act["from"])
	require.Equal(t, "active", act["to"])
	require.EqualValues(t, 2, recv.got("/hooks/deleted")[0]["id"])
	// Debezium's tombstone follows the delete (ingest skips it): the
	// malformed message, the insert, the update, the delete, the tombstone.
	bob := plain.Read(context.Background(), "users", 5)
	require.Contains(t, string(bob[3].Value), `"op":"d"`)
	require.Nil(t, bob[4].Value, "the delete's tombstone: %s", bob[4].Value)

	firstIDs := starter.started()
	require.Len(t, firstIDs, 4, "welcome×2, activated, goodbye")
	stop()

	// Redeliver everything: a consumer whose offsets start from the
	// beginning (a reset group) must start no second run.
	again, stop2 := e.startConsumer(t, set, group+"-reset", topics, dlq)
	eventually(t, "the reset consumer to re-plan every event", 60*time.Second, func() bool {
		return len(again.started()) == len(firstIDs)
	})
	require.ElementsMatch(t, firstIDs, again.started(), "same events, same workflow ids")
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
	// Every run completed above, so every webhook call happened: none twice.
	for k, n := range recv.keys() {
		require.Equal(t, 1, n, "idempotency key %s delivered %d times", k, n)
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
