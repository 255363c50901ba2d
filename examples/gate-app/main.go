package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/gate/gateclient"
)

// kafkaPublisher publishes change events with kafka-go, which triggerd's
// ingest uses too.
type kafkaPublisher struct{ w *kafka.Writer }

func (p kafkaPublisher) Publish(ctx context.Context, key, value []byte) error {
	return p.w.WriteMessages(ctx, kafka.Message{Key: key, Value: value})
}

func main() {
	db := flag.String("db", os.Getenv("DATABASE_URL"), "PostgreSQL DSN")
	gateURL := flag.String("gate", "http://127.0.0.1:8080", "triggerd API address")
	token := flag.String("token", os.Getenv("TRIGGERD_TOKEN"), "API token with the gate scope (default $TRIGGERD_TOKEN)")
	brokers := flag.String("brokers", "127.0.0.1:9092", "Kafka brokers, comma-separated")
	topic := flag.String("topic", "app.public.users", "topic of the users change events")
	table := flag.String("table", "public.users", "users table")
	flag.Parse()
	if err := run(*db, *gateURL, *token, *brokers, *topic, *table, flag.Args()); err != nil {
		var ve *gateclient.ValidationError
		if errors.As(err, &ve) {
			for _, e := range ve.Errors {
				fmt.Fprintf(os.Stderr, "user %d: %s: %s\n", e.Index, e.Field, e.Message)
			}
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "gate-app:", err)
		os.Exit(1)
	}
}

func run(dsn, gateURL, token, brokers, topic, table string, users []string) error {
	ctx := context.Background()
	rows := make([]map[string]any, len(users))
	for i, u := range users {
		if err := json.Unmarshal([]byte(u), &rows[i]); err != nil {
			return fmt.Errorf("user %d: %w", i, err)
		}
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	w := &kafka.Writer{Addr: kafka.TCP(strings.Split(brokers, ",")...), Topic: topic, RequiredAcks: kafka.RequireAll, Balancer: &kafka.Hash{}}
	defer w.Close()
	app := &App{DB: pool, Gate: gateclient.New(gateURL, gateclient.WithToken(token)), Table: table, Events: kafkaPublisher{w}}
	written, err := app.CreateUsers(ctx, rows, map[string]any{"id": "gate-app"})
	for _, r := range written {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
	}
	return err
}
