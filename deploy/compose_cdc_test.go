package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/ingest/connect"
	"github.com/triggerd/triggerd/ingest/sourcedb"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// localOverrides are the only keys scripts/services/connect.sh changes in
// deploy/debezium/postgres-connector.json: where the database is, and the
// credentials of the local server.
var localOverrides = []string{"database.hostname", "database.port", "database.user", "database.password"}

// TestComposeConnectorFeedsIngest runs compose's own pipeline on the local
// services: the connector of deploy/debezium/postgres-connector.json (as
// connect.sh registers it through deploy/connect-init.sh, on database app
// with deploy/postgres/init.sql) captures a user and an order written with
// SQL, and triggerd's ingest, configured with compose's triggerd
// config (its topics, snapshotReads and debezium section, with the column
// types read from the database) and triggers (examples/triggers), decodes
// Debezium's events and starts the runs of send-welcome-webhook and
// order-cancelled in Temporal.
func TestComposeConnectorFeedsIngest(t *testing.T) {
	cc := composeConnector(t)
	connectURL := testenv.ConnectURL(t)
	brokers := strings.Split(testenv.KafkaBrokers(t), ",")
	temporalAddr := testenv.TemporalAddress(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The registered connector is the file, but for the local address.
	registered := registeredConfig(ctx, t, connectURL, cc["name"])
	for k, v := range cc {
		if !slices.Contains(localOverrides, k) {
			require.Equal(t, v, registered[k], "registered %s differs from deploy/debezium/postgres-connector.json", k)
		}
	}
	for k := range registered {
		_, inFile := cc[k]
		require.True(t, inFile || slices.Contains(localOverrides, k), "registered connector has %s, which the file does not", k)
	}

	compose := loadCompose(t)
	cfg := loadDeployConfig(t, "triggerd-ingest", compose.Services["triggerd-ingest"])
	set, err := trigger.Load(cfg.Triggers.Path)
	require.NoError(t, err)

	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	dlq := "compose-cdc-dlq-" + suffix
	createTopics(ctx, t, brokers, append([]string{dlq}, cfg.Kafka.Topics...)...)

	tc, err := client.Dial(client.Options{HostPort: temporalAddr, Namespace: "default", Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	// Only this test's runs are started (and terminated at the end): the
	// topics are shared with every earlier run of the test.
	email := "compose-" + suffix + "@example.com"
	starter := &ownRuns{next: ingest.NewTemporalStarter(tc, "compose-cdc-"+suffix), email: email, started: make(chan run.Input, 16)}
	t.Cleanup(func() { starter.terminate(t, tc) })

	// The application writes, as in compose's README.
	pool, err := pgxpool.New(ctx, databaseDSN(t, testenv.PostgresDSN(t), cc["database.dbname"]))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	var userID, orderID int
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO users (email, name) VALUES ($1, 'Ada') RETURNING id`, email).Scan(&userID))
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO orders (user_id, status, total) VALUES ($1, 'paid', 129.90) RETURNING id`, userID).Scan(&orderID))
	_, err = pool.Exec(ctx, `UPDATE orders SET status = 'cancelled' WHERE id = $1`, orderID)
	require.NoError(t, err)

	starter.orderID = fmt.Sprint(orderID)
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cons, err := ingest.NewConsumer(ingest.Config{
		Brokers: brokers, Topics: cfg.Kafka.Topics, GroupID: "compose-cdc-" + suffix, DLQTopic: dlq,
		CommitInterval: 200 * time.Millisecond, Decode: composeDecoding(t, cfg, pool),
	}, set, starter, logger)
	require.NoError(t, err)
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cons.Run(cctx) }()
	defer func() { stop(); require.NoError(t, <-done) }()

	var welcome, cancelled run.Input
	for welcome.Trigger.Tag == "" || cancelled.Trigger.Tag == "" {
		select {
		case in := <-starter.started:
			switch in.Trigger.Tag {
			case "send-welcome-webhook":
				welcome = in
			case "order-cancelled":
				cancelled = in
			}
		case <-ctx.Done():
			t.Fatalf("runs of this test's user and order not started: %v", ctx.Err())
		}
	}
	ev := welcome.Event
	require.Equal(t, "dbserver1.public.users", ev.Source.Topic)
	require.Equal(t, cc["topic.prefix"], ev.Source.Connector, "source.name, the connector's logical name")
	require.Equal(t, []string{"app", "public", "users", string(run.OperationInsert)}, []string{ev.Database, ev.Schema, ev.Table, string(ev.Operation)})
	require.Equal(t, fmt.Sprint(userID), ev.Key)
	require.Equal(t, "Ada", ev.Record["name"])
	require.Equal(t, "pending", ev.Record["status"], "the column default, as the database wrote it")

	ev = cancelled.Event
	require.Equal(t, "dbserver1.public.orders", ev.Source.Topic)
	require.Equal(t, "cancelled", ev.Record["status"])
	require.Equal(t, "paid", ev.PreviousRecord["status"], "REPLICA IDENTITY FULL (init.sql): the whole previous row")
	require.Equal(t, "129.90", fmt.Sprint(ev.Record["total"]), "the exact decimal")
	require.IsType(t, run.Decimal{}, ev.Record["total"], "numeric(12,2), read from the database's column types")
	require.IsType(t, time.Time{}, ev.Record["updated_at"], "timestamptz")
}

// composeDecoding is how compose's triggerd decodes Debezium's events
// (cmd/triggerd wires config.Debezium the same way): the connector's
// settings as its debezium.connector mirrors them, and the column types
// read from the captured database that debezium.database names, here the
// local database app.
func composeDecoding(t *testing.T, cfg *config.Config, app *pgxpool.Pool) ingest.DecodeOptions {
	t.Helper()
	d := cfg.Debezium
	require.NotEmpty(t, d.Database, "compose's debezium.database: schemaless events need the column types")
	money := d.Connector.MoneyFractionDigits
	catalog := sourcedb.NewCatalog(app, nil)
	return ingest.DecodeOptions{
		SnapshotReads:     cfg.Kafka.SnapshotReads,
		Placeholder:       d.UnavailableValuePlaceholder,
		DecimalsAsNumbers: d.Decimals == config.DecimalsNumber,
		Connector: connect.ConnectorSettings{
			DecimalHandlingMode: d.Connector.DecimalHandlingMode, TimePrecisionMode: d.Connector.TimePrecisionMode,
			IntervalHandlingMode: d.Connector.IntervalHandlingMode, HstoreHandlingMode: d.Connector.HstoreHandlingMode,
			MoneyFractionDigits: &money,
		},
		ColumnTypes:       ingest.ColumnTypeHints(d.ColumnTypes).Over(catalog),
		ReplicaIdentities: catalog,
	}
}

// ownRuns starts the runs of this test's user and order through next and
// reports them on started; the runs planned for other rows of the shared
// topics count as done without a start.
type ownRuns struct {
	next           ingest.Starter
	email, orderID string
	started        chan run.Input
	mu             sync.Mutex
	ids            []string
}

func (s *ownRuns) Start(ctx context.Context, in run.Input) error {
	r := in.Event.Record
	mine := in.Event.Table == "users" && r["email"] == s.email ||
		in.Event.Table == "orders" && fmt.Sprint(r["id"]) == s.orderID
	if !mine {
		return nil
	}
	if err := s.next.Start(ctx, in); err != nil {
		return err
	}
	s.mu.Lock()
	s.ids = append(s.ids, run.WorkflowID(in.Trigger.Tag, in.Event.ID))
	s.mu.Unlock()
	s.started <- in
	return nil
}

// terminate ends the started runs: no worker serves their task queue.
func (s *ownRuns) terminate(t *testing.T, c client.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.ids {
		if err := c.TerminateWorkflow(context.Background(), id, "", "test over"); err != nil {
			t.Logf("terminate %s: %v", id, err)
		}
	}
}

func registeredConfig(ctx context.Context, t *testing.T, base, name string) map[string]string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/connectors/"+url.PathEscape(name)+"/config", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "connector %s: registered by scripts/services/connect.sh?", name)
	var cfg map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&cfg))
	return cfg
}

// databaseDSN is dsn pointed at database db.
func databaseDSN(t *testing.T, dsn, db string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.Path = "/" + db
	return u.String()
}

func createTopics(ctx context.Context, t *testing.T, brokers []string, topics ...string) {
	t.Helper()
	cfgs := make([]kafka.TopicConfig, len(topics))
	for i, tp := range topics {
		cfgs[i] = kafka.TopicConfig{Topic: tp, NumPartitions: 3, ReplicationFactor: 1}
	}
	resp, err := (&kafka.Client{Addr: kafka.TCP(brokers...)}).CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: cfgs})
	require.NoError(t, err)
	for tp, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			t.Fatalf("create topic %s: %v", tp, err)
		}
	}
}

// testWriter writes log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
