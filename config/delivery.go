package config

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/triggerd/triggerd/run"
)

// Delivery configures the delivery semantics (docs/semantics.md).
type Delivery struct {
	// MaxCascadeDepth is the deepest chain of triggers whose actions cause
	// one another; a deeper run fails. Default 3 (run.DefaultCascadeDepth),
	// as in Stryke.
	MaxCascadeDepth int `yaml:"maxCascadeDepth"`
	// OnError is the global error handler: actions in the trigger format
	// run when a run of a trigger without its own onError fails. It has no
	// environment override.
	OnError []map[string]any `yaml:"onError"`
	// BatchSize and BatchWindow shape the batches of `for: all` triggers:
	// at most BatchSize events (also the offset bucket of events without a
	// transaction id), closed BatchWindow after the last one. Defaults 100, 1s.
	BatchSize   int           `yaml:"batchSize"`
	BatchWindow time.Duration `yaml:"batchWindow"`
	// BatchLinger is how long a batch stays open after its last run to
	// recognise redelivered events without asking Temporal. Default 10m;
	// a batch reopened later reads what its runs covered (docs/semantics.md).
	BatchLinger time.Duration `yaml:"batchLinger"`
	// HeartbeatTimeout is how soon a worker that stopped heartbeating is
	// given up on: actions whose timeout exceeds twice this heartbeat, so
	// that a killed worker's action is retried elsewhere after this
	// rather than after its whole timeout. Default 30s.
	HeartbeatTimeout time.Duration `yaml:"heartbeatTimeout"`
	// LocalActivities is "on" (the default) or "off": whether actions of
	// the short types (http, cache.*, broker.publish, log, database.*)
	// whose timeout is at most LocalActivityMaxTimeout run as Temporal
	// local activities by default (docs/performance.md, "The fast
	// path"). An action's own `local:` wins either way.
	LocalActivities string `yaml:"localActivities"`
	// LocalActivityMaxTimeout is the longest action timeout that runs as
	// a local activity by default. Default 30s (the default action
	// timeout); at most twice HeartbeatTimeout, since longer actions
	// heartbeat and a local activity cannot.
	LocalActivityMaxTimeout time.Duration `yaml:"localActivityMaxTimeout"`
}

// Values of delivery.localActivities.
const (
	LocalActivitiesOn  = "on"
	LocalActivitiesOff = "off"
)

// Queue configures one named queue of queued actions.
type Queue struct {
	// Concurrency is how many of the queue's actions run at once. Default 4.
	Concurrency int `yaml:"concurrency"`
}

// Defaults of the delivery semantics.
const (
	DefaultBatchSize        = 100
	DefaultBatchWindow      = time.Second
	DefaultBatchLinger      = 10 * time.Minute
	DefaultHeartbeatTimeout = 30 * time.Second
	DefaultLocalActivities  = LocalActivitiesOn
	// DefaultLocalActivityMaxTimeout matches the default action timeout.
	DefaultLocalActivityMaxTimeout = 30 * time.Second
	DefaultQueueConcurrency        = 4
	// MaxQueueConcurrency bounds queues.<name>.concurrency: the queue's
	// workflow keeps that many activities in flight.
	MaxQueueConcurrency = 256
)

func (c *Config) setDeliveryDefaults() {
	if c.Delivery.MaxCascadeDepth == 0 {
		c.Delivery.MaxCascadeDepth = run.DefaultCascadeDepth // the workflow's default too
	}
	if c.Delivery.BatchSize == 0 {
		c.Delivery.BatchSize = DefaultBatchSize
	}
	if c.Delivery.BatchWindow == 0 {
		c.Delivery.BatchWindow = DefaultBatchWindow
	}
	if c.Delivery.BatchLinger == 0 {
		c.Delivery.BatchLinger = DefaultBatchLinger
	}
	if c.Delivery.HeartbeatTimeout == 0 {
		c.Delivery.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if c.Delivery.LocalActivities == "" {
		c.Delivery.LocalActivities = DefaultLocalActivities
	}
	if c.Delivery.LocalActivityMaxTimeout == 0 {
		c.Delivery.LocalActivityMaxTimeout = DefaultLocalActivityMaxTimeout
	}
	for name, q := range c.Queues {
		if q.Concurrency == 0 {
			q.Concurrency = DefaultQueueConcurrency
			c.Queues[name] = q
		}
	}
}

func (c *Config) validateDelivery(v *validator) {
	if c.Delivery.MaxCascadeDepth < 1 {
		v.add("delivery.maxCascadeDepth", "must be at least 1")
	}
	if c.Delivery.BatchSize < 1 {
		v.add("delivery.batchSize", "must be at least 1")
	}
	if c.Delivery.BatchWindow < 0 {
		v.add("delivery.batchWindow", "must not be negative")
	}
	if c.Delivery.BatchLinger < 0 {
		v.add("delivery.batchLinger", "must not be negative")
	}
	if c.Delivery.HeartbeatTimeout < time.Second {
		v.add("delivery.heartbeatTimeout", "must be at least 1s")
	}
	switch c.Delivery.LocalActivities {
	case LocalActivitiesOn, LocalActivitiesOff:
	default:
		v.add("delivery.localActivities", "unknown value %q (want %s or %s)", c.Delivery.LocalActivities, LocalActivitiesOn, LocalActivitiesOff)
	}
	if d := c.Delivery.LocalActivityMaxTimeout; d < 0 || d > 2*c.Delivery.HeartbeatTimeout {
		v.add("delivery.localActivityMaxTimeout", "must be between 0 and twice delivery.heartbeatTimeout (%s): longer actions heartbeat, which a local activity cannot",
			2*c.Delivery.HeartbeatTimeout)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Queues)) {
		q := c.Queues[name]
		if q.Concurrency < 1 || q.Concurrency > MaxQueueConcurrency {
			v.add(fmt.Sprintf("queues.%s.concurrency", name), "must be between 1 and %d", MaxQueueConcurrency)
		}
	}
}
