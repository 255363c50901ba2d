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

// GateLimits bound one gate call. A zero field means its default.
type GateLimits struct {
	// MaxRecords bounds the records of a call, and its previous records.
	MaxRecords int
	// MaxBodyBytes bounds the request body.
	MaxBodyBytes int
	// MaxResponseBytes bounds the answer: the records to write, or the
	// violations. A call whose answer would be larger is refused whole.
	MaxResponseBytes int
}

// Defaults of GateLimits. An application asks about the rows of one
// write: a thousand is a large batch, a megabyte of them a lot.
const (
	DefaultGateMaxRecords       = 1000
	DefaultGateMaxBodyBytes     = 1 << 20
	DefaultGateMaxResponseBytes = 4 << 20
)

func (l GateLimits) withDefaults() GateLimits {
	def := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&l.MaxRecords, DefaultGateMaxRecords)
	def(&l.MaxBodyBytes, DefaultGateMaxBodyBytes)
	def(&l.MaxResponseBytes, DefaultGateMaxResponseBytes)
	return l
}

// evaluate serves POST /v1/gate/{table}/{operation}: 200 with the records
// to write, 422 with every violation (the batch is all or nothing), 400
// for a malformed request, naming the field.
func (s *Server) evaluate(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := decodeGateRequest(r, body, s.gateLimits.MaxRecords)
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
	// The answer is encoded before anything is written, within its
	// limit, so that an oversized one is refused whole (and its encoding
	// stops at the limit rather than growing with the batch).
	out := &cappedBuffer{max: s.gateLimits.MaxResponseBytes}
	if err := json.NewEncoder(out).Encode(res); err != nil {
		if errors.Is(err, errCapped) {
			s.fail(w, r, tooLarge("gate.maxResponseBytes", fmt.Sprintf("the answer would be larger than %d bytes; send fewer records", out.max)))
			return
		}
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(out.Bytes())
}

var errCapped = errors.New("over the limit")

// cappedBuffer is a buffer that refuses to grow past max bytes.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errCapped
	}
	return b.Buffer.Write(p)
}

// countRecords counts the elements of a JSON array without decoding them,
// stopping past max: a call with too many records is refused before they
// are turned into maps.
func countRecords(field string, raw json.RawMessage, max int) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return gateFieldError(field, "must be an array of objects")
	}
	n := 0
	for dec.More() {
		if n++; n > max {
			return tooLarge("gate.maxRecords", fmt.Sprintf("%s: more than %d records in one call; split the batch", field, max))
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return gateFieldError(field, "must be an array of objects")
		}
	}
	return nil
}

func decodeGateRequest(r *http.Request, body []byte, maxRecords int) (gate.Request, error) {
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
	for _, f := range []string{"records", "previousRecords"} {
		if raw, ok := top[f]; ok && string(raw) != "null" {
			if err := countRecords(f, raw, maxRecords); err != nil {
				return req, err
			}
		}
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
