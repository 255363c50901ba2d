package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAPITokenResolution: --token, then TRIGGERD_TOKEN, then, for a
// server on this host only, the token `triggerd dev` wrote.
func TestAPITokenResolution(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, devTokenFile), []byte("dev-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := "TRIGGERD_DATA_DIR=" + dir
	for _, tc := range []struct {
		name    string
		environ []string
		target  apiTarget
		want    string
	}{
		{"flag wins", []string{"TRIGGERD_TOKEN=env-token", dataDir}, apiTarget{server: "http://127.0.0.1:8080", token: "flag-token"}, "flag-token"},
		{"env", []string{"TRIGGERD_TOKEN=env-token", dataDir}, apiTarget{server: "http://127.0.0.1:8080"}, "env-token"},
		{"dev file, loopback", []string{dataDir}, apiTarget{server: "http://127.0.0.1:8080"}, "dev-token"},
		{"dev file, localhost", []string{dataDir}, apiTarget{server: "http://localhost:9000"}, "dev-token"},
		{"dev file, ipv6 loopback", []string{dataDir}, apiTarget{server: "http://[::1]:8080"}, "dev-token"},
		{"never sent elsewhere", []string{dataDir}, apiTarget{server: "https://triggerd.example.com"}, ""},
		{"no file", []string{"TRIGGERD_DATA_DIR=" + t.TempDir()}, apiTarget{server: "http://127.0.0.1:8080"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{environ: tc.environ}
			if got := a.apiToken(&tc.target); got != tc.want {
				t.Fatalf("token %q, want %q", got, tc.want)
			}
		})
	}
}
