// Package api is triggerd's HTTP API: triggers as persisted, versioned
// resources (create, replace, patch, delete, history, bulk apply), a forced
// reload of the running process's triggers, and a dry run of an event
// against them. It is JSON over net/http and is described by the OpenAPI
// document it serves at /openapi.yaml.
//
// The API stores documents (the trigger file format, one trigger as JSON)
// only after they parse and validate whole: the store never holds a
// definition a process could not load.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/triggerd/triggerd/triggerstore"
)

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the embedded OpenAPI 3.1 document of the API.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// Store is what the API needs of the trigger store (triggerstore.Store
// satisfies it).
type Store interface {
	Create(ctx context.Context, tag string, spec json.RawMessage, actor string) (triggerstore.Record, error)
	Update(ctx context.Context, tag string, spec json.RawMessage, actor string, ifVersion int64) (triggerstore.Record, error)
	Delete(ctx context.Context, tag, actor string) (triggerstore.Record, error)
	Apply(ctx context.Context, changes []triggerstore.Change, actor string) ([]triggerstore.Record, error)
	Get(ctx context.Context, tag string) (triggerstore.Record, error)
	List(ctx context.Context) ([]triggerstore.Record, error)
	History(ctx context.Context, tag string) ([]triggerstore.Record, error)
	GetVersion(ctx context.Context, tag string, version int64) (triggerstore.Record, error)
}

// ActorHeader names who makes a change; it is recorded with the version.
const ActorHeader = "X-Triggerd-Actor"

// DefaultActor is the actor of requests without ActorHeader.
const DefaultActor = "api"

// DefaultMaxBodyBytes bounds request bodies: a trigger document is a few
// kilobytes, a bulk apply of hundreds of them well under this.
const DefaultMaxBodyBytes = 4 << 20

// Options configure a Server.
type Options struct {
	Store  Store
	Logger *slog.Logger
	// Reload, if set, makes the process reload its triggers from the store
	// now (POST /v1/triggers/load) and returns the store revision it
	// loaded and how many triggers are live.
	Reload func(ctx context.Context) (revision int64, triggers int, err error)
	// MaxBodyBytes bounds request bodies (DefaultMaxBodyBytes when 0).
	MaxBodyBytes int64
	// Quotas and Breakers, if set, serve /v1/quotas and /v1/breakers.
	Quotas   Quotas
	Breakers Breakers
	// Gate, if set, serves POST /v1/gate/{table}/{operation} (gate.go).
	Gate Gate
	// Check, if set, refuses writes naming unconfigured resources (check.go).
	Check Checker
	// Warn, if set, adds warnings to the responses of writes (check.go).
	Warn Warner
}

// Server serves the API.
type Server struct {
	store   Store
	log     *slog.Logger
	reload  func(ctx context.Context) (int64, int, error)
	maxBody int64
	// quotas and breakers serve api/guards.go's routes when set.
	quotas   Quotas
	breakers Breakers
	// gate serves POST /v1/gate/{table}/{operation} when set.
	gate  Gate
	check Checker
	warn  Warner
}

// New returns a Server over o.Store.
func New(o Options) *Server {
	s := &Server{store: o.Store, log: o.Logger, reload: o.Reload, maxBody: o.MaxBodyBytes, quotas: o.Quotas, breakers: o.Breakers, gate: o.Gate, check: o.Check, warn: o.Warn}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	return s
}

// Register adds the API's routes to mux, which may hold others (/healthz,
// /metrics).
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openAPI)
	})
	mux.HandleFunc("POST /v1/triggers", s.create)
	mux.HandleFunc("GET /v1/triggers", s.list)
	mux.HandleFunc("POST /v1/triggers:apply", s.apply)
	mux.HandleFunc("POST /v1/triggers/load", s.load)
	mux.HandleFunc("POST /v1/triggers/test", s.test)
	mux.HandleFunc("GET /v1/triggers/{tag}", s.get)
	mux.HandleFunc("PUT /v1/triggers/{tag}", s.put)
	mux.HandleFunc("PATCH /v1/triggers/{tag}", s.patch)
	mux.HandleFunc("DELETE /v1/triggers/{tag}", s.delete)
	mux.HandleFunc("GET /v1/triggers/{tag}/versions", s.versions)
	mux.HandleFunc("GET /v1/triggers/{tag}/versions/{version}", s.version)
	s.registerGuards(mux)
	if s.gate != nil {
		mux.HandleFunc("POST /v1/gate/{table}/{operation}", s.evaluate)
	}
	// Anything else under /v1/ answers in the API's error format.
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
}

// Handler returns a handler serving only the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	return mux
}

// Trigger is a trigger as the API returns it: one version of its document
// with who made it and when.
type Trigger struct {
	Tag       string    `json:"tag"`
	Version   int64     `json:"version"`
	UpdatedBy string    `json:"updatedBy"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Deleted marks the version that deleted the trigger (in histories).
	Deleted bool `json:"deleted,omitempty"`
	// Definition is the trigger document (the file format, as JSON).
	Definition json.RawMessage `json:"definition,omitempty"`
	// Warnings, in the response of a write, say what the definition asks
	// for that this process will refuse when it runs (Options.Warn).
	Warnings []Problem `json:"warnings,omitempty"`
}

func fromRecord(r triggerstore.Record) Trigger {
	t := Trigger{Tag: r.Tag, Version: r.Version, UpdatedBy: r.Actor, UpdatedAt: r.ChangedAt.UTC(), Deleted: r.Deleted}
	if len(r.Spec) > 0 && !r.Deleted {
		t.Definition = r.Spec
	}
	return t
}

// Error codes of the API's error responses.
const (
	CodeNotFound   = "not_found"
	CodeConflict   = "conflict"
	CodeInvalid    = "invalid"
	CodeBadRequest = "bad_request"
	CodeInternal   = "internal"
)

// Problem is one reason a definition is invalid.
type Problem struct {
	Field  string `json:"field,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Reason string `json:"reason"`
}

// Error is an API error: the body of every non-2xx response, and what
// Client methods return for one.
type Error struct {
	Status   int       `json:"-"`
	Code     string    `json:"code"`
	Message  string    `json:"message"`
	Problems []Problem `json:"problems,omitempty"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Code, e.Message)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		if p.Tag != "" {
			fmt.Fprintf(&b, "trigger %q: ", p.Tag)
		}
		if p.Field != "" {
			b.WriteString(p.Field + ": ")
		}
		b.WriteString(p.Reason)
	}
	return b.String()
}

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

func notFound(tag string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("trigger %q not found", tag)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, map[string]*Error{"error": e})
}

// fail answers with err: an *Error as it is, a store error mapped to its
// status, anything else as a logged 500 whose detail stays in the log.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, triggerstore.ErrNotFound):
		e = &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error()}
	case errors.Is(err, triggerstore.ErrExists), errors.Is(err, triggerstore.ErrVersionConflict):
		e = &Error{Status: http.StatusConflict, Code: CodeConflict, Message: err.Error()}
	default:
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		e = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; see the server log"}
	}
	writeError(w, e)
}

func actor(r *http.Request) string {
	if a := strings.TrimSpace(r.Header.Get(ActorHeader)); a != "" {
		return a
	}
	return DefaultActor
}

// readBody reads a bounded body and checks it is JSON.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeBadRequest,
			Message: fmt.Sprintf("request body larger than %d bytes", s.maxBody)}
	case err != nil:
		return nil, badRequest("read body: %v", err)
	case !json.Valid(b):
		return nil, badRequest("body is not valid JSON")
	}
	return b, nil
}

// ifMatch reads If-Match as a version: 3, "3" or W/"3". 0 means absent.
func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.ParseInt(h, 10, 64)
	if err != nil || v < 1 {
		return 0, badRequest("If-Match: want a trigger version (a positive integer), got %q", r.Header.Get("If-Match"))
	}
	return v, nil
}

func etag(version int64) string { return strconv.Quote(strconv.FormatInt(version, 10)) }
