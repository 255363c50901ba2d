package activities

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// A Kafka that cannot be reached is retried; a topic name Kafka would
// refuse, or a config no retry fixes, is not.
func TestKafkaErrorClassification(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	a := New(WithKafka([]string{addr}, nil))
	t.Cleanup(func() { _ = a.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	_, err = a.Publish(ctx, request(run.TypePublish, map[string]any{"target": "kafka:orders", "message": map[string]any{"id": 1.0}}))
	appError(t, err, errtype.BrokerUnavailable, true)

	for name, cfg := range map[string]map[string]any{
		"bad topic":        {"target": "kafka:bad/topic", "message": "x"},
		"no topic":         {"target": "kafka:", "message": "x"},
		"unknown broker":   {"target": "sqs:queue", "message": "x"},
		"base64 not a str": {"target": "kafka:t", "format": "base64", "message": 1.0},
		"key not a scalar": {"target": "kafka:t", "key": map[string]any{}, "message": "x"},
	} {
		_, err := a.Publish(ctx, request(run.TypePublish, cfg))
		require.Error(t, err, name)
		appError(t, err, errtype.InvalidConfig, false)
	}
}
