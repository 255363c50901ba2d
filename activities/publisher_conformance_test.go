package activities_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/activities/publishertest"
	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
)

func uniqueSuffix() string { return strconv.FormatInt(time.Now().UnixNano(), 36) }

func TestKafkaPublisherConformance(t *testing.T) {
	brokers := strings.Split(testenv.KafkaBrokers(t), ",")
	a := activities.New(activities.WithKafka(brokers, nil))
	t.Cleanup(func() { _ = a.Close() })
	publishertest.Run(t, publishertest.Harness{
		Publish:  retryLikeTemporal(a.Publish),
		Features: publishertest.Features{Keys: true},
		NewDestination: func(t *testing.T) publishertest.Destination {
			topic := "triggerd-conformance." + uniqueSuffix()
			createKafkaTopic(t, brokers[0], topic)
			// One partition, read from its start: every message, in order.
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
			t.Cleanup(func() { _ = r.Close() })
			return publishertest.Destination{
				Target: map[string]any{"target": "kafka:" + topic},
				Next: func(ctx context.Context) (publishertest.Received, error) {
					m, err := r.ReadMessage(ctx)
					if err != nil {
						return publishertest.Received{}, err
					}
					got := publishertest.Received{Key: string(m.Key), Body: m.Value, Headers: map[string]string{}}
					for _, h := range m.Headers {
						got.Headers[h.Key] = string(h.Value)
					}
					got.ContentType = got.Headers["content-type"]
					got.ID = got.Headers["triggerd-idempotency-key"]
					return got, nil
				},
			}
		},
	})
}

// retryLikeTemporal retries retryable failures as the activity's retry
// policy would: a topic just created is unknown to the writer's metadata
// for a moment, which Temporal absorbs in production.
func retryLikeTemporal(f run.ActionFunc) run.ActionFunc {
	return func(ctx context.Context, req run.ActionRequest) (any, error) {
		for attempt := 1; ; attempt++ {
			out, err := f(ctx, req)
			var appErr *temporal.ApplicationError
			if err == nil || attempt == 20 || !errors.As(err, &appErr) || appErr.NonRetryable() {
				return out, err
			}
			time.Sleep(time.Duration(attempt) * 50 * time.Millisecond)
		}
	}
}

func createKafkaTopic(t *testing.T, broker, topic string) {
	t.Helper()
	conn, err := kafka.Dial("tcp", broker)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	controller, err := conn.Controller()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := kafka.Dial("tcp", net.JoinHostPort(controller.Host, strconv.Itoa(controller.Port)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if err := cc.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
}

// RabbitMQ passes twice: to a queue through the default exchange
// (rabbitmq:<queue>), and through a topic exchange addressed with the
// exchange and routingKey keys.
func TestRabbitMQPublisherConformance(t *testing.T) {
	url := testenv.RabbitMQURL(t)
	a := activities.New(activities.WithRabbitMQ(url))
	t.Cleanup(func() { _ = a.Close() })
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	for _, viaExchange := range []bool{false, true} {
		t.Run(fmt.Sprintf("exchange=%v", viaExchange), func(t *testing.T) {
			publishertest.Run(t, publishertest.Harness{
				Publish:  a.Publish,
				Features: publishertest.Features{DeliveryModes: true},
				NewDestination: func(t *testing.T) publishertest.Destination {
					ch, err := conn.Channel()
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = ch.Close() })
					queue := "triggerd-conformance." + uniqueSuffix()
					if _, err := ch.QueueDeclare(queue, false, true, false, false, nil); err != nil {
						t.Fatal(err)
					}
					target := map[string]any{"target": "rabbitmq:" + queue}
					if viaExchange {
						ex := queue + ".ex"
						if err := ch.ExchangeDeclare(ex, "topic", false, true, false, false, nil); err != nil {
							t.Fatal(err)
						}
						if err := ch.QueueBind(queue, "orders.*", ex, false, nil); err != nil {
							t.Fatal(err)
						}
						target = map[string]any{"target": "rabbitmq", "exchange": ex, "routingKey": "orders.created"}
					}
					deliveries, err := ch.Consume(queue, "", true, true, false, false, nil)
					if err != nil {
						t.Fatal(err)
					}
					return publishertest.Destination{
						Target: target,
						Next: func(ctx context.Context) (publishertest.Received, error) {
							select {
							case d := <-deliveries:
								persistent := d.DeliveryMode == amqp.Persistent
								got := publishertest.Received{Body: d.Body, ContentType: d.ContentType, ID: d.MessageId,
									Headers: map[string]string{}, Persistent: &persistent}
								for k, v := range d.Headers {
									got.Headers[k] = fmt.Sprint(v)
								}
								return got, nil
							case <-ctx.Done():
								return publishertest.Received{}, ctx.Err()
							}
						},
					}
				},
			})
		})
	}
}
