package config

// Gate configures the before-trigger gate the API serves
// (POST /v1/gate/{table}/{operation}, docs/gate.md):
//
//	gate:
//	  record: true   # TRIGGERD_GATE_RECORD=true
//	  maxRecords: 500
//
// Zero limits mean the API's defaults (package api).
type Gate struct {
	// Record makes every gate decision also a Temporal run
	// (triggerd.GateDecision on temporal.taskQueue) for inspection in the
	// UI. Off by default: it adds a Temporal round trip to every request.
	Record bool `yaml:"record"`
	// MaxRecords bounds the records (and previous records) of one call.
	MaxRecords int `yaml:"maxRecords"`
	// MaxBodyBytes bounds a call's body; MaxResponseBytes its answer.
	MaxBodyBytes     int `yaml:"maxBodyBytes"`
	MaxResponseBytes int `yaml:"maxResponseBytes"`
}
