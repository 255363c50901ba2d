package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/triggerd/triggerd/run"
)

// ActionContext is what a custom action function receives: the change that
// matched, the outputs of the actions before it (by action name), its own
// rendered config and the run's idempotency key for this action.
type ActionContext struct {
	Record         map[string]any
	PreviousRecord map[string]any
	ChangedFields  []string
	Event          string
	Table          string
	Operation      string
	Outputs        map[string]any
	Config         map[string]any
	IdempotencyKey string
}

// CustomFunc is a custom action. Its result is the action's output; an
// error it returns is classified like any other (a temporal application
// error keeps its type and retryability, anything else is retried as
// UNCLASSIFIED).
type CustomFunc func(ctx context.Context, ac ActionContext) (any, error)

// WithCustom registers fn as the custom action named name
// (type: custom, config.function: name).
func WithCustom(name string, fn CustomFunc) Option {
	return func(a *Activities) { a.RegisterAction(name, fn) }
}

// RegisterAction registers fn as the custom action named name. Call it
// before the worker starts: the registry is read without locking.
func (a *Activities) RegisterAction(name string, fn CustomFunc) {
	if a.custom == nil {
		a.custom = map[string]CustomFunc{}
	}
	a.custom[name] = fn
}

// Custom calls the function named by config.function.
func (a *Activities) Custom(ctx context.Context, req run.ActionRequest) (any, error) {
	name, _ := req.Config["function"].(string)
	if name == "" {
		return nil, invalidConfig("config.function must name a registered custom action")
	}
	fn, ok := a.custom[name]
	if !ok {
		return nil, notConfigured(fmt.Sprintf("custom action %q", name))
	}
	ac := ActionContext{Config: req.Config, IdempotencyKey: req.IdempotencyKey}
	if c := req.Context; c != nil {
		ac.Record, ac.PreviousRecord, ac.ChangedFields = c.Record, c.PreviousRecord, c.ChangedFields
		ac.Event, ac.Table, ac.Operation, ac.Outputs = c.Event, c.Table, c.Operation, c.Outputs
	}
	out, err := fn(ctx, ac)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, fmt.Errorf("custom action %q: %w", name, err)
	}
	return out, nil
}
