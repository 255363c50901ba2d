package trigger

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
	"github.com/triggerd/triggerd/trigger/value"
)

// Before-triggers (beforeInsert, beforeUpdate, beforeDelete, beforeWrite)
// do not run from change events: the application asks the gate (package
// gate) before it writes, and the gate evaluates them in memory from the
// loaded set. What they may do is therefore limited to what is
// synchronous and fast: lookups with a strict time budget, set rules
// (defaults, normalisation, computed fields) and validate rules. Actions,
// which retry for minutes in Temporal, belong to after-triggers.

// BeforeRules are the rules of a before-trigger, evaluated in this order
// for each record: lookups, then set (each rule sees the previous one's
// change), then validate (which sees the record as it will be written).
type BeforeRules struct {
	Lookups  []Lookup
	Set      []SetRule
	Validate []ValidateRule
}

// Empty reports whether no before-rule is defined.
func (b BeforeRules) Empty() bool {
	return len(b.Lookups) == 0 && len(b.Set) == 0 && len(b.Validate) == 0
}

// Lookup is a synchronous, read-only query whose result later rules read
// as lookups.<name>: an HTTP call (HTTP) or a SQL query (SQL), which are
// templates rendered against the record.
type Lookup struct {
	Name string
	// Kind is "http" or "sql"; Config is its mapping (templates allowed).
	Kind   string
	Config map[string]any
	// Timeout bounds the lookup (DefaultLookupTimeout when 0).
	Timeout Duration
	// OnError is LookupReject (the record is rejected: fail closed) or
	// LookupContinue (lookups.<name> reads as Default).
	OnError string
	Default any
}

// Lookup failure policies and defaults.
const (
	LookupReject         = "reject"
	LookupContinue       = "continue"
	DefaultLookupTimeout = 200 * Duration(1e6) // 200ms
	// MaxLookupTimeout keeps the gate synchronous: a lookup that may take
	// longer belongs to an after-trigger action.
	MaxLookupTimeout = 5 * Duration(1e9)
)

// SetRule assigns a field of the record: Value (a literal or a template)
// or Expr (a CEL expression). With IfMissing it only fills a field that
// is absent, null or "" (a default).
type SetRule struct {
	Field     string
	Value     any
	Expr      string
	IfMissing bool
}

// ValidateRule is an assertion on the record (Gel's assert): Condition or
// Expr must hold, else the record is rejected with Message (a template)
// for Field (defaulting to the condition's field).
type ValidateRule struct {
	Condition *Condition
	Expr      string
	Message   string
	Field     string
}

var beforeFields = []string{"lookups", "set", "validate"}

// lookupNamePattern keeps lookup names usable as lookups.<name> in CEL.
var lookupNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
var lookupFields = []string{"name", "http", "sql", "timeout", "onError", "default"}
var setRuleFields = []string{"field", "value", "expr", "ifMissing"}
var validateRuleFields = []string{"condition", "expr", "message", "field"}

// beforeTriggerFields are the trigger-level keys a before-trigger may
// have. Any other (durable-execution, timing or cascade settings other
// files add for after-triggers) is refused on a before-trigger, so a
// setting never silently does nothing; actions are refused in
// compileBefore with their own message.
var beforeTriggerFields = append([]string{"tag", "name", "description", "tables", "events", "enabled", "priority", "condition", "when", "actions"}, beforeFields...)

// decodeBefore reads the before-rule keys of a trigger mapping (d holds
// what is decoded so far: its events say whether it is a before-trigger).
func decodeBefore(m map[string]any, d Definition, f func(string) string, p problems) BeforeRules {
	var b BeforeRules
	if d.IsBefore() {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !contains(beforeTriggerFields, k) && contains(definitionFields, k) {
				p.add(f(k), "not supported on a before-trigger: it runs synchronously in the gate, while %s is a setting of durable after-trigger runs", k)
			}
		}
	}
	list := func(key string) []any {
		v, ok := m[key]
		if !ok || v == nil {
			return nil
		}
		l, ok := v.([]any)
		if !ok {
			p.add(f(key), "must be a list")
		}
		return l
	}
	// each decodes the mappings of the list under key.
	each := func(key string, allowed []string, fn func(m map[string]any, field string)) {
		for i, v := range list(key) {
			field := fmt.Sprintf("%s[%d]", f(key), i)
			m, ok := v.(map[string]any)
			if !ok {
				p.add(field, "must be a mapping")
				continue
			}
			unknownFields(m, allowed, field, p)
			fn(m, field)
		}
	}
	each("lookups", lookupFields, func(lm map[string]any, field string) {
		l := Lookup{Name: getString(lm, "name", template.JoinField(field, "name"), p), OnError: getString(lm, "onError", template.JoinField(field, "onError"), p), Default: lm["default"]}
		for _, k := range []string{"http", "sql"} {
			if c, ok := lm[k]; ok && c != nil {
				cm, ok := c.(map[string]any)
				if !ok {
					p.add(template.JoinField(field, k), "must be a mapping")
				}
				if l.Kind != "" {
					p.add(field, "must hold one of http and sql, not both")
				}
				l.Kind, l.Config = k, cm
			}
		}
		if t, ok := lm["timeout"]; ok && t != nil {
			d, err := value.ParseDuration(t)
			if err != nil {
				p.add(template.JoinField(field, "timeout"), "%v", err)
			} else if d == 0 {
				p.add(template.JoinField(field, "timeout"), "must be positive")
			}
			l.Timeout = d
		}
		b.Lookups = append(b.Lookups, l)
	})
	each("set", setRuleFields, func(sm map[string]any, field string) {
		r := SetRule{Field: getString(sm, "field", template.JoinField(field, "field"), p), Value: sm["value"], Expr: getString(sm, "expr", template.JoinField(field, "expr"), p)}
		if x, ok := sm["ifMissing"]; ok && x != nil {
			bv, ok := x.(bool)
			if !ok {
				p.add(template.JoinField(field, "ifMissing"), "must be true or false")
			}
			r.IfMissing = bv
		}
		if _, has := sm["value"]; has && r.Expr != "" {
			p.add(field, "must hold one of value and expr, not both")
		} else if !has && r.Expr == "" {
			p.add(template.JoinField(field, "value"), "is required (or expr)")
		}
		b.Set = append(b.Set, r)
	})
	each("validate", validateRuleFields, func(vm map[string]any, field string) {
		r := ValidateRule{Expr: getString(vm, "expr", template.JoinField(field, "expr"), p),
			Message: getString(vm, "message", template.JoinField(field, "message"), p), Field: getString(vm, "field", template.JoinField(field, "field"), p)}
		if c, ok := vm["condition"]; ok && c != nil {
			r.Condition = decodeCondition(c, template.JoinField(field, "condition"), p)
		}
		b.Validate = append(b.Validate, r)
	})
	return b
}

// document writes the before-rules into a trigger document.
func (b BeforeRules) document(doc map[string]any) {
	if len(b.Lookups) > 0 {
		l := make([]any, len(b.Lookups))
		for i, x := range b.Lookups {
			m := map[string]any{"name": x.Name, x.Kind: copyValue(x.Config)}
			if x.Timeout != 0 {
				m["timeout"] = durationString(x.Timeout)
			}
			if x.OnError != "" {
				m["onError"] = x.OnError
			}
			if x.Default != nil {
				m["default"] = copyValue(x.Default)
			}
			l[i] = m
		}
		doc["lookups"] = l
	}
	if len(b.Set) > 0 {
		l := make([]any, len(b.Set))
		for i, x := range b.Set {
			m := map[string]any{"field": x.Field}
			if x.Expr != "" {
				m["expr"] = x.Expr
			} else {
				m["value"] = copyValue(x.Value)
			}
			if x.IfMissing {
				m["ifMissing"] = true
			}
			l[i] = m
		}
		doc["set"] = l
	}
	if len(b.Validate) > 0 {
		l := make([]any, len(b.Validate))
		for i, x := range b.Validate {
			m := map[string]any{}
			if x.Condition != nil {
				m["condition"] = x.Condition.Document()
			}
			for k, v := range map[string]string{"expr": x.Expr, "message": x.Message, "field": x.Field} {
				if v != "" {
					m[k] = v
				}
			}
			l[i] = m
		}
		doc["validate"] = l
	}
}

// IsBefore reports whether the definition is a before-trigger (it lists
// before* events).
func (d Definition) IsBefore() bool { return len(d.BeforeEvents()) > 0 }

// beforeEntry is a before-trigger compiled for the gate.
type beforeEntry struct {
	events   map[string]bool
	lookups  []compiledLookup
	set      []compiledSet
	validate []compiledValidate
}

type compiledLookup struct {
	Lookup
}

type compiledSet struct {
	field template.Path
	value any
	expr  *valueProgram
	src   SetRule
}

type compiledValidate struct {
	cond    *compiled
	when    whenProgram
	field   string
	message string
}

// valueProgram is a CEL expression of any type (a set rule's expr).
type valueProgram struct {
	src string
	prg cel.Program
}

// compileBefore checks the before-trigger rules of d (and that an
// after-trigger has none) and compiles them into e.
func compileBefore(d Definition, e *entry, p problems, lim Limits) {
	before, after := d.BeforeEvents(), len(d.Events)-len(d.BeforeEvents())
	if len(before) == 0 {
		if readsLookups(e.cond) {
			p.add("condition", "reads lookups, which only before-triggers have")
		}
		if celReadsLookups(d.When) {
			p.add("when", "reads lookups, which only before-triggers have")
		}
		for _, r := range []struct {
			key string
			n   int
		}{{"lookups", len(d.Before.Lookups)}, {"set", len(d.Before.Set)}, {"validate", len(d.Before.Validate)}} {
			if r.n > 0 {
				p.add(r.key, "only before-triggers (before* events) have %s; an after-trigger runs actions", r.key)
			}
		}
		return
	}
	if after > 0 {
		p.add("events", "mixes before* and after* events: a before-trigger runs synchronously in the gate, an after-trigger durably from change events; split it into two triggers")
	}
	if len(d.Actions) > 0 {
		p.add("actions", "a before-trigger cannot run actions: it runs synchronously in the gate, while actions need durable execution (retries over minutes, queues, timing); move them to an after-trigger, or use lookups for a read")
	}
	if d.Before.Empty() {
		p.add("validate", "a before-trigger needs at least one of lookups, set and validate")
	}
	be := &beforeEntry{events: map[string]bool{}}
	for _, ev := range before {
		be.events[ev] = true
	}
	names := map[string]bool{}
	for i, l := range d.Before.Lookups {
		field := fmt.Sprintf("lookups[%d]", i)
		switch {
		case l.Name == "":
			p.add(template.JoinField(field, "name"), "is required")
		case !lookupNamePattern.MatchString(l.Name):
			p.add(template.JoinField(field, "name"), "%q must be a lower-case identifier (letters, digits, _)", l.Name)
		case names[l.Name]:
			p.add(template.JoinField(field, "name"), "duplicate lookup name %q", l.Name)
		}
		names[l.Name] = true
		if l.Timeout == 0 {
			l.Timeout = DefaultLookupTimeout
		}
		if l.Timeout > MaxLookupTimeout {
			p.add(template.JoinField(field, "timeout"), "must be at most %s: the gate answers synchronously (use an after-trigger action for slow work)", MaxLookupTimeout.Std())
		}
		switch l.OnError {
		case "":
			l.OnError = LookupReject
		case LookupReject, LookupContinue:
		default:
			p.add(template.JoinField(field, "onError"), "unknown policy %q (want reject or continue)", l.OnError)
		}
		switch l.Kind {
		case "":
			p.add(field, "must hold one of http and sql")
		case "http":
			checkLookupHTTP(l.Config, template.JoinField(field, "http"), p)
		case "sql":
			checkLookupSQL(l.Config, template.JoinField(field, "sql"), p)
		}
		checkBeforeTemplates(l.Config, template.JoinField(field, l.Kind), true, p)
		be.lookups = append(be.lookups, compiledLookup{l})
	}
	for i, r := range d.Before.Set {
		field := fmt.Sprintf("set[%d]", i)
		cs := compiledSet{value: r.Value, src: r}
		pt, err := template.ParsePath(r.Field)
		switch {
		case r.Field == "":
			p.add(template.JoinField(field, "field"), "is required")
		case err != nil:
			p.add(template.JoinField(field, "field"), "%v", err)
		default:
			if pt.Root == "record" {
				pt.Segs, pt.Root = pt.Segs[1:], pt.Segs[0].Key
			}
			if len(pt.Segs) > 0 || pt.Root == "" {
				p.add(template.JoinField(field, "field"), "%q: set assigns a top-level column of the record", r.Field)
			}
			cs.field = pt
		}
		if r.Expr != "" {
			cs.expr = compileValue(r.Expr, template.JoinField(field, "expr"), p, lim)
		} else {
			checkBeforeTemplates(r.Value, template.JoinField(field, "value"), false, p)
		}
		be.set = append(be.set, cs)
	}
	for i, r := range d.Before.Validate {
		field := fmt.Sprintf("validate[%d]", i)
		cv := compiledValidate{field: r.Field, message: r.Message}
		switch {
		case r.Condition != nil && r.Expr != "":
			p.add(field, "must hold one of condition and expr, not both")
		case r.Condition != nil:
			cv.cond = compileCondition(r.Condition, template.JoinField(field, "condition"), p)
			if cv.cond != nil && cv.field == "" && cv.cond.field.Root == "record" && len(cv.cond.field.Segs) > 0 {
				cv.field = cv.cond.field.Segs[0].Key
			}
		case r.Expr != "":
			cv.when = compileWhen(r.Expr, template.JoinField(field, "expr"), p, lim)
		default:
			p.add(field, "must hold a condition or an expr")
		}
		if r.Message == "" {
			p.add(template.JoinField(field, "message"), "is required: it is what the application shows its user")
		} else {
			checkBeforeTemplates(r.Message, template.JoinField(field, "message"), false, p)
		}
		be.validate = append(be.validate, cv)
	}
	e.before = be
}

func checkLookupHTTP(cfg map[string]any, field string, p problems) {
	if cfg == nil {
		return
	}
	unknownFields(cfg, []string{"url", "method", "headers", "body"}, field, p)
	if _, ok := cfg["url"].(string); !ok {
		p.add(template.JoinField(field, "url"), "is required (a string)")
	}
	if m, ok := cfg["method"]; ok && m != nil {
		s, _ := m.(string)
		switch strings.ToUpper(s) {
		case "GET", "HEAD", "POST":
		default:
			p.add(template.JoinField(field, "method"), "%v: a lookup reads, so GET, HEAD or POST (a query)", m)
		}
	}
	checkMap(cfg, "headers", field, p)
}

func checkLookupSQL(cfg map[string]any, field string, p problems) {
	if cfg == nil {
		return
	}
	unknownFields(cfg, []string{"database", "query", "args"}, field, p)
	q, ok := cfg["query"].(string)
	if !ok || strings.TrimSpace(q) == "" {
		p.add(template.JoinField(field, "query"), "is required (a string)")
	} else if isTemplate(q) {
		// Values go in args ($1, $2...), never into the SQL text.
		p.add(template.JoinField(field, "query"), "must not contain templates: pass values as args ($1, $2, ...)")
	}
	if a, ok := cfg["args"]; ok && a != nil {
		if _, ok := a.([]any); !ok {
			p.add(template.JoinField(field, "args"), "must be a list")
		}
	}
	if db, ok := cfg["database"]; ok && db != nil {
		if _, ok := db.(string); !ok {
			p.add(template.JoinField(field, "database"), "must be a string")
		}
	}
}

// compileValue compiles a CEL expression of any result type.
func compileValue(src, field string, p problems, lim Limits) *valueProgram {
	checked := checkCEL(src, field, p, lim)
	if checked == nil {
		return nil
	}
	prg, err := planCEL(checked, lim)
	if err != nil {
		p.add(field, "%v", err)
		return nil
	}
	return &valueProgram{src: src, prg: prg}
}

// beforeEventName is the specific before* event an operation raises
// (beforeInsert for an insert...), "" for none.
func beforeEventName(op run.Operation) string {
	if e := eventName(op); e != "" {
		return "before" + strings.TrimPrefix(e, "after")
	}
	return ""
}

// checkBeforeTemplates is template.Check for before-rules, whose
// templates may also read lookups.<name> (the after-trigger roots have no
// lookups, so template.Check refuses that root). A lookup's config may
// name secrets (secretsOK), which the gate resolves in process; a set
// value or a message may not.
func checkBeforeTemplates(v any, field string, secretsOK bool, p problems) {
	var list []Problem
	template.Check(v, field, nil, problems{list: &list}.report)
	if !secretsOK {
		refuseSecrets(v, field, p)
	}
	for _, pr := range list {
		if strings.Contains(pr.Reason, `unknown root "lookups"`) {
			continue
		}
		p.add(pr.Field, "%s", pr.Reason)
	}
}

// readsLookups reports whether a structured condition reads lookups.*.
func readsLookups(c *compiled) bool {
	if c == nil {
		return false
	}
	if c.field.Root == "lookups" {
		return true
	}
	for _, ch := range c.children {
		if readsLookups(ch) {
			return true
		}
	}
	return false
}

// celReadsLookups reports whether a CEL expression references the lookups
// variable (a string "lookups" in it does not count).
func celReadsLookups(src string) bool {
	if !strings.Contains(src, "lookups") {
		return false
	}
	checked, iss := celEnv.Compile(src)
	if iss != nil && iss.Err() != nil {
		return false // reported by compileWhen
	}
	for _, r := range checked.NativeRep().ReferenceMap() {
		if r.Name == "lookups" {
			return true
		}
	}
	return false
}

// refuseSecrets refuses {{secret.…}} in a set value or a validate message:
// the gate would write the secret into the record or show it to the
// application's user. Lookups may use secrets (gate.WithSecrets).
func refuseSecrets(v any, field string, p problems) {
	switch x := v.(type) {
	case string:
		phs, _ := template.Scan(x)
		for _, ph := range phs {
			if template.IsSecretExpr(ph.Expr) {
				p.add(field, "{{%s}}: a set value or message would hand the secret to the application: secrets go in lookups (http url, headers, body; sql database, args)", ph.Expr)
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			refuseSecrets(x[k], template.JoinField(field, k), p)
		}
	case []any:
		for i, e := range x {
			refuseSecrets(e, fmt.Sprintf("%s[%d]", field, i), p)
		}
	}
}
