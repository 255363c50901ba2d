// Package searchattr holds the typed search attributes every trigger run
// carries (run.SearchAttributes names them), for the code that starts runs:
// ingest, the lane and batch workflows, and `triggerd runs`. It is apart
// from run, which imports only the standard library, because the keys are
// the Temporal SDK's.
package searchattr

import (
	"go.temporal.io/sdk/temporal"

	"github.com/triggerd/triggerd/run"
)

// The keys, all registered as Keyword.
var (
	TriggerTag = temporal.NewSearchAttributeKeyKeyword(run.SearchAttrTriggerTag)
	Table      = temporal.NewSearchAttributeKeyKeyword(run.SearchAttrTable)
	Event      = temporal.NewSearchAttributeKeyKeyword(run.SearchAttrEvent)
	RecordKey  = temporal.NewSearchAttributeKeyKeyword(run.SearchAttrRecordKey)
)

// ForRun returns the search attributes of in's run, which let the Temporal
// UI list every run of a trigger (TriggerTag) or of one record
// (TriggerTable and RecordKey).
func ForRun(in run.Input) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		TriggerTag.ValueSet(in.Trigger.Tag),
		Table.ValueSet(in.Event.QualifiedTable()),
		Event.ValueSet(in.EventName),
		RecordKey.ValueSet(in.Event.Key),
	)
}

// ForTrigger returns the search attributes of a workflow that carries the
// runs of one trigger on one table (a batched delivery's), so that it is
// listed with the trigger's runs.
func ForTrigger(tag, table string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(TriggerTag.ValueSet(tag), Table.ValueSet(table))
}
