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
