package trigger

// STUB: replaced by the trigger-language implementation. The exported
// signatures below are the contract other packages build against.

import (
	"time"

	"github.com/triggerd/triggerd/run"
)

// Set is an immutable, validated set of trigger definitions.
type Set struct{}

// Load reads trigger definitions from a file or a directory.
func Load(path string) (*Set, error) { return &Set{}, nil }

// Plan returns one run input per trigger that matches ev, ordered by
// priority (lower first) then tag.
func (s *Set) Plan(ev run.Event) []run.Input { return nil }

// Scope is what templates can reference.
type Scope struct {
	Record         map[string]any
	PreviousRecord map[string]any
	Event          string // trigger event name, e.g. afterInsert
	Table          string
	Database       string
	Operation      string
	Timestamp      time.Time
	Env            string
	User           map[string]any
	Trigger        run.TriggerRef
	RunID          string
	// Actions maps an earlier action's name to {"output": <its output>}.
	Actions map[string]any
}

// RenderConfig renders every template in cfg against scope.
func RenderConfig(cfg map[string]any, scope Scope) (map[string]any, error) { return cfg, nil }
