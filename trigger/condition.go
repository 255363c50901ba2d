package trigger

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
	"github.com/triggerd/triggerd/trigger/value"
)

// Operator names, in their canonical upper snake case spelling.
const (
	OpEquals              = "EQUALS"
	OpNotEquals           = "NOT_EQUALS"
	OpGreaterThan         = "GREATER_THAN"
	OpGreaterThanOrEquals = "GREATER_THAN_OR_EQUALS"
	OpLessThan            = "LESS_THAN"
	OpLessThanOrEquals    = "LESS_THAN_OR_EQUALS"
	OpIn                  = "IN"
	OpNotIn               = "NOT_IN"
	OpContains            = "CONTAINS"
	OpStartsWith          = "STARTS_WITH"
	OpEndsWith            = "ENDS_WITH"
	OpMatches             = "MATCHES"
	OpIsNull              = "IS_NULL"
	OpIsNotNull           = "IS_NOT_NULL"
	OpIsEmpty             = "IS_EMPTY"
	OpIsNotEmpty          = "IS_NOT_EMPTY"
	OpChanged             = "CHANGED"
	OpNotChanged          = "NOT_CHANGED"
	OpChangedTo           = "CHANGED_TO"
	OpChangedFrom         = "CHANGED_FROM"
)

// valueKind says what value an operator takes, checked at load.
type valueKind int

const (
	valueNone    valueKind = iota // no value (null or absent accepted)
	valueAny                      // any value, null included, but present
	valueNonNull                  // a non-null scalar
	valueList                     // a list
	valueString                   // a string
)

var operators = map[string]valueKind{
	OpEquals: valueAny, OpNotEquals: valueAny,
	OpGreaterThan: valueNonNull, OpGreaterThanOrEquals: valueNonNull, OpLessThan: valueNonNull, OpLessThanOrEquals: valueNonNull,
	OpIn: valueList, OpNotIn: valueList,
	OpContains: valueNonNull, OpStartsWith: valueString, OpEndsWith: valueString, OpMatches: valueString,
	OpIsNull: valueNone, OpIsNotNull: valueNone, OpIsEmpty: valueNone, OpIsNotEmpty: valueNone,
	OpChanged: valueNone, OpNotChanged: valueNone, OpChangedTo: valueAny, OpChangedFrom: valueAny,
}

// foldedOperators maps lower/camel spellings (equals, changedTo,
// greater_than_or_equals) to the canonical name.
var foldedOperators = func() map[string]string {
	m := make(map[string]string, len(operators))
	for op := range operators {
		m[fold(op)] = op
	}
	return m
}()

// NormalizeOperator returns the canonical spelling of an operator.
func NormalizeOperator(s string) (string, bool) {
	op, ok := foldedOperators[fold(s)]
	return op, ok
}

// conditionRoots are the roots a condition field may start with; a field
// with any other first name is a record field (status = record.status).
var conditionRoots = map[string]bool{
	"record": true, "previousRecord": true, "event": true, "table": true,
	"database": true, "schema": true, "operation": true, "user": true, "lookups": true,
}

// compiled is a condition ready to evaluate: paths parsed, operators
// normalised, regexes compiled.
type compiled struct {
	op       string // operator, or "and", "or", "not"
	field    template.Path
	value    any
	re       *regexp.Regexp
	children []*compiled
}

func compileCondition(c *Condition, field string, p problems) *compiled {
	if c == nil {
		return nil
	}
	switch {
	case c.And != nil || c.Or != nil:
		out := &compiled{op: "and"}
		list, name := c.And, "and"
		if c.Or != nil {
			out.op, list, name = "or", c.Or, "or"
		}
		for i, sub := range list {
			if ch := compileCondition(sub, fmt.Sprintf("%s[%d]", template.JoinField(field, name), i), p); ch != nil {
				out.children = append(out.children, ch)
			}
		}
		return out
	case c.Not != nil:
		ch := compileCondition(c.Not, template.JoinField(field, "not"), p)
		if ch == nil {
			return nil
		}
		return &compiled{op: "not", children: []*compiled{ch}}
	}
	out := &compiled{value: c.Value}
	op, ok := NormalizeOperator(c.Operator)
	if !ok {
		if c.Operator == "" {
			p.add(template.JoinField(field, "operator"), "is required")
		} else {
			p.add(template.JoinField(field, "operator"), "unknown operator %q", c.Operator)
		}
	}
	out.op = op
	if c.Field == "" {
		p.add(template.JoinField(field, "field"), "is required")
	} else if pt, err := template.ParsePath(c.Field); err != nil {
		p.add(template.JoinField(field, "field"), "%v", err)
	} else {
		if !conditionRoots[pt.Root] {
			// A bare field is a record field.
			pt.Segs = append([]template.Segment{{Key: pt.Root}}, pt.Segs...)
			pt.Root = "record"
		}
		out.field = pt
		changeOp := op == OpChanged || op == OpNotChanged || op == OpChangedTo || op == OpChangedFrom
		if changeOp && pt.Root != "record" && pt.Root != "previousRecord" {
			p.add(template.JoinField(field, "field"), "%s compares record and previousRecord, so the field must be a record field", op)
		}
	}
	if !ok {
		return out
	}
	vf := template.JoinField(field, "value")
	switch operators[op] {
	case valueNone:
		if c.Value != nil {
			p.add(vf, "%s takes no value", op)
		}
	case valueAny:
		if !c.HasValue {
			p.add(vf, "is required by %s", op)
		}
	case valueNonNull:
		if c.Value == nil {
			p.add(vf, "is required by %s", op)
		} else if _, isList := c.Value.([]any); isList && op != OpContains {
			p.add(vf, "%s needs a single value, not a list", op)
		}
	case valueList:
		if _, isList := c.Value.([]any); !isList {
			p.add(vf, "%s needs a list of values", op)
		}
	case valueString:
		s, isStr := c.Value.(string)
		if !isStr {
			p.add(vf, "%s needs a string", op)
		} else if op == OpMatches {
			re, err := regexp.Compile(s)
			if err != nil {
				p.add(vf, "invalid regular expression: %v", err)
			}
			out.re = re
		}
	}
	return out
}

// Trace records how a condition evaluated, node by node, so a dry run can
// show which sub-condition failed and why.
type Trace struct {
	// Condition describes the node: "and", "or", "not",
	// `record.status CHANGED_TO "cancelled"` or, for CEL, the expression.
	Condition string `json:"condition"`
	Result    bool   `json:"result"`
	// Actual is the field's value for leaves (nil when missing).
	Actual any `json:"actual,omitempty"`
	// Reason explains the result of a leaf that did not simply compare
	// (null field, type mismatch, not an update, a CEL runtime error...).
	Reason string `json:"reason,omitempty"`
	// Unknown is set when the node's value is unknown: it reads a value
	// the event does not carry (run.Event.Unavailable). Result is then
	// false, and the trigger does not match, but neither does `not`
	// make it true: unknown is not false.
	Unknown  bool    `json:"unknown,omitempty"`
	Children []Trace `json:"children,omitempty"`
}

// evalEnv is what a condition reads from an event.
type evalEnv struct {
	ev    *run.Event
	event string
	// lazy caches what is derived from the event once for every trigger
	// evaluated against it (nil: nothing is cached).
	lazy *lazyEnv
	// lookups are a before-trigger's lookup results (nil elsewhere).
	lookups map[string]any
}

// lazyEnv is per-event, per-goroutine state; never shared across events.
type lazyEnv struct {
	celVars     map[string]any
	celAct      any // the CEL activation over celVars
	changedDone bool
	// unknown collects the unknown leaves of the trigger being matched
	// (reset for each trigger).
	unknown []unknownLeaf
}

func (e evalEnv) lookup(pt template.Path) any {
	var root any
	switch pt.Root {
	case "record":
		root = mapOrNil(e.ev.Record)
	case "previousRecord":
		root = mapOrNil(e.ev.PreviousRecord)
	case "user":
		root = mapOrNil(e.ev.User)
	case "lookups":
		root = mapOrNil(e.lookups)
	case "event":
		root = e.event
	case "table":
		root = e.ev.Table
	case "database":
		root = e.ev.Database
	case "schema":
		root = e.ev.Schema
	case "operation":
		root = string(e.ev.Operation)
	}
	v, _ := template.Walk(root, pt.Segs)
	return v
}

func (c *compiled) describe() string {
	switch c.op {
	case "and", "or", "not":
		return c.op
	}
	if operators[c.op] == valueNone {
		return c.field.Src + " " + c.op
	}
	s, _ := template.Text(c.value)
	if _, ok := c.value.(string); ok {
		s = fmt.Sprintf("%q", c.value)
	}
	return c.field.Src + " " + c.op + " " + s
}

// eval evaluates c in three-valued logic: a leaf on an unavailable
// value is unknown; and is false if a child is false, else unknown if one
// is unknown; or is true if a child is true, else unknown if one is
// unknown; not of unknown is unknown. Evaluation stops at the first false
// child of an and and the first true child of an or, and the trace only
// holds the children that were evaluated.
func (c *compiled) eval(env evalEnv) Trace {
	t := Trace{Condition: c.describe()}
	switch c.op {
	case "and":
		t.Result = true
		unknown := -1 // the first unknown child
		for i, ch := range c.children {
			ct := ch.eval(env)
			t.Children = append(t.Children, ct)
			if ct.Unknown {
				if unknown < 0 {
					unknown = i
				}
				continue
			}
			if !ct.Result {
				t.Result = false
				t.Reason = "a sub-condition is false: " + ct.Condition
				return t
			}
		}
		if unknown >= 0 {
			t.Result, t.Unknown = false, true
			t.Reason = "a sub-condition is unknown: " + t.Children[unknown].Condition
		}
		return t
	case "or":
		unknown := -1
		for i, ch := range c.children {
			ct := ch.eval(env)
			t.Children = append(t.Children, ct)
			if ct.Result {
				t.Result = true
				return t
			}
			if ct.Unknown && unknown < 0 {
				unknown = i
			}
		}
		t.Reason = "no sub-condition is true"
		if unknown >= 0 {
			t.Unknown = true
			t.Reason = "no sub-condition is true, and one is unknown: " + t.Children[unknown].Condition
		}
		return t
	case "not":
		ct := c.children[0].eval(env)
		t.Children = []Trace{ct}
		if ct.Unknown {
			t.Unknown = true
			t.Reason = "the sub-condition is unknown"
			return t
		}
		t.Result = !ct.Result
		return t
	}
	if !c.isChange() {
		if field, why := template.Unavailable(env.ev, c.field.Root, c.field.Segs); why != "" {
			t.Unknown, t.Reason = true, why
			env.noteUnknown(field, t.Condition, why)
			return t
		}
	}
	actual := env.lookup(c.field)
	t.Actual = actual
	var unknownField string
	t.Result, t.Reason, unknownField = c.leaf(env, actual)
	if unknownField != "" {
		t.Unknown = true
		env.noteUnknown(unknownField, t.Condition, t.Reason)
	}
	return t
}

func (c *compiled) isChange() bool {
	switch c.op {
	case OpChanged, OpNotChanged, OpChangedTo, OpChangedFrom:
		return true
	}
	return false
}

// leaf evaluates a leaf. unknown names the unavailable field a CHANGED
// family operator needed (the result is then unknown).
func (c *compiled) leaf(env evalEnv, a any) (result bool, reason, unknown string) {
	if c.isChange() {
		return changeCheck(c.op, env.ev, c.field.Segs, c.value)
	}
	ok, why := c.compare(a)
	return ok, why, ""
}

func (c *compiled) compare(a any) (bool, string) {
	switch c.op {
	case OpEquals:
		return value.Equal(a, c.value), ""
	case OpNotEquals:
		return !value.Equal(a, c.value), ""
	case OpGreaterThan, OpGreaterThanOrEquals, OpLessThan, OpLessThanOrEquals:
		cmp, why := value.Compare(a, c.value)
		if why != "" {
			return false, why
		}
		switch c.op {
		case OpGreaterThan:
			return cmp > 0, ""
		case OpGreaterThanOrEquals:
			return cmp >= 0, ""
		case OpLessThan:
			return cmp < 0, ""
		}
		return cmp <= 0, ""
	case OpIn, OpNotIn:
		found := false
		for _, v := range c.value.([]any) {
			if value.Equal(a, v) {
				found = true
				break
			}
		}
		return found == (c.op == OpIn), ""
	case OpContains:
		switch x := a.(type) {
		case string:
			s, ok := c.value.(string)
			if !ok {
				return false, fmt.Sprintf("cannot look for %s in a string", value.Describe(c.value))
			}
			return strings.Contains(x, s), ""
		case []any:
			for _, e := range x {
				if value.Equal(e, c.value) {
					return true, ""
				}
			}
			return false, ""
		case nil:
			return false, "field is null"
		}
		return false, fmt.Sprintf("CONTAINS needs a string or a list, field is %s", value.Describe(a))
	case OpStartsWith, OpEndsWith, OpMatches:
		s, ok := a.(string)
		if !ok {
			if a == nil {
				return false, "field is null"
			}
			return false, fmt.Sprintf("%s needs a string, field is %s", c.op, value.Describe(a))
		}
		switch c.op {
		case OpStartsWith:
			return strings.HasPrefix(s, c.value.(string)), ""
		case OpEndsWith:
			return strings.HasSuffix(s, c.value.(string)), ""
		}
		return c.re.MatchString(s), ""
	case OpIsNull:
		return a == nil, ""
	case OpIsNotNull:
		return a != nil, ""
	case OpIsEmpty:
		return value.IsEmpty(a), ""
	case OpIsNotEmpty:
		return !value.IsEmpty(a), ""
	}
	return false, "unknown operator " + c.op
}

// changeCheck evaluates the CHANGED family (CHANGED, NOT_CHANGED,
// CHANGED_TO, CHANGED_FROM) for the field at segs; the CEL helpers
// changed, changedTo and changedFrom use it too, so both forms agree.
// The family compares the record and the previous record at the same
// path, and only means something on an update with a before image: on an
// update without one, or when either side's value is unavailable, the
// result is unknown and unknown names the missing field.
func changeCheck(op string, ev *run.Event, segs []template.Segment, want any) (result bool, reason, unknown string) {
	if ev.Operation != run.OperationUpdate {
		return false, fmt.Sprintf("%s applies to updates only (operation is %s)", op, ev.Operation), ""
	}
	for _, root := range []string{"record", "previousRecord"} {
		if field, why := template.Unavailable(ev, root, segs); why != "" {
			return false, why, field
		}
	}
	cur, _ := template.Walk(mapOrNil(ev.Record), segs)
	old, _ := template.Walk(mapOrNil(ev.PreviousRecord), segs)
	changed := !value.Equal(old, cur)
	switch op {
	case OpChanged:
		return changed, "", ""
	case OpNotChanged:
		return !changed, "", ""
	case OpChangedTo:
		if !changed {
			return false, "not changed", ""
		}
		return value.Equal(cur, want), fmt.Sprintf("changed from %s to %s", value.Describe(old), value.Describe(cur)), ""
	}
	if !changed {
		return false, "not changed", ""
	}
	return value.Equal(old, want), fmt.Sprintf("changed from %s to %s", value.Describe(old), value.Describe(cur)), ""
}

// mapOrNil keeps a nil map from becoming a non-nil interface, so that a
// missing row reads as null.
func mapOrNil(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}
