package triggerstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/triggerstore"
	"github.com/triggerd/triggerd/triggerstore/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) triggerstore.Store { return triggerstore.NewMemory() })
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) triggerstore.Store { return openSQLite(t, filepath.Join(t.TempDir(), "triggers.db")) })
	storetest.RunPersistent(t, sqlitePersistent())
	t.Run("CreatesDirectory", func(t *testing.T) {
		s := openSQLite(t, filepath.Join(t.TempDir(), "data", "nested", "triggers.db"))
		if _, err := s.Create(t.Context(), "t", json.RawMessage(`{}`), "alice"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPostgres(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	storetest.Run(t, func(t *testing.T) triggerstore.Store { return openPostgres(t, dsn, newSchema(t, dsn)) })
	storetest.RunPersistent(t, postgresPersistent(dsn))
}

// TestPostgresConcurrentOpen starts several stores on one empty schema at
// once: the advisory lock must keep schema creation from racing.
func TestPostgresConcurrentOpen(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	schema := newSchema(t, dsn)
	errs := make(chan error, 6)
	for range cap(errs) {
		go func() {
			s, err := triggerstore.OpenPostgres(t.Context(), dsn, triggerstore.WithSchema(schema))
			if err == nil {
				_ = s.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestPostgresChanges(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	s := openPostgres(t, dsn, newSchema(t, dsn))
	ctx, cancel := context.WithCancel(t.Context())
	ch := s.Changes(ctx)
	recv := func() int64 {
		t.Helper()
		select {
		case rev := <-ch:
			return rev
		case <-time.After(10 * time.Second):
			t.Fatal("no notification within 10s")
			return 0
		}
	}
	if rev := recv(); rev != 0 { // the current revision once listening
		t.Fatalf("initial revision = %d, want 0", rev)
	}
	if _, err := s.Create(ctx, "t", json.RawMessage(`{}`), "alice"); err != nil {
		t.Fatal(err)
	}
	if rev := recv(); rev != 1 {
		t.Fatalf("revision after create = %d, want 1", rev)
	}
	cancel()
	for range ch { // closed once ctx ends
	}
}

func TestCanonicalize(t *testing.T) {
	for in, want := range map[string]string{
		`{"b":1, "a":[true,null,"<&>"]}`:     `{"a":[true,null,"<&>"],"b":1}`,
		` 12345678901234567890.000100 `:      `12345678901234567890.000100`,
		`{"z":{"y":{},"x":[]},"é":"\u00e9"}`: `{"z":{"x":[],"y":{}},"é":"é"}`,
	} {
		got, err := triggerstore.Canonicalize(json.RawMessage(in))
		if err != nil || string(got) != want {
			t.Errorf("Canonicalize(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
}

func BenchmarkUpdateGet(b *testing.B) {
	drivers := map[string]func(b *testing.B) triggerstore.Store{
		"memory": func(b *testing.B) triggerstore.Store { return triggerstore.NewMemory() },
		"sqlite": func(b *testing.B) triggerstore.Store {
			return openSQLite(b, filepath.Join(b.TempDir(), "triggers.db"))
		},
		"postgres": func(b *testing.B) triggerstore.Store {
			dsn := testenv.PostgresDSN(b)
			return openPostgres(b, dsn, newSchema(b, dsn))
		},
	}
	for _, name := range []string{"memory", "sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := drivers[name](b)
			ctx := context.Background()
			if _, err := s.Create(ctx, "bench", json.RawMessage(`{"i":-1}`), "bench"); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := s.Update(ctx, "bench", json.RawMessage(fmt.Sprintf(`{"i":%d,"table":"orders"}`, i)), "bench", 0); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Get(ctx, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func openSQLite(tb testing.TB, path string) *triggerstore.SQLiteStore {
	tb.Helper()
	s, err := triggerstore.OpenSQLite(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// sqlitePersistent returns an opener that reopens one file per test.
func sqlitePersistent() func(t *testing.T) triggerstore.Store {
	paths := map[*testing.T]string{}
	return func(t *testing.T) triggerstore.Store {
		if paths[t] == "" {
			paths[t] = filepath.Join(t.TempDir(), "triggers.db")
		}
		return openSQLite(t, paths[t])
	}
}

func postgresPersistent(dsn string) func(t *testing.T) triggerstore.Store {
	schemas := map[*testing.T]string{}
	return func(t *testing.T) triggerstore.Store {
		if schemas[t] == "" {
			schemas[t] = newSchema(t, dsn)
		}
		return openPostgres(t, dsn, schemas[t])
	}
}

func openPostgres(tb testing.TB, dsn, schema string) *triggerstore.PostgresStore {
	tb.Helper()
	s, err := triggerstore.OpenPostgres(context.Background(), dsn, triggerstore.WithSchema(schema))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// newSchema names a fresh schema for one test (OpenPostgres creates it) and
// drops it when the test ends, so tests run in parallel and leave nothing.
func newSchema(tb testing.TB, dsn string) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "triggerstore_test_" + strings.ToLower(hex.EncodeToString(b[:]))
	tb.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}
