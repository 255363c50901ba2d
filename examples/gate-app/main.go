package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/triggerd/triggerd/gate/gateclient"
)

func main() {
	db := flag.String("db", os.Getenv("DATABASE_URL"), "PostgreSQL DSN")
	gateURL := flag.String("gate", "http://127.0.0.1:8080", "triggerd API address")
	token := flag.String("token", os.Getenv("TRIGGERD_TOKEN"), "API token with the gate scope (default $TRIGGERD_TOKEN)")
	table := flag.String("table", "public.users", "users table")
	flag.Parse()
	if err := run(*db, *gateURL, *token, *table, flag.Args()); err != nil {
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

func run(dsn, gateURL, token, table string, users []string) error {
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
	app := &App{DB: pool, Gate: gateclient.New(gateURL, gateclient.WithToken(token)), Table: table}
	written, err := app.CreateUsers(ctx, rows, map[string]any{"id": "gate-app"})
	for _, r := range written {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
	}
	return err
}
