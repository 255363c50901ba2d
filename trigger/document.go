package trigger

import (
	"encoding/json"
	"time"
)

// Document returns the definition in the file format (what Parse reads),
// with every default written out, so that a store can keep definitions as
// JSON: Parse(json.Marshal(d)) gives d back, except File. Version,
// UpdatedBy and UpdatedAt are not part of the document.
func (d Definition) Document() map[string]any {
	doc := map[string]any{
		"tag":      d.Tag,
		"tables":   stringsAny(d.Tables),
		"events":   stringsAny(d.Events),
		"enabled":  d.Enabled,
		"priority": d.Priority,
	}
	if d.Name != "" {
		doc["name"] = d.Name
	}
	if d.Description != "" {
		doc["description"] = d.Description
	}
	if d.Condition != nil {
		doc["condition"] = d.Condition.Document()
	}
	if d.When != "" {
		doc["when"] = d.When
	}
	actions := make([]any, len(d.Actions))
	for i, a := range d.Actions {
		actions[i] = a.Document()
	}
	doc["actions"] = actions
	d.Before.document(doc)
	d.Delivery.document(doc)
	documentDeliveryBatch(d.Delivery, doc)
	d.UnknownHandling.document(doc)
	return doc
}

// MarshalJSON writes the document (see Document).
func (d Definition) MarshalJSON() ([]byte, error) { return json.Marshal(d.Document()) }

// Document returns the action in the file format.
func (a Action) Document() map[string]any {
	doc := map[string]any{"type": a.Type, "name": a.Name, "timeout": durationString(a.Timeout)}
	if a.Config != nil {
		doc["config"] = copyValue(a.Config)
	}
	if a.ContinueOnError {
		doc["continueOnError"] = true
	}
	retry := map[string]any{
		"maxAttempts":       a.Retry.MaxAttempts,
		"initialDelay":      durationString(a.Retry.InitialDelay),
		"maxDelay":          durationString(a.Retry.MaxDelay),
		"backoffMultiplier": a.Retry.BackoffMultiplier,
	}
	if a.Retry.RetryOn != nil {
		retry["retryOn"] = stringsAny(a.Retry.RetryOn)
	}
	doc["retry"] = retry
	guardDocument(a, doc)
	a.ActionTiming.document(doc)
	if a.Local != nil {
		doc["local"] = *a.Local
	}
	return doc
}

// Document returns the condition in the file format.
func (c *Condition) Document() map[string]any {
	if c == nil {
		return nil
	}
	sub := func(l []*Condition) []any {
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e.Document()
		}
		return out
	}
	switch {
	case c.And != nil:
		return map[string]any{"and": sub(c.And)}
	case c.Or != nil:
		return map[string]any{"or": sub(c.Or)}
	case c.Not != nil:
		return map[string]any{"not": c.Not.Document()}
	}
	doc := map[string]any{"field": c.Field, "operator": c.Operator}
	if c.HasValue || c.Value != nil {
		doc["value"] = copyValue(c.Value)
	}
	return doc
}

func durationString(d Duration) string { return time.Duration(d).String() }

func stringsAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// ParseDocument reads one trigger from a JSON (or YAML) document, as the
// API receives it. Structural problems (syntax, wrong types, unknown
// fields, a list instead of one trigger) are returned together as a
// *ValidationError with field paths, along with what ValidateDefinition
// finds; a definition without structural problems is returned unvalidated
// (call ValidateDefinition, or build a Set).
func ParseDocument(doc []byte, opts ...Option) (Definition, error) {
	var list []Problem
	v, ok := decodeDocument(doc, "", true, &list)
	if !ok {
		// Not JSON: try YAML, a superset, so a CLI can send either.
		var ylist []Problem
		if v, ok = decodeDocument(doc, "", false, &ylist); !ok {
			return Definition{}, &ValidationError{Problems: list}
		}
		list = nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		return Definition{}, &ValidationError{Problems: []Problem{{Reason: "must be one trigger (a JSON object)"}}}
	}
	if _, many := m["triggers"]; many {
		return Definition{}, &ValidationError{Problems: []Problem{{Field: "triggers", Reason: "unknown field (a document holds one trigger)"}}}
	}
	d := decodeDefinition(m, "", "", &list)
	if len(list) > 0 {
		buildReportingAll([]Definition{d}, &list, newOptions(opts))
		return Definition{}, &ValidationError{Problems: list}
	}
	return d, nil
}

// ValidateDefinition checks one definition alone: everything NewSet
// checks except duplicate tags across definitions. It returns a
// *ValidationError listing every problem, or nil.
func ValidateDefinition(d Definition, opts ...Option) error {
	var list []Problem
	compileDefinition(d, &list, newOptions(opts).limits)
	if len(list) > 0 {
		return &ValidationError{Problems: list}
	}
	return nil
}
