package bench

import (
	"context"
	"fmt"
	"time"
)

// produceSteady writes events to topic at perSecond for Params.SteadyFor.
func (e *Env) produceSteady(ctx context.Context, topic string, perSecond float64, m *Measure) error {
	w := e.writer(topic)
	defer w.Close()
	return e.steady(ctx, perSecond, m, func(ctx context.Context, i int, sent time.Time) error {
		return w.WriteMessages(ctx, e.eventMessage(i, sent))
	})
}

// steady sends the warm-up unit and waits for it, then calls send for
// event 0, 1, … at perSecond for Params.SteadyFor, and tells m how many
// events there were. Each event is stamped with the
// time it was due, not the time send was called: a producer that falls
// behind (a slow start call) shows as latency instead of hiding it by
// sending less (the load is open-loop).
func (e *Env) steady(ctx context.Context, perSecond float64, m *Measure, send func(ctx context.Context, i int, due time.Time) error) error {
	if err := m.warmUp(ctx, send); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	interval := time.Duration(float64(time.Second) / perSecond)
	total := max(1, int(perSecond*e.Params.SteadyFor.Seconds()))
	start := time.Now()
	m.began(start)
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				m.expect(i)
				return ctx.Err()
			case <-t.C:
			}
		}
		if err := send(ctx, i, due); err != nil {
			m.expect(i)
			return err
		}
	}
	m.expect(total)
	return nil
}
