package api

import (
	"encoding/json"
	"strings"

	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggersync"
)

// Warner reports what a valid definition asks for that this process will
// refuse when the trigger runs, such as a literal URL its egress policy
// refuses. Unlike a trigger.Checker's problems, warnings never refuse a write: the
// policy may differ between the processes sharing a store. The API returns
// them with the write ("warnings") and logs them; `triggerd validate`
// prints them.
type Warner func(defs []trigger.Definition) []trigger.Problem

// warnings runs warn (when set) on the canonical documents specs, each
// problem's field prefixed by prefix(i) ("" for a single document).
func warnings(warn Warner, specs []json.RawMessage, prefix func(i int) string) []Problem {
	if warn == nil {
		return nil
	}
	var out []Problem
	for i, spec := range specs {
		d, err := triggersync.ParseStored(spec)
		if err != nil {
			continue // canonical documents parse; nothing to warn about otherwise
		}
		for _, p := range warn([]trigger.Definition{d}) {
			field := p.Field
			if pre := prefix(i); pre != "" {
				field = strings.TrimSuffix(pre+"."+field, ".")
			}
			out = append(out, Problem{Field: field, Tag: p.Tag, Reason: p.Reason})
		}
	}
	return out
}

// canonical is triggersync.Canonical with its problems as a 422 *Error:
// a document naming an unknown resource (check, when set) is refused like
// an invalid one.
func canonical(doc []byte, check trigger.Checker, opts ...trigger.Option) (string, json.RawMessage, error) {
	tag, spec, probs, err := triggersync.Canonical(doc, check, opts...)
	if err != nil {
		return "", nil, err
	}
	if len(probs) > 0 {
		return "", nil, invalid(&trigger.ValidationError{Problems: probs})
	}
	return tag, spec, nil
}
