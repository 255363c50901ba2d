package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/triggerd/triggerd/gate"
)

// Gate evaluates before-triggers (*gate.Gate).
type Gate interface {
	Evaluate(ctx context.Context, req gate.Request) (*gate.Result, error)
}

// gateFields are the keys of the body of POST /v1/gate/{table}/{operation}.
var gateFields = []string{"records", "previousRecords", "user", "metadata"}

// evaluate serves POST /v1/gate/{table}/{operation}: 200 with the records
// to write, 422 with every violation (the batch is all or nothing), 400
// for a malformed request, naming the field.
func (s *Server) evaluate(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := decodeGateRequest(r, body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.gate.Evaluate(r.Context(), req)
	var re *gate.RequestError
	switch {
	case errors.As(err, &re):
		s.fail(w, r, &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: re.Error(), Problems: []Problem{{Field: re.Field, Reason: re.Reason}}})
		return
	case errors.Is(err, gate.ErrTooDeep):
		s.fail(w, r, &Error{Status: http.StatusLoopDetected, Code: CodeBadRequest, Message: err.Error()})
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Rejected {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, res)
}

func decodeGateRequest(r *http.Request, body []byte) (gate.Request, error) {
	req := gate.Request{Table: r.PathValue("table")}
	op, err := gate.ParseOperation(r.PathValue("operation"))
	if err != nil {
		return req, gateFieldError("operation", err.(*gate.RequestError).Reason)
	}
	req.Operation = op
	if h := r.Header.Get(gate.DepthHeader); h != "" {
		d, err := strconv.Atoi(h)
		if err != nil || d < 0 {
			return req, gateFieldError(gate.DepthHeader, "must be a non-negative integer")
		}
		req.Depth = d
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return req, gateFieldError("", "body must be a JSON object {records: [...], previousRecords, user, metadata}")
	}
	for k := range top {
		if !slices.Contains(gateFields, k) {
			return req, gateFieldError(k, "unknown field (want records, previousRecords, user, metadata)")
		}
	}
	// Numbers stay json.Number, so that ids and amounts reach the
	// database exactly as sent.
	decode := func(raw json.RawMessage, into any) error {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		return dec.Decode(into)
	}
	raw, ok := top["records"]
	if !ok || string(raw) == "null" {
		return req, gateFieldError("records", "is required: an array of records (objects), even for one")
	}
	if err := decode(raw, &req.Records); err != nil {
		return req, gateFieldError("records", "must be an array of objects")
	}
	if raw, ok := top["previousRecords"]; ok && string(raw) != "null" {
		if err := decode(raw, &req.PreviousRecords); err != nil {
			return req, gateFieldError("previousRecords", "must be an array of objects")
		}
	}
	for _, f := range []struct {
		name string
		into *map[string]any
	}{{"user", &req.User}, {"metadata", &req.Metadata}} {
		if raw, ok := top[f.name]; ok && string(raw) != "null" {
			if err := decode(raw, f.into); err != nil {
				return req, gateFieldError(f.name, "must be an object")
			}
		}
	}
	return req, nil
}

func gateFieldError(field, reason string) *Error {
	msg := reason
	if field != "" {
		msg = fmt.Sprintf("%s: %s", field, reason)
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: msg, Problems: []Problem{{Field: field, Reason: reason}}}
}
