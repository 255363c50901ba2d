package template

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/triggerd/triggerd/run"
)

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
	// Lookups holds a before-trigger's lookup results by name.
	Lookups map[string]any
	// Records and PreviousRecords are a `for: all` run's records (roots.go).
	Records, PreviousRecords []map[string]any
	// Cascade is the run's cascade chain ({{run.cascade}}, roots.go).
	Cascade []string
	// Unavailable lists the values the event does not carry
	// (run.Event.Unavailable); a placeholder that reads one renders as
	// OnUnknown says (run.OnUnknownFail when empty).
	Unavailable []string
	OnUnknown   string
}

// templateRoots lists the roots a placeholder may start with. scalar roots
// have no fields, so {{event.x}} is refused at load.
var templateRoots = map[string]struct{ scalar bool }{
	"record": {}, "previousRecord": {}, "user": {}, "trigger": {}, "run": {}, "actions": {}, "changedFields": {},
	"records": {}, "previousRecords": {},
	"event": {scalar: true}, "table": {scalar: true}, "database": {scalar: true}, "operation": {scalar: true},
	"timestamp": {scalar: true}, "env": {scalar: true}, secretRoot: {},
}

// Placeholder is one {{ ... }} found in a string.
type Placeholder struct {
	Start, End int // byte range of the whole {{ ... }} in the string
	Expr       string
}

// Scan finds the placeholders of s. It allocates nothing for
// strings without "{{", which is most of a config, so rendering per event
// stays cheap without a cache (a cache would be shared mutable state).
func Scan(s string) ([]Placeholder, error) {
	if !strings.Contains(s, "{{") {
		return nil, nil
	}
	var out []Placeholder
	for i := 0; ; {
		open := strings.Index(s[i:], "{{")
		if open < 0 {
			return out, nil
		}
		open += i
		closing := strings.Index(s[open+2:], "}}")
		if closing < 0 {
			return nil, fmt.Errorf("unterminated placeholder at %q", s[open:])
		}
		closing += open + 2
		expr := strings.TrimSpace(s[open+2 : closing])
		if expr == "" {
			return nil, fmt.Errorf("empty placeholder {{}}")
		}
		out = append(out, Placeholder{Start: open, End: closing + 2, Expr: expr})
		i = closing + 2
	}
}

// Check validates every placeholder in v (recursively) at load:
// syntax, root, no fields on scalar roots, and actions.<name> naming an
// earlier action of the same trigger. Every problem is reported, located
// by its field (field, then the keys inside v), so that a definition's
// load lists all of them at once.
func Check(v any, field string, earlier map[string]bool, report func(field, reason string)) {
	switch x := v.(type) {
	case string:
		phs, err := Scan(x)
		if err != nil {
			report(field, err.Error())
			return
		}
		for _, ph := range phs {
			if err := checkPlaceholder(ph.Expr, earlier); err != nil {
				report(field, fmt.Sprintf("{{%s}}: %v", ph.Expr, err))
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			Check(x[k], JoinField(field, k), earlier, report)
		}
	case []any:
		for i, e := range x {
			Check(e, fmt.Sprintf("%s[%d]", field, i), earlier, report)
		}
	}
}

func checkPlaceholder(expr string, earlier map[string]bool) error {
	pt, fns, err := ParsePipeline(expr)
	if err != nil {
		return err
	}
	if pt.Root == secretRoot {
		return checkSecretPlaceholder(pt, fns)
	}
	r, ok := templateRoots[pt.Root]
	if !ok {
		return fmt.Errorf("unknown root %q (want one of %s)", pt.Root, strings.Join(sortedKeys(templateRoots), ", "))
	}
	if r.scalar && len(pt.Segs) > 0 {
		return fmt.Errorf("%s has no fields", pt.Root)
	}
	if pt.Root == "actions" && len(pt.Segs) > 0 && earlier != nil {
		name := pt.Segs[0].Key
		if !earlier[name] {
			return fmt.Errorf("actions.%s: no earlier action of this trigger is named %q", name, name)
		}
	}
	return nil
}

// sortedKeys lists m's keys in order, so that problems and notes come in
// a stable order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// RenderConfig renders every template in cfg against scope and returns a
// new map; cfg is not modified. A string that is exactly one placeholder
// becomes the referenced value with its type; any other string with
// placeholders is interpolated (maps and lists as JSON, null as empty).
// It is deterministic and has no side effects, as Temporal workflow code
// requires.
func RenderConfig(cfg map[string]any, scope Scope) (map[string]any, error) {
	out, _, err := RenderConfigTrace(cfg, scope)
	return out, err
}

// RenderConfigTrace is RenderConfig that also returns notes on what
// rendered as null or empty because it was missing, one per placeholder,
// located by the key path inside cfg:
// "url: record.nickname is missing". A placeholder whose pipeline has a
// default is not noted.
func RenderConfigTrace(cfg map[string]any, scope Scope) (map[string]any, []string, error) {
	if cfg == nil {
		return nil, nil, nil
	}
	r := renderer{sc: &scope}
	out, err := r.value(cfg, "")
	if err != nil {
		return nil, r.notes, err
	}
	return out.(map[string]any), r.notes, nil
}

// Render renders v (a string, or maps and lists holding strings) as
// RenderConfig renders a config's values; a before-trigger's set values
// and validate messages are rendered so.
func Render(v any, scope Scope) (any, error) {
	r := renderer{sc: &scope}
	return r.value(v, "")
}

type renderer struct {
	sc    *Scope
	notes []string
}

func (r *renderer) value(v any, field string) (any, error) {
	switch x := v.(type) {
	case string:
		out, err := r.str(x, field)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", orTop(field), err)
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		// Sorted so that notes come in a stable order.
		for _, k := range sortedKeys(x) {
			e, err := r.value(x[k], JoinField(field, k))
			if err != nil {
				return nil, err
			}
			if e != omitted {
				out[k] = e
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for i, e := range x {
			e, err := r.value(e, fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return nil, err
			}
			if e != omitted {
				out = append(out, e)
			}
		}
		return out, nil
	}
	return v, nil
}

// omitted is what a placeholder renders to when it reads an unavailable
// value under run.OnUnknownOmit: the map key or list element holding it
// is left out.
var omitted any = &struct{ omitted bool }{true}

func orTop(field string) string {
	if field == "" {
		return "config"
	}
	return field
}

func (r *renderer) str(s, field string) (any, error) {
	phs, err := Scan(s)
	if err != nil || len(phs) == 0 {
		return s, err
	}
	if len(phs) == 1 && phs[0].Start == 0 && phs[0].End == len(s) && !IsSecretExpr(phs[0].Expr) {
		return r.resolve(phs[0].Expr, field)
	}
	var b strings.Builder
	last := 0
	for _, ph := range phs {
		b.WriteString(s[last:ph.Start])
		if IsSecretExpr(ph.Expr) {
			b.WriteString(s[ph.Start:ph.End]) // resolved by the worker
			last = ph.End
			continue
		}
		v, err := r.resolve(ph.Expr, field)
		if err != nil {
			return nil, err
		}
		if v == omitted {
			return omitted, nil
		}
		str, err := Text(v)
		if err != nil {
			return nil, fmt.Errorf("{{%s}}: %w", ph.Expr, err)
		}
		b.WriteString(str)
		last = ph.End
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

func (r *renderer) resolve(expr, field string) (any, error) {
	pt, fns, err := ParsePipeline(expr)
	if err != nil {
		return nil, fmt.Errorf("{{%s}}: %w", expr, err)
	}
	v, found, err := lookupScope(pt, r.sc)
	if err != nil {
		return nil, fmt.Errorf("{{%s}}: %w", expr, err)
	}
	if what, why := r.sc.unknown(pt); why != "" {
		switch r.sc.OnUnknown {
		case run.OnUnknownNull:
			r.notes = append(r.notes, fmt.Sprintf("%s: %s is unavailable, rendered null", orTop(field), what))
			v, found = nullUnavailable(pt, v, r.sc), true
		case run.OnUnknownOmit:
			r.notes = append(r.notes, fmt.Sprintf("%s: %s is unavailable, left out", orTop(field), what))
			if len(pt.Segs) > 0 || pt.Root == "changedFields" || v == nil {
				return omitted, nil
			}
			// A whole row: it is rendered without the columns it lacks.
		default:
			return nil, fmt.Errorf("{{%s}}: %s (the trigger's onUnknown is fail: set it to null or omit, add refetch, or make the table's replica identity FULL)", expr, why)
		}
	}
	if !found && !hasDefault(fns) {
		r.notes = append(r.notes, fmt.Sprintf("%s: %s is missing", orTop(field), pt.Src))
	}
	for _, f := range fns {
		if v, err = f.apply(v); err != nil {
			return nil, fmt.Errorf("{{%s}}: %s: %w", expr, f.name, err)
		}
	}
	if holdsSecretRef(v) {
		return nil, fmt.Errorf("{{%s}}: the value holds a {{secret.…}} reference, which only a definition may write", expr)
	}
	return v, nil
}

// lookupScope reads a path from the scope; found is false when a step of
// the path is missing (the value is then null).
func lookupScope(pt Path, sc *Scope) (any, bool, error) {
	var root any
	switch pt.Root {
	case "record":
		root = mapOrNil(sc.Record)
	case "previousRecord":
		root = mapOrNil(sc.PreviousRecord)
	case "user":
		root = mapOrNil(sc.User)
	case "actions":
		root = mapOrNil(sc.Actions)
	case "lookups":
		root = mapOrNil(sc.Lookups)
	case "event":
		root = sc.Event
	case "table":
		root = sc.Table
	case "database":
		root = sc.Database
	case "operation":
		root = sc.Operation
	case "env":
		root = sc.Env
	case "timestamp":
		if !sc.Timestamp.IsZero() {
			root = sc.Timestamp.UTC().Format(time.RFC3339Nano)
		}
	case "trigger":
		root = map[string]any{"tag": sc.Trigger.Tag, "name": sc.Trigger.Name, "version": sc.Trigger.Version}
	case "run":
		root = runRoot(sc)
	case "changedFields":
		root = changedFields(sc.PreviousRecord, sc.Record)
	case "records", "previousRecords":
		root = batchRecords(sc, pt.Root)
	default:
		return nil, false, fmt.Errorf("unknown root %q", pt.Root)
	}
	v, ok := Walk(root, pt.Segs)
	if !ok || (root == nil && len(pt.Segs) == 0) {
		return nil, false, nil
	}
	return v, true, nil
}

// mapOrNil keeps a nil map from becoming a non-nil interface.
func mapOrNil(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

// Text renders a value inside a larger string.
func Text(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case json.Number:
		return x.String(), nil
	case run.Decimal:
		return x.String(), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), nil
	}
	// encoding/json sorts map keys, so the output is deterministic.
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// unknown says what value pt reads that the event does not carry, and
// why; "" when none. Only values listed in Unavailable are unknown here
// (not a missing previousRecord alone), so that runs recorded before
// Unavailable existed render as they did.
func (sc *Scope) unknown(pt Path) (field, reason string) {
	if len(sc.Unavailable) == 0 {
		return "", ""
	}
	ev := run.Event{Operation: run.Operation(sc.Operation), PreviousRecord: sc.PreviousRecord, Record: sc.Record, Unavailable: sc.Unavailable}
	if ev.Operation == run.OperationUpdate && ev.PreviousRecord == nil {
		ev.PreviousRecord = map[string]any{} // judged by the list alone
	}
	if pt.Root == "changedFields" && ev.Operation == run.OperationUpdate {
		return "changedFields", "changedFields is unknown: " + strings.Join(sc.Unavailable, ", ") + " unavailable"
	}
	return Unavailable(&ev, pt.Root, pt.Segs)
}

// nullUnavailable is v with what is unavailable as null: the value
// itself, or for a whole row the row with its unavailable columns null.
func nullUnavailable(pt Path, v any, sc *Scope) any {
	m, ok := v.(map[string]any)
	if len(pt.Segs) > 0 || !ok {
		return nil
	}
	out := make(map[string]any, len(m)+len(sc.Unavailable))
	for k, e := range m {
		out[k] = e
	}
	for _, u := range sc.Unavailable {
		if col, ok := strings.CutPrefix(u, pt.Root+"."); ok {
			out[col] = nil
		}
	}
	return out
}
