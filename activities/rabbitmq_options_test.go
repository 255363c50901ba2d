package activities

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// mandatory (default true) turns a message no queue receives into a
// permanent failure; mandatory: false lets the broker drop it.
func TestRabbitMQMandatoryAndConfirm(t *testing.T) {
	url := testenv.RabbitMQURL(t)
	ch := rabbitChannel(t, url)
	ex := uniqueName(t, "triggerd-test.unbound")
	require.NoError(t, ch.ExchangeDeclare(ex, "direct", false, true, false, false, nil))
	a := New(WithRabbitMQ(url))
	t.Cleanup(func() { require.NoError(t, a.Close()) })
	ctx := context.Background()
	cfg := func(extra map[string]any) map[string]any {
		m := map[string]any{"target": "rabbitmq", "exchange": ex, "routingKey": "nobody", "message": "x", "format": "raw"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	_, err := a.Publish(ctx, request(run.TypePublish, cfg(nil)))
	appError(t, err, errtype.Unroutable, false)
	out, err := a.Publish(ctx, request(run.TypePublish, cfg(map[string]any{"mandatory": false})))
	require.NoError(t, err)
	require.Equal(t, "rabbitmq:"+ex+"/nobody", out.(PublishOutput).Target)
	_, err = a.Publish(ctx, request(run.TypePublish, cfg(map[string]any{"mandatory": false, "confirm": false})))
	require.NoError(t, err)

	queue := uniqueName(t, "triggerd-test.noconfirm")
	_, err = ch.QueueDeclare(queue, false, true, false, false, nil)
	require.NoError(t, err)
	_, err = a.Publish(ctx, request(run.TypePublish, map[string]any{"target": "rabbitmq:" + queue, "confirm": false, "message": map[string]any{"n": 1.0}}))
	require.NoError(t, err)
	d := getOne(t, ch, queue)
	require.JSONEq(t, `{"n":1}`, string(d.Body), "delivered without waiting for a confirm")

	_, err = a.Publish(ctx, request(run.TypePublish, map[string]any{"target": "kafka:x", "exchange": "e", "message": 1.0}))
	appError(t, err, errtype.InvalidConfig, false)
}
