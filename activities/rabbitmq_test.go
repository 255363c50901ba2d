package activities

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// rabbitChannel returns a channel of the test's own connection, for
// declaring and reading queues.
func rabbitChannel(t *testing.T, url string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(url)
	require.NoError(t, err, "dial rabbitmq")
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	require.NoError(t, err)
	return ch
}

func getOne(t *testing.T, ch *amqp.Channel, queue string) amqp.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d, ok, err := ch.Get(queue, true)
		require.NoError(t, err)
		if ok {
			return d
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no message on %s", queue)
	return amqp.Delivery{}
}

func TestRabbitMQPublishToQueue(t *testing.T) {
	url := testenv.RabbitMQURL(t)
	ch := rabbitChannel(t, url)
	queue := uniqueName(t, "triggerd-test.welcome")
	_, err := ch.QueueDeclare(queue, false, true, false, false, nil)
	require.NoError(t, err)

	a := New(WithRabbitMQ(url))
	t.Cleanup(func() { require.NoError(t, a.Close()) })
	out, err := a.Publish(context.Background(), request(run.TypePublish, map[string]any{
		"target":  "rabbitmq:" + queue,
		"headers": map[string]any{"source": "test", "n": 2.0},
		"message": map[string]any{"type": "user.created", "id": 1.0},
	}))
	require.NoError(t, err)
	require.Equal(t, PublishOutput{Target: "rabbitmq:" + queue, MessageID: "triggerd/t/ev-1/a"}, out)

	d := getOne(t, ch, queue)
	require.Equal(t, "triggerd/t/ev-1/a", d.MessageId)
	require.Equal(t, uint8(amqp.Persistent), d.DeliveryMode)
	require.Equal(t, "application/json", d.ContentType)
	require.Equal(t, "test", d.Headers["source"])
	require.Equal(t, "2", d.Headers["n"])
	var doc map[string]any
	require.NoError(t, json.Unmarshal(d.Body, &doc))
	require.Equal(t, map[string]any{"type": "user.created", "id": 1.0}, doc)

	// The connection is shared: a second publish reuses it.
	_, err = a.Publish(context.Background(), request(run.TypePublish, map[string]any{"target": "rabbitmq:" + queue, "message": "again"}))
	require.NoError(t, err)
	require.Equal(t, `"again"`, string(getOne(t, ch, queue).Body), "the message is always JSON")
}

func TestRabbitMQPublishToExchange(t *testing.T) {
	url := testenv.RabbitMQURL(t)
	ch := rabbitChannel(t, url)
	exchange := uniqueName(t, "triggerd-test.events")
	queue := exchange + ".q"
	require.NoError(t, ch.ExchangeDeclare(exchange, "topic", false, true, false, false, nil))
	t.Cleanup(func() { _ = ch.ExchangeDelete(exchange, false, false) })
	_, err := ch.QueueDeclare(queue, false, true, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.QueueBind(queue, "user.*", exchange, false, nil))

	a := New(WithRabbitMQ(url))
	t.Cleanup(func() { _ = a.Close() })
	_, err = a.Publish(context.Background(), request(run.TypePublish, map[string]any{
		"target": "rabbitmq:" + exchange + "/user.created", "message": map[string]any{"id": 7.0},
	}))
	require.NoError(t, err)
	require.JSONEq(t, `{"id":7}`, string(getOne(t, ch, queue).Body))
}

func TestRabbitMQUnroutableAndMissingExchangeArePermanent(t *testing.T) {
	url := testenv.RabbitMQURL(t)
	a := New(WithRabbitMQ(url))
	t.Cleanup(func() { _ = a.Close() })
	ctx := context.Background()

	_, err := a.Publish(ctx, request(run.TypePublish, map[string]any{
		"target": "rabbitmq:" + uniqueName(t, "triggerd-test.no-such-queue"), "message": 1.0,
	}))
	require.Contains(t, appError(t, err, errtype.Unroutable, false).Message(), "unroutable")

	_, err = a.Publish(ctx, request(run.TypePublish, map[string]any{
		"target": "rabbitmq:" + uniqueName(t, "triggerd-test.no-such-exchange") + "/key", "message": 1.0,
	}))
	appError(t, err, errtype.Unroutable, false)

	// Neither failure broke the shared connection.
	ch := rabbitChannel(t, url)
	queue := uniqueName(t, "triggerd-test.after")
	_, err = ch.QueueDeclare(queue, false, true, false, false, nil)
	require.NoError(t, err)
	_, err = a.Publish(ctx, request(run.TypePublish, map[string]any{"target": "rabbitmq:" + queue, "message": 1.0}))
	require.NoError(t, err)
}

func TestRabbitMQReconnectsAfterTheConnectionCloses(t *testing.T) {
	url := testenv.RabbitMQURL(t)
	ch := rabbitChannel(t, url)
	queue := uniqueName(t, "triggerd-test.reconnect")
	_, err := ch.QueueDeclare(queue, false, true, false, false, nil)
	require.NoError(t, err)

	a := New(WithRabbitMQ(url))
	t.Cleanup(func() { _ = a.Close() })
	req := request(run.TypePublish, map[string]any{"target": "rabbitmq:" + queue, "message": 1.0})
	_, err = a.Publish(context.Background(), req)
	require.NoError(t, err)

	p := a.publishers[schemeRabbitMQ].(*rabbitPublisher)
	p.mu.Lock()
	require.NoError(t, p.conn.Close()) // as a broker restart would
	p.mu.Unlock()

	_, err = a.Publish(context.Background(), req)
	require.NoError(t, err)
	getOne(t, ch, queue)
	getOne(t, ch, queue)
}

func TestRabbitMQUnreachableIsRetryable(t *testing.T) {
	a := New(WithRabbitMQ("amqp://guest:guest@127.0.0.1:1/"))
	_, err := a.Publish(context.Background(), request(run.TypePublish, map[string]any{"target": "rabbitmq:q", "message": 1.0}))
	appError(t, err, errtype.ConnRefused, true)
}
