package activities

import (
	"context"
	"log/slog"
	"strings"

	"github.com/triggerd/triggerd/run"
)

// LogConfig is the config of the log action.
type LogConfig struct {
	Level   string         `json:"level,omitempty"`
	Message string         `json:"message"`
	Fields  map[string]any `json:"fields,omitempty"`
}

// LogOutput is the output of the log action.
type LogOutput struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// Log writes one record to the worker's logger.
func (a *Activities) Log(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg LogConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	var level slog.Level
	name := strings.ToLower(strings.TrimSpace(cfg.Level))
	switch name {
	case "", "info":
		level, name = slog.LevelInfo, "info"
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level, name = slog.LevelWarn, "warn"
	case "error":
		level = slog.LevelError
	default:
		return nil, invalidConfig("level %q: want debug, info, warn or error", cfg.Level)
	}
	attrs := []slog.Attr{
		slog.String("trigger", req.TriggerTag),
		slog.String("workflowId", req.WorkflowID),
		slog.String("action", req.ActionName),
	}
	for _, k := range sortedKeys(cfg.Fields) {
		attrs = append(attrs, slog.Any(k, cfg.Fields[k]))
	}
	a.logger.LogAttrs(ctx, level, cfg.Message, attrs...)
	return LogOutput{Level: name, Message: cfg.Message}, nil
}
