package run

import "time"

// The inputs of the lane, batch and queue workflows: their configuration
// and the state they carry over continue-as-new. They are here, in the
// contract, because ingest starts lanes and batches (signal-with-start)
// and the workflows package runs them; neither imports the other.
// RunTrigger's input is Input.

// LaneInput is the lane's state, carried over continue-as-new.
type LaneInput struct {
	Pending []Input `json:"pending,omitempty"`
}

// BatchInput is a batch's configuration and carried-over state.
type BatchInput struct {
	// Tag is the trigger's; Topic and Key (BatchKey) say which events
	// belong to the batch.
	Tag   string `json:"tag"`
	Topic string `json:"topic"`
	Key   string `json:"key"`
	// Window is how long the batch waits after its last event for more;
	// Size is the most events one run of the batch takes.
	Window time.Duration `json:"window"`
	Size   int           `json:"size"`
	// Linger is how long the batch stays open after its last run, to
	// recognise redeliveries. Default 10 minutes.
	Linger  time.Duration `json:"linger"`
	Fired   int           `json:"fired"`
	Seen    []string      `json:"seen,omitempty"`
	Pending []Input       `json:"pending,omitempty"`
}

// QueueInput is a queue's configuration and carried-over state.
type QueueInput struct {
	Name        string      `json:"name"`
	Concurrency int         `json:"concurrency"`
	Pending     []QueueItem `json:"pending,omitempty"`
	// Seen holds the idempotency keys of the most recent items, so that an
	// item enqueued twice (an enqueue activity retried after a crash) runs
	// once.
	Seen []string `json:"seen,omitempty"`
	// Done and Failed count the items worked through since the queue opened
	// (reported by the "stats" query).
	Done   int `json:"done"`
	Failed int `json:"failed"`
}

// DeliveryInput is a delivery workflow's configuration and carried state.
type DeliveryInput struct {
	Tag       string `json:"tag"`
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	// Linger is how long it waits for events before it closes (default
	// workflows.DefaultBatchLinger); Remember how many event ids it remembers
	// (default workflows.DefaultDeliveryRemember).
	Linger   time.Duration `json:"linger,omitempty"`
	Remember int           `json:"remember,omitempty"`
	// MaxRuns is how many runs one workflow run starts before it
	// continues as new (default: the workflow's).
	MaxRuns int `json:"maxRuns,omitempty"`
	// Carried over continue-as-new: the ids remembered, the events not
	// started yet, and whether the previous closed run was consulted.
	Seen    []string `json:"seen,omitempty"`
	Pending []Input  `json:"pending,omitempty"`
	Resumed bool     `json:"resumed,omitempty"`
	Done    int      `json:"done,omitempty"`
	Failed  int      `json:"failed,omitempty"`
}
