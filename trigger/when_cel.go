package trigger

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
	"github.com/google/cel-go/parser"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
)

// celBuilt says whether `when:` is supported by this build.
const celBuilt = true

// celEnv is the one CEL environment every `when:` is compiled in. The
// helpers changed(f), changedTo(f, v) and changedFrom(f, v) are macros
// that expand to hidden functions taking the record, the previous record,
// the operation, whether a previous image exists and the event's
// unavailable fields, so they are pure functions of the activation and
// share changeCheck with the CHANGED operators. They read the rows through
// hidden variables (__record, __previousRecord) that partial evaluation
// never marks unknown, so that changed('name') is unknown only when name
// is, not when some other column of the row is.
var celEnv = func() *cel.Env {
	mapType := cel.MapType(cel.StringType, cel.DynType)
	hidden := []*cel.Type{mapType, mapType, cel.StringType, cel.BoolType, cel.ListType(cel.StringType), cel.StringType}
	expand := func(fn string) cel.MacroFactory {
		return func(eh parser.ExprHelper, _ ast.Expr, args []ast.Expr) (ast.Expr, *common.Error) {
			all := []ast.Expr{eh.NewIdent("__record"), eh.NewIdent("__previousRecord"), eh.NewIdent("operation"),
				eh.NewIdent("__hasPrevious"), eh.NewIdent("__unavailable")}
			return eh.NewCall(fn, append(all, args...)...), nil
		}
	}
	binding := func(op string) cel.OverloadOpt {
		return cel.FunctionBinding(func(args ...ref.Val) ref.Val {
			ev := run.Event{Operation: run.Operation(fmt.Sprint(args[2].Value()))}
			ev.Record, _ = args[0].Value().(map[string]any)
			if b, _ := args[3].Value().(bool); b {
				ev.PreviousRecord, _ = args[1].Value().(map[string]any)
			}
			if l, ok := args[4].(traits.Lister); ok && l.Size() != types.IntZero {
				if n, err := l.ConvertToNative(reflect.TypeOf([]string{})); err == nil {
					ev.Unavailable, _ = n.([]string)
				}
			}
			f, _ := args[5].Value().(string)
			pt, err := helperPath(f)
			if err != nil {
				return types.NewErr("%s: %v", op, err)
			}
			var v any
			if len(args) > 6 {
				v = celToGo(args[6])
			}
			ok, _, unknown := changeCheck(op, &ev, pt.Segs, v)
			if unknown != "" {
				return types.NewUnknown(0, nil)
			}
			return types.Bool(ok)
		})
	}
	env, err := cel.NewEnv(
		cel.Variable("record", mapType),
		cel.Variable("previousRecord", mapType),
		cel.Variable("user", mapType),
		cel.Variable("lookups", mapType),
		cel.Variable("event", cel.StringType),
		cel.Variable("table", cel.StringType),
		cel.Variable("database", cel.StringType),
		cel.Variable("schema", cel.StringType),
		cel.Variable("operation", cel.StringType),
		cel.Variable("changedFields", cel.ListType(cel.StringType)),
		cel.Variable("__record", mapType),
		cel.Variable("__previousRecord", mapType),
		cel.Variable("__hasPrevious", cel.BoolType),
		cel.Variable("__unavailable", cel.ListType(cel.StringType)),
		cel.CrossTypeNumericComparisons(true),
		cel.Macros(
			cel.GlobalMacro("changed", 1, expand("__changed")),
			cel.GlobalMacro("changedTo", 2, expand("__changedTo")),
			cel.GlobalMacro("changedFrom", 2, expand("__changedFrom")),
		),
		cel.Function("__changed", cel.Overload("__changed_f", hidden, cel.BoolType, binding(OpChanged))),
		cel.Function("__changedTo", cel.Overload("__changedTo_f", append(hidden, cel.DynType), cel.BoolType, binding(OpChangedTo))),
		cel.Function("__changedFrom", cel.Overload("__changedFrom_f", append(hidden, cel.DynType), cel.BoolType, binding(OpChangedFrom))),
	)
	if err != nil {
		panic("trigger: CEL environment: " + err.Error())
	}
	return env
}()

// helperPaths caches the parsed field paths of changed()/changedTo()/
// changedFrom() (their arguments are almost always literals).
// The cache is bounded in case arguments are computed.
var (
	helperPaths sync.Map // string -> template.Path
	helperCount atomic.Int32
)

func helperPath(f string) (template.Path, error) {
	if v, ok := helperPaths.Load(f); ok {
		return v.(template.Path), nil
	}
	pt, err := template.ParsePath("record." + f)
	if err == nil && helperCount.Add(1) <= 1024 {
		helperPaths.Store(f, pt)
	}
	return pt, err
}

// celProgram is a type-checked, planned `when:` expression. partial is
// the same program planned for partial evaluation, used for events with
// unavailable values (which it sees as CEL unknowns).
type celProgram struct {
	src         string
	prg         cel.Program
	partial     cel.Program
	wantChanged bool // the expression reads changedFields
}

// compileWhen compiles and type-checks src. Problems carry CEL's
// "ERROR: <input>:line:column: message" lines; a result that is not bool
// (or dyn, checked at run time) is refused.
func compileWhen(src, field string, p problems, lim Limits) whenProgram {
	if strings.TrimSpace(src) == "" {
		p.add(field, "must not be empty (leave it out instead)")
		return nil
	}
	checked := checkCEL(src, field, p, lim)
	if checked == nil {
		return nil
	}
	if t := checked.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		p.add(field, "must be a boolean expression, %q is of type %s", src, t)
		return nil
	}
	prg, err := planCEL(checked, lim)
	if err != nil {
		p.add(field, "%v", err)
		return nil
	}
	partial, err := planCEL(checked, lim, cel.OptPartialEval)
	if err != nil {
		p.add(field, "%v", err)
		return nil
	}
	return &celProgram{src: src, prg: prg, partial: partial, wantChanged: strings.Contains(src, "changedFields")}
}

// celIssues keeps the ERROR lines of CEL's report and drops the source
// excerpt and caret lines, which are noise in a one-line problem.
func celIssues(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "ERROR:") {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return s
	}
	return strings.Join(out, "; ")
}

var emptyMap = map[string]any{}

func (c *celProgram) eval(env evalEnv) Trace {
	t := Trace{Condition: c.src}
	vars := env.celActivation(c.wantChanged)
	prg := c.prg
	if patterns := unknownPatterns(env.ev); len(patterns) > 0 {
		pv, err := cel.PartialVars(vars, patterns...)
		if err != nil {
			t.Reason = err.Error()
			return t
		}
		prg, vars = c.partial, pv
	}
	out, _, err := prg.Eval(vars)
	if err != nil {
		t.Reason = err.Error()
		return t
	}
	if u, ok := out.(*types.Unknown); ok {
		t.Unknown = true
		fields := celUnknownFields(u, env.ev)
		t.Reason = "depends on unavailable values: " + strings.Join(fields, ", ")
		for _, f := range fields {
			why := template.ReasonUnavailable(f)
			if f == run.UnavailablePrevious {
				why = template.ReasonNoPrevious
			}
			env.noteUnknown(f, c.src, why)
		}
		return t
	}
	b, ok := out.Value().(bool)
	if !ok {
		t.Reason = fmt.Sprintf("expression is %s, not a boolean", out.Type().TypeName())
		t.Actual = celToGo(out)
		return t
	}
	t.Result = b
	return t
}

// celMap makes a record CEL-friendly: nil becomes an empty map (so
// previousRecord.x on an insert is a "no such key" error, not a null
// dereference), json.Numbers become int64 or float64 and decimals
// (run.Decimal) doubles; a time.Time is a CEL timestamp as it is. It
// copies only when something must change.
func celMap(m map[string]any) map[string]any {
	if m == nil {
		return emptyMap
	}
	if !needsCEL(m) {
		return m
	}
	return toCEL(m).(map[string]any)
}

func needsCEL(v any) bool {
	switch x := v.(type) {
	case json.Number, run.Decimal, int8, int16, uint8, uint16, float32:
		return true
	case map[string]any:
		for _, e := range x {
			if needsCEL(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if needsCEL(e) {
				return true
			}
		}
	}
	return false
}

func toCEL(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case int8, int16, uint8, uint16:
		return reflect.ValueOf(x).Convert(reflect.TypeOf(int64(0))).Interface()
	case float32:
		return float64(x)
	case run.Decimal:
		// CEL has no decimal type: a double is exact to 15 significant
		// digits. Structured conditions compare decimals exactly.
		return x.Float64()
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = toCEL(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = toCEL(e)
		}
		return l
	}
	return v
}

// celToGo turns a CEL value back into plain Go values (for changedTo's
// argument and traces).
func celToGo(v ref.Val) any {
	switch v.Type() {
	case types.ListType:
		if l, err := v.ConvertToNative(reflect.TypeOf([]any{})); err == nil {
			return l
		}
	case types.MapType:
		if m, err := v.ConvertToNative(reflect.TypeOf(map[string]any{})); err == nil {
			return m
		}
	case types.NullType:
		return nil
	}
	return v.Value()
}

// celVars returns the CEL activation of the event, built once per event
// and shared by every `when:` evaluated for it (env.lazy), so a Plan over
// many CEL triggers converts the record once.
func (env evalEnv) celVars(wantChanged bool) map[string]any {
	var vars map[string]any
	if env.lazy != nil {
		vars = env.lazy.celVars
	}
	ev := env.ev
	if vars == nil {
		record, previous := celMap(ev.Record), celMap(ev.PreviousRecord)
		// Adapted once per event, not at every changed() call.
		unavailable := types.NewStringList(types.DefaultTypeAdapter, ev.Unavailable)
		vars = map[string]any{
			"record":           record,
			"previousRecord":   previous,
			"__record":         record,
			"__previousRecord": previous,
			"__unavailable":    unavailable,
			"user":             celMap(ev.User),
			"lookups":          celMap(env.lookups),
			"event":            env.event,
			"table":            ev.Table,
			"database":         ev.Database,
			"schema":           ev.Schema,
			"operation":        string(ev.Operation),
			"__hasPrevious":    ev.PreviousRecord != nil,
			"changedFields":    noChangedFields,
		}
		if env.lazy != nil {
			env.lazy.celVars = vars
		}
	}
	if wantChanged && (env.lazy == nil || !env.lazy.changedDone) {
		vars["changedFields"] = template.ChangedFields(ev.PreviousRecord, ev.Record)
		if env.lazy != nil {
			env.lazy.changedDone = true
		}
	}
	return vars
}

var noChangedFields = []string{}

func (env evalEnv) celActivation(wantChanged bool) any {
	vars := env.celVars(wantChanged)
	if env.lazy == nil {
		return vars
	}
	if env.lazy.celAct == nil {
		// The activation reads the map, so a later changedFields is seen.
		act, err := interpreter.NewActivation(vars)
		if err != nil {
			return vars
		}
		env.lazy.celAct = act
	}
	return env.lazy.celAct
}

// unknownPatterns are the CEL attribute patterns of ev's unavailable
// values: record.body for a placeholder, the whole previousRecord (and
// changedFields) for an update without a before image, changedFields for
// any unavailable column of an update.
func unknownPatterns(ev *run.Event) []*cel.AttributePatternType {
	noPrevious := ev.Operation == run.OperationUpdate && ev.PreviousRecord == nil
	if len(ev.Unavailable) == 0 && !noPrevious {
		return nil
	}
	var out []*cel.AttributePatternType
	if noPrevious {
		out = append(out, cel.AttributePattern("previousRecord"))
	}
	for _, u := range ev.Unavailable {
		root, col, _ := strings.Cut(u, ".")
		if col == "" {
			if !noPrevious {
				out = append(out, cel.AttributePattern(root))
			}
			continue
		}
		out = append(out, cel.AttributePattern(root).QualString(col))
	}
	if ev.Operation == run.OperationUpdate {
		out = append(out, cel.AttributePattern("changedFields"))
	}
	return out
}

// celUnknownFields names what made a CEL result unknown: the attributes
// partial evaluation tracked, else (a changed() helper) every unavailable
// value of the event.
func celUnknownFields(u *types.Unknown, ev *run.Event) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range u.IDs() {
		trails, _ := u.GetAttributeTrails(id)
		for _, tr := range trails {
			f := tr.String()
			if v := tr.Variable(); v == "" || strings.HasPrefix(v, "_") {
				continue
			}
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	if len(out) > 0 {
		return out
	}
	if ev.Operation == run.OperationUpdate && ev.PreviousRecord == nil {
		return []string{run.UnavailablePrevious}
	}
	return append(out, ev.Unavailable...)
}
