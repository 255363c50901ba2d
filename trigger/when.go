package trigger

// whenProgram is a compiled `when:` expression. It is built once, at load,
// and is safe for concurrent use.
type whenProgram interface {
	eval(env evalEnv) Trace
}

// WhenCostLimit bounds the work one evaluation of a `when:` expression may
// do (CEL's runtime cost units); an expression that exceeds it evaluates
// to false with the reason in the trace.
const WhenCostLimit = 100_000

// celVariables are the names a `when:` expression may use, with the helper
// functions; kept here so docs and errors agree whatever the build.
var celVariables = []string{"record", "previousRecord", "event", "table", "database", "schema", "operation", "user", "changedFields"}
