package api

import (
	"encoding/json"
	"net/http"

	"github.com/triggerd/triggerd/triggersync"
)

// ApplyRequest is the body of POST /v1/triggers:apply.
type ApplyRequest struct {
	Triggers []json.RawMessage `json:"triggers"`
	// Prune deletes the stored triggers the request does not list.
	Prune bool `json:"prune,omitempty"`
}

// Applied is one trigger in an apply's result.
type Applied = triggersync.Applied

// ApplyResult is the response of POST /v1/triggers:apply: what
// triggersync.Apply did, trigger by trigger, and the warnings of the
// applied definitions.
type ApplyResult struct {
	triggersync.ApplyResult
	// Warnings are the applied definitions' warnings (Options.Warn), their
	// fields prefixed triggers[i].
	Warnings []Problem `json:"warnings,omitempty"`
}

// invalidApply is the 422 of an apply that triggersync.Apply refused,
// listing every problem.
func invalidApply(ae *triggersync.ApplyError) *Error {
	e := &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Message: "invalid trigger definitions: nothing was applied"}
	for _, p := range ae.Problems {
		e.Problems = append(e.Problems, Problem{Field: p.Field, Tag: p.Tag, Reason: p.Reason})
	}
	return e
}
