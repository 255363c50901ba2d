package cdctest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/triggerd/triggerd/internal/cdctest"
)

// A test about a database change writes SQL and reads what Debezium made
// of it. In a test, pass its *testing.T to New; the example stands one in.
func Example() {
	t := &exampleT{}
	defer t.cleanup()
	ctx := context.Background()

	h := cdctest.New(t, cdctest.WithConnector(cdctest.Schemaless))
	h.Exec(`CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL, score numeric(5,2))`)
	h.Exec(`INSERT INTO users VALUES (42, 'ada@example.com', 12.50)`)

	msg := h.WaitFirstEvent(ctx, "users")
	var ev struct {
		Op    string         `json:"op"`
		After map[string]any `json:"after"`
	}
	if err := json.Unmarshal(msg.Value, &ev); err != nil {
		panic(err)
	}
	fmt.Println(msg.Topic == h.Topic("users"), string(msg.Key))
	fmt.Println(ev.Op, ev.After["email"], ev.After["score"])
	// Output:
	// true {"id":42}
	// c ada@example.com 12.50
}

// exampleT is the little of testing.TB that the harness uses.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (t *exampleT) Helper()                   {}
func (t *exampleT) Name() string              { return "Example" }
func (t *exampleT) Log(...any)                {}
func (t *exampleT) Cleanup(f func())          { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (t *exampleT) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (t *exampleT) Errorf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (t *exampleT) Skip(args ...any)          { panic(fmt.Sprint(args...)) }

func (t *exampleT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
