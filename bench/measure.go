package bench

import (
	"context"
	"sync"
	"time"
)

// Measure is what a scenario records while it runs: each unit of work
// (an event decoded, a run started, a webhook received) as it finishes.
// The suite turns it into a Result.
type Measure struct {
	mu      sync.Mutex
	want    int
	full    chan struct{}
	warm    chan struct{} // closed when the warm-up unit (-1) arrived
	start   time.Time     // when the first event was produced, for Sample.At
	steady  bool          // produced at a steady rate (began was called)
	first   time.Time
	last    time.Time
	n       int
	order   []int // unit indexes in the order they finished
	samples []Sample
	// workflowID names the Temporal run of unit i, when units are runs:
	// the suite reads sample histories and cleans up through it.
	workflowID func(i int) string
	// leftOpen says the runs were only started (no worker ran them): the
	// suite terminates all of them once it has read the server's CPU.
	leftOpen bool
	// carriers names the workflows that carried the units when they are
	// not workflows of their own (batched delivery: one delivery
	// workflow per partition): their history, divided among the units,
	// is the history per run, and the suite ends them afterwards.
	carriers []string
	notes    []string
}

func newMeasure(want int) *Measure {
	return &Measure{want: want, full: make(chan struct{}), warm: make(chan struct{})}
}

// expect sets how many units the scenario waits for (a steady-rate
// producer knows only when it stops). Safe to call while units finish.
func (m *Measure) expect(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.want = n
	m.checkFull()
}

// began records when the first event was produced.
func (m *Measure) began(t time.Time) {
	m.mu.Lock()
	m.start, m.steady = t, true
	m.mu.Unlock()
}

// done records that unit i finished at t.
func (m *Measure) done(i int, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finish(i, t)
}

// deliver records that unit i, produced at sent, was delivered at t.
// Unit -1 is the warm-up, not counted.
func (m *Measure) deliver(i int, sent, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i == warmUpUnit {
		select {
		case <-m.warm:
		default:
			close(m.warm)
		}
		return
	}
	if m.start.IsZero() || sent.Before(m.start) {
		// A backlog was produced before the measurement began: At counts
		// from the first event.
		m.start = sent
	}
	m.samples = append(m.samples, Sample{At: sent.Sub(m.start), Latency: t.Sub(sent)})
	m.finish(i, t)
}

func (m *Measure) finish(i int, t time.Time) {
	if m.n == 0 || t.Before(m.first) {
		m.first = t
	}
	if t.After(m.last) {
		m.last = t
	}
	m.n++
	m.order = append(m.order, i)
	m.checkFull()
}

func (m *Measure) checkFull() {
	if m.want > 0 && m.n >= m.want {
		select {
		case <-m.full:
		default:
			close(m.full)
		}
	}
}

// wait returns when every expected unit finished, or ctx's error.
func (m *Measure) wait(ctx context.Context) error {
	select {
	case <-m.full:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// count returns how many units finished.
func (m *Measure) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// note adds a remark to the result (shown in the JSON and under the table).
func (m *Measure) note(s string) {
	m.mu.Lock()
	m.notes = append(m.notes, s)
	m.mu.Unlock()
}

// throughput is units per second between the first and the last unit:
// (n-1) intervals, so that the time before the first one (a consumer
// group joining, a worker polling) is not counted.
func (m *Measure) throughput() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n < 2 {
		return 0
	}
	return rate(m.n-1, m.last.Sub(m.first))
}

// finished returns the units that finished, in order, and those of the
// expected ones (0..want-1) that did not.
func (m *Measure) finished() (done, missing []int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := make(map[int]bool, len(m.order))
	for _, i := range m.order {
		seen[i] = true
	}
	for i := range m.want {
		if !seen[i] {
			missing = append(missing, i)
		}
	}
	return append([]int(nil), m.order...), missing
}

// warmUpUnit is the index of the event a steady-rate scenario sends first
// and waits for, so that a consumer group joining or a worker's first poll
// is not measured as latency.
const warmUpUnit = -1

// warmUp sends the warm-up unit and waits for it to be delivered.
func (m *Measure) warmUp(ctx context.Context, send func(ctx context.Context, i int, due time.Time) error) error {
	if err := send(ctx, warmUpUnit, time.Now()); err != nil {
		return err
	}
	select {
	case <-m.warm:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
