package config

// Gate configures the before-trigger gate the API serves
// (POST /v1/gate/{table}/{operation}, docs/gate.md):
//
//	gate:
//	  record: true   # TRIGGERD_GATE_RECORD=true
type Gate struct {
	// Record makes every gate decision also a Temporal run
	// (triggerd.GateDecision on temporal.taskQueue) for inspection in the
	// UI. Off by default: it adds a Temporal round trip to every request.
	Record bool `yaml:"record"`
}
