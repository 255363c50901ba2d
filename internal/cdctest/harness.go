package cdctest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/triggerd/triggerd/internal/testenv"
)

// Harness is one test's view of the shared test connectors: its own
// schema in the captured database, SQL on it, and the Kafka topics
// Debezium writes its changes to. Its methods end the test on an error
// (they are for tests), so they must be called from the test's goroutine.
type Harness struct {
	t         testing.TB
	logger    *slog.Logger
	connect   connectClient
	connector Connector
	brokers   []string
	pool      *pgxpool.Pool
	dsn       string
	schema    string
	timeout   time.Duration
}

type options struct {
	connector string
	logger    *slog.Logger
	timeout   time.Duration
}

// Option configures New.
type Option func(*options)

// WithConnector chooses the shared connector that captures the test's
// schema: Schemas or Schemaless (the default).
func WithConnector(name string) Option { return func(o *options) { o.connector = name } }

// WithLogger logs the harness's steps to l instead of the test's log.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithTimeout bounds every wait of the harness (default 2 minutes), on top
// of the context the caller passes: a safety net, never a schedule.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// New creates a schema of its own for the test in the database the
// connector captures (dropped, with everything in it, when the test
// ends) and waits until the connector streams. It skips the test when
// the services are not set up (fails it under CI=true), and fails it
// when the connector is not registered or not running.
func New(t testing.TB, opts ...Option) *Harness {
	t.Helper()
	o := options{connector: Schemaless, timeout: 2 * time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	h := &Harness{
		t:       t,
		logger:  o.logger,
		connect: connectClient{base: strings.TrimRight(testenv.ConnectURL(t), "/"), http: &http.Client{Timeout: 30 * time.Second}},
		brokers: strings.Split(testenv.KafkaBrokers(t), ","),
		timeout: o.timeout,
	}
	pgDSN := testenv.PostgresDSN(t)
	ctx, cancel := h.wait(context.Background())
	defer cancel()

	var err error
	// Kafka Connect answers slowly, or not at all, while the worker rejoins
	// its group (after a Kafka restart): ask again until the safety timeout.
	for {
		h.connector, err = h.connect.connector(ctx, o.connector)
		if err == nil || errors.As(err, new(errNotFound)) || ctx.Err() != nil {
			break
		}
		h.logger.Warn("cdctest: kafka connect not answering; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if errors.As(err, new(errNotFound)) {
		t.Fatalf("cdctest: connector %s is not registered in Kafka Connect at %s: start the services with scripts/services/up.sh (connect.sh registers it)", o.connector, h.connect.base)
	}
	if err != nil {
		t.Fatalf("cdctest: %v", err)
	}
	h.schema = schemaName(h.connector.SchemaPrefix, t.Name())
	if h.dsn, err = schemaDSN(pgDSN, h.connector.Database, h.schema); err != nil {
		t.Fatalf("cdctest: %s: %v", testenv.PostgresDSNVar, err)
	}
	if h.pool, err = pgxpool.New(ctx, h.dsn); err != nil {
		t.Fatalf("cdctest: connect to database %s: %v", h.connector.Database, err)
	}
	if _, err := h.pool.Exec(ctx, "CREATE SCHEMA "+h.schema); err != nil {
		h.pool.Close()
		t.Fatalf("cdctest: create schema %s: %v", h.schema, err)
	}
	t.Cleanup(h.close)
	h.logger.Info("cdctest: schema created", "schema", h.schema, "connector", h.connector.Name,
		"topics", h.connector.TopicPrefix+"."+h.schema+".<table>")
	h.WaitStreaming(ctx)
	return h
}

func (h *Harness) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The connector may still be reading the schema's last changes: that is
	// fine, Debezium describes a change from the WAL's own relation data
	// when the table is gone.
	if _, err := h.pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+h.schema+" CASCADE"); err != nil {
		h.t.Errorf("cdctest: drop schema %s: %v", h.schema, err)
	}
	h.pool.Close()
}

// schemaName is a schema name unique to this run of the test: the
// connector's prefix, the test's name (readable in topic names) and 8
// random hex digits, within PostgreSQL's 63-byte identifiers.
func schemaName(prefix, test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	rnd := make([]byte, 4)
	_, _ = rand.Read(rnd)
	return prefix + strings.TrimRight(name, "_") + "_" + hex.EncodeToString(rnd)
}

// schemaDSN is dsn pointed at database db, with schema first on the
// search path (PostgreSQL's options parameter: libpq and pgx read it).
func schemaDSN(dsn, db, schema string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", fmt.Errorf("want a postgres:// URL, not %s://", u.Scheme)
	}
	u.Path = "/" + db
	q := u.Query()
	q.Set("options", "-c search_path="+schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// wait bounds ctx by the harness's safety timeout.
func (h *Harness) wait(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, h.timeout)
}

// Connector is the connector that captures the test's schema.
func (h *Harness) Connector() Connector { return h.connector }

// Schema is the test's schema.
func (h *Harness) Schema() string { return h.schema }

// Table is the schema-qualified name of table in the test's schema.
func (h *Harness) Table(table string) string { return h.schema + "." + table }

// Topic is the Kafka topic Debezium writes table's changes to.
func (h *Harness) Topic(table string) string {
	return h.connector.TopicPrefix + "." + h.schema + "." + table
}

// TopicPattern is a regular expression matching the topic of every table
// of the test's schema (for kafka.topicPattern).
func (h *Harness) TopicPattern() string {
	return "^" + regexp.QuoteMeta(h.connector.TopicPrefix+"."+h.schema+".") + ".+$"
}

// Pool is a connection pool to the captured database whose search path
// starts with the test's schema: unqualified table names are the test's.
func (h *Harness) Pool() *pgxpool.Pool { return h.pool }

// DSN is the connection string of Pool, for code that connects by itself
// (a triggerd databases entry, an example application).
func (h *Harness) DSN() string { return h.dsn }

// Exec runs sql (one or more statements, or one with arguments) on the
// test's schema and returns the rows it affected.
func (h *Harness) Exec(sql string, args ...any) int64 {
	h.t.Helper()
	ctx, cancel := h.wait(context.Background())
	defer cancel()
	tag, err := h.pool.Exec(ctx, sql, args...)
	if err != nil {
		h.t.Fatalf("cdctest: %s: %v", sql, err)
	}
	return tag.RowsAffected()
}

// WaitStreaming waits until the connector and its task are RUNNING and
// the connector reads its replication slot: from then on every change
// committed in the test's schema reaches Kafka (New already waited; call
// it again after something restarted the connector). A failed task is
// restarted once (the connector is shared: another test may have failed
// it); failing again fails the test with Kafka Connect's reason.
func (h *Harness) WaitStreaming(ctx context.Context) {
	h.t.Helper()
	ctx, cancel := h.wait(ctx)
	defer cancel()
	var why string
	restarted := false
	for {
		s, err := h.connect.status(ctx, h.connector.Name)
		switch ok, reason := s.running(); {
		case err != nil:
			why = err.Error()
		case strings.Contains(reason, "FAILED") && !restarted:
			h.logger.Warn("cdctest: connector failed; restarting it", "connector", h.connector.Name, "reason", reason)
			if err := h.connect.restartFailed(ctx, h.connector.Name); err != nil {
				h.t.Fatalf("cdctest: connector %s: %s; restart: %v", h.connector.Name, reason, err)
			}
			restarted, why = true, reason
		case strings.Contains(reason, "FAILED"):
			h.t.Fatalf("cdctest: connector %s: %s, again after a restart (scripts/services/connect.sh re-registers it; its log: connect/logs/connect.log under TRIGGERD_SERVICES_DIR)", h.connector.Name, reason)
		case !ok:
			why = reason
		default:
			var active bool
			err := h.pool.QueryRow(ctx, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", h.connector.Slot).Scan(&active)
			if err == nil && active {
				return
			}
			why = fmt.Sprintf("slot %s not active (%v)", h.connector.Slot, err)
		}
		select {
		case <-ctx.Done():
			h.t.Fatalf("cdctest: connector %s not streaming: %s: %v", h.connector.Name, why, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// testLog writes the harness's log lines to the test's log.
type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
