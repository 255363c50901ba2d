package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/trigger"
)

// TestLimitDefaultsDocumented: the defaults docs/configuration.md gives
// for the limits are the ones the code applies to a zero key (the
// defaults live in package api and trigger, config leaves zero).
func TestLimitDefaultsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\| [^|]+ \\| `([^`]+)` \\|")
	doc := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		doc[m[1]] = m[2]
	}
	want := map[string]any{
		"api.readTimeout":                  api.DefaultReadTimeout,
		"api.readHeaderTimeout":            api.DefaultReadHeaderTimeout,
		"api.writeTimeout":                 api.DefaultWriteTimeout,
		"api.idleTimeout":                  api.DefaultIdleTimeout,
		"api.maxHeaderBytes":               api.DefaultMaxHeaderBytes,
		"api.maxBodyBytes":                 api.DefaultMaxBodyBytes,
		"gate.maxRecords":                  api.DefaultGateMaxRecords,
		"gate.maxBodyBytes":                api.DefaultGateMaxBodyBytes,
		"gate.maxResponseBytes":            api.DefaultGateMaxResponseBytes,
		"triggers.limits.maxConditions":    trigger.DefaultMaxConditions,
		"triggers.limits.maxDepth":         trigger.DefaultMaxDepth,
		"triggers.limits.maxActions":       trigger.DefaultMaxActions,
		"triggers.limits.maxWhenBytes":     trigger.DefaultMaxWhenBytes,
		"triggers.limits.maxWhenCost":      trigger.DefaultMaxWhenCost,
		"triggers.limits.maxTemplateBytes": trigger.DefaultMaxTemplateBytes,
	}
	for key, v := range want {
		got, ok := doc[key]
		if !ok {
			t.Errorf("%s: no row with a default", key)
			continue
		}
		switch d := v.(type) {
		case time.Duration:
			parsed, err := time.ParseDuration(got)
			if err != nil || parsed != d {
				t.Errorf("%s: documented default %s, the code's %s", key, got, d)
			}
		default:
			if got != fmt.Sprint(v) {
				t.Errorf("%s: documented default %s, the code's %v", key, got, v)
			}
		}
	}
}

// TestScopesAgree: the scopes config validates are the ones the API
// enforces.
func TestScopesAgree(t *testing.T) {
	var apiScopes []string
	for _, s := range api.Scopes() {
		apiScopes = append(apiScopes, string(s))
	}
	if !slices.Equal(config.Scopes(), apiScopes) {
		t.Fatalf("config %v, api %v", config.Scopes(), apiScopes)
	}
}
