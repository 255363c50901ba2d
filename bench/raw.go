package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The raw baselines: what kafka-go and the Temporal SDK do without
// triggerd, measured the same way.

// fetchLoop measures a kafka-go consumer-group FetchMessage loop over a
// backlog; with decode, each value is also json.Unmarshal'ed into a map
// (what any JSON consumer does at least).
func fetchLoop(decode bool) func(context.Context, *Env, *Measure) error {
	return func(ctx context.Context, e *Env, m *Measure) error {
		topic := e.name("events")
		if err := e.createTopic(ctx, topic); err != nil {
			return err
		}
		n := e.Params.DecodeEvents
		m.expect(n)
		if err := e.produceBacklog(ctx, topic, n); err != nil {
			return err
		}
		r := e.reader(topic, 0)
		defer r.Close()
		for i := range n {
			msg, err := r.FetchMessage(ctx)
			if err != nil {
				return err
			}
			if decode {
				var v map[string]any
				if err := json.Unmarshal(msg.Value, &v); err != nil {
					return err
				}
			}
			m.done(i, time.Now())
		}
		return nil
	}
}

// noopWorkflow is started by the start baselines, which run no worker.
const noopWorkflow = "bench.Noop"

// executeLoop measures ExecuteWorkflow calls from goroutines at once
// (1: sequential, as ingest's one start in flight per consumer).
func executeLoop(goroutines int) func(context.Context, *Env, *Measure) error {
	return func(ctx context.Context, e *Env, m *Measure) error {
		n := e.Params.Starts
		m.expect(n)
		tq := e.name("tq")
		m.workflowID = func(i int) string { return e.name("wf-" + strconv.Itoa(i)) }
		m.leftOpen = true
		return parallel(ctx, n, goroutines, func(ctx context.Context, i int) error {
			_, err := e.Temporal.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: m.workflowID(i), TaskQueue: tq,
				WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			}, noopWorkflow)
			if err == nil {
				m.done(i, time.Now())
			}
			return err
		})
	}
}

// parallel calls fn for 0..n-1 from goroutines goroutines and returns the
// first error.
func parallel(ctx context.Context, n, goroutines int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return first
}

// The raw workflows post the same body as triggerd's http action, from a
// regular activity or from a local activity.
const (
	rawActivityWorkflow = "bench.OneActivity"
	rawLocalWorkflow    = "bench.LocalActivity"
	rawPostActivity     = "bench.Post"
)

// RawInput is the input of the raw workflows.
type RawInput struct {
	URL  string
	Body delivery
}

type rawActivities struct{ http *http.Client }

// Post sends in.Body to in.URL.
func (a *rawActivities) Post(ctx context.Context, in RawInput) error {
	b, _ := json.Marshal(in.Body) // two strings always marshal
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.URL, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %s", in.URL, resp.Status)
	}
	return nil
}

// rawWorkflows holds the activities its local activity calls.
type rawWorkflows struct{ acts *rawActivities }

func (rawWorkflows) oneActivity(ctx workflow.Context, in RawInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	return workflow.ExecuteActivity(ctx, rawPostActivity, in).Get(ctx, nil)
}

func (w rawWorkflows) localActivity(ctx workflow.Context, in RawInput) error {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
	return workflow.ExecuteLocalActivity(ctx, w.acts.Post, in).Get(ctx, nil)
}

// rawWorker starts a worker of the raw workflows on taskQueue.
func (e *Env) rawWorker(taskQueue string) (func(), error) {
	w := worker.New(e.Temporal.client, taskQueue, worker.Options{})
	acts := &rawActivities{http: &http.Client{}}
	wfs := rawWorkflows{acts: acts}
	w.RegisterWorkflowWithOptions(wfs.oneActivity, workflow.RegisterOptions{Name: rawActivityWorkflow})
	w.RegisterWorkflowWithOptions(wfs.localActivity, workflow.RegisterOptions{Name: rawLocalWorkflow})
	w.RegisterActivityWithOptions(acts.Post, activity.RegisterOptions{Name: rawPostActivity})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return w.Stop, nil
}

// rawWorkflow describes one raw workflow baseline.
type rawWorkflow struct {
	name  string
	eager bool // EnableEagerStart: the first task comes back in the start response
}

var (
	rawOneActivity = rawWorkflow{name: rawActivityWorkflow}
	rawLocalEager  = rawWorkflow{name: rawLocalWorkflow, eager: true}
)

// rawRuns measures completed raw runs, started back to back by one
// goroutine (as ingest starts them) with the worker in the same process.
func rawRuns(wf rawWorkflow) func(context.Context, *Env, *Measure) error {
	return func(ctx context.Context, e *Env, m *Measure) error {
		n := e.Params.Runs
		m.expect(n)
		return e.rawEndToEnd(ctx, wf, m, func(ctx context.Context, start func(context.Context, int, time.Time) error) error {
			for i := range n {
				if err := start(ctx, i, time.Now()); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// rawLatency measures raw runs started at a steady rate.
func rawLatency(wf rawWorkflow, perSecond float64) func(context.Context, *Env, *Measure) error {
	return func(ctx context.Context, e *Env, m *Measure) error {
		return e.rawEndToEnd(ctx, wf, m, func(ctx context.Context, start func(context.Context, int, time.Time) error) error {
			return e.steady(ctx, perSecond, m, start)
		})
	}
}

func (e *Env) rawEndToEnd(ctx context.Context, wf rawWorkflow, m *Measure, drive func(context.Context, func(context.Context, int, time.Time) error) error) error {
	path := e.name("hook")
	url := e.receiver.sink(path, m)
	defer e.receiver.drop(path)
	tq := e.name("tq")
	m.workflowID = func(i int) string { return e.name("wf-" + strconv.Itoa(i)) }
	stop, err := e.rawWorker(tq)
	if err != nil {
		return err
	}
	defer stop()
	start := func(ctx context.Context, i int, sent time.Time) error {
		_, err := e.Temporal.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: m.workflowID(i), TaskQueue: tq, EnableEagerStart: wf.eager,
			WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		}, wf.name, RawInput{URL: url, Body: deliveryFor(strconv.Itoa(i), sent.UnixNano())})
		return err
	}
	err = drive(ctx, start)
	if err == nil {
		err = e.waitDelivered(ctx, m)
	}
	e.waitClosed(ctx, m)
	return err
}

// directConsumer is the no-durability baseline: a kafka-go consumer that
// decodes each event and posts the webhook itself, committing offsets on
// a timer whether or not the post succeeded.
func directConsumer(steadyRate float64) func(context.Context, *Env, *Measure) error {
	return func(ctx context.Context, e *Env, m *Measure) error {
		topic := e.name("events")
		if err := e.createTopic(ctx, topic); err != nil {
			return err
		}
		path := e.name("hook")
		url := e.receiver.sink(path, m)
		defer e.receiver.drop(path)
		if steadyRate == 0 {
			m.expect(e.Params.Runs)
			if err := e.produceBacklog(ctx, topic, e.Params.Runs); err != nil {
				return err
			}
		}
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- e.consumeDirect(cctx, topic, url) }()
		var err error
		if steadyRate > 0 {
			err = e.produceSteady(ctx, topic, steadyRate, m)
		}
		if err == nil {
			err = e.waitDelivered(ctx, m)
		}
		cancel()
		return firstErr(err, <-errc)
	}
}

func (e *Env) consumeDirect(ctx context.Context, topic, url string) error {
	r := e.reader(topic, time.Second)
	defer r.Close()
	post := &rawActivities{http: &http.Client{}}
	for {
		msg, err := r.ReadMessage(ctx)
		if err != nil {
			return err
		}
		var ev nativeEvent
		if err := json.Unmarshal(msg.Value, &ev); err != nil {
			return err
		}
		body := deliveryFor(strconv.Itoa(ev.Record.ID), ev.Record.SentUnix)
		if err := post.Post(ctx, RawInput{URL: url, Body: body}); err != nil {
			e.Logger.Warn("direct consumer: post failed", "error", err)
		}
	}
}
