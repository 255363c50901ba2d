package trigger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
	"github.com/triggerd/triggerd/trigger/value"
)

// DefaultPriority is the priority of a definition that sets none. The
// defaults of an action's retry and timeout are run's (run.DefaultMaxAttempts
// and the rest), which the workflow applies too.
const DefaultPriority = 100

// Trigger event names, in their canonical (camelCase) spelling.
const (
	EventAfterInsert  = "afterInsert"
	EventAfterUpdate  = "afterUpdate"
	EventAfterDelete  = "afterDelete"
	EventAfterWrite   = "afterWrite"
	EventBeforeInsert = "beforeInsert"
	EventBeforeUpdate = "beforeUpdate"
	EventBeforeDelete = "beforeDelete"
	EventBeforeWrite  = "beforeWrite"
)

// knownEvents maps a folded spelling (lower case, no underscores) to the
// canonical name, so afterInsert, AFTER_INSERT and after_insert are one event.
var knownEvents = map[string]string{
	"afterinsert": EventAfterInsert, "afterupdate": EventAfterUpdate,
	"afterdelete": EventAfterDelete, "afterwrite": EventAfterWrite,
	"beforeinsert": EventBeforeInsert, "beforeupdate": EventBeforeUpdate,
	"beforedelete": EventBeforeDelete, "beforewrite": EventBeforeWrite,
}

func fold(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(s, "_", ""), "-", ""))
}

// NormalizeEvent returns the canonical spelling of a trigger event name.
func NormalizeEvent(s string) (string, bool) {
	e, ok := knownEvents[fold(s)]
	return e, ok
}

// Duration is a definition's duration (value.Duration): a Go duration
// string or milliseconds.
type Duration = value.Duration

// Definition is one trigger as written in a file, with defaults applied.
type Definition struct {
	// File is the file the definition was read from (empty when built in
	// code); it only serves error messages.
	File        string
	Tag         string
	Name        string
	Description string
	// Tables lists table, schema.table or db.table (db.schema.table) entries.
	Tables []string
	// Events holds canonical event names (afterInsert, ...).
	Events    []string
	Enabled   bool
	Priority  int
	Condition *Condition
	// When is a CEL expression that must also hold (see docs/triggers.md).
	When    string
	Actions []Action
	// Before holds a before-trigger's lookups, set and validate rules
	// (before.go), which the gate runs.
	Before BeforeRules
	// Delivery holds the delivery fields (for, onlyOnChange, snapshot,
	// onError...; see delivery_fields.go).
	Delivery
	// UnknownHandling holds onUnknown and refetch (unknown_fields.go).
	UnknownHandling

	// Version, UpdatedBy and UpdatedAt describe the stored revision of the
	// definition (set by a store, zero for files). They are not part of the
	// document (Document, MarshalJSON); Plan copies Version into
	// run.Input.Trigger.Version so a run records what it executed.
	Version   int64
	UpdatedBy string
	UpdatedAt time.Time

	// pos locates the definition in its file ("triggers[2]"); problems of
	// a trigger without a tag use it, since there is no tag to name it by.
	pos string
}

// BeforeEvents returns the before* events the definition lists. They
// never match change events (those arrive after the commit): the gate
// (package gate) runs before-triggers when the application asks it.
func (d Definition) BeforeEvents() []string {
	var out []string
	for _, e := range d.Events {
		if strings.HasPrefix(e, "before") {
			out = append(out, e)
		}
	}
	return out
}

// Action is one step of a trigger.
type Action struct {
	Type            string
	Name            string
	Config          map[string]any
	Retry           Retry
	ContinueOnError bool
	Timeout         Duration
	// Quota, Breaker and Fallback protect the action's targets (quotas_breakers.go).
	Quota    *run.QuotaSpec
	Breaker  *run.BreakerSpec
	Fallback []Fallback
	// Timing and Queue (see delivery_fields.go).
	ActionTiming
	// Local, when set, says whether the action runs as a local activity
	// (local.go); nil leaves it to the type and timeout.
	Local *bool
}

// Retry is an action's retry policy as written (Ductape's field names).
type Retry struct {
	MaxAttempts       int
	InitialDelay      Duration
	MaxDelay          Duration
	BackoffMultiplier float64
	RetryOn           []string
}

// Condition is a leaf {field, operator, value} or a combinator: exactly one
// of the groups (leaf fields, And, Or, Not) is set.
type Condition struct {
	Field    string
	Operator string
	Value    any
	// HasValue tells "value: null" apart from no value at all.
	HasValue bool
	And      []*Condition
	Or       []*Condition
	Not      *Condition
}

// Parse reads the definitions of one file: a single trigger, a list of
// triggers or {triggers: [...]}. file names the source in problems and
// selects the decoder (.json is read as JSON, anything else as YAML).
// Structural problems (wrong types, unknown fields) are returned together
// as a *ValidationError; semantic checks happen in NewSet.
func Parse(data []byte, file string, opts ...Option) ([]Definition, error) {
	var list []Problem
	defs := parseInto(data, file, &list)
	if len(list) > 0 {
		// Also report what NewSet would find, so one run lists everything.
		buildReportingAll(defs, &list, newOptions(opts))
		return nil, &ValidationError{Problems: list}
	}
	return defs, nil
}

func parseInto(data []byte, file string, list *[]Problem) []Definition {
	doc, ok := decodeDocument(data, file, strings.EqualFold(filepath.Ext(file), ".json"), list)
	if !ok {
		return nil
	}
	return definitionsOf(doc, file, list)
}

// decodeDocument decodes JSON or YAML into plain values (maps, lists,
// strings, int, float64, bool, nil).
func decodeDocument(data []byte, file string, isJSON bool, list *[]Problem) (any, bool) {
	top := problems{file: file, list: list}
	if !checkUTF8(data, top) {
		return nil, false
	}
	var doc any
	if isJSON {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			top.add("", "invalid JSON: %v", err)
			return nil, false
		}
		if dec.More() {
			top.add("", "invalid JSON: data after the top-level value")
			return nil, false
		}
		doc = normalizeJSON(doc)
	} else if err := yaml.Unmarshal(data, &doc); err != nil {
		top.add("", "invalid YAML: %v", err)
		return nil, false
	} else {
		doc = normalizeYAML(doc)
	}
	return doc, true
}

func definitionsOf(doc any, file string, list *[]Problem) []Definition {
	top := problems{file: file, list: list}
	var items []any
	field := ""
	switch x := doc.(type) {
	case nil:
		return nil
	case []any:
		items = x
	case map[string]any:
		if ts, ok := x["triggers"]; ok {
			for k := range x {
				if k != "triggers" {
					top.add(k, "unknown field (a file with triggers: holds nothing else)")
				}
			}
			l, ok := ts.([]any)
			if !ok {
				top.add("triggers", "must be a list of triggers")
				return nil
			}
			items, field = l, "triggers"
		} else {
			items = []any{x}
		}
	default:
		top.add("", "must be a trigger, a list of triggers or {triggers: [...]}")
		return nil
	}
	var defs []Definition
	for i, it := range items {
		prefix := ""
		if len(items) > 1 || field != "" || isList(doc) {
			prefix = fmt.Sprintf("%s[%d]", field, i)
		}
		m, ok := it.(map[string]any)
		if !ok {
			top.add(prefix, "must be a mapping")
			continue
		}
		defs = append(defs, decodeDefinition(m, file, prefix, list))
	}
	return defs
}

func isList(v any) bool { _, ok := v.([]any); return ok }

// normalizeYAML makes YAML values look like JSON ones: non-string map keys
// (a YAML 200: key) become strings and timestamps (an unquoted
// 2026-01-01T00:00:00Z) become RFC 3339 strings, so configs survive the
// JSON round trip into the workflow unchanged.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeYAML(e)
		}
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalizeYAML(e)
		}
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return v
}

// normalizeJSON turns json.Numbers into int (whole) or float64 so that
// JSON and YAML files produce the same values.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeJSON(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeJSON(e)
		}
	}
	return v
}

var definitionFields = append(append(append(append([]string{"tag", "name", "description", "tables", "events", "enabled", "priority", "condition", "when", "actions"}, deliveryFields...), beforeFields...), unknownHandlingFields...), deliveryBatchFields...)
var actionFields = append([]string{"type", "name", "config", "retry", "continueOnError", "timeout", "quota", "breaker", "fallback", "local"}, actionTimingFields...)
var retryFields = []string{"maxAttempts", "initialDelay", "maxDelay", "backoffMultiplier", "retryOn"}

func unknownFields(m map[string]any, allowed []string, field string, p problems) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !contains(allowed, k) {
			p.add(template.JoinField(field, k), "unknown field")
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// decodeDefinition decodes one trigger. It returns the definition even
// when it has problems so that the semantic checks run on it as well.
func decodeDefinition(m map[string]any, file, prefix string, list *[]Problem) Definition {
	d := Definition{File: file, Enabled: true, Priority: DefaultPriority, pos: prefix}
	tag, _ := m["tag"].(string)
	p := problems{file: file, tag: tag, list: list}
	if tag != "" {
		// The tag names the trigger in problems; no need for its position.
		prefix = ""
	}
	f := func(name string) string { return template.JoinField(prefix, name) }
	unknownFields(m, definitionFields, prefix, p)
	d.Tag = getString(m, "tag", f("tag"), p)
	d.Name = getString(m, "name", f("name"), p)
	d.Description = getString(m, "description", f("description"), p)
	d.Tables = getStrings(m, "tables", f("tables"), p)
	for i, e := range getStrings(m, "events", f("events"), p) {
		ce, ok := NormalizeEvent(e)
		if !ok {
			p.add(fmt.Sprintf("%s[%d]", f("events"), i), "unknown event %q (want afterInsert, afterUpdate, afterDelete, afterWrite or a before* event)", e)
			continue
		}
		d.Events = append(d.Events, ce)
	}
	if v, ok := m["enabled"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			p.add(f("enabled"), "must be true or false")
		}
		d.Enabled = b
	}
	if v, ok := m["priority"]; ok && v != nil {
		n, ok := toInt(v)
		if !ok {
			p.add(f("priority"), "must be an integer")
		}
		d.Priority = n
	}
	if v, ok := m["condition"]; ok && v != nil {
		d.Condition = decodeCondition(v, f("condition"), p)
	}
	d.When = getString(m, "when", f("when"), p)
	d.Before = decodeBefore(m, d, f, p)
	if v, ok := m["actions"]; ok && v != nil {
		l, ok := v.([]any)
		if !ok {
			p.add(f("actions"), "must be a list of actions")
		}
		for i, a := range l {
			d.Actions = append(d.Actions, decodeAction(a, i, fmt.Sprintf("%s[%d]", f("actions"), i), p))
		}
	}
	d.Delivery = decodeDelivery(m, f, p)
	decodeDeliveryBatch(m, f, p, &d.Delivery) // delivery_batch.go
	d.UnknownHandling = decodeUnknownHandling(m, f, p)
	return d
}

func decodeAction(v any, i int, field string, p problems) Action {
	a := Action{Retry: Retry{MaxAttempts: run.DefaultMaxAttempts, InitialDelay: Duration(run.DefaultInitialInterval),
		MaxDelay: Duration(run.DefaultMaxInterval), BackoffMultiplier: run.DefaultBackoffCoefficient}, Timeout: Duration(run.DefaultActionTimeout)}
	m, ok := v.(map[string]any)
	if !ok {
		p.add(field, "must be a mapping")
		return a
	}
	unknownFields(m, actionFields, field, p)
	a.ActionTiming = decodeActionTiming(m, field, p)
	a.Type = getString(m, "type", template.JoinField(field, "type"), p)
	a.Name = getString(m, "name", template.JoinField(field, "name"), p)
	if a.Name == "" {
		a.Name = fmt.Sprintf("%s-%d", a.Type, i)
	}
	if c, ok := m["config"]; ok && c != nil {
		cm, ok := c.(map[string]any)
		if !ok {
			p.add(template.JoinField(field, "config"), "must be a mapping")
		}
		a.Config = cm
	}
	if c, ok := m["continueOnError"]; ok && c != nil {
		b, ok := c.(bool)
		if !ok {
			p.add(template.JoinField(field, "continueOnError"), "must be true or false")
		}
		a.ContinueOnError = b
	}
	if t, ok := m["timeout"]; ok && t != nil {
		d, err := value.ParseDuration(t)
		if err != nil {
			p.add(template.JoinField(field, "timeout"), "%v", err)
		} else if d == 0 {
			// Checked here: NewSet reads 0 as "not set" and defaults it.
			p.add(template.JoinField(field, "timeout"), "must be positive")
		}
		a.Timeout = d
	}
	decodeGuard(&a, m, field, p)
	a.Local = decodeLocal(m, field, p) // local.go
	if r, ok := m["retry"]; ok && r != nil {
		rf := template.JoinField(field, "retry")
		rm, ok := r.(map[string]any)
		if !ok {
			p.add(rf, "must be a mapping")
			return a
		}
		unknownFields(rm, retryFields, rf, p)
		if x, ok := rm["maxAttempts"]; ok && x != nil {
			n, ok := toInt(x)
			if !ok {
				p.add(template.JoinField(rf, "maxAttempts"), "must be an integer")
			} else if n < 1 {
				// Checked here: NewSet reads 0 as "not set" and defaults it.
				p.add(template.JoinField(rf, "maxAttempts"), "must be at least 1")
			}
			a.Retry.MaxAttempts = n
		}
		for _, k := range []string{"initialDelay", "maxDelay"} {
			if x, ok := rm[k]; ok && x != nil {
				d, err := value.ParseDuration(x)
				if err != nil {
					p.add(template.JoinField(rf, k), "%v", err)
				}
				if k == "initialDelay" {
					a.Retry.InitialDelay = d
				} else {
					a.Retry.MaxDelay = d
				}
			}
		}
		if x, ok := rm["backoffMultiplier"]; ok && x != nil {
			f, ok := value.Number(x)
			if !ok {
				p.add(template.JoinField(rf, "backoffMultiplier"), "must be a number")
			} else if f < 1 {
				p.add(template.JoinField(rf, "backoffMultiplier"), "must be at least 1")
			}
			a.Retry.BackoffMultiplier = f
		}
		a.Retry.RetryOn = getStrings(rm, "retryOn", template.JoinField(rf, "retryOn"), p)
	}
	return a
}

// conditionFields are the keys a condition mapping may hold.
var conditionFields = []string{"field", "operator", "value", "and", "or", "not"}

func decodeCondition(v any, field string, p problems) *Condition {
	m, ok := v.(map[string]any)
	if !ok {
		p.add(field, "must be a mapping ({field, operator, value}, {and: [...]}, {or: [...]} or {not: {...}})")
		return nil
	}
	unknownFields(m, conditionFields, field, p)
	c := &Condition{}
	groups := 0
	if _, ok := m["field"]; ok {
		groups++
	} else if _, ok := m["operator"]; ok {
		groups++
	}
	for _, k := range []string{"and", "or"} {
		x, ok := m[k]
		if !ok {
			continue
		}
		groups++
		l, ok := x.([]any)
		if !ok {
			p.add(template.JoinField(field, k), "must be a list of conditions")
			continue
		}
		if len(l) == 0 {
			p.add(template.JoinField(field, k), "must not be empty")
		}
		for i, e := range l {
			sub := decodeCondition(e, fmt.Sprintf("%s[%d]", template.JoinField(field, k), i), p)
			if k == "and" {
				c.And = append(c.And, sub)
			} else {
				c.Or = append(c.Or, sub)
			}
		}
	}
	if x, ok := m["not"]; ok {
		groups++
		c.Not = decodeCondition(x, template.JoinField(field, "not"), p)
	}
	if groups != 1 {
		p.add(field, "must hold exactly one of {field, operator, value}, and, or, not")
		return c
	}
	if c.And != nil || c.Or != nil || c.Not != nil {
		if _, ok := m["value"]; ok {
			p.add(template.JoinField(field, "value"), "unexpected next to and/or/not")
		}
		return c
	}
	c.Field = getString(m, "field", template.JoinField(field, "field"), p)
	c.Operator = getString(m, "operator", template.JoinField(field, "operator"), p)
	c.Value, c.HasValue = m["value"]
	return c
}

func getString(m map[string]any, key, field string, p problems) string {
	v, ok := m[key]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.add(field, "must be a string")
	}
	return s
}

func getStrings(m map[string]any, key, field string, p problems) []string {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	if s, ok := v.(string); ok {
		// A lone string is accepted where a list is expected: tables: users.
		return []string{s}
	}
	l, ok := v.([]any)
	if !ok {
		p.add(field, "must be a list of strings")
		return nil
	}
	out := make([]string, 0, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			p.add(fmt.Sprintf("%s[%d]", field, i), "must be a string")
			continue
		}
		out = append(out, s)
	}
	return out
}

func toInt(v any) (int, bool) {
	f, ok := value.Number(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, false
	}
	if _, isStr := v.(string); isStr {
		return 0, false
	}
	return int(f), true
}
