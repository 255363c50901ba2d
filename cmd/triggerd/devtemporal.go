package main

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
)

// runDevTemporal runs only the Temporal dev server of `triggerd dev`
// (`dev --temporal-only`), with the same database, namespace and search
// attributes, until ctx is done. The test services
// (scripts/services/temporal.sh) run it, so they need no separate build of
// the Temporal CLI: the server packages are compiled once, for triggerd.
func runDevTemporal(ctx context.Context, o devOptions, logger *slog.Logger) error {
	srv, err := startTemporalDevServer(o, logger)
	if err != nil {
		return err
	}
	defer srv.Stop()
	logger.Info("Temporal dev server running (--temporal-only)",
		"address", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.temporalPort)),
		"db", filepath.Join(o.dataDir, "temporal.db"))
	<-ctx.Done()
	return nil
}
