package activities

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/secrets"
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
		attrs = append(attrs, slog.Any(k, maskSecrets(ctx, cfg.Fields[k])))
	}
	// A {{secret.…}} in a message or field is masked: logs are read by
	// more people than secrets are.
	msg := secrets.Redact(ctx, cfg.Message)
	a.logger.LogAttrs(ctx, level, msg, attrs...)
	return LogOutput{Level: name, Message: msg}, nil
}

// maskSecrets masks secret values anywhere in a field value, through its
// JSON form when it is not a string.
func maskSecrets(ctx context.Context, v any) any {
	if s, ok := v.(string); ok {
		return secrets.Redact(ctx, s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	red := secrets.Redact(ctx, string(b))
	if red == string(b) {
		return v
	}
	return json.RawMessage(red)
}
