package main

import (
	"strings"
	"testing"
)

// TestValidateDeployConfig: `triggerd validate` accepts the compose
// topology's config with the sample triggers it mounts (the paths inside
// the container pointed at the repository's files, as deploy/compose_test.go
// does for the config alone).
func TestValidateDeployConfig(t *testing.T) {
	env := []string{
		"TRIGGERD_SECRETS_FILE=../../deploy/secrets.example.env",
		"TRIGGERD_TRIGGERS_PATH=../../examples/triggers",
	}
	code, out, errOut := runCLI(t, env, "validate", "--config", "../../deploy/triggerd.yaml")
	if code != 0 || !strings.Contains(out, "config OK") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
}
