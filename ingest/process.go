package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/triggerd/triggerd/run"
)

// process makes w's message done: it starts every run its events cause,
// or writes it to the DLQ when it is malformed or Temporal refused one of
// its runs for good. Transient failures are retried, re-planning each
// time against the current triggers, until they succeed; process returns
// an error only when ctx ended first (the message is then not done).
func (c *Consumer) process(ctx context.Context, w *work, dlq messageWriter, log *slog.Logger) error {
	msg := w.msg
	if w.malformed != nil {
		return c.deadLetter(ctx, msg, &DeadLetterError{Kind: DeadLetterMalformed, Err: w.malformed}, dlq, log)
	}
	var rejected []error
	for i := range w.events {
		forAll, failed, err := c.startEvent(ctx, &w.events[i], w.plans[i], msg.Offset, log)
		if err != nil {
			return err
		}
		rejected = append(rejected, failed...)
		c.eventDone(w.events[i], forAll)
	}
	if len(rejected) > 0 {
		if err := c.deadLetter(ctx, msg, &DeadLetterError{Kind: DeadLetterRejected, Err: errors.Join(rejected...)}, dlq, log); err != nil {
			return err
		}
	}
	if len(w.events) == 0 {
		c.boundaryDone(msg)
	}
	return nil
}

// startEvent starts the runs of plan, in order. A transient failure is
// retried with backoff; each retry plans ev again against the current
// triggers, so a trigger disabled (or changed) meanwhile is not started
// from the stale plan. It returns the `for: all` tags ev was handed to,
// the runs Temporal refused for good, and an error only when ctx ended.
func (c *Consumer) startEvent(ctx context.Context, ev *run.Event, plan []run.Input, offset int64, log *slog.Logger) (forAll []string, rejected []error, err error) {
	handled := map[string]bool{} // runs started or refused, by workflow id
	backoff := c.cfg.StartBackoff
	for attempt := 1; ; attempt++ {
		failed := false
		for i := range plan {
			in := &plan[i]
			wfID := run.WorkflowID(in.Trigger.Tag, in.Event.ID)
			if handled[wfID] {
				continue
			}
			begin := c.now()
			err := c.starter.Start(ctx, *in)
			switch {
			case err == nil:
				handled[wfID] = true
				if in.ForAll {
					forAll = append(forAll, in.Trigger.Tag)
				}
				if log.Enabled(ctx, slog.LevelDebug) {
					log.Debug("run started", "offset", offset, "workflow_id", wfID)
				}
				if c.hooks.Started != nil {
					c.hooks.Started(*in, c.now().Sub(begin))
				}
				continue
			case ctx.Err() != nil:
				return nil, nil, ctx.Err()
			case IsRejected(err):
				handled[wfID] = true
				rejected = append(rejected, fmt.Errorf("run %s: %w", wfID, err))
				log.Warn("run refused for good, the message goes to the DLQ", "offset", offset, "workflow_id", wfID, "error", err)
				if c.hooks.StartRejected != nil {
					c.hooks.StartRejected(*in, err)
				}
				continue
			}
			failed = true
			if c.hooks.StartFailed != nil {
				c.hooks.StartFailed(*in, attempt, err)
			}
			log.Warn("start run failed, retrying", "offset", offset, "attempt", attempt, "backoff", backoff, "error", err, "workflow_id", wfID)
			break
		}
		if !failed {
			return forAll, rejected, nil
		}
		if !sleep(ctx, backoff) {
			return nil, nil, ctx.Err()
		}
		backoff = min(backoff*2, c.cfg.MaxStartBackoff)
		plan = c.planner.Plan(*ev)
	}
}

// RejectedError marks a start error as permanent: the same start cannot
// succeed later (a payload over Temporal's size limit, an invalid
// argument, an unknown namespace), so retrying would stall the partition
// for nothing.
type RejectedError struct {
	// Reason says in a few words why, for the DLQ header and logs.
	Reason string
	Err    error
}

func (e *RejectedError) Error() string {
	if e.Reason == "" {
		return e.Err.Error()
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *RejectedError) Unwrap() error { return e.Err }

// IsRejected reports whether err is permanent (a *RejectedError).
func IsRejected(err error) bool {
	var r *RejectedError
	return errors.As(err, &r)
}

// Kinds of DeadLetterError.
const (
	// DeadLetterMalformed: the message could not be decoded.
	DeadLetterMalformed = "malformed"
	// DeadLetterRejected: Temporal refused a run of the message for good.
	DeadLetterRejected = "rejected"
)

// DeadLetterError is why a message went to the DLQ.
type DeadLetterError struct {
	Kind string
	Err  error
}

func (e *DeadLetterError) Error() string { return e.Err.Error() }
func (e *DeadLetterError) Unwrap() error { return e.Err }

// DeadLetterKind returns the kind of a dead letter's reason (for metric
// labels), "malformed" for an error that does not say.
func DeadLetterKind(reason error) string {
	var d *DeadLetterError
	if errors.As(reason, &d) && d.Kind != "" {
		return d.Kind
	}
	return DeadLetterMalformed
}

// oneLine keeps a header value on one line: errors.Join separates with
// newlines.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }
