package workflows

import (
	"encoding/json"
	"maps"
	"slices"
	"unicode/utf8"
)

// A run's result names every action with its output, and the result is
// written to the history when the run closes, after each output was
// already written there once (the activity's completion, or the local
// activity's marker). A large output (an HTTP response body, rows) would
// be stored twice and shipped with every listing of the result, so the
// result keeps outputs up to ResultOutputBytes whole and only a summary
// of larger ones: for a mapping its small fields (an http action's status
// and headers without the body), for a string its beginning. The whole
// output stays in the history and is returned by the run's
// run.QueryOutput query; templates of later actions always see it whole.

// ResultOutputBytes is the largest output (JSON-encoded) that a run's
// result holds whole.
const ResultOutputBytes = 4 << 10

// summaryFieldBytes is the largest field of a mapping a summary keeps.
const summaryFieldBytes = 256

// summarizeOutput returns out, or when its JSON encoding is larger than
// ResultOutputBytes a summary of it and the encoding's size.
func summarizeOutput(out any) (any, int) {
	if out == nil {
		return nil, 0
	}
	b, err := json.Marshal(out)
	if err != nil || len(b) <= ResultOutputBytes {
		return out, 0
	}
	switch v := out.(type) {
	case map[string]any:
		small, size := map[string]any{}, 0
		for _, k := range slices.Sorted(maps.Keys(v)) {
			fb, err := json.Marshal(v[k])
			if err != nil || len(fb) > summaryFieldBytes || size+len(k)+len(fb) > ResultOutputBytes {
				continue
			}
			small[k] = v[k]
			size += len(k) + len(fb)
		}
		return small, len(b)
	case string:
		cut := summaryFieldBytes
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		return v[:cut], len(b)
	}
	return nil, len(b)
}
