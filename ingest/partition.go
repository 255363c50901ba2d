package ingest

import (
	"context"
	"log/slog"

	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/run"
)

// partitionRun is what consumePartition needs for one assigned partition.
type partitionRun struct {
	topic     string
	partition int
	offset    int64 // where to start: committed offset or kafka.FirstOffset
	open      openReaderFunc
	tracker   *commitTracker
	kick      chan<- struct{} // a commit may be due
	dlq       messageWriter
	log       *slog.Logger
}

// consumePartition reads one partition until ctx ends and processes its
// messages through a window (window.go). It returns once every admitted
// message finished, so that the generation's last commit sees them.
//
// Nothing here waits on another partition: a message whose start is
// retried, or whose DLQ write is, holds up its own partition only (and
// with PartitionConcurrency > 1, only the messages ordered after it).
func (c *Consumer) consumePartition(ctx context.Context, p partitionRun) {
	log := p.log.With("topic", p.topic, "partition", p.partition)
	r := p.open(p.topic, p.partition, p.offset)
	defer func() { _ = r.Close() }()
	win := newWindow(c.cfg.PartitionConcurrency)
	pool := &workerPool{max: c.cfg.PartitionConcurrency, jobs: make(chan job)}
	defer win.wait()
	defer close(pool.jobs)
	run := func(j job) {
		done := win.waitTurn(ctx, j.slot) && c.process(ctx, j.work, p.dlq, log) == nil
		if last, ok := win.finish(j.slot, done); ok {
			p.tracker.done(last)
			if p.tracker.due() {
				select {
				case p.kick <- struct{}{}:
				default:
				}
			}
		}
	}

	backoff := c.cfg.StartBackoff
	for {
		msg, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// kafka-go retries broker errors itself; what reaches here is
			// unexpected. Reopen the reader after the last fetched message.
			log.Warn("fetch failed, retrying", "error", err, "backoff", backoff)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, c.cfg.MaxStartBackoff)
			_ = r.Close()
			r = p.open(p.topic, p.partition, p.offset)
			continue
		}
		backoff = c.cfg.StartBackoff
		p.offset = msg.Offset + 1
		w := c.prepare(msg)
		s := win.admit(ctx, msg, w.orderingKeys())
		if s == nil {
			return
		}
		pool.submit(job{work: w, slot: s}, run)
	}
}

// job is an admitted message for a worker.
type job struct {
	work *work
	slot *slot
}

// workerPool runs a partition's admitted messages on at most max
// goroutines, started as they are needed and kept until the partition
// ends: a goroutine per message would grow a fresh stack for every start
// (deep in gRPC), which cost more than the decoding (issue 13).
type workerPool struct {
	max     int
	workers int
	jobs    chan job // closed when the partition ends
}

// submit hands j to an idle worker, or to a new one while there are fewer
// than max. The window admitted j, so at most max jobs are running or
// waiting to run: when every worker is busy one is about to finish, and
// the send below waits only for it to come back.
func (p *workerPool) submit(j job, run func(job)) {
	select {
	case p.jobs <- j:
		return
	default:
	}
	if p.workers < p.max {
		p.workers++
		go func() {
			run(j)
			for j := range p.jobs {
				run(j)
			}
		}()
		return
	}
	p.jobs <- j
}

// work is a fetched message, decoded and planned.
type work struct {
	msg    kafka.Message
	events []run.Event
	plans  [][]run.Input // plans[i] for events[i]
	// malformed is why the message cannot be decoded.
	malformed error
}

// prepare decodes msg and plans its events against the current triggers.
func (c *Consumer) prepare(msg kafka.Message) *work {
	w := &work{msg: msg}
	events, err := Decode(msg, c.cfg.Decode)
	if err == nil {
		events, err = applyHeaders(msg, events) // headers.go
	}
	if err != nil {
		w.malformed = err
		return w
	}
	w.events = events
	w.plans = make([][]run.Input, len(w.events))
	for i, ev := range w.events {
		w.plans[i] = c.planner.Plan(ev)
	}
	return w
}

// orderingKeys are the keys on which w must wait for earlier messages of
// its partition: a record's lane (sync runs start in commit order) and a
// `for: all` trigger's batch (records in commit order).
func (w *work) orderingKeys() []string {
	var keys []string
	for i, plan := range w.plans {
		ev := w.events[i]
		for _, in := range plan {
			switch {
			case in.ForAll:
				keys = append(keys, "batch\x00"+in.Trigger.Tag)
			case in.HasSync():
				keys = append(keys, run.LaneWorkflowID(in.Trigger.Tag, ev.QualifiedTable(), ev.Key))
			}
		}
	}
	return keys
}
