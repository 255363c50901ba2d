package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
	"github.com/triggerd/triggerd/triggersync"
)

// openStore opens the trigger store the configuration names.
func openStore(ctx context.Context, c config.Store, logger *slog.Logger) (triggerstore.Store, error) {
	switch c.Driver {
	case config.StoreMemory:
		return triggerstore.NewMemory(), nil
	case config.StorePostgres:
		return triggerstore.OpenPostgres(ctx, c.DSN, triggerstore.WithLogger(logger.With("component", "store")))
	default:
		if dir := filepath.Dir(c.Path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("store.path: %w", err)
			}
		}
		return triggerstore.OpenSQLite(c.Path)
	}
}

// fileDocuments loads the definitions under path, printing every problem
// (file, trigger, field) to w when there are any, and returns each as a
// store document.
//
// check, if set, is run on the definitions too, so that a file naming an
// unconfigured resource is reported with its path and nothing is applied;
// opts (the limits) validate them.
func fileDocuments(path string, w io.Writer, check trigger.Checker, opts ...trigger.Option) ([]json.RawMessage, error) {
	set, err := trigger.Load(path, opts...)
	var ve *trigger.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, p := range ve.Problems {
			fmt.Fprintln(w, p.String())
		}
		return nil, reportedError{fmt.Sprintf("invalid triggers in %s: %d problem(s)", path, len(ve.Problems))}
	case err != nil:
		return nil, fmt.Errorf("load triggers: %w", err)
	}
	defs := set.Definitions()
	if check != nil {
		if probs := check(defs); len(probs) > 0 {
			for _, p := range probs {
				fmt.Fprintln(w, p.String())
			}
			return nil, reportedError{fmt.Sprintf("invalid triggers in %s: %d problem(s)", path, len(probs))}
		}
	}
	docs := make([]json.RawMessage, len(defs))
	for i, d := range defs {
		if docs[i], err = json.Marshal(d.Document()); err != nil {
			return nil, fmt.Errorf("encode trigger %q: %w", d.Tag, err)
		}
	}
	return docs, nil
}

// applyFiles applies the definitions under path to the store as actor
// file:<path> (the GitOps path): new triggers are created, changed ones
// updated, unchanged ones left without a new version; triggers the files
// do not list are kept (they may have been created through the API).
// Processes starting together may race; a conflict is retried.
func applyFiles(ctx context.Context, st triggerstore.Store, path string, check trigger.Checker, problems io.Writer, log *slog.Logger, opts ...trigger.Option) error {
	docs, err := fileDocuments(path, problems, check, opts...)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		res, err := triggersync.Apply(ctx, st, docs, false, "file:"+path, check, opts...)
		if err == nil {
			log.Info("trigger files applied to the store", "path", path, "created", len(res.Created),
				"updated", len(res.Updated), "unchanged", len(res.Unchanged))
			return nil
		}
		conflict := errors.Is(err, triggerstore.ErrExists) || errors.Is(err, triggerstore.ErrVersionConflict)
		if !conflict || attempt == 3 {
			return fmt.Errorf("apply %s to the trigger store: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}
