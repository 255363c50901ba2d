package activities

import (
	"context"

	"github.com/triggerd/triggerd/run"
)

// NotifyPush posts the rendered message to the push provider.
func (a *Activities) NotifyPush(ctx context.Context, req run.ActionRequest) (any, error) {
	return a.notifyHTTP(ctx, req, "push")
}
