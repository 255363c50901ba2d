package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/internal/testpki"
	"github.com/triggerd/triggerd/run"
)

// anonymousAuth lets every request in, as a loopback API without
// configured authentication does.
func anonymousAuth(t *testing.T) *api.Auth {
	t.Helper()
	auth, err := api.NewAuth(api.AllowAnonymous())
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// tokenAuth accepts one token, named name, with every scope; the CLI
// then sends it from TRIGGERD_TOKEN.
func tokenAuth(t *testing.T, name, token string) *api.Auth {
	t.Helper()
	auth, err := api.NewAuth(api.AcceptToken(name, token, api.ScopeAdmin))
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// TestAPIHealthAndMetrics: /healthz is public; /metrics needs the metrics
// scope unless api.metricsPublic.
func TestAPIHealthAndMetrics(t *testing.T) {
	const token = "metrics-token-0123456789abcdef"
	sum := sha256.Sum256([]byte(token))
	cfg := config.API{Listen: "127.0.0.1:0", Tokens: map[string]config.APIToken{
		"prometheus": {SHA256: hex.EncodeToString(sum[:]), Scopes: []string{config.ScopeMetrics}},
	}}
	log := slog.New(slog.DiscardHandler)
	auth, err := newAuth(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics()
	a, err := startAPI(cfg, m, nil, auth, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.stop()
	base := "http://" + a.ln.Addr().String()
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz", ""); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz before ready: %d", code)
	}
	a.ready.Store(true)
	if code, _ := get("/healthz", ""); code != http.StatusOK {
		t.Fatalf("healthz when ready: %d", code)
	}
	if code, body := get("/metrics", ""); code != http.StatusUnauthorized || !strings.Contains(body, "unauthenticated") {
		t.Fatalf("metrics without a token: %d %s", code, body)
	}
	if code, _ := get("/anything", ""); code != http.StatusUnauthorized {
		t.Fatalf("an unknown path without a token: %d", code)
	}
	m.ingestHooks().Started(run.Input{Trigger: run.TriggerRef{Tag: "t1"}}, 3*time.Millisecond)
	code, body := get("/metrics", token)
	if code != http.StatusOK || !strings.Contains(body, `triggerd_runs_started_total{trigger="t1"} 1`) || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics %d:\n%s", code, body)
	}

	// Public metrics: no token needed, the rest still closed.
	cfg.MetricsPublic = true
	pub, err := startAPI(cfg, m, nil, auth, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.stop()
	base = "http://" + pub.ln.Addr().String()
	if code, _ := get("/metrics", ""); code != http.StatusOK {
		t.Fatalf("public metrics: %d", code)
	}
	if code, _ := get("/v1/triggers", ""); code != http.StatusUnauthorized {
		t.Fatalf("the API with public metrics: %d", code)
	}
}

// TestAPIOverTLS: with api.tls the process serves HTTPS only, and a client
// certificate mapped by api.tls.clients authenticates.
func TestAPIOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "test CA")
	certFile, keyFile := ca.Server(t, dir)
	cfg := config.API{Listen: "127.0.0.1:0", TLS: config.APITLS{CertFile: certFile, KeyFile: keyFile, ClientCAFile: ca.WriteCA(t, dir),
		Clients: map[string]config.APIClient{"prometheus": {Subject: "prometheus.monitoring", Scopes: []string{config.ScopeMetrics}}}}}
	log := slog.New(slog.DiscardHandler)
	auth, err := newAuth(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	a, err := startAPI(cfg, newMetrics(), nil, auth, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.stop()
	addr := a.ln.Addr().String()
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: certs}}}
	}
	get := func(c *http.Client, url string) int {
		resp, err := c.Get(url)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	prom := ca.Client(t, &x509.Certificate{Subject: pkix.Name{CommonName: "prometheus.monitoring"}})
	if code := get(client(prom), "https://"+addr+"/metrics"); code != http.StatusOK {
		t.Fatalf("metrics with the client certificate: %d", code)
	}
	if code := get(client(), "https://"+addr+"/metrics"); code != http.StatusUnauthorized {
		t.Fatalf("metrics without a certificate: %d", code)
	}
	if code := get(client(), "https://"+addr+"/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz over TLS: %d", code)
	}
	if code := get(http.DefaultClient, "http://"+addr+"/healthz"); code == http.StatusOK || code == http.StatusServiceUnavailable {
		t.Fatalf("plain HTTP served: %d", code)
	}
}
