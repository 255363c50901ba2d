package api

import (
	"encoding/json"
	"fmt"

	"github.com/triggerd/triggerd/trigger"
)

// Checker reports the definitions that name something the process's
// configuration does not define: a cache, a bucket, a notification
// template, an integration operation, an agent, a quota or breaker policy.
// A definition is valid on its own (trigger.ValidateDefinition); whether
// its names resolve depends on the configuration, which package api does
// not know, so cmd builds the Checker from it — the same one `triggerd
// validate` uses. Each Problem's Field is the path inside the trigger
// ("actions[1].config.cache").
type Checker func(defs []trigger.Definition) []trigger.Problem

// canonical is Canonical followed by check (when set): a document naming
// an unknown resource is refused with the same 422 as an invalid one.
func canonical(doc []byte, check Checker, opts ...trigger.Option) (string, json.RawMessage, error) {
	d, err := parseSpec(doc, opts...)
	if err != nil {
		return "", nil, invalid(err)
	}
	if check != nil {
		if probs := check([]trigger.Definition{d}); len(probs) > 0 {
			return "", nil, invalid(&trigger.ValidationError{Problems: probs})
		}
	}
	spec, err := json.Marshal(d.Document())
	if err != nil {
		return "", nil, fmt.Errorf("encode trigger %q: %w", d.Tag, err)
	}
	return d.Tag, spec, nil
}
