package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/secrets"
	"github.com/triggerd/triggerd/workflows"
)

// TestSecretsNeverReachTheHistory runs a trigger whose actions use a
// secret against a real Temporal server: a webhook that echoes its
// Authorization header in a 200 body, one that echoes it in a 400 error,
// and a log line. No event of the workflow's history may contain the
// value; the input holds only the placeholder. The same run with redaction
// off must leak, which proves the check can see a leak. Both run with the
// actions as regular and as local activities (whose results and failures
// are recorded as markers).
func TestSecretsNeverReachTheHistory(t *testing.T) {
	addr := testenv.TemporalAddress(t)
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default"})
	require.NoError(t, err)
	t.Cleanup(c.Close)

	const value = "tok_e2e_9f8e7d6c5b4a"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/reject" {
			w.WriteHeader(http.StatusBadRequest)
		}
		fmt.Fprintf(w, `{"echo": %q}`, r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)

	for _, tc := range []struct{ redact, local bool }{{true, false}, {false, false}, {true, true}, {false, true}} {
		redact, local := tc.redact, tc.local
		t.Run(fmt.Sprintf("redaction=%v/local=%v", redact, local), func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			lookup := func(k string) (string, bool) {
				if k == secrets.EnvPrefix+"API_TOKEN" {
					return value, true
				}
				return "", false
			}
			res := secrets.NewResolver([]secrets.Source{secrets.Env{LookupEnv: lookup}}, secrets.WithRedaction(redact))
			queue := fmt.Sprintf("e2e-secrets-%v-%v-%d", redact, local, time.Now().UnixNano())
			acts := activities.New(activities.WithLogger(logger), allowLoopback(t))
			w := worker.New(c, queue, worker.Options{})
			workflows.Register(w)
			acts.Register(w, res.Middleware())
			require.NoError(t, w.Start())
			defer w.Stop()

			auth := map[string]any{"Authorization": "Bearer {{secret.API_TOKEN}}"}
			retry := run.RetryPolicy{MaxAttempts: 1, InitialInterval: time.Second, MaxInterval: time.Second, BackoffCoefficient: 2}
			in := run.Input{
				Trigger:   run.TriggerRef{Tag: "secrets-e2e"},
				EventName: "afterInsert",
				Event:     run.Event{ID: queue, Table: "orders", Operation: run.OperationInsert, Record: map[string]any{"id": 1.0}},
				Actions: []run.Action{
					{Name: "ok", Type: "http", Config: map[string]any{"url": srv.URL + "/ok", "headers": auth}, Retry: retry, Timeout: 10 * time.Second},
					{Name: "rejected", Type: "http", Config: map[string]any{"url": srv.URL + "/reject", "headers": auth}, Retry: retry, Timeout: 10 * time.Second, ContinueOnError: true},
					{Name: "log", Type: "log", Config: map[string]any{"message": "token is {{secret.API_TOKEN}}", "fields": map[string]any{"t": "{{secret.API_TOKEN}}"}}, Retry: retry, Timeout: 10 * time.Second},
				},
			}
			for i := range in.Actions {
				in.Actions[i].Local = local
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: run.WorkflowID("secrets-e2e", queue), TaskQueue: queue}, run.WorkflowName, in)
			require.NoError(t, err)
			var result run.Result
			require.NoError(t, wr.Get(ctx, &result))
			require.Len(t, result.Actions, 3)
			require.Equal(t, run.StatusSucceeded, result.Actions[0].Status)
			require.Equal(t, run.StatusFailed, result.Actions[1].Status, "the 400 fails the action")
			require.Contains(t, result.Actions[1].Error, "HTTP_4XX")

			var leaks, markers []string
			placeholder := false
			it := c.GetWorkflowHistory(ctx, wr.GetID(), wr.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			events := 0
			for it.HasNext() {
				ev, err := it.Next()
				require.NoError(t, err)
				events++
				// Payloads are raw bytes in the binary encoding, so a
				// value anywhere in an input, result or failure shows.
				b, err := proto.Marshal(ev)
				require.NoError(t, err)
				if m := ev.GetMarkerRecordedEventAttributes(); m != nil {
					markers = append(markers, m.GetMarkerName())
				}
				if bytes.Contains(b, []byte(value)) {
					leaks = append(leaks, ev.GetEventType().String())
				}
				placeholder = placeholder || bytes.Contains(b, []byte("{{secret.API_TOKEN}}"))
			}
			require.Greater(t, events, 5)
			if local {
				require.Equal(t, []string{"LocalActivity", "LocalActivity", "LocalActivity"}, markers, "the actions ran as local activities")
			}
			require.True(t, placeholder, "the input carries the placeholder")
			if redact {
				require.Empty(t, leaks, "events holding the secret")
				require.Equal(t, map[string]any{"echo": "Bearer [redacted]"}, result.Actions[0].Output.(map[string]any)["body"])
				require.Contains(t, result.Actions[1].Error, "[redacted]")
				require.NotContains(t, logs.String(), value)
				require.Contains(t, logs.String(), "token is [redacted]")
			} else {
				require.NotEmpty(t, leaks, "without redaction the echoed value reaches the history")
				t.Logf("without redaction the value is in: %s", strings.Join(leaks, ", "))
			}
		})
	}
}
