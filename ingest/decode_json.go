package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/triggerd/triggerd/ingest/jsonvalue"
)

// decodeObject decodes exactly one JSON object, keeping numbers as
// json.Number: the values encoding/json's Decoder (with UseNumber) gives.
// Most messages take jsonvalue's fast path; the others (malformed ones
// among them) are decoded by encoding/json, so every value and every
// error message is encoding/json's.
func decodeObject(b []byte) (map[string]any, error) {
	if v, ok := jsonvalue.Parse(b); ok {
		if obj, ok := v.(map[string]any); ok {
			return obj, nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not JSON: data after the top-level value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a JSON object but %s", jsonKind(v))
	}
	return obj, nil
}
