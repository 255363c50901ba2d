package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
)

func createTopic(t *testing.T, brokers []string, topic string) {
	t.Helper()
	conn, err := kafka.Dial("tcp", brokers[0])
	require.NoError(t, err)
	defer conn.Close()
	controller, err := conn.Controller()
	require.NoError(t, err)
	cc, err := kafka.Dial("tcp", net.JoinHostPort(controller.Host, strconv.Itoa(controller.Port)))
	require.NoError(t, err)
	defer cc.Close()
	require.NoError(t, cc.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}))
}

func TestKafkaPublishThenConsume(t *testing.T) {
	brokers := strings.Split(testenv.KafkaBrokers(t), ",")
	topic := strings.ReplaceAll(uniqueName(t, "triggerd-test.user-events"), ":", "")
	createTopic(t, brokers, topic)

	a := New(WithKafka(brokers, nil))
	t.Cleanup(func() { require.NoError(t, a.Close()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var outs []PublishOutput
	for i, id := range []any{1.0, "2"} {
		req := request(run.TypePublish, map[string]any{
			"target":  "kafka:" + topic,
			"key":     id, // a whole-value template keeps the number's type
			"headers": map[string]any{"source": "test"},
			"message": map[string]any{"type": "user.created", "n": float64(i)},
		})
		req.IdempotencyKey = fmt.Sprintf("triggerd/t/ev-%d/a", i)
		out, err := publishRetrying(ctx, t, a, req)
		require.NoError(t, err)
		outs = append(outs, out.(PublishOutput))
	}
	for _, o := range outs {
		require.NotNil(t, o.Partition, "partition reported")
		require.NotNil(t, o.Offset, "offset reported")
	}

	// Read each message back where the publish said it went: this checks
	// the reported partition and offset too.
	got := map[string]kafka.Message{}
	for _, o := range outs {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: *o.Partition, MaxWait: 200 * time.Millisecond})
		require.NoError(t, r.SetOffset(*o.Offset))
		m, err := r.ReadMessage(ctx)
		require.NoError(t, err, "read published message")
		require.NoError(t, r.Close())
		got[string(m.Key)] = m
	}
	for i, key := range []string{"1", "2"} {
		m := got[key]
		require.Equal(t, *outs[i].Partition, m.Partition, "reported partition")
		require.Equal(t, *outs[i].Offset, m.Offset, "reported offset")
		headers := map[string]string{}
		for _, h := range m.Headers {
			headers[h.Key] = string(h.Value)
		}
		require.Equal(t, map[string]string{
			"source": "test", contentTypeHeader: "application/json", idempotencyHeader: fmt.Sprintf("triggerd/t/ev-%d/a", i),
		}, headers)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(m.Value, &doc))
		require.Equal(t, map[string]any{"type": "user.created", "n": float64(i)}, doc)
	}
}

// publishRetrying retries retryable publish errors as Temporal would: a
// freshly created topic can answer "not leader for partition" until its
// leader election settles, which the activity rightly reports as retryable.
func publishRetrying(ctx context.Context, t *testing.T, a *Activities, req run.ActionRequest) (any, error) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		out, err := a.Publish(ctx, req)
		var appErr *temporal.ApplicationError
		if err == nil || attempt == 10 || !errors.As(err, &appErr) || appErr.NonRetryable() {
			return out, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
