package trigger

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
