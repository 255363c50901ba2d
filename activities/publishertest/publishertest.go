// Package publishertest is the conformance suite of broker.publish: every
// broker it publishes to (Kafka, RabbitMQ) must pass Run, against a real
// broker, in the manner of Watermill's pubsub tests. A harness gives the
// action and fresh destinations with a consumer of each; the suite checks
// what the consumer receives.
package publishertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

// Received is one message as a consumer of the destination saw it.
type Received struct {
	Key         string
	Headers     map[string]string
	ContentType string
	// ID is the idempotency key the message carries (AMQP message id,
	// Kafka header triggerd-idempotency-key).
	ID   string
	Body []byte
	// Persistent is the delivery mode, nil for brokers without one.
	Persistent *bool
}

// Destination is a fresh place to publish to.
type Destination struct {
	// Target holds the config keys that address it: target, and perhaps
	// exchange and routingKey.
	Target map[string]any
	// Next returns the next message that arrived there, or ctx's error.
	Next func(ctx context.Context) (Received, error)
}

// Features says which optional behaviours the broker has.
type Features struct {
	// Keys: a message's key reaches the consumer (Kafka).
	Keys bool
	// DeliveryModes: persistent: false reaches the consumer (RabbitMQ).
	DeliveryModes bool
}

// Harness is what Run needs of a broker.
type Harness struct {
	// Publish is the broker.publish action.
	Publish        run.ActionFunc
	NewDestination func(t *testing.T) Destination
	Features       Features
}

// receiveTimeout bounds the wait for a message that should arrive; it is
// a failure deadline, not a timing assertion.
const receiveTimeout = 30 * time.Second

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("JSON", func(t *testing.T) { testJSON(t, h) })
	t.Run("Raw", func(t *testing.T) { testRaw(t, h) })
	t.Run("Base64", func(t *testing.T) { testBase64(t, h) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("InvalidConfig", func(t *testing.T) { testInvalid(t, h) })
	if h.Features.Keys {
		t.Run("Key", func(t *testing.T) { testKey(t, h) })
	}
	if h.Features.DeliveryModes {
		t.Run("DeliveryMode", func(t *testing.T) { testDeliveryMode(t, h) })
	}
}

func request(t *testing.T, d Destination, id string, extra map[string]any) run.ActionRequest {
	cfg := map[string]any{}
	for k, v := range d.Target {
		cfg[k] = v
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return run.ActionRequest{
		WorkflowID: "triggerd/conformance/" + t.Name(), ActionName: "publish", Type: "broker.publish",
		Config: cfg, IdempotencyKey: id,
	}
}

func publish(t *testing.T, h Harness, req run.ActionRequest) map[string]any {
	t.Helper()
	out, err := h.Publish(context.Background(), req)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("output is not a JSON object: %s", b)
	}
	return m
}

func next(t *testing.T, d Destination) Received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), receiveTimeout)
	defer cancel()
	r, err := d.Next(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return r
}

func testJSON(t *testing.T, h Harness) {
	d := h.NewDestination(t)
	id := "conformance/" + t.Name()
	out := publish(t, h, request(t, d, id, map[string]any{
		"message": map[string]any{"type": "order.created", "id": 7.0, "items": []any{"a", "b"}},
		"headers": map[string]any{"source": "conformance", "attempt": 2.0},
	}))
	if out["messageId"] != id {
		t.Errorf("output messageId = %v, want %s", out["messageId"], id)
	}
	r := next(t, d)
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.Body, err)
	}
	if body["type"] != "order.created" || body["id"] != 7.0 || len(body["items"].([]any)) != 2 {
		t.Errorf("body = %s", r.Body)
	}
	if r.ContentType != "application/json" {
		t.Errorf("content type = %q, want application/json", r.ContentType)
	}
	if r.Headers["source"] != "conformance" || r.Headers["attempt"] != "2" {
		t.Errorf("headers = %v", r.Headers)
	}
	if r.ID != id {
		t.Errorf("idempotency key = %q, want %q", r.ID, id)
	}
	if h.Features.DeliveryModes && (r.Persistent == nil || !*r.Persistent) {
		t.Errorf("messages are persistent by default")
	}
}

func testRaw(t *testing.T, h Harness) {
	d := h.NewDestination(t)
	publish(t, h, request(t, d, "raw", map[string]any{"format": "raw", "message": "id=7;status=paid"}))
	r := next(t, d)
	if string(r.Body) != "id=7;status=paid" {
		t.Errorf("body = %q", r.Body)
	}
	if r.ContentType != "text/plain; charset=utf-8" {
		t.Errorf("content type = %q", r.ContentType)
	}
}

func testBase64(t *testing.T, h Harness) {
	d := h.NewDestination(t)
	publish(t, h, request(t, d, "bin", map[string]any{
		"format": "base64", "message": "AAEC/w==", "contentType": "application/x-protobuf",
	}))
	r := next(t, d)
	if string(r.Body) != "\x00\x01\x02\xff" {
		t.Errorf("body = %x, want 000102ff", r.Body)
	}
	if r.ContentType != "application/x-protobuf" {
		t.Errorf("content type = %q", r.ContentType)
	}
}

func testKey(t *testing.T, h Harness) {
	d := h.NewDestination(t)
	publish(t, h, request(t, d, "keyed", map[string]any{"key": 42.0, "message": "x", "format": "raw"}))
	if r := next(t, d); r.Key != "42" {
		t.Errorf("key = %q, want 42", r.Key)
	}
}

func testDeliveryMode(t *testing.T, h Harness) {
	d := h.NewDestination(t)
	publish(t, h, request(t, d, "transient", map[string]any{"persistent": false, "message": "x", "format": "raw"}))
	if r := next(t, d); r.Persistent == nil || *r.Persistent {
		t.Errorf("persistent: false was not honoured")
	}
}

// testConcurrent publishes from many goroutines, as a worker's activity
// slots do, and expects each message exactly once.
func testConcurrent(t *testing.T, h Harness) {
	const n = 20
	d := h.NewDestination(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			req := request(t, d, fmt.Sprintf("c-%02d", i), map[string]any{"message": map[string]any{"n": float64(i)}})
			if _, err := h.Publish(context.Background(), req); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("publish: %v", err)
	}
	var ids []string
	for range n {
		ids = append(ids, next(t, d).ID)
	}
	sort.Strings(ids)
	for i, id := range ids {
		if want := fmt.Sprintf("c-%02d", i); id != want {
			t.Fatalf("received ids %v, want c-00..c-%02d once each", ids, n-1)
		}
	}
}

// testInvalid checks that configs no retry can fix fail without retry,
// and publish nothing.
func testInvalid(t *testing.T, h Harness) {
	d := h.NewDestination(t)
	for name, extra := range map[string]map[string]any{
		"unknown format":   {"format": "xml", "message": "x"},
		"raw not a string": {"format": "raw", "message": map[string]any{"a": 1.0}},
		"bad base64":       {"format": "base64", "message": "%%%"},
		"empty message":    {"format": "raw", "message": ""},
		"unknown key":      {"message": "x", "mesage": "y"},
	} {
		_, err := h.Publish(context.Background(), request(t, d, "invalid", extra))
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != errtype.InvalidConfig || !appErr.NonRetryable() {
			t.Errorf("%s: got %v, want a non-retryable %s", name, err, errtype.InvalidConfig)
		}
	}
	// The destination must still be empty: publish a marker and expect
	// it first.
	publish(t, h, request(t, d, "marker", map[string]any{"message": "marker", "format": "raw"}))
	if r := next(t, d); string(r.Body) != "marker" {
		t.Errorf("an invalid publish reached the broker: first message is %q", r.Body)
	}
}
