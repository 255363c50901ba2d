package trigger

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/run"
)

type planFunc func(run.Event) []run.Input

func (f planFunc) Plan(ev run.Event) []run.Input { return f(ev) }

// The global error handler fills runs of triggers without their own, the
// cascade limit is passed on, and runs that will fail their cascade check
// are reported by reason.
func TestSettingsPlanner(t *testing.T) {
	own := []run.Action{{Name: "own", Type: run.TypeLog}}
	next := planFunc(func(ev run.Event) []run.Input {
		return []run.Input{{Trigger: run.TriggerRef{Tag: "a"}}, {Trigger: run.TriggerRef{Tag: "b"}, OnError: own}}
	})
	global, err := CompileOnError([]any{map[string]any{"type": "log", "name": "global", "config": map[string]any{"message": "{{actions.failed.output.error}}"}}})
	require.NoError(t, err)
	rejected := map[[2]string]int{}
	p := NewSettingsPlanner(next, RunSettings{OnError: global, MaxCascadeDepth: 2, Env: "prod"},
		func(tag, reason string) { rejected[[2]string{tag, reason}]++ })

	ins := p.Plan(run.Event{})
	require.Equal(t, "global", ins[0].OnError[0].Name)
	require.Equal(t, "own", ins[1].OnError[0].Name)
	require.Equal(t, 2, ins[0].MaxCascadeDepth)
	require.Equal(t, "prod", ins[1].Env)

	p.Plan(run.Event{Cascade: []string{"x", "y"}}) // depth 3 > 2 for both
	p.Plan(run.Event{Cascade: []string{"a"}})      // a loops; b is at depth 2
	require.Equal(t, map[[2]string]int{{"a", CascadeDepth}: 1, {"b", CascadeDepth}: 1, {"a", CascadeLoop}: 1}, rejected)
}
