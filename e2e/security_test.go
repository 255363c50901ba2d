package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/internal/testenv"
)

// securedProcess is a `triggerd serve` built from this tree and configured
// by a file, as an operator runs it.
type securedProcess struct {
	bin  string
	base string // http://127.0.0.1:port
	cmd  *exec.Cmd
	logs *syncBuffer
}

// buildTriggerd builds the binary under test.
func buildTriggerd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "triggerd")
	build := exec.Command("go", "build", "-o", bin, "./cmd/triggerd")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build: %s", out)
	return bin
}

// startSecuredRun starts `bin run --config cfg` with env added to the
// test's environment, and waits for /healthz (the one public endpoint).
func startSecuredRun(t *testing.T, bin, cfg, listen string, env ...string) *securedProcess {
	t.Helper()
	p := &securedProcess{bin: bin, base: "http://" + listen, logs: &syncBuffer{}}
	p.cmd = exec.Command(bin, "serve", "--config", cfg)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, p.cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("triggerd serve:\n%s", p.logs.String())
		}
	})
	deadline := time.Now().Add(2 * time.Minute) // safety net only
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("triggerd serve exited: %v\n%s", err, p.logs.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("triggerd serve not healthy\n%s", p.logs.String())
		}
	}
}

// call sends method path with body and the bearer token (none if ""),
// and returns the status and the API error, if any.
func (p *securedProcess) call(t *testing.T, method, path, body, token string) (int, api.Error) {
	t.Helper()
	req, err := http.NewRequest(method, p.base+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error api.Error `json:"error"`
	}
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error
}

// cli runs the built binary as a CLI against the process.
func (p *securedProcess) cli(t *testing.T, token string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Env = append(os.Environ(), "TRIGGERD_SERVER="+p.base, "TRIGGERD_TOKEN="+token, "TRIGGERD_DATA_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), string(out)
	}
	require.NoError(t, err)
	return 0, string(out)
}

// rss is the process's resident memory, from /proc.
func (p *securedProcess) rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc to measure the process's memory: %v", err)
	}
	m := regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	require.NotNil(t, m, "VmRSS in /proc/pid/status")
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

var routeWildcard = regexp.MustCompile(`\{[a-z]+(\.\.\.)?\}`)

// routePath is a concrete request for a route pattern.
func routePath(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		return http.MethodGet, pattern + "no-such-endpoint"
	}
	return method, routeWildcard.ReplaceAllStringFunc(path, func(w string) string {
		if w == "{version}" {
			return "1"
		}
		return "x"
	})
}

// waitClosedByServer reads conn until the server closes it; the deadline
// is a safety net, not a bound on when the close happens.
func waitClosedByServer(t *testing.T, conn net.Conn) bool {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Minute)))
	_, err := io.Copy(io.Discard, conn)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// TestSecurityAuthProcess runs `triggerd serve` with tokens configured,
// against real Kafka and Temporal, and shows: no token is a 401 on every
// endpoint but /healthz (walking every registered route); a
// triggers:read token cannot create a trigger (403 naming the scope); a
// gate token can only call the gate; each version of a trigger names the
// token that made it, through the API and the CLI with TRIGGERD_TOKEN; a
// slow body and an idle connection are closed; a gate call over the
// record limit is a 413 and leaves the process's memory bounded. It also
// shows that a process open to the network without authentication does
// not start.
func TestSecurityAuthProcess(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	temporalAddr := testenv.TemporalAddress(t)
	e := &env{brokers: strings.Split(brokers, ",")}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	topic := "e2e-security-" + suffix
	e.createTopics(t, topic, topic+".dlq")
	bin := buildTriggerd(t)
	dir := t.TempDir()

	// Tokens as an operator makes them; the file holds hashes and
	// {{secret.NAME}} references only.
	tok := func(name string) string { return name + "-" + suffix + "-0123456789abcdef" }
	deployer, releaseBot, reader, gateApp, prom := tok("deployer"), tok("release-bot"), tok("reader"), tok("gate-app"), tok("prometheus")
	listen := freeAddr(t)
	cfg := filepath.Join(dir, "triggerd.yaml")
	write := func(body string) {
		require.NoError(t, os.WriteFile(cfg, []byte(body), 0o600))
	}
	base := fmt.Sprintf(`
log: {level: warn}
kafka: {brokers: [%q], topics: [%q], dlqTopic: %q, groupId: %q}
temporal: {address: %q, taskQueue: %q}
store: {driver: sqlite, path: %q}
dataDir: %q
triggers: {pollInterval: 200ms}
`, brokers, topic, topic+".dlq", "e2e-security-"+suffix, temporalAddr, "e2e-security-"+suffix, filepath.Join(dir, "triggers.db"), dir)

	// Open to the network without authentication: refused, naming the key.
	write(base + "api: {listen: \"0.0.0.0:" + strings.Split(listen, ":")[1] + "\"}\n")
	out, err := exec.Command(bin, "serve", "--config", cfg).CombinedOutput()
	require.Error(t, err, "an unauthenticated API on 0.0.0.0 must not start")
	assert.Contains(t, string(out), "api.listen:")
	assert.Contains(t, string(out), "no authentication is configured")
	assert.Contains(t, string(out), "api.insecure: true")

	write(base + fmt.Sprintf(`
api:
  listen: %q
  readTimeout: 1s
  readHeaderTimeout: 1s
  idleTimeout: 1s
  tokens:
    deployer: {sha256: %s, scopes: [triggers:read, triggers:write]}
    release-bot: {token: "{{secret.RELEASE_TOKEN}}", scopes: [triggers:read, triggers:write]}
    reader: {sha256: %s, scopes: [triggers:read]}
    gate-app: {token: "{{secret.GATE_TOKEN}}", scopes: [gate]}
    prometheus: {sha256: %s, scopes: [metrics]}
`, listen, tokenHash(deployer), tokenHash(reader), tokenHash(prom)))
	p := startSecuredRun(t, bin, cfg, listen, "TRIGGERD_SECRET_RELEASE_TOKEN="+releaseBot, "TRIGGERD_SECRET_GATE_TOKEN="+gateApp)

	routes := append(api.Routes(), api.Route{Pattern: "GET /metrics", Scope: api.ScopeMetrics})
	t.Run("no token: 401 everywhere but /healthz", func(t *testing.T) {
		for _, rt := range routes {
			method, path := routePath(rt.Pattern)
			status, e := p.call(t, method, path, `{}`, "")
			assert.Equal(t, http.StatusUnauthorized, status, rt.Pattern)
			assert.Equal(t, api.CodeUnauthenticated, e.Code, rt.Pattern)
			status, _ = p.call(t, method, path, `{}`, "a-token-nobody-was-given-0123456789")
			assert.Equal(t, http.StatusUnauthorized, status, rt.Pattern)
		}
		status, _ := p.call(t, http.MethodGet, "/healthz", "", "")
		assert.Equal(t, http.StatusOK, status)
		status, _ = p.call(t, http.MethodGet, "/metrics", "", prom)
		assert.Equal(t, http.StatusOK, status)
	})

	doc := `{"tag": "audited", "tables": ["public.users"], "events": ["afterInsert"],
		"actions": [{"type": "log", "config": {"message": "user {{record.id}}"}}]}`
	t.Run("triggers:read cannot create", func(t *testing.T) {
		status, e := p.call(t, http.MethodPost, "/v1/triggers", doc, reader)
		require.Equal(t, http.StatusForbidden, status)
		assert.Equal(t, api.CodeMissingScope, e.Code)
		assert.Equal(t, "triggers:write", e.Scope)
		assert.Contains(t, e.Message, "needs scope triggers:write")
		status, _ = p.call(t, http.MethodGet, "/v1/triggers", "", reader)
		assert.Equal(t, http.StatusOK, status)
	})

	t.Run("a gate token only calls the gate", func(t *testing.T) {
		status, _ := p.call(t, http.MethodPost, "/v1/gate/users/insert", `{"records": [{"email": "a@b.c"}]}`, gateApp)
		require.Equal(t, http.StatusOK, status)
		for _, rt := range routes {
			if rt.Scope == api.ScopeGate || rt.Scope == "" {
				continue // the gate, and what any caller may read (the OpenAPI document)
			}
			method, path := routePath(rt.Pattern)
			status, e := p.call(t, method, path, `{}`, gateApp)
			assert.Equal(t, http.StatusForbidden, status, rt.Pattern)
			assert.Equal(t, string(rt.Scope), e.Scope, rt.Pattern)
		}
	})

	t.Run("the history names the tokens", func(t *testing.T) {
		ctx := context.Background()
		// A header claiming another author changes nothing.
		req, _ := http.NewRequest(http.MethodPost, p.base+"/v1/triggers", strings.NewReader(doc))
		req.Header.Set("Authorization", "Bearer "+deployer)
		req.Header.Set("X-Triggerd-Actor", "somebody-else")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode)

		code, out := p.cli(t, releaseBot, "triggers", "disable", "audited")
		require.Equal(t, 0, code, out)
		code, out = p.cli(t, reader, "triggers", "disable", "audited")
		require.Equal(t, 1, code, out)
		assert.Contains(t, out, "needs scope triggers:write")
		_, err = api.NewClient(p.base, api.WithToken(deployer)).Patch(ctx, "audited", map[string]any{"enabled": true}, 0)
		require.NoError(t, err)

		vs, err := api.NewClient(p.base, api.WithToken(reader)).History(ctx, "audited")
		require.NoError(t, err)
		var by []string
		for _, v := range vs {
			by = append(by, v.UpdatedBy)
		}
		assert.Equal(t, []string{"deployer", "release-bot", "deployer"}, by)
		code, out = p.cli(t, reader, "triggers", "history", "audited")
		require.Equal(t, 0, code, out)
		assert.Contains(t, out, "release-bot")
	})

	t.Run("slow body and idle connection are closed", func(t *testing.T) {
		conn, err := net.Dial("tcp", listen)
		require.NoError(t, err)
		defer conn.Close()
		_, err = fmt.Fprintf(conn, "POST /v1/triggers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100000\r\n\r\n{", deployer)
		require.NoError(t, err)
		stop := make(chan struct{})
		defer close(stop)
		go func() { // a byte every 100ms: 100 KB would take hours
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					if _, err := conn.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
		assert.True(t, waitClosedByServer(t, conn), "the slow body's connection stayed open")

		idle, err := net.Dial("tcp", listen)
		require.NoError(t, err)
		defer idle.Close()
		_, err = fmt.Fprintf(idle, "GET /v1/triggers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", reader)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.True(t, waitClosedByServer(t, idle), "the idle keep-alive connection stayed open")
	})

	t.Run("gate over the record limit: 413, memory bounded", func(t *testing.T) {
		body := `{"records": [` + strings.TrimSuffix(strings.Repeat("{},", 100_000), ",") + `]}`
		refuse := func() {
			status, e := p.call(t, http.MethodPost, "/v1/gate/users/insert", body, gateApp)
			require.Equal(t, http.StatusRequestEntityTooLarge, status)
			assert.Equal(t, "gate.maxRecords", e.Limit)
		}
		refuse()
		before := p.rss(t)
		for range 20 {
			refuse()
		}
		after := p.rss(t)
		t.Logf("resident memory: %d MiB before, %d MiB after 20 refused 100,000-record calls", before>>20, after>>20)
		// Unbounded, one such call answered 34 MB and kept ~300 MB.
		assert.Less(t, after, before+96<<20, "refused gate calls grew the process")
	})
}
