package config

import (
	"fmt"
	"maps"
	"slices"
)

// Delivery configures the delivery semantics (docs/semantics.md).
type Delivery struct {
	// MaxCascadeDepth is the deepest chain of triggers whose actions cause
	// one another; a deeper run fails. Default 3, as in Stryke.
	MaxCascadeDepth int `yaml:"maxCascadeDepth"`
	// OnError is the global error handler: actions in the trigger format
	// run when a run of a trigger without its own onError fails. It has no
	// environment override.
	OnError []map[string]any `yaml:"onError"`
}

// Queue configures one named queue of queued actions.
type Queue struct {
	// Concurrency is how many of the queue's actions run at once. Default 4.
	Concurrency int `yaml:"concurrency"`
}

// Defaults of the delivery semantics.
const (
	DefaultMaxCascadeDepth  = 3
	DefaultQueueConcurrency = 4
	// MaxQueueConcurrency bounds queues.<name>.concurrency: the queue's
	// workflow keeps that many activities in flight.
	MaxQueueConcurrency = 256
)

func (c *Config) setDeliveryDefaults() {
	if c.Delivery.MaxCascadeDepth == 0 {
		c.Delivery.MaxCascadeDepth = DefaultMaxCascadeDepth
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
	for _, name := range slices.Sorted(maps.Keys(c.Queues)) {
		q := c.Queues[name]
		if q.Concurrency < 1 || q.Concurrency > MaxQueueConcurrency {
			v.add(fmt.Sprintf("queues.%s.concurrency", name), "must be between 1 and %d", MaxQueueConcurrency)
		}
	}
}
