package activities

import (
	"github.com/triggerd/triggerd/run"
)

// markCascade writes the run's cascade chain into the table's marker
// column (run.FieldCascade) when the table has one, so that the change
// data capture event of this write brings the chain back to ingest
// without the user writing {{run.cascade}}. A value the action sets
// itself wins. It reports whether it added the column.
//
// Deletes are not marked: the event of a delete carries no new row.
func markCascade(t tableInfo, values map[string]any, req run.ActionRequest) bool {
	if len(req.Cascade) == 0 || !t.columns[run.FieldCascade] {
		return false
	}
	if _, set := values[run.FieldCascade]; set {
		return false
	}
	values[run.FieldCascade] = run.FormatCascade(req.Cascade)
	return true
}
