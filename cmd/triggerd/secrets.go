package main

import (
	"errors"
	"fmt"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/secrets"
)

// newSecretResolver resolves {{secret.NAME}} from TRIGGERD_SECRET_NAME,
// then from secrets.file: the one set of sources for actions (the worker's
// middleware), the process's own credentials (resolveConfigSecrets) and
// the gate's lookups.
func newSecretResolver(cfg *config.Config) *secrets.Resolver {
	sources := []secrets.Source{secrets.Env{}}
	if cfg.Secrets.File != "" {
		sources = append(sources, secrets.NewFile(cfg.Secrets.File))
	}
	return secrets.NewResolver(sources)
}

// configSecretsSkipped are the config fields whose {{…}} are not the
// process's credentials: message templates render the action's variables
// (a secret there would be mailed to a customer), and secrets.file names
// the file itself.
var configSecretsSkipped = []string{"notifications.templates", "secrets"}

// resolveConfigSecrets replaces the {{secret.NAME}} placeholders of cfg in
// place (integration and provider credentials, the SMTP, Redis, Kafka SASL
// and S3 keys, the Temporal API key...). It runs in cmd after config.Load,
// since config depends on nothing of ours; a missing secret stops the start
// with the field's path.
func resolveConfigSecrets(cfg *config.Config) error {
	if err := newSecretResolver(cfg).ResolveFields(cfg, secrets.SkipFields(configSecretsSkipped...)); err != nil {
		return fmt.Errorf("config secrets:\n%w", err)
	}
	return nil
}

// printConfigSecretProblems prints, for validate, the config values still
// written "${NAME}" (refused at start-up) and returns their count. It
// needs no secret: missing ones are found at start-up.
func (a *app) printConfigSecretProblems(cfg *config.Config) int {
	if cfg == nil {
		return 0
	}
	err := newSecretResolver(cfg).ResolveFields(cfg, secrets.SkipFields(configSecretsSkipped...), secrets.SyntaxOnly())
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return 0
	}
	src := a.configPath
	if src == "" {
		src = "config"
	}
	for _, e := range joined.Unwrap() {
		fmt.Fprintf(a.stderr, "%s: %v\n", src, e)
	}
	return len(joined.Unwrap())
}
