package config

// operationBody checks an operation's bodyType against its body: form
// needs a mapping (or none, the input being one), raw a string.
func (v *validator) operationBody(field string, op Operation) {
	if op.BodyType == "" {
		return
	}
	v.oneOf(field+".bodyType", op.BodyType, BodyJSON, BodyForm, BodyRaw)
	switch op.BodyType {
	case BodyForm:
		if _, ok := op.Body.(map[string]any); op.Body != nil && !ok {
			v.add(field+".body", "bodyType form needs a mapping of fields, got %T", op.Body)
		}
	case BodyRaw:
		if _, ok := op.Body.(string); !ok {
			v.add(field+".body", "bodyType raw needs a string body (a template), got %T", op.Body)
		}
	}
}
