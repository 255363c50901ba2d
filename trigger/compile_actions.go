package trigger

import (
	"fmt"
	"strings"

	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger/template"
)

// compileActions validates and compiles a list of actions: a trigger's
// actions, its onError actions, or the global error handler. Every list
// goes through here so that they cannot drift apart: each name is unique
// in its list (it is the action's idempotency key, <workflow id>/<name> or
// <workflow id>/onError/<name>, and the key of {{actions.<name>}}).
// earlier holds the names templates may reference besides the list's own
// earlier actions (onError's "failed"). It returns the compiled actions
// and the actions with their defaults and normalisations applied.
func compileActions(list []Action, field string, earlier map[string]bool, p problems) ([]run.Action, []Action) {
	names := make(map[string]bool, len(earlier)+len(list)) // visible to templates
	for k, v := range earlier {
		names[k] = v
	}
	seen := make(map[string]bool, len(list)) // this list's own names
	var out []run.Action
	normalized := make([]Action, len(list))
	for i, a := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		a = normalizeAction(defaultAction(a, i), f, p)
		if seen[a.Name] {
			p.add(template.JoinField(f, "name"), "duplicate action name %q", a.Name)
		}
		if strings.ContainsAny(a.Name, "\"'[]") {
			p.add(template.JoinField(f, "name"), "%q must not contain quotes or brackets", a.Name)
		}
		validateActionConfig(a, f, p)
		template.Check(a.Config, template.JoinField(f, "config"), names, p.report)
		validateRetry(a, f, p)
		checkTiming(a, f, p)
		checkLocal(a, f, p)
		seen[a.Name] = true
		names[a.Name] = true
		normalized[i] = a
		out = append(out, toRunAction(a))
	}
	return out, normalized
}
