package activities

import (
	"context"

	"github.com/triggerd/triggerd/run"
)

// NotifySMS posts the rendered message to the SMS provider.
func (a *Activities) NotifySMS(ctx context.Context, req run.ActionRequest) (any, error) {
	return a.notifyHTTP(ctx, req, "sms")
}
