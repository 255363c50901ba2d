package run

// EventContext is what a custom action receives of the run beyond its
// config: the change and the outputs of the actions before it. The workflow
// fills it only for custom actions, keeping other activities' inputs (and
// histories) small.
type EventContext struct {
	Record         map[string]any `json:"record,omitempty"`
	PreviousRecord map[string]any `json:"previousRecord,omitempty"`
	ChangedFields  []string       `json:"changedFields,omitempty"`
	// Event is the trigger event that matched, e.g. "afterUpdate".
	Event     string `json:"event"`
	Table     string `json:"table"`
	Operation string `json:"operation"`
	// Outputs holds each earlier successful action's output by action name.
	Outputs map[string]any `json:"outputs,omitempty"`
}
