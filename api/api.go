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
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/triggerd/triggerd/ingest"
	"github.com/triggerd/triggerd/trigger"
	"github.com/triggerd/triggerd/triggerstore"
	"github.com/triggerd/triggerd/triggersync"
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

// DefaultMaxBodyBytes bounds request bodies: a trigger document is a few
// kilobytes, a bulk apply of hundreds of them well under this.
const DefaultMaxBodyBytes = 4 << 20

// Options configure a Server.
type Options struct {
	Store  Store
	Logger *slog.Logger
	// Auth authenticates every request and checks the scope of each
	// endpoint (Routes). Nil refuses every request with a 401.
	Auth *Auth
	// Reload, if set, makes the process reload its triggers from the store
	// now (POST /v1/triggers/load) and returns the store revision it
	// loaded and how many triggers are live.
	Reload func(ctx context.Context) (revision int64, triggers int, err error)
	// MaxBodyBytes bounds request bodies but the gate's
	// (DefaultMaxBodyBytes when 0).
	MaxBodyBytes int64
	// Limits bound the trigger definitions written through the API.
	Limits trigger.Limits
	// Quotas and Breakers, if set, serve /v1/quotas and /v1/breakers.
	Quotas   Quotas
	Breakers Breakers
	// Gate, if set, serves POST /v1/gate/{table}/{operation} (gate.go),
	// within GateLimits.
	Gate       Gate
	GateLimits GateLimits
	// Check, if set, refuses writes naming unconfigured resources (check.go).
	Check trigger.Checker
	// Warn, if set, adds warnings to the responses of writes (check.go).
	Warn Warner
	// Decode decodes the events of dry runs as ingest does (placeholder,
	// column types, connector settings).
	Decode ingest.DecodeOptions
}

// Server serves the API.
type Server struct {
	store   Store
	log     *slog.Logger
	auth    *Auth
	reload  func(ctx context.Context) (int64, int, error)
	maxBody int64
	limits  trigger.Option
	// quotas and breakers serve api/quotas_breakers.go's routes when set.
	quotas   Quotas
	breakers Breakers
	// gate serves POST /v1/gate/{table}/{operation} when set.
	gate       Gate
	gateLimits GateLimits
	check      trigger.Checker
	warn       Warner
	decode     ingest.DecodeOptions
}

// New returns a Server over o.Store.
func New(o Options) *Server {
	s := &Server{store: o.Store, log: o.Logger, auth: o.Auth, reload: o.Reload, maxBody: o.MaxBodyBytes,
		limits: trigger.WithLimits(o.Limits), quotas: o.Quotas, breakers: o.Breakers,
		gate: o.Gate, gateLimits: o.GateLimits.withDefaults(), check: o.Check, warn: o.Warn, decode: o.Decode}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.auth == nil {
		s.auth = &Auth{log: s.log}
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	return s
}

// Register adds the API's routes to mux, which may hold others (/healthz,
// /metrics). Each route authenticates its caller and checks its scope.
func (s *Server) Register(mux *http.ServeMux) {
	for _, rt := range s.table() {
		if rt.on {
			mux.Handle(rt.Pattern, s.auth.Require(rt.Scope, s.bounded(rt)))
		}
	}
}

// Handler returns a handler serving only the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	return s.auth.Middleware(mux)
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
	// CodeUnauthenticated answers a request without valid credentials
	// (401); CodeMissingScope one whose caller lacks the endpoint's scope
	// (403, Error.Scope names it).
	CodeUnauthenticated = "unauthenticated"
	CodeMissingScope    = "missing_scope"
	// CodeTooLarge answers a request over a limit (413, Error.Limit names
	// the configuration key that sets it).
	CodeTooLarge = "too_large"
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
	// Scope is the scope a 403 needed.
	Scope string `json:"scope,omitempty"`
	// Limit is the configuration key of the limit a 413 enforced.
	Limit string `json:"limit,omitempty"`

	// authenticate is the WWW-Authenticate challenge of a 401.
	authenticate string
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
	var ae *triggersync.ApplyError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &ae):
		e = invalidApply(ae)
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

// actor is who makes the change r asks for: the authenticated caller's
// name (Auth), which the caller cannot choose.
func actor(r *http.Request) string {
	if p, ok := PrincipalFrom(r.Context()); ok {
		return p.Name
	}
	return MethodAnonymous
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
