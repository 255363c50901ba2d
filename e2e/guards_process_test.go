package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
)

// syncBuffer is a bytes.Buffer a process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestQuotaSharedByTwoWorkerProcesses runs two `triggerd worker` processes,
// built from this tree and configured only by a config file, against the
// same Redis and task queue: together they keep to the one target limit.
func TestQuotaSharedByTwoWorkerProcesses(t *testing.T) {
	e := newGuardEnv(t)
	h := newHitTarget(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "triggerd")
	build := exec.Command("go", "build", "-o", bin, "./cmd/triggerd")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build: %s", out)

	const rate = 4
	cfgPath := filepath.Join(dir, "triggerd.yaml")
	require.NoError(t, os.WriteFile(cfgPath, fmt.Appendf(nil, `
kafka: {brokers: ["127.0.0.1:9"], topics: [unused]}
egress: {allow: [127.0.0.1]}
temporal: {address: %q, taskQueue: %q}
redis: {address: %q}
dataDir: %q
log: {level: warn}
quotas:
  keyPrefix: %q
  targets:
    %q: {rate: %d, period: 1s, burst: 1}
`, testenv.TemporalAddress(t), e.queue, e.redis, dir, e.prefix, h.host(), rate), 0o600))

	for i := range 2 {
		var logs syncBuffer
		cmd := exec.Command(bin, "worker", "--config", cfgPath)
		// Each process serves /healthz and /metrics on a port of its own.
		cmd.Env = append(os.Environ(), "TRIGGERD_API_LISTEN="+freeAddr(t))
		cmd.Stdout, cmd.Stderr = &logs, &logs
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			stopProcess(cmd, 20*time.Second)
			if t.Failed() {
				t.Logf("worker %d:\n%s", i+1, logs.String())
			}
		})
	}
	// Let both processes poll the task queue before the runs start, so
	// that both take a share.
	require.Eventually(t, func() bool {
		resp, err := e.c.DescribeTaskQueue(context.Background(), e.queue, enums.TASK_QUEUE_TYPE_ACTIVITY)
		return err == nil && len(resp.GetPollers()) >= 2
	}, time.Minute, 100*time.Millisecond, "both workers poll")

	const n = 16
	start := time.Now()
	results, ids := e.runAll(t, "two-processes", n, httpAction(h, nil))
	for i, res := range results {
		require.Equal(t, run.StatusSucceeded, res.Status, "run %d: %+v", i, res.Actions)
	}
	hits := h.hits()
	require.Len(t, hits, n)
	identities := map[string]int{}
	for _, id := range ids {
		it := e.c.GetWorkflowHistory(context.Background(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
				identities[a.GetIdentity()]++
				assert.Equal(t, int32(1), a.GetAttempt())
			}
		}
	}
	assert.Len(t, identities, 2, "both processes ran actions: %v", identities)
	// One budget of 4 a second with a burst of 1: 16 calls need at least
	// 3.75s; two separate budgets would let them through in half that.
	requireQuotaSpan(t, start, hits, rate, 1)
	t.Logf("two processes %v, spread %s", identities, spread(hits))
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}
