package activities

import (
	"context"
	"fmt"

	"github.com/triggerd/triggerd/run"
)

// NotifyCallback posts callback.body to the callback named by the
// notification's tag.
func (a *Activities) NotifyCallback(ctx context.Context, req run.ActionRequest) (any, error) {
	var cfg NotificationConfig
	if err := decodeConfig(req.Config, &cfg); err != nil {
		return nil, err
	}
	if a.notifications == nil {
		return nil, notConfigured("notifications")
	}
	tag, _, err := SplitNotification(cfg.Notification)
	if err != nil {
		return nil, invalidConfig("%v", err)
	}
	ep, ok := a.notifications.Callbacks[tag]
	if !ok || ep.URL == "" {
		return nil, notConfigured(fmt.Sprintf("notification callback %q (notifications.callbacks.%s)", tag, tag))
	}
	var body any
	var headers map[string]any
	if cfg.Callback != nil {
		body, headers = cfg.Callback.Body, cfg.Callback.Headers
	}
	return a.postJSON(ctx, req.IdempotencyKey, "notifications.callbacks."+tag, ep, headers, body)
}
