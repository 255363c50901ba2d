package ingest

import (
	"encoding/json"
	"fmt"

	"github.com/segmentio/kafka-go"

	"github.com/triggerd/triggerd/run"
)

// This file reads the delivery headers (and their record-field
// counterparts) strictly: a value that does not parse makes the message
// malformed, so the consumer dead-letters it with the reason instead of
// running triggers on a guess (a junk cascade chain, or "don't skip" for a
// skip value nobody defined).

// deliveryHeaders are the message's parsed delivery headers.
type deliveryHeaders struct {
	skip  bool
	chain []string
}

// parseHeaders reads HeaderSkipTriggers and HeaderCascade. A header may be
// repeated only with the same value.
func parseHeaders(msg kafka.Message) (deliveryHeaders, error) {
	var h deliveryHeaders
	seen := map[string]string{}
	for _, kh := range msg.Headers {
		if kh.Key != run.HeaderSkipTriggers && kh.Key != run.HeaderCascade {
			continue
		}
		v := string(kh.Value)
		if prev, ok := seen[kh.Key]; ok && prev != v {
			return h, fmt.Errorf("header %s: repeated with different values %q and %q", kh.Key, truncate(prev), truncate(v))
		}
		seen[kh.Key] = v
		switch kh.Key {
		case run.HeaderSkipTriggers:
			skip, err := run.ParseSkip(v)
			if err != nil {
				return h, fmt.Errorf("header %s: %w", kh.Key, err)
			}
			h.skip = skip
		case run.HeaderCascade:
			if err := run.ValidateCascade(v); err != nil {
				return h, fmt.Errorf("header %s: %w", kh.Key, err)
			}
			h.chain = run.ParseCascade(v)
		}
	}
	return h, nil
}

// skipField reads a record's FieldSkipTriggers: a boolean, NULL (false), a
// number 0 or 1, or a string ParseSkip accepts.
func skipField(v any) (bool, error) {
	switch x := v.(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	case string:
		return run.ParseSkip(x)
	case json.Number:
		return run.ParseSkip(x.String())
	case float64:
		return run.ParseSkip(fmt.Sprint(x))
	}
	return false, fmt.Errorf("unknown value %s (want true or false)", truncate(fmt.Sprint(v)))
}

// truncate keeps a quoted value short in a DLQ reason.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// applyHeaders applies the message's delivery headers to its events: a
// HeaderSkipTriggers header drops them all (an import that must not run
// triggers), a FieldSkipTriggers field in a record drops that event, and
// HeaderCascade (or, for a change written by a database action, the
// FieldCascade column, unless it is stale: see markerCascade) gives each
// the cascade chain of the run that produced it. A value that does not
// parse (headers.go) is an error: the message goes to the DLQ.
func applyHeaders(msg kafka.Message, events []run.Event) ([]run.Event, error) {
	h, err := parseHeaders(msg)
	if err != nil || h.skip {
		return nil, err
	}
	out := events[:0]
	for _, ev := range events {
		if v, ok := ev.Record[run.FieldSkipTriggers]; ok {
			skip, err := skipField(v)
			if err != nil {
				return nil, fmt.Errorf("record field %s: %w", run.FieldSkipTriggers, err)
			}
			if skip {
				continue
			}
		}
		switch {
		case len(h.chain) > 0:
			ev.Cascade = h.chain
		case ev.Record[run.FieldCascade] != nil:
			// A database write by a run: its marker column.
			chain, err := markerCascade(ev)
			if err != nil {
				return nil, fmt.Errorf("record field %s: %w", run.FieldCascade, err)
			}
			ev.Cascade = chain
		}
		out = append(out, ev)
	}
	return out, nil
}
