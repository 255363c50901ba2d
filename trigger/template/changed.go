package template

import (
	"sort"

	"github.com/triggerd/triggerd/trigger/value"
)

// ChangedFields lists, sorted, the fields whose values differ between prev
// and cur (as the template's changedFields does); empty unless both exist.
func ChangedFields(prev, cur map[string]any) []string {
	vs := changedFields(prev, cur)
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.(string))
	}
	return out
}

// changedFields lists, sorted, the top-level keys whose values differ
// between prev and cur. It is empty unless both are present (an update
// with the previous row image).
func changedFields(prev, cur map[string]any) []any {
	out := []any{}
	if prev == nil || cur == nil {
		return out
	}
	seen := make(map[string]bool, len(cur))
	var keys []string
	for k := range cur {
		seen[k] = true
		keys = append(keys, k)
	}
	for k := range prev {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !value.Equal(prev[k], cur[k]) {
			out = append(out, k)
		}
	}
	return out
}
