package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

func TestClassifyHTTPStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		status    int
		typ       string
		retryable bool
	}{
		{301, errtype.HTTP3xx, false},
		{302, errtype.HTTP3xx, false},
		{400, errtype.HTTP4xx, false},
		{401, errtype.HTTP4xx, false},
		{404, errtype.HTTP4xx, false},
		{409, errtype.HTTP4xx, false},
		{422, errtype.HTTP4xx, false},
		{408, errtype.HTTP408, true},
		{429, errtype.HTTP429, true},
		{500, errtype.HTTP5xx, true},
		{502, errtype.HTTP5xx, true},
		{503, errtype.HTTP5xx, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			err := classifyHTTPStatus(tt.status, http.Header{}, []byte(`{"error":"nope"}`), now)
			appErr := appError(t, err, tt.typ, tt.retryable)
			require.Contains(t, appErr.Message(), fmt.Sprint(tt.status))
			require.Contains(t, appErr.Message(), "nope", "the body is quoted")
		})
	}
	for _, ok := range []int{200, 201, 202, 204} {
		require.NoError(t, classifyHTTPStatus(ok, http.Header{}, nil, now))
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := func(v string) http.Header { return http.Header{"Retry-After": []string{v}} }
	require.Equal(t, 7*time.Second, retryAfter(h("7"), now))
	require.Equal(t, 90*time.Second, retryAfter(h(now.Add(90*time.Second).Format(http.TimeFormat)), now))
	require.Zero(t, retryAfter(h(now.Add(-time.Minute).Format(http.TimeFormat)), now), "a date in the past")
	require.Zero(t, retryAfter(h("soon"), now))
	require.Zero(t, retryAfter(h("-3"), now))
	require.Zero(t, retryAfter(http.Header{}, now))

	err := classifyHTTPStatus(429, h("12"), nil, now)
	require.Equal(t, 12*time.Second, appError(t, err, errtype.HTTP429, true).NextRetryDelay())
	err = classifyHTTPStatus(503, h("3"), nil, now)
	require.Equal(t, 3*time.Second, appError(t, err, errtype.HTTP5xx, true).NextRetryDelay())
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestNetworkType(t *testing.T) {
	refused := &net.OpError{Op: "dial", Err: fmt.Errorf("connect: %w", syscall.ECONNREFUSED)}
	require.Equal(t, errtype.ConnRefused, networkType(fmt.Errorf("post: %w", refused)))
	require.Equal(t, errtype.ConnReset, networkType(fmt.Errorf("read: %w", syscall.ECONNRESET)))
	require.Equal(t, errtype.Timeout, networkType(fmt.Errorf("post: %w", context.DeadlineExceeded)))
	require.Equal(t, errtype.Timeout, networkType(&net.OpError{Op: "read", Err: timeoutErr{}}))
	require.Equal(t, "", networkType(errors.New("boom")))

	appError(t, classifyTransport(refused, ""), errtype.ConnRefused, true)
	appError(t, classifyTransport(errors.New("boom"), ""), errtype.Unclassified, true)
	appError(t, classifyTransport(errors.New("boom"), errtype.BrokerUnavailable), errtype.BrokerUnavailable, true)
}

// redisReply is an error reply as go-redis returns it (its own type is
// internal).
type redisReply string

func (r redisReply) Error() string { return string(r) }
func (redisReply) RedisError()     {}

var _ redis.Error = redisReply("")

func TestClassifyRedis(t *testing.T) {
	reply := func(msg string) error { return fmt.Errorf("set k: %w", redisReply(msg)) }
	appError(t, classifyRedis(reply("LOADING Redis is loading the dataset in memory")), errtype.CacheUnavailable, true)
	appError(t, classifyRedis(reply("READONLY You can't write against a read only replica.")), errtype.CacheUnavailable, true)
	appError(t, classifyRedis(reply("WRONGTYPE Operation against a key holding the wrong kind of value")), errtype.CacheRejected, false)
	appError(t, classifyRedis(reply("NOAUTH Authentication required.")), errtype.CacheRejected, false)
	appError(t, classifyRedis(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), errtype.CacheUnavailable, true)
	appError(t, classifyRedis(fmt.Errorf("set: %w", context.DeadlineExceeded)), errtype.Timeout, true)
}

func TestClassifyKafka(t *testing.T) {
	appError(t, classifyKafka(fmt.Errorf("publish: %w", kafka.WriteErrors{kafka.MessageSizeTooLarge})), errtype.BrokerRejected, false)
	appError(t, classifyKafka(fmt.Errorf("publish: %w", kafka.TopicAuthorizationFailed)), errtype.BrokerRejected, false)
	appError(t, classifyKafka(fmt.Errorf("publish: %w", kafka.WriteErrors{kafka.NotLeaderForPartition})), errtype.BrokerUnavailable, true)
	appError(t, classifyKafka(fmt.Errorf("publish: %w", kafka.UnknownTopicOrPartition)), errtype.BrokerUnavailable, true)
	appError(t, classifyKafka(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), errtype.BrokerUnavailable, true)
	appError(t, classifyKafka(fmt.Errorf("publish: %w", context.DeadlineExceeded)), errtype.Timeout, true)
}

func TestClassifyAMQPClose(t *testing.T) {
	e := &amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - no exchange 'x'"}
	appError(t, classifyAMQPClose(e, e), errtype.Unroutable, false)
	e = &amqp.Error{Code: amqp.AccessRefused, Reason: "ACCESS_REFUSED"}
	appError(t, classifyAMQPClose(e, e), errtype.BrokerRejected, false)
	e = &amqp.Error{Code: amqp.InternalError, Reason: "INTERNAL_ERROR"}
	appError(t, classifyAMQPClose(e, e), errtype.BrokerUnavailable, true)
}

func TestAnnotateAddsAttempt(t *testing.T) {
	var d errtype.Details
	err := annotate(errors.New("plain"), 3)
	appErr := appError(t, err, errtype.Unclassified, true)
	require.NoError(t, appErr.Details(&d))
	require.EqualValues(t, 3, d.Attempt)

	err = annotate(temporal.NewApplicationErrorWithOptions("slow down", errtype.HTTP429,
		temporal.ApplicationErrorOptions{NextRetryDelay: 5 * time.Second}), 2)
	appErr = appError(t, err, errtype.HTTP429, true)
	require.Equal(t, 5*time.Second, appErr.NextRetryDelay(), "kept")
	require.NoError(t, appErr.Details(&d))
	require.EqualValues(t, 2, d.Attempt)

	err = annotate(permanent(errtype.HTTP4xx, errors.New("bad request")), 1)
	appError(t, err, errtype.HTTP4xx, false)
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`600`: 600 * time.Second, `1.5`: 1500 * time.Millisecond, `"90s"`: 90 * time.Second,
		`"1m30s"`: 90 * time.Second, `"45"`: 45 * time.Second, `0`: 0, `null`: 0,
	} {
		var d Duration
		require.NoError(t, json.Unmarshal([]byte(in), &d), in)
		require.Equal(t, want, time.Duration(d), in)
	}
	for _, bad := range []string{`"soon"`, `-1`, `"-5s"`, `true`, `[1]`} {
		var d Duration
		require.Error(t, json.Unmarshal([]byte(bad), &d), bad)
	}
}

func TestConfigErrorsArePermanent(t *testing.T) {
	a := New()
	ctx := context.Background()
	_, err := a.HTTP(ctx, request(run.TypeHTTP, map[string]any{"url": "ftp://x"}))
	appError(t, err, errtype.InvalidConfig, false)
	_, err = a.HTTP(ctx, request(run.TypeHTTP, map[string]any{"url": "http://x", "methd": "GET"}))
	appError(t, err, errtype.InvalidConfig, false)
	_, err = a.Publish(ctx, request(run.TypePublish, map[string]any{"target": "sqs:foo", "message": 1}))
	appError(t, err, errtype.InvalidConfig, false)
	_, err = a.Publish(ctx, request(run.TypePublish, map[string]any{"target": "kafka", "message": 1}))
	appError(t, err, errtype.InvalidConfig, false)
	_, err = a.Log(ctx, request(run.TypeLog, map[string]any{"message": "m", "level": "loud"}))
	appError(t, err, errtype.InvalidConfig, false)
}

func TestMissingDependencyIsPermanent(t *testing.T) {
	a := New()
	ctx := context.Background()
	_, err := a.Publish(ctx, request(run.TypePublish, map[string]any{"target": "kafka:t", "message": 1}))
	require.Contains(t, appError(t, err, errtype.NotConfigured, false).Message(), "kafka")
	_, err = a.Publish(ctx, request(run.TypePublish, map[string]any{"target": "rabbitmq:q", "message": 1}))
	require.Contains(t, appError(t, err, errtype.NotConfigured, false).Message(), "rabbitmq")
	_, err = a.CacheSet(ctx, request(run.TypeCacheSet, map[string]any{"key": "k", "value": 1}))
	require.Contains(t, appError(t, err, errtype.NotConfigured, false).Message(), "redis")
	_, err = a.CacheDelete(ctx, request(run.TypeCacheDelete, map[string]any{"key": "k"}))
	appError(t, err, errtype.NotConfigured, false)
}

func TestRabbitRoute(t *testing.T) {
	ex, key := route("orders")
	require.Equal(t, [2]string{"", "orders"}, [2]string{ex, key})
	ex, key = route("events/user.created")
	require.Equal(t, [2]string{"events", "user.created"}, [2]string{ex, key})
	p := newRabbitPublisher("amqp://unused", New())
	require.Error(t, p.Validate("/key"))
	require.NoError(t, p.Validate("events/"))
}
