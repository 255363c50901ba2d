package activities

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

const defaultConfirmTO = 10 * time.Second

// Activities holds the clients the actions use. Build it with New; it is
// safe for concurrent use.
type Activities struct {
	logger *slog.Logger
	// egress decides where outbound calls may connect (WithEgress); the
	// HTTP clients of each policy in use are in clients.
	egress  *egress.Policy
	clients clientCache
	redis   redis.UniversalClient
	// caches are the named caches of the cache.* actions (WithCaches).
	caches         map[string]CacheConfig
	confirmTimeout time.Duration

	// Publishers by target scheme ("kafka", "rabbitmq"), built by the
	// options that configure them.
	publishers map[string]publisher

	// Templates and providers of the notification.* actions, apps of
	// action.execute, agents of agent.run (WithNotifications,
	// WithIntegrations, WithAgents).
	notifications *Notifications
	integrations  map[string]Integration
	agents        map[string]Agent
	tokens        tokenCache // OAuth2 tokens of apps and providers

	// Custom action functions by name (RegisterAction, WithCustom).
	custom map[string]CustomFunc

	// Named buckets of the storage.* actions (WithStorage).
	storage map[string]blobStore

	// Named database connections of the database.* actions, with their
	// catalog caches (WithDatabases).
	databases map[string]*database
	// tableLists are the allow-lists of the named databases that have one
	// (WithTableAllowLists).
	tableLists map[string]TableAllowList

	closeOnce sync.Once
	closeErr  error
}

// Option configures Activities.
type Option func(*Activities)

// WithLogger sets the logger of the log action and of diagnostics.
func WithLogger(l *slog.Logger) Option { return func(a *Activities) { a.logger = l } }

// WithKafka enables kafka:<topic> targets. transport may be nil (kafka-go's
// default transport).
func WithKafka(brokers []string, transport kafka.RoundTripper) Option {
	return func(a *Activities) { a.publishers[schemeKafka] = newKafkaPublisher(brokers, transport) }
}

// WithRabbitMQ enables rabbitmq:<exchange>/<routing-key> and
// rabbitmq:<queue> targets. The connection is opened on first use.
func WithRabbitMQ(url string) Option {
	return func(a *Activities) { a.publishers[schemeRabbitMQ] = newRabbitPublisher(url, a) }
}

// WithRedis sets the Redis client of cache.set and cache.delete.
func WithRedis(c redis.UniversalClient) Option { return func(a *Activities) { a.redis = c } }

// New returns Activities configured by opts.
func New(opts ...Option) *Activities {
	a := &Activities{publishers: map[string]publisher{}, confirmTimeout: defaultConfirmTO}
	for _, o := range opts {
		o(a)
	}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	if a.egress == nil {
		a.egress = egress.Default()
	}
	if a.confirmTimeout <= 0 {
		a.confirmTimeout = defaultConfirmTO
	}
	return a
}

// Actions returns each action by type. The functions return typed
// application errors but no attempt details (Register adds those).
func (a *Activities) Actions() map[string]run.ActionFunc {
	return map[string]run.ActionFunc{
		run.TypeHTTP:            a.HTTP,
		run.TypePublish:         a.Publish,
		run.TypeCacheSet:        a.CacheSet,
		run.TypeCacheDelete:     a.CacheDelete,
		run.TypeCacheGet:        a.CacheGet,
		run.TypeCacheInvalidate: a.CacheInvalidate,
		run.TypeLog:             a.Log,
		run.TypeNotifyEmail:     a.NotifyEmail,
		run.TypeNotifySMS:       a.NotifySMS,
		run.TypeNotifyPush:      a.NotifyPush,
		run.TypeNotifyCallback:  a.NotifyCallback,
		run.TypeAppAction:       a.AppAction,
		run.TypeAgentRun:        a.AgentRun,
		run.TypeCustom:          a.Custom,
		run.TypeStorageUpload:   a.StorageUpload,
		run.TypeStorageDelete:   a.StorageDelete,
		run.TypeStorageCopy:     a.StorageCopy,
		run.TypeDatabaseInsert:  a.DatabaseInsert,
		run.TypeDatabaseUpdate:  a.DatabaseUpdate,
		run.TypeDatabaseUpsert:  a.DatabaseUpsert,
		run.TypeDatabaseDelete:  a.DatabaseDelete,
	}
}

// Register registers every action under its type, decorated by mws (the
// first is the outermost).
func (a *Activities) Register(r worker.ActivityRegistry, mws ...run.Middleware) {
	actions := a.Actions()
	types := make([]string, 0, len(actions))
	for t := range actions {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		r.RegisterActivityWithOptions(withAttempt(Heartbeat(run.Chain(actions[t], mws...))), activity.RegisterOptions{Name: t})
	}
}

// Close closes the publishers' connections. The HTTP and Redis clients
// belong to the caller and stay open.
func (a *Activities) Close() error {
	a.closeOnce.Do(func() {
		var errs []error
		for _, s := range []string{schemeKafka, schemeRabbitMQ} {
			if p, ok := a.publishers[s]; ok {
				errs = append(errs, p.Close())
			}
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

// withAttempt makes every failure an application error carrying the
// attempt that failed (errtype.Details), so the workflow can report it. An
// error without a type (from a middleware, say) becomes a retryable
// UNCLASSIFIED one, which is how Temporal would have treated it.
func withAttempt(f run.ActionFunc) func(ctx context.Context, req run.ActionRequest) (any, error) {
	return func(ctx context.Context, req run.ActionRequest) (any, error) {
		out, err := f(ctx, req)
		if err == nil {
			return out, nil
		}
		return nil, annotate(err, activity.GetInfo(ctx).Attempt)
	}
}

func annotate(err error, attempt int32) error {
	if temporal.IsCanceledError(err) {
		return err
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return temporal.NewApplicationErrorWithOptions(err.Error(), errtype.Unclassified, temporal.ApplicationErrorOptions{
			Cause: err, Details: []any{errtype.Details{Attempt: attempt}},
		})
	}
	if appErr.HasDetails() {
		// Somebody else's details: keep them rather than guess.
		return err
	}
	return temporal.NewApplicationErrorWithOptions(appErr.Message(), appErr.Type(), temporal.ApplicationErrorOptions{
		NonRetryable:   appErr.NonRetryable(),
		Cause:          appErr.Unwrap(),
		NextRetryDelay: appErr.NextRetryDelay(),
		Category:       appErr.Category(),
		Details:        []any{errtype.Details{Attempt: attempt}},
	})
}
