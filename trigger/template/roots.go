package template

import "strings"

// FailedActionName is the name under which onError actions see the
// failure: {{actions.failed.output.error}}. // action of that name, and the workflow fills it in.
const FailedActionName = "failed"

// runRoot is the {{run}} root: the run id and, for writes that must carry
// it (a database action's marker column), the cascade chain as
// "tag1,tag2" (run.FormatCascade's form).
func runRoot(sc *Scope) map[string]any {
	return map[string]any{"id": sc.RunID, "cascade": strings.Join(sc.Cascade, ",")}
}

// batchRecords is the records or previousRecords root of a `for: all`
// run's scope, as a list (null outside such a run).
func batchRecords(sc *Scope, root string) any {
	l := sc.Records
	if root == "previousRecords" {
		l = sc.PreviousRecords
	}
	if l == nil {
		return nil
	}
	out := make([]any, len(l))
	for i, r := range l {
		out[i] = mapOrNil(r)
	}
	return out
}
