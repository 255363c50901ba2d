package trigger

import (
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
)

// checkCEL compiles and type-checks a CEL expression within the limits:
// its source is at most MaxWhenBytes (checked before CEL parses it), and
// its cheapest evaluation must fit MaxWhenCost. It reports a problem and
// returns nil otherwise.
func checkCEL(src, field string, p problems, lim Limits) *cel.Ast {
	if len(src) > lim.MaxWhenBytes {
		p.add(field, "%d bytes exceed the limit of %d (%s)", len(src), lim.MaxWhenBytes, limitWhenBytes)
		return nil
	}
	checked, iss := celEnv.Compile(src)
	if iss != nil && iss.Err() != nil {
		p.add(field, "%s", celIssues(iss.Err().Error()))
		return nil
	}
	// The estimate knows nothing of the records' sizes, so its maximum is
	// unbounded for any expression that iterates over them; its minimum
	// is what every evaluation costs at least. The runtime limit
	// (planCEL) bounds the rest.
	est, err := celEnv.EstimateCost(checked, sizeUnknown{})
	if err == nil && est.Min > uint64(lim.MaxWhenCost) {
		p.add(field, "costs at least %d to evaluate, more than the limit of %d (%s)", est.Min, lim.MaxWhenCost, limitWhenCost)
		return nil
	}
	return checked
}

// planCEL plans a checked expression with the runtime cost limit (and
// extra evaluation options: partial evaluation for unknown values).
func planCEL(checked *cel.Ast, lim Limits, extra ...cel.EvalOption) (cel.Program, error) {
	return celEnv.Program(checked, cel.CostLimit(uint64(lim.MaxWhenCost)), cel.EvalOptions(append([]cel.EvalOption{cel.OptOptimize}, extra...)...))
}

// sizeUnknown is a cost estimator with no size hints: CEL's defaults.
type sizeUnknown struct{}

func (sizeUnknown) EstimateSize(checker.AstNode) *checker.SizeEstimate { return nil }

func (sizeUnknown) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}
