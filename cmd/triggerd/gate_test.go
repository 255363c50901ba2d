package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/gate"
	"github.com/triggerd/triggerd/gate/gateclient"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
	"github.com/triggerd/triggerd/workflows"
)

// checkDevGate asks the gate of a `triggerd dev` about the sample users
// (examples/triggers/users-gate.yaml).
func checkDevGate(t *testing.T, api, token string) {
	t.Helper()
	gc := gateclient.New(api, gateclient.WithToken(token))
	ctx := context.Background()
	rows, err := gc.Insert(ctx, "users", []map[string]any{{"email": "  Ada@Example.COM ", "first_name": "Ada", "last_name": "Lovelace"}})
	if err != nil {
		t.Fatalf("gate insert: %v", err)
	}
	if rows[0]["email"] != "ada@example.com" || rows[0]["role"] != "member" || rows[0]["full_name"] != "Ada Lovelace" {
		t.Fatalf("gate rewrote to %v", rows[0])
	}
	_, err = gc.Insert(ctx, "users", []map[string]any{{"email": "ada"}})
	var ve *gateclient.ValidationError
	if !errors.As(err, &ve) || ve.Errors[0].Trigger != "users-validate" || ve.Errors[0].Message != "ada is not a valid email address" {
		t.Fatalf("gate on an invalid email: %v", err)
	}
}

// TestGateRecordsDecisionsInTemporal: with gate.record, a decision becomes
// a triggerd.GateDecision run on real Temporal, which the worker
// completes with the request and the answer.
func TestGateRecordsDecisionsInTemporal(t *testing.T) {
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := fmt.Sprintf("gate-record-%d", time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	reg := sampleGateRegistry(t)
	id := "test-" + queue
	rec := &temporalRecorder{queue: queue, newID: func() (string, error) { return id, nil }}
	rec.attach(c)
	g := gate.New(gate.Options{Triggers: reg.Snapshot, Recorder: rec})
	res, err := g.Evaluate(context.Background(), gate.Request{Table: "users", Operation: run.OperationInsert,
		Records: []map[string]any{{"email": "nope"}}, User: map[string]any{"id": "u-1"}})
	if err != nil || !res.Rejected {
		t.Fatalf("evaluate: %v %+v", err, res)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var d run.GateDecision
	if err := c.GetWorkflow(ctx, "gate-users-"+id, "").Get(ctx, &d); err != nil {
		t.Fatal(err)
	}
	if !d.Rejected || d.Table != "users" || d.User["id"] != "u-1" || !strings.Contains(string(d.Result), "nope is not a valid email address") {
		t.Fatalf("recorded decision: %+v %s", d, d.Result)
	}
}

func TestGateCLI(t *testing.T) {
	reg := sampleGateRegistry(t)
	const token = "orders-app-token-0123456789abc"
	auth, err := api.NewAuth(api.AcceptToken("orders-app", token, api.ScopeGate))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{Store: triggerstore.NewMemory(), Auth: auth, Gate: gate.New(gate.Options{Triggers: reg.Snapshot})}).Handler())
	defer srv.Close()
	env := []string{"TRIGGERD_SERVER=" + srv.URL, "TRIGGERD_TOKEN=" + token}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(`{"email": "Ada@Example.COM", "first_name": "Ada", "last_name": "Lovelace"}`), 0o600)
	os.WriteFile(bad, []byte(`[{"email": "a@b.io"}, {"email": "nope"}]`), 0o600)

	code, out, errOut := runCLI(t, env, "gate", "users", "insert", "-f", good)
	if code != 0 || !strings.Contains(out, `"email": "ada@example.com"`) || !strings.Contains(out, `"full_name": "Ada Lovelace"`) {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, env, "gate", "users", "insert", "-f", bad)
	if code != 1 || !strings.Contains(out, "✗ record 1: email: nope is not a valid email address (users-validate validate[0])") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, env, "gate", "users", "upsert", "-f", good)
	if code != 1 || !strings.Contains(errOut, "operation") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	// --token wins over TRIGGERD_TOKEN; a wrong one is a 401.
	code, _, errOut = runCLI(t, env, "gate", "users", "insert", "-f", good, "--token", "not-the-token")
	if code != 1 || !strings.Contains(errOut, "unauthenticated (401)") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}

// sampleGateRegistry holds the sample before-triggers.
func sampleGateRegistry(t *testing.T) *trigger.Registry {
	t.Helper()
	defs, err := trigger.Load("../../examples/triggers/users-gate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	reg := trigger.NewRegistry()
	if err := reg.Replace(defs.Definitions()); err != nil {
		t.Fatal(err)
	}
	return reg
}
