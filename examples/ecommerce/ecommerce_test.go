// Package ecommerce_test runs the e-commerce example end to end: the built
// triggerd binary (worker and ingest in one process, `triggerd serve`) with
// this directory's config.yaml and triggers.yaml, against the real Kafka,
// Kafka Connect with Debezium, Temporal, Redis, RabbitMQ, PostgreSQL and
// SMTP server that scripts/services/up.sh starts, and a Stripe stand-in on
// httptest. The shop writes its orders with SQL; Debezium brings the
// changes to triggerd.
package ecommerce_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/internal/cdctest"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/workflows"
)

// item is one line of an order, as the orders table stores it (JSON).
type item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// inventoryInput is what the triggers pass to the inventory workflows.
type inventoryInput struct {
	OrderID any    `json:"orderId"`
	Items   []item `json:"items"`
}

// inventory is the shop's own code: the update-inventory and
// restore-inventory workflows and their activity on PostgreSQL.
type inventory struct {
	pool  *pgxpool.Pool
	table string
}

func (inv *inventory) AdjustStock(ctx context.Context, items []item, sign int) (int, error) {
	n := 0
	for _, it := range items {
		tag, err := inv.pool.Exec(ctx, fmt.Sprintf(`UPDATE %q SET quantity = quantity + $1 WHERE sku = $2`, inv.table), sign*it.Qty, it.SKU)
		if err != nil {
			return n, err
		}
		n += int(tag.RowsAffected())
	}
	return n, nil
}

func adjust(ctx workflow.Context, in inventoryInput, sign int) (map[string]any, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var n int
	if err := workflow.ExecuteActivity(ctx, "AdjustStock", in.Items, sign).Get(ctx, &n); err != nil {
		return nil, err
	}
	return map[string]any{"orderId": in.OrderID, "lines": n}, nil
}

func updateInventory(ctx workflow.Context, in inventoryInput) (map[string]any, error) {
	return adjust(ctx, in, -1)
}

func restoreInventory(ctx workflow.Context, in inventoryInput) (map[string]any, error) {
	return adjust(ctx, in, +1)
}

// stripe is a stand-in for POST /v1/refunds that records each request. Like
// Stripe, it creates one refund per Idempotency-Key and answers a repeated
// key with the same refund. Its first answer is a 503, as a flaky API's
// would be: the action is retried, with the same key. Like Stripe, it
// takes form-encoded bodies only.
type stripe struct {
	mu      sync.Mutex
	reqs    []stripeRequest
	refunds map[string]string // idempotency key → refund id
}

type stripeRequest struct {
	Path, Auth, IdempotencyKey string
	Body                       map[string]any
}

func (s *stripe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(b))
	body := map[string]any{}
	for k := range form {
		body[k] = form.Get(k)
	}
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, stripeRequest{r.URL.Path, r.Header.Get("Authorization"), key, body})
	if err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, `{"error":{"type":"invalid_request_error","message":"form-encoded body expected"}}`, http.StatusBadRequest)
		return
	}
	if len(s.reqs) == 1 {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	id, ok := s.refunds[key]
	if !ok {
		id = fmt.Sprintf("re_%d", len(s.refunds)+1)
		s.refunds[key] = id
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"id":%q,"object":"refund","status":"succeeded","amount":%s}`, id, form.Get("amount"))
}

func (s *stripe) requests() []stripeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stripeRequest(nil), s.reqs...)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// setup holds the per-test names and clients.
type setup struct {
	db                                               *cdctest.Harness
	suffix, topic, dlq, queue, taskQueue, stockTable string
	brokers                                          []string
	temporal                                         client.Client
	redis                                            *redis.Client
	amqp                                             *amqp.Channel
	pg                                               *pgxpool.Pool
	stripe                                           *stripe
	stripeURL                                        string
}

func newSetup(t *testing.T) *setup {
	ctx := context.Background()
	s := &setup{suffix: strconv.FormatInt(time.Now().UnixNano(), 36), stripe: &stripe{refunds: map[string]string{}}}
	s.dlq = "shop-" + s.suffix + ".dlq"
	s.queue, s.taskQueue, s.stockTable = "warehouse-queue-"+s.suffix, "ecommerce-inventory-"+s.suffix, "stock_"+s.suffix
	s.brokers = strings.Split(testenv.KafkaBrokers(t), ",")

	tc, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	s.temporal = tc

	s.redis = redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { _ = s.redis.Close() })

	conn, err := amqp.Dial(testenv.RabbitMQURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	s.amqp, err = conn.Channel()
	require.NoError(t, err)
	_, err = s.amqp.QueueDeclare(s.queue, false, true, false, false, nil)
	require.NoError(t, err)

	// The shop's orders, captured by Debezium with their Connect schema:
	// the decimal total and the jsonb items decode to what the shop wrote.
	s.db = cdctest.New(t, cdctest.WithConnector(cdctest.Schemas))
	s.db.Exec(`CREATE TABLE orders (id bigint PRIMARY KEY, order_number text NOT NULL, status text NOT NULL,
		customer_email text NOT NULL, total numeric(10,2) NOT NULL, items jsonb NOT NULL, shipping_address text,
		shipping_priority text, payment_intent_id text);
		ALTER TABLE orders REPLICA IDENTITY FULL`) // previousRecord.status for the cancellation
	s.db.CreateTopics(2, "orders")
	s.topic = s.db.Topic("orders")

	s.pg, err = pgxpool.New(ctx, testenv.PostgresDSN(t))
	require.NoError(t, err)
	t.Cleanup(s.pg.Close)
	_, err = s.pg.Exec(ctx, fmt.Sprintf(`CREATE TABLE %q (sku text PRIMARY KEY, quantity int NOT NULL);
		INSERT INTO %q VALUES ('MUG-1', 10), ('TEA-9', 5)`, s.stockTable, s.stockTable))
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = s.pg.Exec(context.Background(), fmt.Sprintf(`DROP TABLE %q`, s.stockTable)) })

	kc, err := kafka.Dial("tcp", s.brokers[0])
	require.NoError(t, err)
	defer kc.Close()
	ctrl, err := kc.Controller()
	require.NoError(t, err)
	cc, err := kafka.Dial("tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	require.NoError(t, err)
	defer cc.Close()
	require.NoError(t, cc.CreateTopics(kafka.TopicConfig{Topic: s.dlq, NumPartitions: 1, ReplicationFactor: 1}))

	srv := httptest.NewServer(s.stripe)
	t.Cleanup(srv.Close)
	s.stripeURL = srv.URL + "/v1"
	return s
}

// startInventoryWorker runs the shop's inventory workflows.
func (s *setup) startInventoryWorker(t *testing.T) {
	w := worker.New(s.temporal, s.taskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(updateInventory, workflow.RegisterOptions{Name: "update-inventory"})
	w.RegisterWorkflowWithOptions(restoreInventory, workflow.RegisterOptions{Name: "restore-inventory"})
	w.RegisterActivityWithOptions((&inventory{pool: s.pg, table: s.stockTable}).AdjustStock, activity.RegisterOptions{Name: "AdjustStock"})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
}

// startTriggerd builds the binary and runs `triggerd serve` with the
// example's files. The shared services get per-test names: environment
// overrides for the keys that have them, and the few names written in the
// example's files (the orders table's schema, queue, task queue, Stripe's
// URL) replaced in a copy.
func (s *setup) startTriggerd(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "triggerd")
	build := exec.Command("go", "build", "-o", bin, "github.com/triggerd/triggerd/cmd/triggerd")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run(), "go build")

	replace := strings.NewReplacer(
		"tables: [public.orders]", "tables: ["+s.db.Table("orders")+"]",
		"rabbitmq:warehouse-queue", "rabbitmq:"+s.queue,
		"taskQueue: ecommerce-inventory", "taskQueue: "+s.taskQueue,
		"http://127.0.0.1:12111/v1", s.stripeURL,
	)
	for _, f := range []string{"config.yaml", "triggers.yaml"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(replace.Replace(string(b))), 0o600))
	}
	cmd := exec.Command(bin, "serve", "--config", filepath.Join(dir, "config.yaml"))
	cmd.Env = append(os.Environ(),
		"TRIGGERD_SECRET_STRIPE_SECRET_KEY=sk_test_"+s.suffix,
		"TRIGGERD_KAFKA_BROKERS="+strings.Join(s.brokers, ","),
		"TRIGGERD_KAFKA_TOPICS="+s.topic,
		"TRIGGERD_KAFKA_DLQ_TOPIC="+s.dlq,
		"TRIGGERD_KAFKA_GROUP_ID=ecommerce-"+s.suffix,
		"TRIGGERD_TEMPORAL_ADDRESS="+testenv.TemporalAddress(t),
		"TRIGGERD_TEMPORAL_TASK_QUEUE=ecommerce-"+s.suffix,
		"TRIGGERD_REDIS_ADDRESS="+testenv.RedisAddr(t),
		"TRIGGERD_RABBITMQ_URL="+testenv.RabbitMQURL(t),
		"TRIGGERD_API_LISTEN="+freePort(t),
		"TRIGGERD_TRIGGERS_PATH="+filepath.Join(dir, "triggers.yaml"),
		"TRIGGERD_DATA_DIR="+dir,
		"TRIGGERD_LOG_LEVEL=warn",
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
}

// placeOrder inserts order as the shop does.
func (s *setup) placeOrder(t *testing.T, o map[string]any) {
	items, err := json.Marshal(o["items"])
	require.NoError(t, err)
	s.db.Exec(`INSERT INTO orders (id, order_number, status, customer_email, total, items, shipping_address,
		shipping_priority, payment_intent_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		o["id"], o["order_number"], o["status"], o["customer_email"], o["total"], string(items),
		o["shipping_address"], o["shipping_priority"], o["payment_intent_id"])
}

// eventID waits for Debezium's event of the change op of order id and
// returns the event id ingest gives it, which names the runs it starts.
func (s *setup) eventID(t *testing.T, op run.Operation, id int64) string {
	var evID string
	s.db.ReadUntil(context.Background(), s.topic, func(got []kafka.Message) bool {
		for _, m := range got {
			evs, err := ingest.Decode(m, ingest.DecodeOptions{})
			if err == nil && len(evs) == 1 && evs[0].Operation == op && fmt.Sprint(evs[0].Record["id"]) == fmt.Sprint(id) {
				evID = evs[0].ID
				return true
			}
		}
		return false
	})
	return evID
}

// waitStarted waits until ingest has started the workflow id.
func (s *setup) waitStarted(t *testing.T, id string) {
	eventually(t, "run "+id+" to start", func() bool {
		_, err := s.temporal.DescribeWorkflowExecution(context.Background(), id, "")
		var nf *serviceerror.NotFound
		if err != nil && !errors.As(err, &nf) {
			t.Fatalf("describe %s: %v", id, err)
		}
		return err == nil
	})
}

// result waits for the run of tag for eventID and returns its result.
func (s *setup) result(t *testing.T, tag, eventID string) run.Result {
	id := run.WorkflowID(tag, eventID)
	ctx := context.Background()
	s.waitStarted(t, id)
	var res run.Result
	require.NoError(t, s.temporal.GetWorkflow(ctx, id, "").Get(ctx, &res), "run %s", id)
	return res
}

// failedResult waits for a run that fails on an action and returns the
// result its failure carries.
func (s *setup) failedResult(t *testing.T, tag, eventID string) (run.Result, error) {
	id := run.WorkflowID(tag, eventID)
	ctx := context.Background()
	s.waitStarted(t, id)
	err := s.temporal.GetWorkflow(ctx, id, "").Get(ctx, nil)
	res, ok := workflows.ResultFromError(err)
	require.True(t, ok, "run %s: want a failed action, got %v", id, err)
	return res, err
}

// outputs maps each action's name to its output, after checking every
// action succeeded.
func outputs(t *testing.T, res run.Result) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, a := range res.Actions {
		require.Equal(t, run.StatusSucceeded, a.Status, "action %s: %s", a.Name, a.Error)
		m, _ := a.Output.(map[string]any)
		out[a.Name] = m
	}
	return out
}

func (s *setup) stock(t *testing.T) map[string]int {
	rows, err := s.pg.Query(context.Background(), fmt.Sprintf(`SELECT sku, quantity FROM %q`, s.stockTable))
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var sku string
		var q int
		require.NoError(t, rows.Scan(&sku, &q))
		out[sku] = q
	}
	require.NoError(t, rows.Err())
	return out
}

// TestEcommerce places an order, then cancels it, and checks every effect
// of both triggers.
func TestEcommerce(t *testing.T) {
	testenv.SMTPAPI(t)
	s := newSetup(t)
	s.startInventoryWorker(t)
	s.startTriggerd(t)
	ctx := context.Background()

	orderID := time.Now().UnixNano() % 1_000_000_000
	customer := "ada-" + s.suffix + "@shop.example"
	order := map[string]any{
		"id": orderID, "order_number": "A-" + s.suffix, "status": "confirmed", "customer_email": customer,
		"total": 129.9, "items": []any{map[string]any{"sku": "MUG-1", "qty": 2}, map[string]any{"sku": "TEA-9", "qty": 1}},
		"shipping_address": "1 Analytical Row, London", "shipping_priority": "express",
		"payment_intent_id": "pi_" + s.suffix,
	}
	s.placeOrder(t, order)
	placed := s.eventID(t, run.OperationInsert, orderID)

	// process-new-order
	res := s.result(t, "process-new-order", placed)
	require.Equal(t, run.StatusSucceeded, res.Status)
	out := outputs(t, res)
	require.Len(t, out, 5)

	mails := testenv.Mailbox(t, customer)
	require.Len(t, mails, 1)
	m := mails[0]
	require.Equal(t, []string{"Order Confirmation #A-" + s.suffix}, m.Content.Headers["Subject"])
	require.Equal(t, []string{out["send-confirmation-email"]["messageId"].(string)}, m.Content.Headers["Message-ID"])
	require.Contains(t, m.Content.Body, "Thank you for your order A-"+s.suffix)
	require.Contains(t, m.Content.Body, "Total: 129.90", "numeric(10,2): the exact decimal")
	require.Contains(t, m.Content.Body, `"sku":"MUG-1"`)

	// The dispatched inventory workflow outlives the run: wait for its own
	// result, then for the stock it reserved.
	child := out["update-inventory"]["workflowId"].(string)
	var reserved map[string]any
	require.NoError(t, s.temporal.GetWorkflow(ctx, child, "").Get(ctx, &reserved))
	require.EqualValues(t, 2, reserved["lines"])
	require.Equal(t, map[string]int{"MUG-1": 8, "TEA-9": 4}, s.stock(t))

	msg, ok, err := s.amqp.Get(s.queue, true)
	require.NoError(t, err)
	require.True(t, ok, "a message on %s", s.queue)
	var warehouse map[string]any
	require.NoError(t, json.Unmarshal(msg.Body, &warehouse))
	require.Equal(t, map[string]any{"type": "new-order", "orderId": float64(orderID), "shippingAddress": "1 Analytical Row, London", "priority": "express"}, warehouse)

	key := fmt.Sprintf("order:%d", orderID)
	cached, err := s.redis.Get(ctx, key).Result()
	require.NoError(t, err)
	var cachedOrder map[string]any
	require.NoError(t, json.Unmarshal([]byte(cached), &cachedOrder))
	require.Equal(t, "A-"+s.suffix, cachedOrder["order_number"])
	ttl, err := s.redis.TTL(ctx, key).Result()
	require.NoError(t, err)
	require.True(t, ttl > 0 && ttl <= 86400*time.Second, "ttl %s", ttl)

	// process-order-cancellation
	s.db.Exec(`UPDATE orders SET status = 'cancelled' WHERE id = $1`, orderID)
	cancelled := s.eventID(t, run.OperationUpdate, orderID)
	res = s.result(t, "process-order-cancellation", cancelled)
	require.Equal(t, run.StatusSucceeded, res.Status)
	out = outputs(t, res)

	// The first refund request got a 503 and was retried with the same
	// idempotency key: one refund.
	refunds := s.stripe.requests()
	require.Len(t, refunds, 2)
	want := stripeRequest{
		Path: "/v1/refunds", Auth: "Bearer sk_test_" + s.suffix,
		IdempotencyKey: run.WorkflowID("process-order-cancellation", cancelled) + "/refund-payment",
		Body:           map[string]any{"payment_intent": "pi_" + s.suffix, "amount": "129.90", "reason": "requested_by_customer"},
	}
	require.Equal(t, want, refunds[0])
	require.Equal(t, want, refunds[1])
	require.EqualValues(t, 2, s.lastAttempt(t, run.WorkflowID("process-order-cancellation", cancelled), "action.execute"))
	refundID := out["refund-payment"]["body"].(map[string]any)["id"].(string)
	require.Equal(t, "re_1", refundID)

	mails = testenv.Mailbox(t, customer)
	require.Len(t, mails, 2)
	m = mails[0] // newest first
	require.Equal(t, []string{"Order Cancelled #A-" + s.suffix}, m.Content.Headers["Subject"])
	require.Contains(t, m.Content.Body, "Refund: re_1")

	restored := out["restore-inventory"]["result"].(map[string]any)
	require.EqualValues(t, 2, restored["lines"])
	require.Equal(t, map[string]int{"MUG-1": 10, "TEA-9": 5}, s.stock(t))

	require.Equal(t, int64(0), s.redis.Exists(ctx, key).Val(), "cached order dropped")

	// An order whose customer's mailbox the server refuses (550): the
	// email is not retried and the run stops there, before the inventory.
	bad := map[string]any{}
	for k, v := range order {
		bad[k] = v
	}
	bad["id"], bad["customer_email"] = orderID+1, "reject-"+s.suffix+"@shop.example"
	s.placeOrder(t, bad)
	refused := s.eventID(t, run.OperationInsert, orderID+1)
	res, err = s.failedResult(t, "process-new-order", refused)
	require.Error(t, err)
	require.Equal(t, run.StatusFailed, res.Status)
	email := res.Actions[0]
	require.Equal(t, "send-confirmation-email", email.Name)
	require.Equal(t, run.StatusFailed, email.Status)
	require.EqualValues(t, 1, email.Attempts, "a 550 is not retried")
	require.Contains(t, email.Error, "550")
	for _, a := range res.Actions[1:] {
		require.NotEqual(t, run.StatusSucceeded, a.Status, "action %s ran after the failure", a.Name)
	}
	require.Equal(t, map[string]int{"MUG-1": 10, "TEA-9": 5}, s.stock(t), "no stock reserved")
}

// lastAttempt reads the run's history in Temporal: the attempt number of
// the activity of type typ when it last started (the result of a
// succeeded action does not say).
func (s *setup) lastAttempt(t *testing.T, wfID, typ string) int32 {
	it := s.temporal.GetWorkflowHistory(context.Background(), wfID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	types := map[int64]string{}
	var attempt int32
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			types[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && types[a.GetScheduledEventId()] == typ {
			attempt = a.GetAttempt()
		}
	}
	return attempt
}
