package trigger

import (
	"encoding/json"
	"fmt"
	"sort"
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
	// Records and PreviousRecords are a `for: all` run's records (batch.go).
	Records, PreviousRecords []map[string]any
	// Cascade is the run's cascade chain ({{run.cascade}}, delivery_fields.go).
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

// placeholder is one {{ ... }} found in a string.
type placeholder struct {
	start, end int // byte range of the whole {{ ... }} in the string
	expr       string
}

// scanTemplate finds the placeholders of s. It allocates nothing for
// strings without "{{", which is most of a config, so rendering per event
// stays cheap without a cache (a cache would be shared mutable state).
func scanTemplate(s string) ([]placeholder, error) {
	if !strings.Contains(s, "{{") {
		return nil, nil
	}
	var out []placeholder
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
		out = append(out, placeholder{start: open, end: closing + 2, expr: expr})
		i = closing + 2
	}
}

// checkTemplates validates every placeholder in v (recursively) at load:
// syntax, root, no fields on scalar roots, and actions.<name> naming an
// earlier action of the same trigger.
func checkTemplates(v any, field string, earlier map[string]bool, p problems) {
	switch x := v.(type) {
	case string:
		phs, err := scanTemplate(x)
		if err != nil {
			p.add(field, "%v", err)
			return
		}
		for _, ph := range phs {
			if err := checkPlaceholder(ph.expr, earlier); err != nil {
				p.add(field, "{{%s}}: %v", ph.expr, err)
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			checkTemplates(x[k], joinField(field, k), earlier, p)
		}
	case []any:
		for i, e := range x {
			checkTemplates(e, fmt.Sprintf("%s[%d]", field, i), earlier, p)
		}
	}
}

func checkPlaceholder(expr string, earlier map[string]bool) error {
	pt, fns, err := parsePipeline(expr)
	if err != nil {
		return err
	}
	if pt.root == secretRoot {
		return checkSecretPlaceholder(pt, fns)
	}
	r, ok := templateRoots[pt.root]
	if !ok {
		return fmt.Errorf("unknown root %q (want one of %s)", pt.root, strings.Join(sortedKeys(templateRoots), ", "))
	}
	if r.scalar && len(pt.segs) > 0 {
		return fmt.Errorf("%s has no fields", pt.root)
	}
	if pt.root == "actions" && len(pt.segs) > 0 && earlier != nil {
		name := pt.segs[0].key
		if !earlier[name] {
			return fmt.Errorf("actions.%s: no earlier action of this trigger is named %q", name, name)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

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
			e, err := r.value(x[k], joinField(field, k))
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
	phs, err := scanTemplate(s)
	if err != nil || len(phs) == 0 {
		return s, err
	}
	if len(phs) == 1 && phs[0].start == 0 && phs[0].end == len(s) && !isSecretExpr(phs[0].expr) {
		return r.resolve(phs[0].expr, field)
	}
	var b strings.Builder
	last := 0
	for _, ph := range phs {
		b.WriteString(s[last:ph.start])
		if isSecretExpr(ph.expr) {
			b.WriteString(s[ph.start:ph.end]) // resolved by the worker
			last = ph.end
			continue
		}
		v, err := r.resolve(ph.expr, field)
		if err != nil {
			return nil, err
		}
		if v == omitted {
			return omitted, nil
		}
		str, err := stringify(v)
		if err != nil {
			return nil, fmt.Errorf("{{%s}}: %w", ph.expr, err)
		}
		b.WriteString(str)
		last = ph.end
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

func (r *renderer) resolve(expr, field string) (any, error) {
	pt, fns, err := parsePipeline(expr)
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
			if len(pt.segs) > 0 || pt.root == "changedFields" || v == nil {
				return omitted, nil
			}
			// A whole row: it is rendered without the columns it lacks.
		default:
			return nil, fmt.Errorf("{{%s}}: %s (the trigger's onUnknown is fail: set it to null or omit, add refetch, or make the table's replica identity FULL)", expr, why)
		}
	}
	if !found && !hasDefault(fns) {
		r.notes = append(r.notes, fmt.Sprintf("%s: %s is missing", orTop(field), pt.src))
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
func lookupScope(pt path, sc *Scope) (any, bool, error) {
	var root any
	switch pt.root {
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
		root = batchRecords(sc, pt.root)
	default:
		return nil, false, fmt.Errorf("unknown root %q", pt.root)
	}
	v, ok := walk(root, pt.segs)
	if !ok || (root == nil && len(pt.segs) == 0) {
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

// changedFields lists, sorted, the top-level keys whose values differ
// between prev and cur. It is empty unless both are present (an update
// with the previous row image).
func changedFields(prev, cur map[string]any) []any {
	out := []any{}
	if prev == nil || cur == nil {
		return out
	}
	seen := make(map[string]bool, len(cur))
	var keys []string
	for k := range cur {
		seen[k] = true
		keys = append(keys, k)
	}
	for k := range prev {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !valuesEqual(prev[k], cur[k]) {
			out = append(out, k)
		}
	}
	return out
}

// stringify renders a value inside a larger string.
func stringify(v any) (string, error) {
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
func (sc *Scope) unknown(pt path) (field, reason string) {
	if len(sc.Unavailable) == 0 {
		return "", ""
	}
	ev := run.Event{Operation: run.Operation(sc.Operation), PreviousRecord: sc.PreviousRecord, Record: sc.Record, Unavailable: sc.Unavailable}
	if ev.Operation == run.OperationUpdate && ev.PreviousRecord == nil {
		ev.PreviousRecord = map[string]any{} // judged by the list alone
	}
	if pt.root == "changedFields" && ev.Operation == run.OperationUpdate {
		return "changedFields", "changedFields is unknown: " + strings.Join(sc.Unavailable, ", ") + " unavailable"
	}
	return unavailable(&ev, pt.root, pt.segs)
}

// nullUnavailable is v with what is unavailable as null: the value
// itself, or for a whole row the row with its unavailable columns null.
func nullUnavailable(pt path, v any, sc *Scope) any {
	m, ok := v.(map[string]any)
	if len(pt.segs) > 0 || !ok {
		return nil
	}
	out := make(map[string]any, len(m)+len(sc.Unavailable))
	for k, e := range m {
		out[k] = e
	}
	for _, u := range sc.Unavailable {
		if col, ok := strings.CutPrefix(u, pt.root+"."); ok {
			out[col] = nil
		}
	}
	return out
}
