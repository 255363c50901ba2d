package trigger

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/triggerd/triggerd/run"
)

// Unknown is one evaluation of a condition on a value the change event
// does not carry (run.Event.Unavailable): a TOAST column the update left
// unchanged, or the before image of an update on a table whose replica
// identity is not FULL. Such a condition is neither true nor false; it
// never matches.
type Unknown struct {
	Trigger run.TriggerRef
	// Table is the event's schema-qualified table.
	Table string
	// Field is what was unknown: "record.body", "previousRecord".
	Field string
	// Condition is the leaf or `when:` expression that read it.
	Condition string
	Reason    string
}

// UnknownObserver is told of every Unknown while a Registry plans.
type UnknownObserver func(Unknown)

// NewUnknownLog returns an observer that calls count for every unknown
// evaluation (a metric per trigger and field) and logs the first one of
// each trigger and table at warn level, so that the log says once what
// the metric keeps counting. count may be nil.
func NewUnknownLog(log *slog.Logger, count func(trigger, field string)) UnknownObserver {
	var logged sync.Map // "tag\x00table" -> struct{}
	return func(u Unknown) {
		if count != nil {
			count(u.Trigger.Tag, u.Field)
		}
		if log == nil {
			return
		}
		if _, seen := logged.LoadOrStore(u.Trigger.Tag+"\x00"+u.Table, struct{}{}); seen {
			return
		}
		log.Warn("condition on an unavailable value is unknown: the trigger does not run for such changes (logged once per trigger and table; see docs/debezium.md)",
			"trigger", u.Trigger.Tag, "table", u.Table, "field", u.Field, "condition", u.Condition, "reason", u.Reason)
	}
}

// unknownLeaf is an unknown leaf found while matching one trigger.
type unknownLeaf struct {
	field, condition, reason string
}

// noteUnknown records an unknown leaf for the Plan that evaluates it.
func (e evalEnv) noteUnknown(field, condition, reason string) {
	if e.lazy != nil {
		e.lazy.unknown = append(e.lazy.unknown, unknownLeaf{field, condition, reason})
	}
}

// unknownNotes turns the unknown leaves of a trigger that matched anyway
// (on another branch of an or) into notes on its run.
func unknownNotes(leaves []unknownLeaf) []string {
	if len(leaves) == 0 {
		return nil
	}
	out := make([]string, 0, len(leaves))
	for _, l := range leaves {
		out = append(out, fmt.Sprintf("condition %s was unknown (%s); the trigger matched on another branch", l.condition, l.reason))
	}
	return out
}
