package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

// TestTokenCommands: `token new` prints a random token and its hash,
// which `token hash` computes again from stdin; short tokens are refused.
func TestTokenCommands(t *testing.T) {
	code, out, _ := runCLI(t, nil, "token", "new")
	m := regexp.MustCompile(`token:  ([0-9a-f]{64})\nsha256: ([0-9a-f]{64})\n`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("token new: %d %q", code, out)
	}
	sum := sha256.Sum256([]byte(m[1]))
	if hex.EncodeToString(sum[:]) != m[2] {
		t.Fatalf("sha256 %s is not the token's", m[2])
	}
	_, again, _ := runCLI(t, nil, "token", "new")
	if strings.Contains(again, m[1]) {
		t.Fatal("two tokens alike")
	}

	hash := func(stdin string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		root := newRootCmd(&stdout, &stderr, nil)
		root.SetIn(strings.NewReader(stdin))
		root.SetArgs([]string{"token", "hash"})
		if err := root.Execute(); err != nil {
			return 1, stdout.String(), err.Error()
		}
		return 0, stdout.String(), stderr.String()
	}
	if code, out, _ := hash(m[1] + "\n"); code != 0 || strings.TrimSpace(out) != m[2] {
		t.Fatalf("token hash: %d %q", code, out)
	}
	if code, _, errOut := hash("short\n"); code != 1 || !strings.Contains(errOut, "at least 24") {
		t.Fatalf("short token: %d %q", code, errOut)
	}
}
