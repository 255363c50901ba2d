package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
)

// The API process's gate resolves a lookup's {{secret.NAME}} from
// secrets.file (the worker's sources), and its HTTP answers and log never
// hold the value.
func TestGateLookupSecretFromSecretsFile(t *testing.T) {
	const token = "crm-s3cr3t"
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, `{"vip": true}`)
	}))
	defer crm.Close()
	dir := t.TempDir()
	sf := filepath.Join(dir, "secrets.env")
	if err := os.WriteFile(sf, []byte("CRM_TOKEN="+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	defs, err := trigger.Parse([]byte(fmt.Sprintf(`
triggers:
  - tag: vip
    tables: [users]
    events: [beforeInsert]
    lookups:
      - {name: crm, http: {url: "%s/c/{{record.id}}", headers: {Authorization: "Bearer {{secret.CRM_TOKEN}}"}}}
    validate:
      - {expr: "lookups.crm.status == 200", message: "crm answered {{lookups.crm.status}}"}
  - tag: down
    tables: [orders]
    events: [beforeInsert]
    lookups:
      - {name: down, http: {url: "http://127.0.0.1:1/?token={{secret.CRM_TOKEN}}"}}
`, crm.URL)), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	reg := trigger.NewRegistry()
	if err := reg.Replace(defs); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Secrets.File = sf
	var logs bytes.Buffer
	g, _, closeGate, err := newGate(cfg, reg, newMetrics(), loopbackEgress(t), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer closeGate()
	srv := httptest.NewServer(api.New(api.Options{Store: triggerstore.NewMemory(), Gate: g, Auth: anonymousAuth(t)}).Handler())
	defer srv.Close()
	post := func(table string) (int, string) {
		resp, err := http.Post(srv.URL+"/v1/gate/"+table+"/insert", "application/json", strings.NewReader(`{"records": [{"id": 1}]}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("users"); code != http.StatusOK {
		t.Fatalf("users: %d %s", code, body)
	}
	code, body := post("orders")
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "token=[redacted]") || strings.Contains(body, token) {
		t.Fatalf("orders: %d %s", code, body)
	}
	if strings.Contains(logs.String(), token) {
		t.Fatalf("log holds the secret:\n%s", logs.String())
	}
}
