package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/triggerd/triggerd/run/errtype"
)

// rabbitPublisher publishes over one AMQP connection per process, opened on
// first use and reopened when the broker or the network closed it. Each
// publish takes its own channel in confirm mode: a channel is cheap next to
// a confirm round trip, and a channel the broker closes (an exchange that
// does not exist) then never harms another publish.
type rabbitPublisher struct {
	url string
	// a gives the confirm timeout, which also bounds dialing: a broker
	// that cannot answer a TCP handshake by then will not confirm either.
	a *Activities

	mu   sync.Mutex
	conn *amqp.Connection
}

func newRabbitPublisher(url string, a *Activities) *rabbitPublisher {
	return &rabbitPublisher{url: url, a: a}
}

// route splits a destination into exchange and routing key: a bare queue
// name goes through the default exchange, whose routing key is the queue.
func route(dest string) (exchange, key string) {
	if ex, k, ok := strings.Cut(dest, "/"); ok {
		return ex, k
	}
	return "", dest
}

func (p *rabbitPublisher) Validate(dest string) error {
	ex, key := route(dest)
	if strings.Contains(dest, "/") && ex == "" {
		return invalidConfig("rabbitmq target %q: empty exchange before '/' (use rabbitmq:<queue> for the default exchange)", dest)
	}
	if len(ex) > 255 || len(key) > 255 {
		return invalidConfig("rabbitmq target %q: exchange and routing key are at most 255 bytes", dest)
	}
	return nil
}

func (p *rabbitPublisher) connection() (*amqp.Connection, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil && !p.conn.IsClosed() {
		return p.conn, nil
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("triggerd")
	conn, err := amqp.DialConfig(p.url, amqp.Config{
		Properties: props,
		Dial:       amqp.DefaultDial(p.a.confirmTimeout),
	})
	if err != nil {
		return nil, classifyTransport(fmt.Errorf("connect to rabbitmq: %w", err), errtype.BrokerUnavailable)
	}
	p.conn = conn
	return conn, nil
}

func (p *rabbitPublisher) Publish(ctx context.Context, m message) (publishResult, error) {
	exchange, key := route(m.Dest)
	conn, err := p.connection()
	if err != nil {
		return publishResult{}, err
	}
	ch, err := conn.Channel()
	if err != nil {
		return publishResult{}, transient(errtype.BrokerUnavailable, fmt.Errorf("open rabbitmq channel: %w", err), 0)
	}
	defer ch.Close()
	if !m.NoConfirm {
		if err := ch.Confirm(false); err != nil {
			return publishResult{}, transient(errtype.BrokerUnavailable, fmt.Errorf("enable publisher confirms: %w", err), 0)
		}
	}
	// Buffered: the connection's reader goroutine delivers returns and
	// closes, and an unread unbuffered channel would stall the connection.
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	closes := ch.NotifyClose(make(chan *amqp.Error, 1))

	headers := amqp.Table{}
	names := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		headers[k] = m.Headers[k]
	}
	where := fmt.Sprintf("exchange %q routing key %q", exchange, key)
	mode := amqp.Persistent
	if m.Transient {
		mode = amqp.Transient
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, !m.NotMandatory, false, amqp.Publishing{
		Headers:      headers,
		ContentType:  m.ContentType,
		DeliveryMode: mode,
		MessageId:    m.ID,
		Timestamp:    time.Now(),
		Body:         m.Body,
	})
	if err != nil {
		return publishResult{}, classifyTransport(fmt.Errorf("publish to rabbitmq %s: %w", where, err), errtype.BrokerUnavailable)
	}
	if m.NoConfirm {
		// Without confirms the broker says nothing more; dc is nil.
		return publishResult{}, nil
	}

	timer := time.NewTimer(p.a.confirmTimeout)
	defer timer.Stop()
	select {
	case <-dc.Done():
	case <-timer.C:
		return publishResult{}, transient(errtype.Timeout,
			fmt.Errorf("publish to rabbitmq %s: no confirm within %s", where, p.a.confirmTimeout), 0)
	case <-ctx.Done():
		return publishResult{}, classifyTransport(fmt.Errorf("publish to rabbitmq %s: %w", where, ctx.Err()), errtype.Timeout)
	}
	if !dc.Acked() {
		select {
		case e := <-closes:
			if e != nil {
				return publishResult{}, classifyAMQPClose(fmt.Errorf("publish to rabbitmq %s: %w", where, e), e)
			}
		default:
		}
		return publishResult{}, transient(errtype.BrokerNack, fmt.Errorf("publish to rabbitmq %s: broker nacked the message", where), 0)
	}
	// The broker sends basic.return before the ack of an unroutable
	// mandatory message, so a return is already here if there is one.
	select {
	case r := <-returns:
		return publishResult{}, permanent(errtype.Unroutable,
			fmt.Errorf("publish to rabbitmq %s: unroutable (%d %s): declare the queue or bind it", where, r.ReplyCode, r.ReplyText))
	default:
	}
	return publishResult{}, nil
}

// classifyAMQPClose types the error a broker closed the channel with:
// access refused or a missing exchange will not change on retry.
func classifyAMQPClose(err error, e *amqp.Error) error {
	switch e.Code {
	case amqp.NotFound:
		return permanent(errtype.Unroutable, err)
	case amqp.AccessRefused, amqp.NotAllowed, amqp.PreconditionFailed, amqp.FrameError, amqp.SyntaxError, amqp.CommandInvalid:
		return permanent(errtype.BrokerRejected, err)
	}
	return transient(errtype.BrokerUnavailable, err, 0)
}

func (p *rabbitPublisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil || p.conn.IsClosed() {
		return nil
	}
	if err := p.conn.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("close rabbitmq connection: %w", err)
	}
	return nil
}
