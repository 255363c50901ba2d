package secrets

// Resolve returns a copy of v (a string, or maps and lists of them, as
// decoded from JSON or YAML) with its {{secret.NAME}} placeholders
// replaced, and a function that masks, in a string, the values it used
// (and their JSON and URL encodings) with Redacted.
//
// It is for work done in process, outside any Temporal history, such as
// the gate's lookups: the caller sends the copy and passes every error
// and result that goes back to a client or a log through redact. A value
// with no placeholder is returned as is, with a nil redact: there is
// nothing to mask, and the caller can skip the work.
func (r *Resolver) Resolve(v any) (resolved any, redact func(string) string, err error) {
	if !HasRefs(v) {
		return v, nil, nil
	}
	used := map[string]string{}
	out, err := r.resolve(v, used)
	if err != nil {
		return nil, nil, err
	}
	return out, newRedactor(used).String, nil
}
