package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/triggerd/triggerd/trigger"
)

// Route is one endpoint of the API and the scope its caller needs (""
// for any authenticated caller).
type Route struct {
	// Pattern is the net/http pattern, "POST /v1/triggers".
	Pattern string
	Scope   Scope
}

// route is a Route with its handler and its body limit; on says whether
// the server's options enable it.
type route struct {
	Route
	h    http.HandlerFunc
	body bodyLimit
	on   bool
}

// bodyLimit is a request body's bound and the configuration key that
// sets it, which a 413 names.
type bodyLimit struct {
	n   int64
	key string
}

// table lists every route of the API. An endpoint exists only here, with
// its scope: Register serves the enabled ones behind Auth.Require, and
// Routes lists them all for documentation and tests, so an endpoint
// cannot be added without saying who may call it.
func (s *Server) table() []route {
	api := bodyLimit{s.maxBody, "api.maxBodyBytes"}
	gate := bodyLimit{int64(s.gateLimits.MaxBodyBytes), "gate.maxBodyBytes"}
	always := true
	q, b, g := s.quotas != nil, s.breakers != nil, s.gate != nil
	return []route{
		{Route{"GET /openapi.yaml", ""}, s.openAPI, api, always},
		{Route{"POST /v1/triggers", ScopeTriggersWrite}, s.create, api, always},
		{Route{"GET /v1/triggers", ScopeTriggersRead}, s.list, api, always},
		{Route{"POST /v1/triggers:apply", ScopeTriggersWrite}, s.apply, api, always},
		{Route{"POST /v1/triggers/load", ScopeOps}, s.load, api, always},
		{Route{"POST /v1/triggers/test", ScopeTriggersRead}, s.test, api, always},
		{Route{"GET /v1/triggers/{tag}", ScopeTriggersRead}, s.get, api, always},
		{Route{"PUT /v1/triggers/{tag}", ScopeTriggersWrite}, s.put, api, always},
		{Route{"PATCH /v1/triggers/{tag}", ScopeTriggersWrite}, s.patch, api, always},
		{Route{"DELETE /v1/triggers/{tag}", ScopeTriggersWrite}, s.delete, api, always},
		{Route{"GET /v1/triggers/{tag}/versions", ScopeTriggersRead}, s.versions, api, always},
		{Route{"GET /v1/triggers/{tag}/versions/{version}", ScopeTriggersRead}, s.version, api, always},
		{Route{"GET /v1/quotas", ScopeOps}, s.listQuotas, api, q},
		{Route{"GET /v1/quotas/changes", ScopeOps}, s.quotaChanges, api, q},
		{Route{"PUT /v1/quotas/{key...}", ScopeOps}, s.setQuota, api, q},
		{Route{"DELETE /v1/quotas/{key...}", ScopeOps}, s.removeQuota, api, q},
		{Route{"GET /v1/breakers", ScopeOps}, s.listBreakers, api, b},
		{Route{"POST /v1/breakers/reset", ScopeOps}, s.resetBreaker, api, b},
		{Route{"GET /v1/breakers/changes", ScopeOps}, s.breakerChanges, api, b},
		{Route{"PUT /v1/breakers/settings/{name...}", ScopeOps}, s.setBreaker, api, b},
		{Route{"DELETE /v1/breakers/settings/{name...}", ScopeOps}, s.removeBreaker, api, b},
		{Route{"POST /v1/gate/{table}/{operation}", ScopeGate}, s.evaluate, gate, g},
		// Anything else under /v1/ answers in the API's error format, to
		// authenticated callers only.
		{Route{"/v1/", ""}, s.noSuchEndpoint, api, always},
	}
}

// Routes lists every endpoint an API server may serve (some only with
// their options: quotas, breakers, the gate) with the scope it needs.
func Routes() []Route {
	var s Server
	var out []Route
	for _, rt := range s.table() {
		out = append(out, rt.Route)
	}
	return out
}

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPI)
}

func (s *Server) noSuchEndpoint(w http.ResponseWriter, r *http.Request) {
	writeError(w, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
}

type bodyLimitKey struct{}

// bounded serves rt with its body bounded by rt.body.
func (s *Server) bounded(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, rt.body.n)
		rt.h(w, r.WithContext(context.WithValue(r.Context(), bodyLimitKey{}, rt.body)))
	})
}

// readBody reads the route's bounded body (a 413 naming the limit when it
// is over) and checks it is UTF-8 JSON. Bytes that are not UTF-8 are
// refused with the field holding them (a 400; definitions say 422, see
// readDefinition): a decoder would rewrite them to U+FFFD unseen.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	lim, ok := r.Context().Value(bodyLimitKey{}).(bodyLimit)
	if !ok {
		lim = bodyLimit{s.maxBody, "api.maxBodyBytes"}
		r.Body = http.MaxBytesReader(w, r.Body, lim.n)
	}
	b, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, tooLarge(lim.key, fmt.Sprintf("request body larger than %d bytes", lim.n))
	case err != nil:
		return nil, badRequest("read body: %v", err)
	case !utf8.Valid(b):
		e := badRequest("body is not valid UTF-8")
		var ve *trigger.ValidationError
		if errors.As(trigger.CheckUTF8(b), &ve) {
			for _, p := range ve.Problems {
				e.Problems = append(e.Problems, Problem{Field: p.Field, Reason: p.Reason})
			}
		}
		return nil, e
	case !json.Valid(b):
		return nil, badRequest("body is not valid JSON")
	}
	return b, nil
}

// readDefinition is readBody for bodies holding trigger definitions, whose
// invalid text is an invalid definition: a 422 with the field paths.
func (s *Server) readDefinition(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := s.readBody(w, r)
	var e *Error
	if errors.As(err, &e) && len(e.Problems) > 0 && e.Status == http.StatusBadRequest {
		e.Status, e.Code, e.Message = http.StatusUnprocessableEntity, CodeInvalid, "invalid trigger definition: "+e.Message
	}
	return b, err
}

// tooLarge is the 413 of a request over the limit set by key.
func tooLarge(key, msg string) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Limit: key, Message: msg + " (" + key + ")"}
}
