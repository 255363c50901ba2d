package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/client"
)

// Env is what a scenario runs against: the Kafka brokers, one Temporal
// server (nil for the scenarios that need none), the local webhook
// receiver, and the sizes of the run.
type Env struct {
	Brokers  []string
	Temporal *Target
	Params   Params
	Logger   *slog.Logger

	receiver *receiver
	// id makes topic, group, task queue, tag and workflow names unique to
	// one scenario of one run of the suite.
	id string
}

// Target is a Temporal server the Temporal scenarios are measured against.
type Target struct {
	// Name labels the server in the report: "sqlite", "postgres".
	Name    string
	Address string
	// Namespace defaults to "default".
	Namespace string
	// PostgresDSN, when set, is the PostgreSQL the server persists in: the
	// report says whether it commits durably.
	PostgresDSN string

	client client.Client
	pid    int // the server process, for its CPU time; 0 if not found
}

// Params sizes a run of the suite.
type Params struct {
	// DecodeEvents is the backlog of the decode scenarios.
	DecodeEvents int
	// Starts is the number of workflow starts per start scenario.
	Starts int
	// Runs is the number of completed runs per throughput scenario.
	Runs int
	// SteadyFor is how long a steady-rate scenario produces; Drain how
	// long it then waits for the last events before counting them lost.
	SteadyFor, Drain time.Duration
	// Rates are the steady rates measured, events/s.
	Rates []float64
	// Timeout bounds each scenario; Budget the whole run (the scenarios
	// not begun by then are reported as skipped).
	Timeout, Budget time.Duration
	// HistorySamples is how many runs' histories are read per scenario.
	HistorySamples int
}

// FullParams and QuickParams are the sizes of a full run (a few minutes
// on 2 cores) and of a smoke run (about a minute).
var (
	FullParams = Params{
		DecodeEvents: 20000, Starts: 400, Runs: 200,
		SteadyFor: 10 * time.Second, Drain: 6 * time.Second, Rates: []float64{5, 20, 50},
		Timeout: 90 * time.Second, Budget: 15 * time.Minute, HistorySamples: 3,
	}
	QuickParams = Params{
		DecodeEvents: 2000, Starts: 30, Runs: 20,
		SteadyFor: 2 * time.Second, Drain: 5 * time.Second, Rates: []float64{20},
		Timeout: 45 * time.Second, Budget: 5 * time.Minute, HistorySamples: 1,
	}
)

// name returns a resource name unique to this scenario run.
func (e *Env) name(kind string) string { return "bench-" + e.id + "-" + kind }

// createTopic creates a topic with three partitions (the default the
// services' broker gives auto-created topics).
func (e *Env) createTopic(ctx context.Context, topic string) error {
	conn, err := (&kafka.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", e.Brokers[0])
	if err != nil {
		return fmt.Errorf("dial kafka: %w", err)
	}
	defer conn.Close()
	ctl, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("kafka controller: %w", err)
	}
	cc, err := kafka.Dial("tcp", net.JoinHostPort(ctl.Host, strconv.Itoa(ctl.Port)))
	if err != nil {
		return fmt.Errorf("dial kafka controller: %w", err)
	}
	defer cc.Close()
	err = cc.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: 3, ReplicationFactor: 1})
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	// The broker answers before every partition has a leader: wait for
	// them, or the first writes fail with UnknownTopicOrPartition.
	for {
		parts, err := conn.ReadPartitions(topic)
		if err == nil && len(parts) == 3 && parts[0].Leader.Host != "" && parts[1].Leader.Host != "" && parts[2].Leader.Host != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s has no leaders yet: %w", topic, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// writer returns a producer for topic that sends each write at once (no
// batching delay), so a steady-rate producer's timestamps are honest.
func (e *Env) writer(topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr: kafka.TCP(e.Brokers...), Topic: topic, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireOne, BatchTimeout: time.Millisecond,
		// A transport of its own: kafka-go's shared one caches the
		// cluster's metadata for seconds and so does not know the topic
		// the scenario has just created.
		Transport: &kafka.Transport{},
	}
}

// produceBacklog writes events 0..n-1 to topic in large batches.
func (e *Env) produceBacklog(ctx context.Context, topic string, n int) error {
	w := e.writer(topic)
	w.BatchSize = 1000
	defer w.Close()
	const chunk = 1000
	for i := 0; i < n; i += chunk {
		msgs := make([]kafka.Message, 0, min(chunk, n-i))
		for j := i; j < min(i+chunk, n); j++ {
			msgs = append(msgs, e.eventMessage(j, time.Now()))
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			return fmt.Errorf("produce to %s: %w", topic, err)
		}
	}
	return nil
}

// reader returns a consumer-group reader of topic fetching as ingest's
// do (from the first offset, as soon as one byte is there); commitEvery 0
// means explicit commits only.
func (e *Env) reader(topic string, commitEvery time.Duration) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers: e.Brokers, GroupID: e.name("group"), GroupTopics: []string{topic},
		StartOffset: kafka.FirstOffset, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 500 * time.Millisecond,
		CommitInterval: commitEvery, HeartbeatInterval: time.Second, JoinGroupBackoff: time.Second,
	})
}

// eventID is the id of the i-th event of a scenario.
func (e *Env) eventID(i int) string { return fmt.Sprintf("%s-%d", e.id, i) }

// row is the changed row every event carries: the shape of a small
// business table, with the time it was produced for the latency.
type row struct {
	ID       int     `json:"id"`
	Email    string  `json:"email"`
	Name     string  `json:"name"`
	Status   string  `json:"status"`
	Amount   float64 `json:"amount"`
	Country  string  `json:"country"`
	SentUnix int64   `json:"sent_ns"`
}

// nativeEvent is triggerd's native envelope (ingest package doc).
type nativeEvent struct {
	ID        string `json:"id"`
	Table     string `json:"table"`
	Operation string `json:"operation"`
	Record    row    `json:"record"`
	Timestamp int64  `json:"timestamp"`
}

// benchTable is the table every event changes.
const benchTable = "public.orders"

// eventMessage is the i-th event of the scenario: an insert into
// benchTable, keyed by the row id, stamped with sent.
func (e *Env) eventMessage(i int, sent time.Time) kafka.Message {
	ev := nativeEvent{
		ID: e.eventID(i), Table: benchTable, Operation: "insert", Timestamp: sent.UnixMilli(),
		Record: row{
			ID: i, Email: fmt.Sprintf("user%d@example.com", i), Name: "Ada Lovelace", Status: "active",
			Amount: float64(i%10000) / 100, Country: "GB", SentUnix: sent.UnixNano(),
		},
	}
	v, _ := json.Marshal(ev) // a struct of strings and numbers always marshals
	return kafka.Message{Key: []byte(strconv.Itoa(i)), Value: v}
}

// delivery is the body every webhook of the suite carries: the event id
// and when the event was produced.
type delivery struct {
	ID   string `json:"id"`
	Sent string `json:"sent"`
}

// deliveryFor returns the webhook body for a decoded row.
func deliveryFor(id string, sentUnixNano int64) delivery {
	return delivery{ID: id, Sent: strconv.FormatInt(sentUnixNano, 10)}
}
